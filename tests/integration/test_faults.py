"""The fault matrix: every fault a real endpoint produces, injected by the local server, with what the user gets.

Each row is one fault served once (then a valid answer), or served for good; the test checks
the documented behaviour (retried within the budget, re-asked, or failed at once with the
setting to check), the attempts and retries in `meta`, and the failure line when it gives up.
"""

from __future__ import annotations

import email.utils
import json
import random
import time
from io import StringIO

import pytest

from extractor import BackendError, ExtractionFailed, Extractor, Settings
from extractor.batch.run import extract_into
from extractor.core.calls.transport import RetryPolicy
from extractor.core.documents import Document
from extractor.testing.fake_openai import VALID_ANSWER, completion, error

ARTICLE = "Treasury sanctioned Acme Shipping."


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch):
    """Backoff in milliseconds, so the matrix runs in seconds (the policy is what is tested, not the clock)."""
    monkeypatch.setattr(RetryPolicy, "BACKOFF_BASE", 0.01)
    monkeypatch.setattr(RetryPolicy, "BACKOFF_JITTER", 0.01)


def _extractor(fake, tmp_path, **extra) -> Extractor:
    options = {"model": "m", "base_url": fake.base_url, "api_key": "k", "cache": False, "transport_budget": 20.0,
               "timeout": 1.0, **extra}
    return Extractor(Settings.from_env(cache_dir=tmp_path / "c", **options))


def _no_choices() -> dict:
    return {"status": 200, "json": {"id": "x", "object": "chat.completion", "created": 0, "model": "m",
                                    "choices": []}}


RETRIED = {
    "429 retry-after seconds": error(429, "slow down", {"retry-after": "0.1"}),
    "429 retry-after http-date": error(429, "slow down", {"retry-after": email.utils.formatdate(usegmt=True)}),
    "500": error(500), "502": error(502), "503": error(503), "504": error(504),
    "hangs past the timeout": {**completion(VALID_ANSWER), "delay": 3.0},
    "connection dropped before the answer": {"drop": True},
    "connection dropped mid-body": {**completion(VALID_ANSWER), "cut_body": True},
    "body is not JSON": {"status": 200, "raw": b"<html>proxy error</html>", "content_type": "text/html"},
    "body is broken JSON": {"status": 200, "raw": b'{"id": "x", "choi', "content_type": "application/json"},
    "choices: []": _no_choices(),
    "slow trickle (30 s body)": {**completion(VALID_ANSWER), "trickle": 30.0},
}


@pytest.mark.parametrize("fault", list(RETRIED))
def test_transient_fault_is_retried(fake, tmp_path, fault):
    fake.script = [RETRIED[fault], completion(VALID_ANSWER)]
    started = time.perf_counter()
    result = _extractor(fake, tmp_path).extract(ARTICLE, article_id="a")
    assert result.actions[0].targets[0].name == "Acme Shipping"
    assert result.meta.transport_retries == 1
    assert result.meta.attempts == 1  # one answer from the model: the fault never reached validation
    assert len(fake.chat_requests()) == 2
    assert time.perf_counter() - started < 10  # the 30-second trickle is cut at the 1 s timeout


REASKED = {
    "content is truncated JSON": completion('{"is_sanctions_news": true, "actions": [{"authority": "us"'),
    "content breaks the schema": completion('{"is_sanctions_news": "maybe", "actions": []}'),
}


@pytest.mark.parametrize("fault", list(REASKED))
def test_invalid_content_is_reasked(fake, tmp_path, fault):
    fake.script = [REASKED[fault], completion(VALID_ANSWER)]
    result = _extractor(fake, tmp_path).extract(ARTICLE, article_id="a")
    assert result.is_sanctions_news is True
    assert result.meta.attempts == 2 and result.meta.transport_retries == 0
    second = fake.chat_requests()[1]["messages"]
    assert len(second) > len(fake.chat_requests()[0]["messages"])  # the re-ask carries the error


FATAL = {
    400: "EXTRACTOR_MAX_TOKENS",
    401: "OPENAI_API_KEY",
    403: "OPENAI_API_KEY",
    404: "EXTRACTOR_MODEL",
}


@pytest.mark.parametrize("status", list(FATAL))
def test_client_errors_fail_at_once_naming_the_setting(fake, tmp_path, status):
    fake.default = error(status, "nope")
    with pytest.raises(BackendError) as info:
        _extractor(fake, tmp_path).extract(ARTICLE, article_id="a")
    message = str(info.value)
    assert FATAL[status] in message and "\n" not in message
    assert len(fake.chat_requests()) == 1
    assert info.value.attempts == 1 and info.value.transport_retries == 0


def test_schema_failure_names_the_field_and_the_endpoint(fake, tmp_path):
    fake.default = completion('{"is_sanctions_news": true, "actions": [{"authority": "atlantis", "action": "impose"}]}')
    with pytest.raises(ExtractionFailed) as info:
        _extractor(fake, tmp_path).extract(ARTICLE, article_id="doc-9")
    message = str(info.value)
    assert "actions.0.authority" in message and "jurisdiction code" in message
    assert fake.base_url in message and "doc-9" in message
    assert info.value.attempts == 3  # one answer and two re-asks (EXTRACTOR validation_retries)


def test_giving_up_writes_a_failure_line_with_the_account(fake, tmp_path):
    fake.default = error(503, "overloaded")
    extractor = _extractor(fake, tmp_path, transport_attempts=4)
    sink = StringIO()
    summary = extract_into(sink, extractor, [Document(id="d1", text=ARTICLE), Document(id="d2", text=ARTICLE)],
                           concurrency=2)
    lines = [json.loads(line) for line in sink.getvalue().splitlines()]
    assert sorted(line["article_id"] for line in lines) == ["d1", "d2"]
    for line in lines:
        assert "503" in line["error"]["message"] and "EXTRACTOR_RETRY_BUDGET" in line["error"]["message"]
        assert line["meta"]["attempts"] == 4 and line["meta"]["transport_retries"] == 3
    assert summary.failed == 2 and summary.attempts == 8 and summary.transport_retries == 6
    assert len(fake.chat_requests()) == 8


def test_two_hundred_documents_under_thirty_percent_faults(fake, tmp_path):
    """Every document exactly once in the output, as a result or a failure line; the account adds up."""
    rng = random.Random(20261202)
    faults = [error(429, "slow", {"retry-after": "0"}), error(500), error(502), error(503), error(504),
              {"drop": True}, {**completion(VALID_ANSWER), "cut_body": True}]

    def flaky(body: dict) -> dict:
        return rng.choice(faults) if rng.random() < 0.3 else completion(VALID_ANSWER)

    fake.default = flaky
    # A generous timeout: on a loaded machine a 1 s limit could cut a request before it reaches
    # the server, and then the server would not count what the client did.
    extractor = _extractor(fake, tmp_path, transport_attempts=6, timeout=30.0)
    documents = [Document(id=f"d{i:03d}", text=f"{ARTICLE} Case {i}.") for i in range(200)]
    sink = StringIO()
    summary = extract_into(sink, extractor, documents, concurrency=16)
    lines = [json.loads(line) for line in sink.getvalue().splitlines()]
    assert sorted(line["article_id"] for line in lines) == [d.id for d in documents]
    results = [line for line in lines if "error" not in line]
    failures = [line for line in lines if "error" in line]
    assert summary.documents == 200 and summary.succeeded == len(results) and summary.failed == len(failures)
    # Every request the server saw is accounted for: one answer per result plus its retries, and
    # every attempt of a document that gave up.
    requests = sum(1 + line["meta"]["transport_retries"] for line in results)
    requests += sum(line["meta"]["attempts"] for line in failures)
    assert requests == len(fake.chat_requests())
    assert summary.transport_retries == sum(line["meta"]["transport_retries"] for line in lines)
    assert summary.transport_retries > 20  # the faults really happened
