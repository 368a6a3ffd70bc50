"""Cache keys: a SHA-256 over everything that changes an answer.

The configuration's part (backend, schema, parameters, prompt hash) is digested once per extractor;
each request adds its full message list.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

KEY_VERSION = 3  # 3: entries are JSON bytes (2 were pickled dicts, never read again)


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
