"""Which result cache a run uses: the disk cache by default, Redis when `cache_url` names it."""

from __future__ import annotations

from typing import Any, Protocol

from ..settings import Settings
from .disk import ResultCache


class Cache(Protocol):
    """What the pipeline needs from a result cache (both backends provide it)."""

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored entry for `key`, or None."""

    def set(self, key: str, entry: dict[str, Any]) -> None:
        """Store a validated answer entry."""

    def stats(self) -> dict[str, Any]:
        """Entries, size, location, hits and misses."""

    def clear(self) -> int:
        """Remove every entry; returns how many were removed."""

    def close(self) -> None:
        """Release connections."""


def open_cache(settings: Settings, *, enabled: bool | None = None) -> Cache | None:
    """The cache `settings` select, or None when caching is off (`enabled` overrides `settings.cache`).

    `cache_url` (EXTRACTOR_CACHE_URL) set to redis://, rediss:// or unix:// opens Redis;
    otherwise the disk cache in `cache_dir`.
    """
    if not (settings.cache if enabled is None else enabled):
        return None
    if settings.cache_url:
        from .redis import RedisCache

        return RedisCache(settings.cache_url)
    return ResultCache(settings.cache_dir)
