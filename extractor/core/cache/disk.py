"""The result cache: validated answers on disk (diskcache), keyed by everything that changes them.

Only schema-valid answers are stored, never errors. diskcache keeps its index in SQLite,
so several processes can read and write the same directory at once. A directory that
cannot be used degrades to no caching with one warning, never to a failed extraction.

Entries are JSON bytes (`entries`), written and read through `DataDisk`, which never
unpickles: whoever can write the cache's SQLite file can change the `mode` column of a
row, and diskcache's own `Disk` would then unpickle that row's value, running its code.
A row that is not plain bytes or text, or whose file lies outside the cache directory,
is a miss that is counted (`rejected` in `stats`) and logged once. The directory and its
files are created readable by their owner only (0700/0600).
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
from pathlib import Path
from typing import Any

import diskcache
from diskcache.core import MODE_BINARY, MODE_RAW, MODE_TEXT, UNKNOWN

from ..errors import ConfigError
from .entries import decode, encode, report_rejected

log = logging.getLogger("extractor.cache")
_warned: set[str] = set()  # directories already warned about in this process: one warning each
# What an unusable cache directory raises: not a directory, read-only, disk full, locked too long.
_CACHE_FAULTS = (OSError, sqlite3.Error, diskcache.Timeout)
# The files diskcache names itself (`Disk.filename`): two hex folders and a hex name.
_VALUE_FILE = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{28}\.val$")
REJECTED = "stats:rejected"  # the counter of rejected entries, an integer row of the cache itself


class Rejected:
    """What `DataDisk.fetch` returns for a row it will not read (a pickle, a file outside the cache)."""


REJECTED_ROW = Rejected()


class DataDisk(diskcache.Disk):
    """A diskcache `Disk` for str keys and bytes/int values that never unpickles anything."""

    def put(self, key: Any) -> tuple[Any, bool]:
        if type(key) is not str:
            raise TypeError(f"cache keys are str, not {type(key).__name__}")
        return key, True

    def get(self, key: Any, raw: bool) -> Any:
        # A non-raw key would be a pickle: handed back as bytes, never loaded.
        return bytes(key) if isinstance(key, bytes | memoryview) else key

    def store(self, value: Any, read: bool, key: Any = UNKNOWN) -> Any:
        if type(value) not in (bytes, int):
            raise TypeError(f"cache values are bytes or int, not {type(value).__name__}")
        return super().store(value, read, key=key)

    def fetch(self, mode: int, filename: str | None, value: Any, read: bool) -> Any:
        if mode == MODE_RAW:
            return bytes(value) if isinstance(value, bytes | memoryview) else value
        if mode in (MODE_BINARY, MODE_TEXT) and not read and _inside(filename):
            with open(os.path.join(self._directory, str(filename)), "rb") as reader:
                return reader.read()
        return REJECTED_ROW  # MODE_PICKLE, or a file name that points elsewhere

    def remove(self, file_path: str) -> None:
        if _inside(file_path):  # never delete a file a tampered row names outside the cache
            super().remove(file_path)

    def _write(self, full_path: str, iterator: Any, mode: str, encoding: str | None = None) -> int | None:
        # Value files readable by their owner only, like the index.
        def private(path: str, flags: int) -> int:
            return os.open(path, flags, 0o600)

        os.makedirs(os.path.dirname(full_path), mode=0o700, exist_ok=True)
        with open(full_path, mode, encoding=encoding, opener=private) as writer:
            size = 0
            for chunk in iterator:
                size += len(chunk)
                writer.write(chunk)
            return size


def _inside(filename: str | None) -> bool:
    return bool(filename) and _VALUE_FILE.match(str(filename).replace(os.sep, "/")) is not None


def private_directory(directory: Path, index: str) -> None:
    """Create `directory` (0700) and its SQLite `index` file (0600) when they do not exist yet.

    SQLite gives its -wal and -shm files the index's mode. An existing directory keeps the
    mode its owner chose.
    """
    if not directory.exists():
        directory.mkdir(mode=0o700, parents=True)
    path = directory / index
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))


class ResultCache:
    """A directory of cached answers.

    A cache that cannot be used (the path is a file, the disk is full or read-only) never
    stops an extraction: the first fault logs one warning, and from then on `get` finds
    nothing and `set` stores nothing. `stats` and `clear`, which are about the cache itself,
    raise `ConfigError` instead.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.error: str | None = None
        self._cache: diskcache.Cache | None = None
        try:
            private_directory(self.directory, diskcache.core.DBNAME)
            self._cache = diskcache.Cache(str(self.directory), statistics=True, disk=DataDisk)
        except _CACHE_FAULTS as exc:
            self._disable(exc)

    @property
    def usable(self) -> bool:
        """False once the cache directory has failed; extraction then runs uncached."""
        return self._cache is not None and self.error is None

    def _disable(self, exc: BaseException) -> None:
        reason = str(exc) or type(exc).__name__
        if self.directory.exists() and not self.directory.is_dir():
            reason = "it is a file, not a directory"
        self.error = f"cache directory {self.directory} is not usable ({reason})"

    def _skipped(self) -> None:
        """Warn, once per directory and process, that extraction goes on uncached."""
        if str(self.directory) not in _warned:
            _warned.add(str(self.directory))
            log.warning("%s: going on without the cache (set EXTRACTOR_CACHE_DIR or --cache-dir)", self.error)

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored entry for `key` with its answer validated, or None (also when the cache is unusable).

        An entry that is not a valid answer is a miss, counted under `rejected` and logged once.
        """
        if self._cache is not None and self.error is None:
            try:
                value = self._cache.get(key, default=None, retry=True)
                if value is None:
                    return None
                entry = decode(value) if isinstance(value, bytes) else None
                if entry is None:
                    self._cache.incr(REJECTED, retry=True)
                    report_rejected(str(self.directory), key)
                return entry
            except _CACHE_FAULTS as exc:
                self._disable(exc)
        self._skipped()
        return None

    def set(self, key: str, entry: dict[str, Any]) -> None:
        """Store a validated answer entry as JSON (nothing happens when the cache is unusable)."""
        if self._cache is not None and self.error is None:
            try:
                self._cache.set(key, encode(entry), retry=True)
            except _CACHE_FAULTS as exc:
                self._disable(exc)
            else:
                return
        self._skipped()

    def _usable_cache(self) -> diskcache.Cache:
        if self._cache is None or self.error is not None:
            raise ConfigError(self.error or f"cache directory {self.directory} is not usable")
        return self._cache

    def stats(self) -> dict[str, Any]:
        """Entries, bytes on disk, directory, and hits/misses/rejected counted since the cache was made.

        A rejected entry (not a valid answer) was a miss for the run that met it.
        """
        cache = self._usable_cache()
        try:
            hits, misses = cache.stats()
            # incr by 0 reads the counter without counting a hit (get would).
            try:
                rejected = int(cache.incr(REJECTED, 0, retry=True))
            except TypeError:  # the counter's row holds something else
                rejected = 0
            return {
                "directory": str(self.directory),
                "entries": len(cache) - (REJECTED in cache),
                "size_bytes": cache.volume(),
                "hits": max(hits - rejected, 0),
                "misses": misses + rejected,
                "rejected": rejected,
            }
        except _CACHE_FAULTS as exc:
            raise ConfigError(f"cache directory {self.directory} is not usable ({exc})") from None

    def clear(self) -> int:
        """Remove every entry; returns how many were removed."""
        cache = self._usable_cache()
        try:
            counted = REJECTED in cache
            return max(int(cache.clear(retry=True)) - counted, 0)
        except _CACHE_FAULTS as exc:
            raise ConfigError(f"cache directory {self.directory} is not usable ({exc})") from None

    def close(self) -> None:
        """Close the underlying SQLite connections."""
        if self._cache is not None:
            self._cache.close()
