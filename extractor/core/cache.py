"""The result cache: validated answers on disk (diskcache), keyed by everything that changes them.

Only schema-valid answers are stored, never errors. diskcache keeps its index in SQLite,
so several processes can read and write the same directory at once.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import diskcache

from .errors import ConfigError

KEY_VERSION = 2


def _digest(material: Any) -> str:
    text = json.dumps(material, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def key_base(*, backend: dict[str, Any], schema: dict[str, Any], params: dict[str, Any], prompt_hash: str) -> str:
    """The digest of everything in a key that is the same for every document of one configuration."""
    return _digest({"v": KEY_VERSION, "backend": backend, "schema": schema, "params": params,
                    "prompt_hash": prompt_hash})


def key_with(base: str, messages: list[dict[str, Any]]) -> str:
    """The key of one request: the configuration's digest and the full message list."""
    return _digest({"base": base, "messages": messages})


def cache_key(
    *,
    backend: dict[str, Any],
    messages: list[dict[str, Any]],
    schema: dict[str, Any],
    params: dict[str, Any],
    prompt_hash: str,
) -> str:
    """A SHA-256 over backend identity, full messages, JSON schema, parameters and prompt hash."""
    return key_with(key_base(backend=backend, schema=schema, params=params, prompt_hash=prompt_hash), messages)


class ResultCache:
    """A directory of cached answers."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        try:
            self._cache = diskcache.Cache(str(self.directory), statistics=True)
        except OSError as exc:
            raise ConfigError(f"cache directory {self.directory} is not usable: {exc}") from None

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored entry for `key`, or None."""
        value = self._cache.get(key, default=None, retry=True)
        return value if isinstance(value, dict) else None

    def set(self, key: str, entry: dict[str, Any]) -> None:
        """Store a validated answer entry."""
        self._cache.set(key, entry, retry=True)

    def stats(self) -> dict[str, Any]:
        """Entries, bytes on disk, directory, and hits/misses counted since the cache was made."""
        hits, misses = self._cache.stats()
        return {
            "directory": str(self.directory),
            "entries": len(self._cache),
            "size_bytes": self._cache.volume(),
            "hits": hits,
            "misses": misses,
        }

    def clear(self) -> int:
        """Remove every entry; returns how many were removed."""
        return int(self._cache.clear(retry=True))

    def close(self) -> None:
        """Close the underlying SQLite connections."""
        self._cache.close()
