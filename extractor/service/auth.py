"""API keys: generation, hashing, Bearer authentication, the per-key rate limit and the lockout on failed keys."""

from __future__ import annotations

import hashlib
import math
import secrets
import time

from limits import RateLimitItemPerMinute, RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from extractor.store.keys import KeyInfo

from .errors import ApiError

KEY_PREFIX = "sx_"
# One message for a key that is unknown and one that was revoked: a guesser learns nothing.
INVALID_KEY = "invalid or revoked API key"


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
    if info is None or info.revoked:
        raise ApiError(401, "unauthorized", INVALID_KEY, {"WWW-Authenticate": 'Bearer error="invalid_token"'})
    return info


class AuthThrottle:
    """Failed key checks per client address: after `failures` within `window_s`, the address is locked out.

    Counted in this process's memory (each server process counts its own), for Bearer keys
    and the login form alike. While locked out, even a right key gets 429: a guesser cannot
    tell a hit from a miss. Behind a reverse proxy, the address is the forwarded client's
    (uvicorn's --proxy-headers, trusted from loopback only).
    """

    def __init__(self, failures: int, window_s: float) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._item = RateLimitItemPerSecond(failures, max(int(window_s), 1))
        self.failures = failures

    def check(self, address: str) -> None:
        """429 with Retry-After while `address` is locked out."""
        if self._limiter.test(self._item, address):
            return
        reset = self._limiter.get_window_stats(self._item, address).reset_time
        retry_after = max(1, math.ceil(reset - time.time()))
        raise ApiError(429, "locked_out", f"too many failed API keys from this address: try again in {retry_after} s",
                       {"Retry-After": str(retry_after)})

    def failed(self, address: str) -> None:
        """Count one failed key from `address`."""
        self._limiter.hit(self._item, address)


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
