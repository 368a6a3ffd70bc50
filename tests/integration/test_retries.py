"""Transport retries and validation re-asks, through the real `openai` client and a local server."""

from __future__ import annotations

import json
import socket
import time

import pytest

from extractor import BackendError, ExtractionFailed, Extractor, Settings
from extractor.testing.fake_openai import VALID_ANSWER, completion, error

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


def _budgeted(fake, tmp_path, budget: float, **extra) -> Extractor:
    settings = Settings.from_env(model="m", base_url=fake.base_url, api_key="k", cache_dir=tmp_path / "b",
                                 transport_budget=budget, **extra)
    return Extractor(settings)


def test_retry_budget_bounds_a_long_retry_after(fake, tmp_path):
    fake.default = error(429, "slow down", {"retry-after": "30"})
    started = time.perf_counter()
    with pytest.raises(BackendError, match="EXTRACTOR_RETRY_BUDGET"):
        _budgeted(fake, tmp_path, 2.0).extract(ARTICLE, article_id="b1")
    assert time.perf_counter() - started < 3.5  # never sleeps the 30 s the server asked for


def test_retry_budget_bounds_backoff_and_request_timeouts(fake, tmp_path):
    fake.default = error(500, "boom")
    started = time.perf_counter()
    with pytest.raises(BackendError) as info:
        _budgeted(fake, tmp_path, 3.0, transport_attempts=50).extract(ARTICLE, article_id="b2")
    assert time.perf_counter() - started < 4.5
    assert info.value.attempts >= 2 and info.value.transport_retries == info.value.attempts - 1
    # A hanging server: the request timeout is cut to what is left of the budget.
    fake.default = completion(VALID_ANSWER)
    fake.delay = 10.0
    started = time.perf_counter()
    with pytest.raises(BackendError, match="timed out"):
        _budgeted(fake, tmp_path, 1.5, timeout=60.0).extract(ARTICLE, article_id="b3")
    assert time.perf_counter() - started < 3.5
    fake.delay = 0.0


def test_retry_after_as_http_date(fake, remote):
    import email.utils

    when = email.utils.formatdate(time.time() + 1.2, usegmt=True)
    fake.script = [error(429, "slow down", {"retry-after": when}), completion(VALID_ANSWER)]
    started = time.perf_counter()
    result = remote.extract(ARTICLE, article_id="b4")
    assert time.perf_counter() - started >= 0.2  # waited for the date (second resolution), not backoff alone
    assert result.meta.transport_retries == 1


def test_failed_document_accounts_its_attempts(fake, tmp_path):
    from extractor.batch.run import extract_many
    from extractor.core.documents import Document

    fake.default = error(503, "busy")
    extractor = _budgeted(fake, tmp_path, 30.0, transport_attempts=3)
    outcomes = extract_many([Document(id="f1", text=ARTICLE)], extractor=extractor)
    error_ = outcomes[0].error
    assert isinstance(error_, BackendError)
    assert error_.attempts == 3 and error_.transport_retries == 2
    assert len(fake.chat_requests()) == 3


@pytest.mark.parametrize(("name", "value"), [("EXTRACTOR_TIMEOUT", "0"), ("EXTRACTOR_TIMEOUT", "-1"),
                                             ("EXTRACTOR_RETRY_BUDGET", "0"), ("EXTRACTOR_MAX_TOKENS", "abc"),
                                             ("EXTRACTOR_MAX_CALLS", "0"), ("EXTRACTOR_LIST_BOUNDS", "maybe"),
                                             ("EXTRACTOR_HTTP", "curl")])
def test_settings_are_validated_with_their_name(monkeypatch, name, value):
    from extractor import ConfigError

    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        Settings.from_env()
