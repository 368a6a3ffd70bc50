"""The result cache on Redis: the same interface as the disk cache, shared by every machine.

Entries are JSON (never pickle: a shared server should not hand code to its readers), and
what is read back is validated like a model's answer (`entries.decode`): anything else is a
miss, counted under `rejected` and logged once. They live under one key prefix, so `clear`
and `stats` touch only this cache's keys. Hit and miss counters live in Redis too, so
`stats` counts over every worker of a cluster. Like the disk cache, only validated answers
are stored; errors never reach `set`.

When the server goes away during a run, reads count as misses and writes are dropped with
one warning: the run goes on uncached rather than failing documents that the model answered.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ..errors import ConfigError
from .entries import decode, encode, report_rejected

PREFIX = "sanctions-extractor:result:"
HITS = "sanctions-extractor:stats:hits"
MISSES = "sanctions-extractor:stats:misses"
REJECTED = "sanctions-extractor:stats:rejected"
SCAN_PAGE = 1000

log = logging.getLogger(__name__)


def redacted(url: str) -> str:
    """`url` with any password replaced by ***, for messages and stats."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit((parts.scheme, user + host, parts.path, parts.query, parts.fragment))


class RedisCache:
    """Cached answers in a Redis database, selected by `EXTRACTOR_CACHE_URL=redis://host:port/db`."""

    def __init__(self, url: str, *, timeout: float = 5.0) -> None:
        try:
            import redis
        except ImportError:
            raise ConfigError(
                "EXTRACTOR_CACHE_URL names Redis but the redis client is not installed: "
                "pip install 'sanctions-extractor[redis]'"
            ) from None
        self.url = redacted(url)
        self._errors: tuple[type[BaseException], ...] = (redis.ConnectionError, redis.TimeoutError)
        try:
            self._client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
            self._client.ping()
        except (ValueError, redis.RedisError) as exc:
            raise ConfigError(f"cache {self.url} is not usable: {exc}") from None
        self._warned = False

    def _degraded(self, exc: BaseException) -> None:
        if not self._warned:
            log.warning("cache %s failed (%s): going on without the cache", self.url, exc)
            self._warned = True

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored entry for `key`, or None (also when Redis is unreachable)."""
        try:
            raw = self._client.get(PREFIX + key)
            self._client.incr(HITS if raw is not None else MISSES)
        except self._errors as exc:
            self._degraded(exc)
            return None
        if raw is None:
            return None
        entry = decode(raw)
        if entry is None:  # not a valid answer: a miss, and the fresh answer overwrites it
            report_rejected(self.url, key)
            try:
                self._client.incr(REJECTED)
            except self._errors as exc:
                self._degraded(exc)
        return entry

    def set(self, key: str, entry: dict[str, Any]) -> None:
        """Store a validated answer entry (JSON)."""
        try:
            self._client.set(PREFIX + key, encode(entry))
        except self._errors as exc:
            self._degraded(exc)

    def _keys(self) -> list[list[bytes]]:
        """This cache's keys, in pages of SCAN_PAGE (SCAN, so the server is never blocked)."""
        pages: list[list[bytes]] = []
        page: list[bytes] = []
        for key in self._client.scan_iter(match=PREFIX + "*", count=SCAN_PAGE):
            page.append(key)
            if len(page) >= SCAN_PAGE:
                pages.append(page)
                page = []
        if page:
            pages.append(page)
        return pages

    def stats(self) -> dict[str, Any]:
        """Entries, bytes of stored JSON, the server URL, and hits/misses over every client."""
        entries = size = 0
        for page in self._keys():
            pipe = self._client.pipeline(transaction=False)
            for key in page:
                pipe.strlen(key)
            sizes = pipe.execute()
            entries += len(page)
            size += sum(int(s) for s in sizes)
        hits, misses, rejected = (_count(v) for v in self._client.mget([HITS, MISSES, REJECTED]))
        # A rejected entry was found, so counted as a hit, but it was a miss for the run.
        return {
            "url": self.url,
            "entries": entries,
            "size_bytes": size,
            "hits": max(hits - rejected, 0),
            "misses": misses + rejected,
            "rejected": rejected,
        }

    def clear(self) -> int:
        """Remove every entry of this cache (and its counters); returns how many were removed."""
        removed = 0
        for page in self._keys():
            removed += int(self._client.unlink(*page))
        self._client.delete(HITS, MISSES, REJECTED)
        return removed

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()


def _count(value: Any) -> int:
    """A counter's value; 0 when missing or not a number."""
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0
