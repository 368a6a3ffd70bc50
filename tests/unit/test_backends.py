"""The backend contract says everything: a backend with only the required members runs the whole pipeline."""

from __future__ import annotations

import json
from typing import Any

import pytest
from openai.types.chat import ChatCompletion

from extractor import Document, Extractor, Settings, extract_many
from extractor.core import backends
from extractor.core.backends import Backend
from extractor.testing.fake_openai import VALID_ANSWER, completion


class EchoBackend(Backend):
    """A second in-process runtime: answers every request with one fixed answer, counts what it is asked."""

    name = "echo"
    endpoint = "in-process"

    def __init__(self, settings: Settings) -> None:
        self.model = settings.model or "echo"
        self.calls = 0

    @property
    def mode(self) -> Any:
        from instructor import Mode

        return Mode.JSON_SCHEMA

    def create(self, **kwargs: Any) -> Any:
        self.calls += 1
        return ChatCompletion.model_validate(completion(VALID_ANSWER)["json"])

    async def acreate(self, **kwargs: Any) -> Any:
        return self.create(**kwargs)

    def identity(self) -> dict[str, Any]:
        return {"backend": self.name, "model": self.model}


@pytest.fixture
def echo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(backends.LOCAL, "echo", f"{__name__}:EchoBackend")


def test_a_third_backend_needs_its_class_and_one_table_entry(echo, tmp_path):
    extractor = Extractor(Settings(model="echo", cache_dir=tmp_path), prompt="sanctions@v3")
    assert isinstance(extractor.backend, EchoBackend)
    long = Document(id="long", text="Treasury sanctioned Acme Shipping. " * 3000)  # chunked: counts with the default
    outcomes = extract_many([Document(id="a", text="Treasury sanctioned Acme Shipping."), long], extractor=extractor)
    assert all(o.ok for o in outcomes), [o.error for o in outcomes]
    result = next(o.result for o in outcomes if o.article_id == "a")
    assert result is not None and result.meta is not None
    assert (result.meta.backend, result.meta.model) == ("echo", "echo")
    assert result.actions[0].targets[0].name == json.loads(VALID_ANSWER)["actions"][0]["targets"][0]["name"]
    assert extractor.chunks(long) != [long]  # the default token count (none) and context (the settings') apply


def test_an_endpoint_backend_offers_the_batch_api_and_a_local_one_does_not(echo):
    assert Extractor(Settings(model="echo")).backend.batch_client() is None
    remote = Extractor(Settings(model="m", base_url="http://127.0.0.1:9/v1")).backend
    assert remote.batch_client() is not None and not remote.in_process
    assert Extractor(Settings(model="embedded")).backend.in_process
