"""The result cache: validated answers on disk (diskcache), keyed by everything that changes them.

Only schema-valid answers are stored, never errors. diskcache keeps its index in SQLite,
so several processes can read and write the same directory at once. A directory that
cannot be used degrades to no caching with one warning, never to a failed extraction.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any

import diskcache

from ..errors import ConfigError

log = logging.getLogger("extractor.cache")
_warned: set[str] = set()  # directories already warned about in this process: one warning each
# What an unusable cache directory raises: not a directory, read-only, disk full, locked too long.
_CACHE_FAULTS = (OSError, sqlite3.Error, diskcache.Timeout)


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
            self._cache = diskcache.Cache(str(self.directory), statistics=True)
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
        """The stored entry for `key`, or None (also when the cache is unusable)."""
        if self._cache is not None and self.error is None:
            try:
                value = self._cache.get(key, default=None, retry=True)
            except _CACHE_FAULTS as exc:
                self._disable(exc)
            else:
                return value if isinstance(value, dict) else None
        self._skipped()
        return None

    def set(self, key: str, entry: dict[str, Any]) -> None:
        """Store a validated answer entry (nothing happens when the cache is unusable)."""
        if self._cache is not None and self.error is None:
            try:
                self._cache.set(key, entry, retry=True)
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
        """Entries, bytes on disk, directory, and hits/misses counted since the cache was made."""
        cache = self._usable_cache()
        try:
            hits, misses = cache.stats()
            return {
                "directory": str(self.directory),
                "entries": len(cache),
                "size_bytes": cache.volume(),
                "hits": hits,
                "misses": misses,
            }
        except _CACHE_FAULTS as exc:
            raise ConfigError(f"cache directory {self.directory} is not usable ({exc})") from None

    def clear(self) -> int:
        """Remove every entry; returns how many were removed."""
        cache = self._usable_cache()
        try:
            return int(cache.clear(retry=True))
        except _CACHE_FAULTS as exc:
            raise ConfigError(f"cache directory {self.directory} is not usable ({exc})") from None

    def close(self) -> None:
        """Close the underlying SQLite connections."""
        if self._cache is not None:
            self._cache.close()
