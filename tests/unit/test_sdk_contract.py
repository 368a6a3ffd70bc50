"""The contract with instructor's and openai's insides (`extractor.core.calls.sdk`), pinned to their versions.

When instructor or openai changes version, `test_versions_are_the_ones_checked` fails first
and says what to re-check; the other tests check each behaviour the module relies on.
"""

from __future__ import annotations

import json
import sys
from importlib.metadata import version
from typing import Any

import httpx
import openai
import pytest
from instructor.v2.validation import async_validators
from instructor.v2.validation.async_validators import async_field_validator
from openai.types.chat import ChatCompletion
from pydantic import BaseModel

from extractor import Document, Extractor, Settings
from extractor.core import backends
from extractor.core.backends import Backend
from extractor.core.calls import sdk
from extractor.core.schema import ExtractionAnswer
from extractor.testing.fake_openai import VALID_ANSWER, completion

RECHECK = {
    "instructor": "handle_response_model and process_response (Batch API bodies and answers: "
                  "tests/integration/test_batch_api.py too), response_schema and every module holding "
                  "reject_async_validators (prepared), IncompleteOutputException.last_completion and "
                  "InstructorRetryException.failed_attempts, Hooks' parse:error event (ask; "
                  "tests/unit/test_call_log.py checks the reasons it gives)",
    "openai": "client.post(cast_to=ChatCompletion) against chat.completions.create (chat_poster), "
              "NotGiven/Omit (request_body), DefaultAioHttpClient (the aiohttp transport)",
}


@pytest.mark.parametrize("library", sorted(sdk.PINNED))
def test_versions_are_the_ones_checked(library):
    installed = version(library)
    assert installed.startswith(sdk.PINNED[library]), (
        f"{library} {installed} is installed; extractor/core/calls/sdk.py was checked against "
        f"{sdk.PINNED[library]}x. Re-check {RECHECK[library]}; then update sdk.PINNED."
    )


class Capturing(Backend):
    """An in-process backend that records the keyword arguments of every call and answers in the mode's shape."""

    name = "capture"
    endpoint = "in-process"
    mode_name = "json_schema"

    def __init__(self, settings: Settings) -> None:
        self.model = "capture"
        self.calls: list[dict[str, Any]] = []

    @property
    def mode(self) -> Any:
        return sdk.mode_for(self.mode_name)

    def create(self, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        reply = completion(tool_args=VALID_ANSWER) if self.mode_name == "tools" else completion(VALID_ANSWER)
        return ChatCompletion.model_validate(reply["json"])

    async def acreate(self, **kwargs: Any) -> Any:
        return self.create(**kwargs)

    def identity(self) -> dict[str, Any]:
        return {"backend": self.name}

    def request_kwargs(self) -> dict[str, Any]:
        return {"model": self.model}


@pytest.mark.parametrize("mode", ["json_schema", "tools", "json", "md_json"])
def test_request_body_is_what_the_pipeline_sends(monkeypatch, mode):
    monkeypatch.setitem(backends.LOCAL, "capture", f"{__name__}:Capturing")
    monkeypatch.setattr(Capturing, "mode_name", mode)
    extractor = Extractor(Settings(model="capture", cache=False), prompt="sanctions@v3")
    document = Document(id="d", text="Treasury sanctioned Acme Shipping.", title="Story")
    extractor.extract_document(document)
    sent = extractor.backend.calls[0]  # type: ignore[attr-defined]
    body = sdk.request_body(extractor.response_model, extractor.backend.mode, messages=extractor.messages(document),
                            **extractor.params(), **extractor.backend.request_kwargs())
    assert body == json.loads(json.dumps({k: v for k, v in sent.items() if k != "timeout"}))
    assert {"tools": "tools", "json_schema": "response_format"}.get(mode, "messages") in body


@pytest.mark.parametrize(("mode", "reply"), [
    ("json_schema", completion(VALID_ANSWER)),
    ("tools", completion(tool_args=VALID_ANSWER)),
    ("json", completion(VALID_ANSWER)),
    ("md_json", completion(f"Here it is:\n```json\n{VALID_ANSWER}\n```")),
])
def test_answers_are_read_in_each_mode(mode, reply):
    answer = sdk.parse_answer(sdk.completion_of(reply["json"]), ExtractionAnswer, sdk.mode_for(mode))
    assert isinstance(answer, BaseModel)
    assert answer.model_dump() == ExtractionAnswer.model_validate_json(VALID_ANSWER).model_dump()


def test_a_cut_answer_and_an_invalid_one_are_told_apart():
    cut = completion(VALID_ANSWER[:40], finish_reason="length")["json"]
    assert sdk.parse_answer(sdk.completion_of(cut), ExtractionAnswer, sdk.mode_for("json_schema")) == sdk.Cut(
        VALID_ANSWER[:40])
    wrong = completion(json.dumps({"is_sanctions_news": "perhaps", "actions": []}))["json"]
    with pytest.raises(sdk.Invalid, match="is_sanctions_news"):
        sdk.parse_answer(sdk.completion_of(wrong), ExtractionAnswer, sdk.mode_for("json_schema"))
    with pytest.raises(sdk.Invalid, match="no choices"):
        sdk.completion_of({**completion(VALID_ANSWER)["json"], "choices": []})


def test_the_poster_sends_what_create_sends_and_reads_the_same_completion():
    bodies: list[dict[str, Any]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(200, json=completion(VALID_ANSWER)["json"])

    client = openai.OpenAI(base_url="http://model.test/v1", api_key="k", max_retries=0,
                           http_client=httpx.Client(transport=httpx.MockTransport(answer)))
    request = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": 0.0, "seed": 0,
               "response_format": {"type": "json_schema", "json_schema": {"name": "A", "schema": {"type": "object"}}}}
    created = client.chat.completions.create(**request)  # type: ignore[call-overload]
    posted = sdk.chat_poster(client)(timeout=5.0, **request)
    assert bodies[0] == bodies[1] == request
    assert isinstance(posted, ChatCompletion) and posted == created


def test_prepared_class_is_built_once_and_each_caller_gets_its_own_schema():
    model = sdk.prepared(ExtractionAnswer)
    assert sdk.prepared(ExtractionAnswer) is model
    first, second = model.model_json_schema(), model.model_json_schema()
    assert first == second and first is not second
    assert first["properties"].keys() == ExtractionAnswer.model_json_schema()["properties"].keys()
    first["properties"]["actions"]["items"] = "edited"
    assert model.model_json_schema() == second  # one caller's edit never reaches the next


def test_every_instructor_module_holding_the_check_gets_the_memoised_one():
    sdk.prepared(ExtractionAnswer)
    holders = {name: module.reject_async_validators for name, module in list(sys.modules.items())
               if name.startswith("instructor") and hasattr(module, "reject_async_validators")}
    assert "instructor.v2.core.patch" in holders  # imported when it loads: replaced there too
    assert all(getattr(check, "memoised", False) for check in holders.values()), sorted(
        name for name, check in holders.items() if not getattr(check, "memoised", False))


def test_the_check_is_walked_once_for_a_prepared_class_and_every_time_for_others():
    walks: list[object] = []
    check = sdk.memoised_check(walks.append)
    model = sdk.prepared(ExtractionAnswer)
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


def test_a_failing_check_is_never_remembered_and_async_validators_are_still_refused():
    calls: list[object] = []

    def failing(model: object) -> None:
        calls.append(model)
        raise ValueError("has async validators")

    check = sdk.memoised_check(failing)

    class Other(BaseModel):
        name: str

    model = sdk.prepared(Other)
    for _ in range(2):
        with pytest.raises(ValueError):
            check(model)
    assert calls == [model, model]

    class WithAsync(BaseModel):
        name: str

        @async_field_validator("name")
        async def check_name(cls, value: str) -> str:  # pragma: no cover - never run
            return value

    for candidate in (WithAsync, sdk.prepared(WithAsync), sdk.prepared(WithAsync)):
        with pytest.raises(ValueError, match="async validators"):
            async_validators.reject_async_validators(candidate)
