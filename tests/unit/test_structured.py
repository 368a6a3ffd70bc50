"""instructor at the edge: response classes built once, schemas copied cheaply, the async-validator check memoised."""

from __future__ import annotations

import pytest
from instructor.v2.core import patch
from instructor.v2.validation import async_validators
from instructor.v2.validation.async_validators import async_field_validator
from pydantic import BaseModel

from extractor.core.calls.structured import memoised_check, prepared
from extractor.core.schema import ExtractionAnswer


def test_prepared_class_is_built_once_and_each_caller_gets_its_own_schema():
    model = prepared(ExtractionAnswer)
    assert prepared(ExtractionAnswer) is model
    first, second = model.model_json_schema(), model.model_json_schema()
    assert first == second and first is not second
    assert first["properties"].keys() == ExtractionAnswer.model_json_schema()["properties"].keys()
    first["properties"]["actions"]["items"] = "edited"
    assert model.model_json_schema() == second  # one caller's edit never reaches the next


def test_the_check_is_walked_once_for_a_prepared_class_and_every_time_for_others():
    walks: list[object] = []
    check = memoised_check(walks.append)
    model = prepared(ExtractionAnswer)
    for _ in range(3):
        check(model)
    assert walks == [model]

    class Plain(BaseModel):
        name: str

    walks.clear()
    check(Plain)
    check(Plain)
    check(None)
    assert walks == [Plain, Plain, None]


def test_a_failing_check_is_never_remembered():
    calls: list[object] = []

    def failing(model: object) -> None:
        calls.append(model)
        raise ValueError("has async validators")

    check = memoised_check(failing)

    class Other(BaseModel):
        name: str

    model = prepared(Other)
    for _ in range(2):
        with pytest.raises(ValueError):
            check(model)
    assert calls == [model, model]


def test_instructor_uses_the_memoised_check_and_still_rejects_async_validators():
    prepared(ExtractionAnswer)
    assert getattr(async_validators.reject_async_validators, "memoised", False)
    assert patch.reject_async_validators is async_validators.reject_async_validators  # imported at load time

    class WithAsync(BaseModel):
        name: str

        @async_field_validator("name")
        async def check_name(cls, value: str) -> str:  # pragma: no cover - never run
            return value

    for model in (WithAsync, prepared(WithAsync), prepared(WithAsync)):
        with pytest.raises(ValueError, match="async validators"):
            async_validators.reject_async_validators(model)
