"""Run settings: which model and endpoint, cache, retry and generation parameters.

Values come from keyword arguments (CLI flags), then environment variables, then defaults.
Policy lives here so the CLI and the Python API resolve settings the same way.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import platformdirs

from .errors import ConfigError

EMBEDDED_PREFIX = "embedded"
MODES = ("json_schema", "tools", "json", "md_json")
HTTP_TRANSPORTS = ("aiohttp", "httpx")
CACHE_URL_SCHEMES = ("redis://", "rediss://", "unix://")


def default_cache_dir() -> Path:
    """The cache directory: $EXTRACTOR_CACHE_DIR or the user cache directory."""
    env = os.environ.get("EXTRACTOR_CACHE_DIR")
    return Path(env) if env else Path(platformdirs.user_cache_dir("sanctions-extractor")) / "results"


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None


def _env_int(name: str) -> int | None:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None


def _env_bool(name: str) -> bool | None:
    """`on`/`off` (or true/false, 1/0); `auto` or unset leaves the choice to the backend."""
    raw = (os.environ.get(name) or "").strip().lower()
    if raw in ("", "auto"):
        return None
    if raw in ("1", "true", "on", "yes"):
        return True
    if raw in ("0", "false", "off", "no"):
        return False
    raise ConfigError(f"{name}={raw!r}: use on, off or auto")


@dataclass(frozen=True)
class Settings:
    """Everything that decides how a document is extracted, apart from the prompt."""

    model: str | None = None
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    mode: str = "json_schema"
    temperature: float = 0.0
    max_tokens: int | None = None
    seed: int | None = 0
    validation_retries: int = 2
    timeout: float = 120.0
    # The async client's HTTP transport: aiohttp (the SDK's faster choice for many requests in
    # flight) or httpx (the SDK's default).
    http: str = "aiohttp"
    transport_attempts: int = 6
    transport_budget: float = 300.0
    cache: bool = True
    refresh: bool = False
    cache_dir: Path = field(default_factory=default_cache_dir)
    # redis://… shares one cache between processes and machines; unset means diskcache in cache_dir.
    cache_url: str | None = field(default=None, repr=False)
    n_ctx: int = 8192
    context_tokens: int = 32768
    require_grounding: bool = False
    list_bounds: bool | None = None
    # Read documents by rules instead of asking the model (calls/guided.py); None: the backend decides.
    guided_reading: bool | None = None
    max_calls: int = 10
    # Check the endpoint once before a run (model answers, structured-output mode accepted,
    # output budget fits the context); EXTRACTOR_PROBE=off skips it (record/replay servers).
    probe: bool = True
    # Keep every model call (request, raw response, tokens, latency) in the store's database.
    call_log: bool = True
    price_in: float | None = None
    price_out: float | None = None

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        """Settings from the environment, with non-None keyword overrides applied."""
        env: dict[str, Any] = {
            "model": os.environ.get("EXTRACTOR_MODEL") or None,
            "base_url": os.environ.get("OPENAI_BASE_URL") or None,
            "api_key": os.environ.get("OPENAI_API_KEY") or None,
            "mode": os.environ.get("EXTRACTOR_MODE") or "json_schema",
            "cache_url": os.environ.get("EXTRACTOR_CACHE_URL") or None,
            "timeout": _env_float("EXTRACTOR_TIMEOUT", 120.0),
            "http": os.environ.get("EXTRACTOR_HTTP") or "aiohttp",
            "transport_budget": _env_float("EXTRACTOR_RETRY_BUDGET", 300.0),
            "max_tokens": _env_int("EXTRACTOR_MAX_TOKENS"),
            "max_calls": _env_int("EXTRACTOR_MAX_CALLS"),
            "list_bounds": _env_bool("EXTRACTOR_LIST_BOUNDS"),
            "guided_reading": _env_bool("EXTRACTOR_GUIDED_READING"),
            "probe": _env_bool("EXTRACTOR_PROBE"),
            "call_log": _env_bool("EXTRACTOR_CALL_LOG"),
            "context_tokens": int(_env_float("EXTRACTOR_CONTEXT_TOKENS", 32768)),
            "price_in": _env_float("EXTRACTOR_PRICE_IN", -1.0),
            "price_out": _env_float("EXTRACTOR_PRICE_OUT", -1.0),
        }
        for key in ("price_in", "price_out"):
            if env[key] < 0:
                env[key] = None
        for key in ("max_calls", "probe", "call_log"):
            if env[key] is None:
                del env[key]
        names = {f.name for f in fields(cls)}
        unknown = set(overrides) - names
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        env.update({k: v for k, v in overrides.items() if v is not None})
        if isinstance(env.get("cache_dir"), str):
            env["cache_dir"] = Path(env["cache_dir"])
        settings = cls(**env)
        settings.check()
        return settings

    def check(self) -> None:
        """Raise `ConfigError` naming the setting that is wrong."""
        if self.mode not in MODES:
            raise ConfigError(f"EXTRACTOR_MODE / --mode {self.mode!r} is not one of {', '.join(MODES)}")
        if self.max_tokens is not None and self.max_tokens < 16:
            raise ConfigError(f"EXTRACTOR_MAX_TOKENS / --max-tokens {self.max_tokens} is too small (at least 16)")
        if self.validation_retries < 0:
            raise ConfigError("validation_retries must be 0 or more")
        if self.http not in HTTP_TRANSPORTS:
            raise ConfigError(f"EXTRACTOR_HTTP={self.http!r} is not one of {', '.join(HTTP_TRANSPORTS)}")
        if not self.timeout > 0:
            raise ConfigError(f"EXTRACTOR_TIMEOUT={self.timeout!r} must be a positive number of seconds")
        if not self.transport_budget > 0:
            raise ConfigError(f"EXTRACTOR_RETRY_BUDGET={self.transport_budget!r} must be a positive number of seconds")
        if self.transport_attempts < 1:
            raise ConfigError("transport_attempts must be at least 1")
        if self.max_calls < 1:
            raise ConfigError(f"EXTRACTOR_MAX_CALLS={self.max_calls} must be at least 1")
        if self.context_tokens < 512:
            raise ConfigError(f"EXTRACTOR_CONTEXT_TOKENS={self.context_tokens} is too small (at least 512)")
        if self.n_ctx < 512:
            raise ConfigError(f"n_ctx={self.n_ctx} is too small (at least 512)")
        if self.base_url and not self.base_url.startswith(("http://", "https://")):
            raise ConfigError(f"OPENAI_BASE_URL / --base-url {self.base_url!r} must start with http:// or https://")
        if self.cache_url and not self.cache_url.startswith(CACHE_URL_SCHEMES):
            raise ConfigError(
                f"EXTRACTOR_CACHE_URL must start with {', '.join(CACHE_URL_SCHEMES)} (unset it for the disk cache)"
            )
        if self.model is None and self.base_url:
            raise ConfigError("OPENAI_BASE_URL is set but no model is: set EXTRACTOR_MODEL or pass --model")

    @property
    def uses_embedded(self) -> bool:
        """True when the in-process embedded model answers (no endpoint configured)."""
        return self.model is None or self.model.split(":")[0] == EMBEDDED_PREFIX

    def with_(self, **changes: Any) -> Settings:
        """A copy with some settings changed."""
        return replace(self, **changes)

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float | None:
        """Cost in the configured currency (prices are per million tokens), if priced."""
        if self.price_in is None and self.price_out is None:
            return None
        return (prompt_tokens * (self.price_in or 0) + completion_tokens * (self.price_out or 0)) / 1e6
