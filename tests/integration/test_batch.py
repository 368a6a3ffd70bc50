"""Batches: bounded concurrency, streaming output, resume after a crash, long documents."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from typer.testing import CliRunner

from extractor import Document, Extractor, Settings
from extractor.batch.run import extract_many
from extractor.cli import app
from extractor.testing.fake_openai import completion
from tests.support import ROOT


@pytest.mark.parametrize("http", ["aiohttp", "httpx"])
def test_never_more_than_n_requests_in_flight(fake, tmp_path, http):
    fake.delay = 0.15
    docs = [Document(id=f"d{i}", text=f"Treasury sanctioned company number {i}.") for i in range(12)]
    settings = Settings.from_env(model="m", base_url=fake.base_url, cache=False, http=http)
    outcomes = extract_many(docs, extractor=Extractor(settings), concurrency=3)
    assert sorted(o.article_id for o in outcomes) == sorted(d.id for d in docs)
    assert all(o.ok for o in outcomes)
    assert fake.max_in_flight == 3


def test_failed_document_is_recorded_and_the_run_goes_on(fake, tmp_path):
    def answer(body):
        bad = "poison" in body["messages"][-1]["content"]
        return completion('{"is_sanctions_news": "?"}' if bad else '{"is_sanctions_news": false, "actions": []}')

    fake.default = answer
    docs = [Document(id="ok1", text="fine"), Document(id="bad", text="poison"), Document(id="ok2", text="fine too")]
    settings = Settings.from_env(model="m", base_url=fake.base_url, cache=False, validation_retries=0)
    outcomes = {o.article_id: o for o in extract_many(docs, extractor=Extractor(settings), concurrency=2)}
    assert outcomes["ok1"].ok and outcomes["ok2"].ok and not outcomes["bad"].ok


def test_resume_after_kill_writes_every_document_once(fake, tmp_path):
    fake.delay = 0.3
    folder = tmp_path / "docs"
    folder.mkdir()
    for i in range(10):
        (folder / f"doc{i:02d}.txt").write_text(f"Treasury sanctioned firm {i}.", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    env = {**os.environ, "OPENAI_BASE_URL": fake.base_url, "EXTRACTOR_MODEL": "m", "OPENAI_API_KEY": "k",
           "EXTRACTOR_PROMPT": "sanctions@v3"}
    cmd = [sys.executable, "-m", "extractor", "extract", str(folder), "--out", str(out), "--concurrency", "2",
           "--no-cache"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    while time.time() < deadline and (not out.exists() or len(out.read_text().splitlines()) < 3):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    first = len(out.read_text().splitlines())
    assert 3 <= first < 10
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    ids = [json.loads(line)["article_id"] for line in out.read_text().splitlines()]
    assert sorted(ids) == [f"doc{i:02d}" for i in range(10)]
    assert len(fake.chat_requests()) <= 10 + 2  # at most the in-flight ones asked twice


def test_long_document_is_chunked_and_merged(fake, tmp_path):
    paragraph = ("The committee reviewed trade figures and shipping schedules for the quarter. " * 12).strip()
    text = "\n\n".join([paragraph] * 1600)  # ~190,000 words
    assert len(text.split()) > 180_000

    def answer(body):
        content = body["messages"][-1]["content"]
        name = "Acme Shipping" if "Acme" in content else "Beta Bank"
        return completion(json.dumps({"is_sanctions_news": True, "actions": [{
            "authority": "us", "action": "impose", "measures": ["asset_freeze"],
            "targets": [{"name": name, "entity_type": "company"}],
            "evidence": ["Treasury sanctioned Acme Shipping."]}]}))

    fake.default = answer
    text = "Treasury sanctioned Acme Shipping.\n\n" + text + "\n\nBeta Bank was also named."
    settings = Settings.from_env(model="m", base_url=fake.base_url, cache=False, context_tokens=60000)
    result = Extractor(settings).extract(text, article_id="long")
    assert result.meta.chunks > 5
    assert len(fake.chat_requests()) == result.meta.chunks
    assert len(result.actions) == 1
    assert sorted(t.name for t in result.actions[0].targets) == ["Acme Shipping", "Beta Bank"]
    assert result.meta.grounding["evidence"]["exact"] == 1
    assert result.meta.usage.prompt_tokens == 100 * result.meta.chunks


def test_require_grounding_drops_invented_items(fake):
    fake.default = completion(json.dumps({"is_sanctions_news": True, "actions": [
        {"authority": "us", "action": "impose", "targets": [{"name": "Acme Shipping", "entity_type": "company"},
                                                              {"name": "Northwind Maritime", "entity_type": "company"}],
         "evidence": ["Treasury sanctioned Acme Shipping."]},
        {"authority": "gb", "action": "impose", "evidence": ["The UK froze the assets of Gamma Ltd."]}]}))
    text = "Treasury sanctioned Acme Shipping. Markets were calm."
    kept = Extractor(Settings.from_env(model="m", base_url=fake.base_url, cache=False, require_grounding=True))
    result = kept.extract(text, article_id="g")
    assert [a.authority for a in result.actions] == ["us"]
    assert [t.name for t in result.actions[0].targets] == ["Acme Shipping"]
    plain = Extractor(Settings.from_env(model="m", base_url=fake.base_url, cache=False)).extract(text, article_id="g")
    assert len(plain.actions) == 2 and plain.meta.grounding["names"]["not_found"] == 1


def test_prompts_render_equals_what_the_backend_receives(fake, tmp_path, monkeypatch):
    doc = tmp_path / "a.txt"
    doc.write_text("Treasury sanctioned Acme Shipping on Monday.", encoding="utf-8")
    monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
    monkeypatch.setenv("EXTRACTOR_MODEL", "m")
    rendered = json.loads(CliRunner().invoke(app, ["prompts", "render", "sanctions@v3", str(doc)]).stdout)
    assert CliRunner().invoke(app, ["extract", str(doc), "--prompt", "sanctions@v3"]).exit_code == 0
    sent = fake.chat_requests()[0]
    assert sent["messages"] == rendered["messages"]
    assert sent["response_format"]["json_schema"]["schema"] == rendered["schema"]


def test_cli_module_entry_point_exists():
    assert (ROOT / "extractor" / "__main__.py").exists()
