"""Transport retries and validation re-asks, through the real `openai` client and a local server."""

from __future__ import annotations

import json
import socket
import time

import pytest

from extractor import BackendError, ExtractionFailed, Extractor, Settings
from tests.fakeserver import VALID_ANSWER, completion, error

ARTICLE = "Treasury sanctioned Acme Shipping today for evading sanctions."


def test_429_honours_retry_after_then_succeeds(fake, remote):
    fake.script = [error(429, "slow down", {"retry-after": "0.4"}), completion(VALID_ANSWER)]
    started = time.perf_counter()
    result = remote.extract(ARTICLE, article_id="a1")
    assert time.perf_counter() - started >= 0.4
    assert len(fake.chat_requests()) == 2
    assert result.actions[0].targets[0].name == "Acme Shipping"
    assert result.meta.transport_retries == 1
    assert result.meta.attempts == 1


def test_500_then_success(fake, remote):
    fake.script = [error(500, "boom"), error(503, "busy"), completion(VALID_ANSWER)]
    result = remote.extract(ARTICLE, article_id="a2")
    assert result.is_sanctions_news is True
    assert result.meta.transport_retries == 2
    assert len(fake.chat_requests()) == 3


def test_dropped_connection_is_retried(fake, remote):
    fake.script = [{"drop": True}, completion(VALID_ANSWER)]
    result = remote.extract(ARTICLE, article_id="a3")
    assert result.meta.transport_retries == 1


def test_invalid_json_then_reask_succeeds_and_usage_sums(fake, remote):
    fake.script = [
        completion('{"is_sanctions_news": true, "actions": [{"authority": "usa-ish", "action": "impose"}]}',
                   prompt_tokens=300, completion_tokens=40),
        completion(VALID_ANSWER, prompt_tokens=420, completion_tokens=50),
    ]
    result = remote.extract(ARTICLE, article_id="a4")
    requests = fake.chat_requests()
    assert len(requests) == 2
    # The re-ask carries the failed answer and the validation error.
    assert len(requests[1]["messages"]) > len(requests[0]["messages"])
    assert "jurisdiction code" in json.dumps(requests[1]["messages"])
    assert result.meta.attempts == 2
    assert result.meta.usage.prompt_tokens == 720
    assert result.meta.usage.completion_tokens == 90


def test_attempts_run_out_with_document_prompt_and_last_output(fake, remote):
    bad = '{"is_sanctions_news": "perhaps", "actions": []}'
    fake.default = completion(bad)
    with pytest.raises(ExtractionFailed) as info:
        remote.extract(ARTICLE, article_id="doc-7")
    failure = info.value
    assert failure.article_id == "doc-7"
    assert failure.prompt_id == remote.prompt.id
    assert failure.last_output == bad
    assert failure.attempts == remote.settings.validation_retries + 1
    assert "is_sanctions_news" in failure.reason
    assert "doc-7" in str(failure) and remote.prompt.id in str(failure)
    assert failure.usage["prompt_tokens"] == 100 * failure.attempts
    # Failures are never cached: the next call asks again.
    fake.default = completion(VALID_ANSWER)
    assert remote.extract(ARTICLE, article_id="doc-7").meta.cache_hit is False


def test_client_error_is_not_retried(fake, remote):
    fake.default = error(401, "bad key")
    with pytest.raises(BackendError, match="OPENAI_API_KEY"):
        remote.extract(ARTICLE, article_id="a5")
    assert len(fake.chat_requests()) == 1


def test_unreachable_endpoint_names_the_setting(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = Settings.from_env(model="m", base_url=f"http://127.0.0.1:{port}/v1", cache_dir=tmp_path,
                                 transport_attempts=2, transport_budget=5.0)
    with pytest.raises(BackendError, match="OPENAI_BASE_URL"):
        Extractor(settings).extract(ARTICLE, article_id="a6")


def test_tools_mode_reads_tool_calls(fake, tmp_path):
    fake.default = completion(tool_args=VALID_ANSWER)
    settings = Settings.from_env(model="m", base_url=fake.base_url, cache_dir=tmp_path, mode="tools")
    result = Extractor(settings).extract(ARTICLE, article_id="a7")
    assert result.actions[0].authority == "us"
    assert "tools" in fake.chat_requests()[0]
