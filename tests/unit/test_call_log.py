"""Every model call is kept (request, raw response, tokens, latency, its fate) and `extractor logs` shows it."""

from __future__ import annotations

import datetime as dt
import json

from typer.testing import CliRunner

from extractor.cli import app
from extractor.core.calls.log import MAX_ITEMS, MAX_STRING, CallRecord, bounded
from extractor.store import Store
from extractor.store.calls import StoreCallLog, list_calls
from extractor.testing.fake_openai import VALID_ANSWER, FakeOpenAI, completion, error

runner = CliRunner()
BROKEN = json.dumps({"is_sanctions_news": True, "actions": [{"authority": "Ruritania", "action": "impose"}]})


def _logs(*args: str) -> list[dict]:
    result = runner.invoke(app, ["logs", "--json", *args])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_logs_show_what_the_model_really_said_for_a_bad_answer(monkeypatch, tmp_path):
    monkeypatch.setenv("EXTRACTOR_CALL_LOG", "on")
    monkeypatch.setenv("EXTRACTOR_MODEL", "m")
    (tmp_path / "a.txt").write_text("Treasury sanctioned Acme Shipping.", encoding="utf-8")
    (tmp_path / "b.txt").write_text("Nothing happened.", encoding="utf-8")
    script = [completion(BROKEN, prompt_tokens=300, completion_tokens=25), completion(VALID_ANSWER),
              error(400, "max_tokens is too large")]
    with FakeOpenAI(script=script) as fake:
        result = runner.invoke(app, ["extract", str(tmp_path / "a.txt"), str(tmp_path / "b.txt"),
                                     "--base-url", fake.base_url, "--no-cache"])
    assert result.exit_code == 1  # b failed
    assert "what the model answered: extractor logs --run" in result.stderr

    calls = _logs()
    assert [(c["article_id"], c["status"]) for c in reversed(calls)] == [("a", "rejected"), ("a", "ok"), ("b", "error")]
    rejected, accepted, failed = reversed(calls)
    assert rejected["response"]["choices"][0]["message"]["content"] == BROKEN  # the raw answer, as it came
    assert "authority" in rejected["error"] and "Ruritania" in rejected["error"]
    assert rejected["usage"] == {"prompt_tokens": 300, "completion_tokens": 25}
    assert rejected["request"]["messages"][-1]["content"].count("Treasury sanctioned Acme Shipping.") == 1
    assert rejected["request"]["response_format"]["type"] == "json_schema" and rejected["latency_s"] >= 0
    assert accepted["prompt_id"] == "sanctions@v3" and accepted["model"] == "m" and accepted["mode"] == "json_schema"
    assert failed["response"] is None and "max_tokens is too large" in failed["error"]
    assert len({c["run_id"] for c in calls}) == 1

    assert [c["status"] for c in _logs("--failed")] == ["error", "rejected"]
    assert [c["status"] for c in _logs("--doc", "a")] == ["ok", "rejected"]
    assert _logs("--doc", "nothing") == []
    table = runner.invoke(app, ["logs", "--doc", "a"])
    assert table.exit_code == 0 and "rejected" in table.stdout and "Ruritania" in table.stdout


def test_the_log_is_off_when_asked_and_logs_say_so(monkeypatch, tmp_path):
    monkeypatch.setenv("EXTRACTOR_MODEL", "m")  # conftest: EXTRACTOR_CALL_LOG=off
    (tmp_path / "a.txt").write_text("Treasury sanctioned Acme Shipping.", encoding="utf-8")
    with FakeOpenAI() as fake:
        assert runner.invoke(app, ["extract", str(tmp_path / "a.txt"), "--base-url", fake.base_url]).exit_code == 0
    result = runner.invoke(app, ["logs"])
    assert result.exit_code == 0 and "no model calls logged" in result.stderr


def test_what_is_kept_is_bounded(tmp_path):
    huge = "x" * (5 * MAX_STRING)
    kept = bounded({"messages": [{"role": "user", "content": huge}], "n": 3, "ok": True, "none": None,
                    "enum": list(range(MAX_ITEMS + 50))})
    assert kept["enum"][:MAX_ITEMS] == list(range(MAX_ITEMS)) and kept["enum"][-1] == "…[50 more items not kept]"
    content = kept["messages"][0]["content"]
    assert len(content) < MAX_STRING + 100 and "characters not kept" in content
    assert content.startswith("x" * 100) and kept["n"] == 3 and kept["ok"] is True and kept["none"] is None

    store = Store(f"sqlite:///{tmp_path / 'calls.db'}")
    log = StoreCallLog(store, max_rows=5)
    for number in range(8):
        log.record(CallRecord(article_id=f"d{number}", prompt_id="p", model="m", endpoint="e", mode=None, step=None,
                              request={}, response=None, error=None, status="ok", prompt_tokens=0,
                              completion_tokens=0, latency_s=0.0, finish_reason="stop",
                              started_at=dt.datetime.now(dt.UTC)))
    log.close()
    with store.read() as session:
        assert [row.article_id for row in list_calls(session, limit=100)] == ["d7", "d6", "d5", "d4", "d3"]
    store.close()
