"""API keys: generation, hashing, Bearer authentication and the per-key, per-minute rate limit."""

from __future__ import annotations

import hashlib
import math
import secrets
import time

from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from extractor.store.keys import KeyInfo

from .errors import ApiError

KEY_PREFIX = "sx_"


def new_key() -> tuple[str, str, str]:
    """A fresh key: (the key to show once, its display prefix, its hash to store)."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    return key, key[:10], hash_key(key)


def hash_key(key: str) -> str:
    """SHA-256 of a key. Keys are 256-bit random tokens, so a fast hash is enough (no password stretching)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def bearer_token(header: str | None) -> str:
    """The token of an `Authorization: Bearer ...` header; 401 when missing or malformed."""
    challenge = {"WWW-Authenticate": "Bearer"}
    if not header:
        raise ApiError(401, "unauthorized", "missing API key: send Authorization: Bearer <key>", challenge)
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", "malformed Authorization header: use Bearer <key>", challenge)
    return token.strip()


def check_key(info: KeyInfo | None) -> KeyInfo:
    """The key if it is known and not revoked; 401 otherwise."""
    challenge = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
    if info is None:
        raise ApiError(401, "unauthorized", "invalid API key", challenge)
    if info.revoked:
        raise ApiError(401, "unauthorized", "this API key has been revoked", challenge)
    return info


class RateLimiter:
    """A moving one-minute window per key (in this process's memory)."""

    def __init__(self) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def check(self, key: KeyInfo) -> None:
        """Count one request for `key`; 429 with Retry-After when it is over its limit."""
        item = RateLimitItemPerMinute(key.rate_limit)
        if self._limiter.hit(item, str(key.id)):
            return
        reset = self._limiter.get_window_stats(item, str(key.id)).reset_time
        retry_after = max(1, math.ceil(reset - time.time()))
        raise ApiError(
            429, "rate_limited", f"over the limit of {key.rate_limit} requests per minute for this key",
            {"Retry-After": str(retry_after)},
        )
