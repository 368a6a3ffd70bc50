"""One cache directory shared by several processes, and cache directories that cannot be used."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import diskcache
import pytest
from typer.testing import CliRunner

from extractor import Extractor, Settings
from extractor.cli import app
from extractor.core.cache import disk as cache_module
from extractor.core.cache.disk import ResultCache


@pytest.mark.parametrize("processes", [2, 4])
def test_processes_sharing_a_cache_count_hits_right(fake, tmp_path, processes):
    fake.delay = 0.01
    folder = tmp_path / "docs"
    folder.mkdir()
    for i in range(24):
        (folder / f"d{i:02d}.txt").write_text(f"Treasury sanctioned company {i}.", encoding="utf-8")
    cache_dir = tmp_path / "shared-cache"
    env = {**os.environ, "OPENAI_BASE_URL": fake.base_url, "EXTRACTOR_MODEL": "m", "OPENAI_API_KEY": "k",
           "EXTRACTOR_PROMPT": "sanctions@v3", "EXTRACTOR_CACHE_DIR": str(cache_dir)}
    runs = []
    for n in range(processes):
        # overlapping inputs: each process takes 16 of the 24 documents, starting at a different one
        files = [str(folder / f"d{(n * 6 + k) % 24:02d}.txt") for k in range(16)]
        out = tmp_path / f"out{n}.jsonl"
        runs.append((out, subprocess.Popen([sys.executable, "-m", "extractor", "extract", *files, "--out", str(out),
                                            "-j", "2"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)))
    for _out, proc in runs:
        _, stderr = proc.communicate(timeout=90)
        assert proc.returncode == 0, stderr.decode()
    lines = [json.loads(line) for out, _ in runs for line in out.read_text().splitlines()]
    assert len(lines) == 16 * processes and all("error" not in line for line in lines)
    hits = sum(line["meta"]["cache_hit"] for line in lines)
    misses = len(lines) - hits
    stats = CliRunner().invoke(app, ["cache", "stats", "--cache-dir", str(cache_dir)])
    assert stats.exit_code == 0, stats.output
    counted = json.loads(stats.stdout)
    assert counted["hits"] == hits and counted["misses"] == misses
    assert misses == len(fake.chat_requests())  # every miss asked the model once, every hit did not
    assert counted["entries"] == len({line["article_id"] for line in lines}) == min(24, 6 * (processes - 1) + 16)
    # no corruption: every stored answer reads back and equals what the processes wrote
    cache = ResultCache(cache_dir)
    by_key = {line["meta"]["cache_key"]: line for line in lines}
    for key, line in by_key.items():
        entry = cache.get(key)
        assert entry is not None and entry["answer"].is_sanctions_news == line["is_sanctions_news"]


def _failing(message: str):
    def fail(*args, **kwargs):
        raise sqlite3.OperationalError(message)

    return fail


@pytest.mark.parametrize("fault", ["database or disk is full", "attempt to write a readonly database"])
def test_a_full_or_read_only_cache_goes_on_uncached_with_one_warning(fake, tmp_path, monkeypatch, caplog, fault):
    # Root ignores permissions and no small file system can be mounted here, so the fault
    # SQLite raises on a full disk or a read-only directory is injected where diskcache meets it.
    monkeypatch.setattr(diskcache.Cache, "set", _failing(fault))
    monkeypatch.setattr(diskcache.Cache, "get", _failing(fault))
    monkeypatch.setattr(cache_module, "_warned", set())
    settings = Settings.from_env(model="m", base_url=fake.base_url, cache_dir=tmp_path / "c")
    with caplog.at_level(logging.WARNING, logger="extractor.cache"):
        results = [Extractor(settings).extract(f"Treasury sanctioned firm {i}.", article_id=f"d{i}") for i in range(3)]
    assert all(not r.meta.cache_hit for r in results)
    assert len(fake.chat_requests()) == 3
    warnings = [r.getMessage() for r in caplog.records if r.name == "extractor.cache"]
    assert len(warnings) == 1 and fault in warnings[0] and "going on without the cache" in warnings[0]


def test_read_only_directory_for_a_non_root_user(fake, tmp_path):
    if os.geteuid() == 0:
        pytest.skip("running as root: permissions do not make a directory read-only (the injected fault covers it)")
    cache_dir = tmp_path / "ro"
    ResultCache(cache_dir).close()
    os.chmod(cache_dir, 0o555)
    for file in Path(cache_dir).iterdir():
        os.chmod(file, 0o444)
    try:
        settings = Settings.from_env(model="m", base_url=fake.base_url, cache_dir=cache_dir)
        assert Extractor(settings).extract("Treasury sanctioned firm 1.", article_id="d").meta.cache_hit is False
    finally:
        os.chmod(cache_dir, 0o755)
