"""Crash safety: `kill -9` at seeded random moments, then a rerun with the same output.

Every trial is a real `python -m extractor` subprocess against the fake server running in a
thread of this test; after the final rerun every document is there exactly once, documents
finished before a kill are never asked again, and torn lines are redone, never parsed.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from extractor.batch.openai_batch import state_path
from extractor.batch.results import read_results, repair_tail
from extractor.eval.goldset import load_gold_set
from extractor.testing.fake_openai import FakeOpenAI
from tests.integration.test_batch_api import FakeBatchAPI

FIRM = re.compile(r"Treasury sanctioned firm (\d+)\.")
TRIAL_TIMEOUT = 60.0


def _env(fake: FakeOpenAI) -> dict[str, str]:
    return {**os.environ, "OPENAI_BASE_URL": fake.base_url, "EXTRACTOR_MODEL": "m", "OPENAI_API_KEY": "k",
            "EXTRACTOR_PROMPT": "sanctions@v3", "EXTRACTOR_RETRY_BUDGET": "10"}


def _docs(folder: Path, n: int) -> list[str]:
    folder.mkdir()
    for i in range(n):
        (folder / f"doc{i:03d}.txt").write_text(f"Treasury sanctioned firm {i}.", encoding="utf-8")
    return [f"doc{i:03d}" for i in range(n)]


def _complete_results(path: Path) -> set[str]:
    """Ids with a whole result line (what a rerun must not redo)."""
    if not path.exists():
        return set()
    done = set()
    for raw in path.read_bytes().split(b"\n")[:-1]:  # the part after the last newline is torn
        try:
            record = json.loads(raw)
        except json.JSONDecodeError:
            continue
        if "error" not in record:
            done.add(record["article_id"])
    return done


def _asked(fake: FakeOpenAI, start: int) -> list[str]:
    """Document ids of the chat requests received since request number `start`."""
    ids = []
    for body in fake.chat_requests()[start:]:
        match = FIRM.search(body["messages"][-1]["content"])
        if match:
            ids.append(f"doc{int(match[1]):03d}")
    return ids


def _kill_at_random(cmd: list[str], env: dict[str, str], ready: Any, rng: random.Random, spread: float) -> None:
    """Start `cmd`, wait until `ready()` (bounded), wait a random moment more, then SIGKILL it."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + TRIAL_TIMEOUT
        while time.monotonic() < deadline and proc.poll() is None and not ready():
            time.sleep(0.01)
        time.sleep(rng.uniform(0, spread))
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait(10)


def _lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def test_extract_survives_kill_9_at_random_moments(fake, tmp_path):
    rng = random.Random(20240611)
    fake.delay = 0.08  # 100 documents at -j 4 take at least 2 s: the kills land mid-run
    ids = _docs(tmp_path / "docs", 100)
    out = tmp_path / "out" / "results.jsonl"
    cmd = [sys.executable, "-m", "extractor", "extract", str(tmp_path / "docs"), "--out", str(out), "-j", "4",
           "--no-cache"]
    env = _env(fake)
    violations = []
    for _trial in range(4):
        done_before, start, lines_before = _complete_results(out), len(fake.chat_requests()), _lines(out)
        _kill_at_random(cmd, env, lambda lb=lines_before: _lines(out) > lb, rng, spread=0.5)
        violations += [i for i in _asked(fake, start) if i in done_before]
    kills_done = _complete_results(out)
    assert 0 < len(kills_done) < 100, "the kills should land mid-run"
    # a torn last line, as a kill in the middle of a write leaves it, for a document not done yet
    todo = sorted(set(ids) - kills_done)
    repair_tail(out)
    with out.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps({"article_id": todo[0], "is_sanctions_news": True, "actions": []})[:-7])
    start = len(fake.chat_requests())
    final = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=TRIAL_TIMEOUT)
    assert final.returncode == 0, final.stderr
    violations += [i for i in _asked(fake, start) if i in kills_done]
    assert violations == [], "finished documents were asked again"
    assert todo[0] in _asked(fake, start)  # the torn line's document was redone
    stored = read_results(out)
    assert stored.torn == []
    assert sorted(item.article_id for item in stored.items) == ids  # every document exactly once
    assert all(not hasattr(item, "error") for item in stored.items)


def test_eval_run_directory_survives_kill_9(fake, tmp_path):
    rng = random.Random(7)
    fake.delay = 0.05
    run_dir = tmp_path / "run"
    cmd = [sys.executable, "-m", "extractor", "eval", "--out", str(run_dir), "-j", "2", "--no-cache", "--n-boot",
           "100"]
    env = _env(fake)
    predictions = run_dir / "predictions.jsonl"
    texts = load_gold_set().texts

    def asked(start: int) -> list[str]:
        contents = [body["messages"][-1]["content"] for body in fake.chat_requests()[start:]]
        return [doc_id for content in contents for doc_id, text in texts.items() if text.strip()[:300] in content]

    violations = []
    for _trial in range(2):
        before, done, start = _lines(predictions), _complete_results(predictions), len(fake.chat_requests())
        _kill_at_random(cmd, env, lambda b=before: _lines(predictions) > b, rng, spread=0.3)
        violations += [i for i in asked(start) if i in done]
    done, start = _complete_results(predictions), len(fake.chat_requests())
    assert 0 < len(done) < 30
    final = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=TRIAL_TIMEOUT)
    assert final.returncode == 0, final.stderr
    violations += [i for i in asked(start) if i in done]
    assert violations == [], "finished documents were asked again"
    assert len(asked(0)) == len(fake.chat_requests())  # every request was attributed to its document
    stored = read_results(predictions)
    assert stored.torn == [] and len(stored.items) == 30
    assert len({item.article_id for item in stored.items}) == 30
    info = json.loads((run_dir / "run.json").read_text())
    assert info["n_documents"] == 30
    assert json.loads((run_dir / "report.json").read_text())["gold_hash"] == info["gold_hash"]
    compared = subprocess.run([sys.executable, "-m", "extractor", "compare", str(run_dir), str(run_dir), "--out",
                               str(tmp_path / "cmp"), "--n-boot", "100"], env=env, capture_output=True, text=True,
                              timeout=TRIAL_TIMEOUT)
    assert compared.returncode == 0, compared.stderr


def test_batch_api_pending_state_survives_kill_9(fake, tmp_path):
    rng = random.Random(99)
    api = FakeBatchAPI(polls_before_done=3).install(fake)
    ids = _docs(tmp_path / "docs", 40)
    out = tmp_path / "batch.jsonl"
    cmd = [sys.executable, "-m", "extractor", "extract", str(tmp_path / "docs"), "--out", str(out), "--batch-api",
           "--poll", "0.05", "--no-cache"]
    env = _env(fake)
    pending = state_path(out)
    for _trial in range(3):
        # killed while a batch is pending or being collected: the state file must carry it over
        _kill_at_random(cmd, env, pending.exists, rng, spread=0.4)
    final = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=TRIAL_TIMEOUT)
    assert final.returncode == 0, final.stderr
    stored = read_results(out)
    assert stored.torn == []
    assert sorted(item.article_id for item in stored.items) == ids
    uploaded = [r["custom_id"] for index in range(len(api.uploads)) for r in api.uploaded_requests(index)]
    assert sorted(uploaded) == ids, "a pending batch was submitted again"
    assert not pending.exists()
