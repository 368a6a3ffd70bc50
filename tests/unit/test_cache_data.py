"""The disk cache holds data, never code: planted pickles and foreign files are misses, counted."""

from __future__ import annotations

import os
import pickle
import sqlite3
import stat
from pathlib import Path

from extractor.core.cache.disk import ResultCache

ENTRY = {"answer": {"is_sanctions_news": True, "actions": []}, "usage": {"total_tokens": 5}}


class Planted:
    """A pickle that would create a file if it were ever loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.system, (f"touch {self.marker}",))


def _rows(directory: Path, sql: str, *args: object) -> None:
    with sqlite3.connect(directory / "cache.db") as db:
        db.execute(sql, args)


def test_a_planted_pickle_is_a_counted_miss_and_never_runs(tmp_path: Path) -> None:
    directory, marker = tmp_path / "c", tmp_path / "PWNED"
    cache = ResultCache(directory)
    cache.set("k1", ENTRY)
    cache.set("k2", ENTRY)
    cache.close()
    # What an attacker with write access to the file does: a pickle, flagged as one.
    _rows(directory, "UPDATE Cache SET mode = 4, value = ? WHERE key = 'k1'", pickle.dumps(Planted(marker)))
    cache = ResultCache(directory)
    assert cache.get("k1") is None
    assert not marker.exists()
    entry = cache.get("k2")
    assert entry is not None and entry["answer"].is_sanctions_news is True
    stats = cache.stats()
    assert stats["rejected"] == 1 and stats["entries"] == 2
    assert stats["hits"] == 1 and stats["misses"] == 1
    cache.clear()
    assert not marker.exists()


def test_invalid_answers_and_foreign_files_are_misses(tmp_path: Path) -> None:
    directory = tmp_path / "c"
    outside = tmp_path / "keep.txt"
    outside.write_text('{"answer": {"is_sanctions_news": true, "actions": []}}')
    cache = ResultCache(directory)
    for key in ("json", "answer", "file"):
        cache.set(key, ENTRY)
    cache.close()
    _rows(directory, "UPDATE Cache SET value = ? WHERE key = 'json'", b"not json")
    _rows(directory, "UPDATE Cache SET value = ? WHERE key = 'answer'", b'{"answer": {"is_sanctions_news": 3}}')
    _rows(directory, "UPDATE Cache SET mode = 2, value = NULL, filename = ? WHERE key = 'file'", "../keep.txt")
    cache = ResultCache(directory)
    assert [cache.get(k) for k in ("json", "answer", "file")] == [None, None, None]
    assert cache.stats()["rejected"] == 3
    cache.clear()  # a row naming a file outside the cache never deletes it
    assert outside.exists()


def test_a_new_cache_is_private_to_its_owner(tmp_path: Path) -> None:
    directory = tmp_path / "fresh" / "cache"
    cache = ResultCache(directory)
    cache.set("big", {**ENTRY, "incomplete": ["x" * 100_000]})  # large enough for a value file
    assert cache.get("big") is not None
    cache.close()
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    files = [p for p in directory.rglob("*") if p.is_file()]
    assert any(p.suffix == ".val" for p in files)
    assert {oct(stat.S_IMODE(p.stat().st_mode)) for p in files} == {oct(0o600)}
