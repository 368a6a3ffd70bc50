"""The endpoint check before a run: a refused mode falls back, a small context is said, a dead server stops at once.

Each server here is local: llama-cpp-python's answer to `json_schema` (a 500 carrying a pydantic
error), a server that reports a 2,048-token context, one that is down, one that refuses the key,
and a record/replay server that knows only the requests it recorded.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from extractor.cli import app
from extractor.testing.fake_openai import VALID_ANSWER, FakeOpenAI, completion, error
from extractor.testing.service import free_port

runner = CliRunner()
# What llama-cpp-python's server (0.3.x) answers a response_format of type json_schema, verbatim.
LLAMA_CPP_JSON_SCHEMA = {"error": {
    "message": "1 validation error:\n  {'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), 'msg': "
               "\"Input should be 'text' or 'json_object'\", 'input': 'json_schema', 'ctx': {'expected': \"'text' or "
               "'json_object'\"}}\n\n  File \"llama_cpp/server/app.py\", line 376, in create_chat_completion\n    "
               "POST /v1/chat/completions",
    "type": "internal_server_error", "param": None, "code": None}}
V3_PROMPT_TOKENS = 1359  # what llama.cpp counts for sanctions@v3 and a one-line document


def _models(*entries: dict[str, Any]) -> Any:
    def handler(method: str, path: str, raw: bytes) -> dict[str, Any]:
        return {"status": 200, "json": {"object": "list", "data": list(entries)}}
    return handler


def _llama_cpp(body: dict[str, Any]) -> dict[str, Any]:
    """llama-cpp-python: json_schema refused with its 500, tools answered with a tool call."""
    if (body.get("response_format") or {}).get("type") == "json_schema":
        return {"status": 500, "json": LLAMA_CPP_JSON_SCHEMA}
    if body.get("tools"):
        return completion(tool_args=VALID_ANSWER, prompt_tokens=V3_PROMPT_TOKENS)
    return completion(VALID_ANSWER, prompt_tokens=V3_PROMPT_TOKENS)


@pytest.fixture
def probing(monkeypatch):
    monkeypatch.setenv("EXTRACTOR_PROBE", "on")
    monkeypatch.setenv("EXTRACTOR_MODEL", "local")
    monkeypatch.setenv("EXTRACTOR_RETRY_BUDGET", "20")


def _doc(tmp_path: Path) -> Path:
    path = tmp_path / "a.txt"
    path.write_text("Treasury sanctioned Acme Shipping.", encoding="utf-8")
    return path


def _extract(tmp_path: Path, base_url: str, *extra: str) -> Any:
    result = runner.invoke(app, ["extract", str(_doc(tmp_path)), "--base-url", base_url, "--no-cache", *extra])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    return result


def test_json_schema_refused_falls_back_to_tools_with_one_note(probing, tmp_path):
    models = _models({"id": "local", "owned_by": "me"})
    with FakeOpenAI(default=_llama_cpp, handlers={"/v1/models": models}) as fake:  # type: ignore[arg-type]
        result = _extract(tmp_path, fake.base_url)
        sent = fake.chat_requests()
    assert result.exit_code == 0, result.stderr
    notes = [line for line in result.stderr.splitlines() if line.startswith("note:")]
    assert notes == [f"note: {fake.base_url} refused --mode json_schema (HTTP 500: Input should be 'text' or "
                     "'json_object'); using --mode tools for this run; pass --mode tools to skip this check"]
    # One refused probe, one accepted probe, then the document in tools mode: the 500 is never retried.
    assert [("tools" in b, (b.get("response_format") or {}).get("type")) for b in sent] == [
        (False, "json_schema"), (True, None), (True, None)]
    assert json.loads(result.stdout)["actions"][0]["targets"][0]["name"] == "Acme Shipping"


def test_no_mode_accepted_stops_naming_mode(probing, tmp_path):
    refuse = {"status": 400, "json": {"error": {"message": "response_format is not supported; tools are unsupported"}}}
    with FakeOpenAI(default=refuse, handlers={"/v1/models": _models({"id": "local"})}) as fake:
        result = _extract(tmp_path, fake.base_url)
        assert len(fake.chat_requests()) == 3  # json_schema, tools, json: no document
    assert result.exit_code == 2
    assert "accepts none of the structured-output modes tried (json_schema, tools, json)" in result.stderr
    assert "--mode" in result.stderr and "no document was sent" in result.stderr


def test_a_2048_token_context_is_said_before_the_run(probing, tmp_path):
    models = _models({"id": "local", "object": "model", "max_model_len": 2048})
    with FakeOpenAI(default=completion(VALID_ANSWER, prompt_tokens=V3_PROMPT_TOKENS),
                    handlers={"/v1/models": models}) as fake:
        result = _extract(tmp_path, fake.base_url)
        assert len(fake.chat_requests()) == 1  # the probe only
    assert result.exit_code == 2
    assert (f"{fake.base_url} has a 2048-token context; prompt sanctions@v3 alone takes about {V3_PROMPT_TOKENS} "
            "tokens") in result.stderr
    assert "llama-cpp-python --n_ctx 16384" in result.stderr


def test_the_default_budget_is_fitted_to_a_small_context_and_a_set_one_is_refused(probing, tmp_path):
    models = _models({"id": "local", "max_model_len": 4096})
    with FakeOpenAI(default=completion(VALID_ANSWER, prompt_tokens=V3_PROMPT_TOKENS),
                    handlers={"/v1/models": models}) as fake:
        fitted = _extract(tmp_path, fake.base_url)
        budgets = [b["max_tokens"] for b in fake.chat_requests()]
        refused = _extract(tmp_path, fake.base_url, "--max-tokens", "4096")
    assert fitted.exit_code == 0, fitted.stderr
    assert budgets == [64, (4096 - V3_PROMPT_TOKENS) // 2]  # the probe's own small budget, then the document's
    assert (f"has a 4096-token context and prompt sanctions@v3 takes about {V3_PROMPT_TOKENS}: the output budget is "
            "1368 tokens for this run instead of 8192") in fitted.stderr
    assert refused.exit_code == 2
    assert "--max-tokens / EXTRACTOR_MAX_TOKENS 4096 does not fit" in refused.stderr
    assert "use --max-tokens 1368 or less" in refused.stderr


def test_llama_cpp_context_overflow_error_is_read(probing, tmp_path):
    overflow = {"status": 400, "json": {"error": {
        "message": "This model's maximum context length is 1024 tokens. However, you requested 1423 tokens "
                   "(1359 in the messages, 64 in the completion). Please reduce the length of the messages or "
                   "completion.", "type": "invalid_request_error", "param": "messages",
        "code": "context_length_exceeded"}}}
    with FakeOpenAI(default=overflow) as fake:
        result = _extract(tmp_path, fake.base_url, "--mode", "tools")
    assert result.exit_code == 2
    assert "has a 1024-token context; prompt sanctions@v3 alone takes about 1359 tokens" in result.stderr


def test_a_server_that_is_down_stops_the_run_before_any_document(probing, tmp_path):
    down = f"http://127.0.0.1:{free_port()}/v1"
    result = _extract(tmp_path, down)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: cannot reach {down}")
    assert "OPENAI_BASE_URL / --base-url" in result.stderr and "no document was sent" in result.stderr


def test_a_refused_key_stops_the_run_before_any_document(probing, tmp_path):
    with FakeOpenAI(handlers={"/v1/models": lambda *_: error(401, "Incorrect API key provided")}) as fake:
        result = _extract(tmp_path, fake.base_url)
        assert not fake.chat_requests()
    assert result.exit_code == 2 and "refused the API key (401): check OPENAI_API_KEY" in result.stderr


def test_a_replay_server_that_does_not_know_the_probe_request_is_noted_and_the_run_goes_on(probing, tmp_path):
    # The stand-in replay server lists its model and answers only the requests it recorded.
    unknown = {"status": 404, "json": {"error": {"message": "no answer for request 1a2b3c", "type": "not_found"}}}
    with FakeOpenAI(script=[unknown], handlers={"/v1/models": _models({"id": "local"})}) as fake:
        result = _extract(tmp_path, fake.base_url)
    assert result.exit_code == 0, result.stderr
    assert ("answered the probe request in --mode json_schema with HTTP 404 (no answer for request 1a2b3c)"
            in result.stderr)


def test_a_model_the_endpoint_does_not_serve_stops_the_run(probing, tmp_path):
    missing = {"status": 404, "json": {"error": {"message": "The model `local` does not exist."}}}
    with FakeOpenAI(default=missing, handlers={"/v1/models": _models({"id": "qwen2.5:7b"}, {"id": "llama3"})}) as fake:
        result = _extract(tmp_path, fake.base_url)
    assert result.exit_code == 2
    assert "does not serve model 'local' (it serves: qwen2.5:7b, llama3): check --model" in result.stderr


def test_llama_server_reports_its_context_under_props(probing, tmp_path):
    props = {"status": 200, "json": {"default_generation_settings": {"n_ctx": 2048}}}
    with FakeOpenAI(default=completion(VALID_ANSWER, prompt_tokens=V3_PROMPT_TOKENS), handlers={
        "/v1/models": _models({"id": "local", "owned_by": "llamacpp"}), "/props": lambda *_: props,
    }) as fake:
        result = _extract(tmp_path, fake.base_url)
    assert result.exit_code == 2 and "has a 2048-token context" in result.stderr


def test_probe_off_skips_the_check(monkeypatch, tmp_path):
    monkeypatch.setenv("EXTRACTOR_MODEL", "local")
    with FakeOpenAI(handlers={"/v1/models": lambda *_: error(401, "no")}) as fake:
        result = _extract(tmp_path, fake.base_url)
        assert len(fake.chat_requests()) == 1  # the document only
    assert result.exit_code == 0
