"""Service configuration: database, extraction settings, limits and worker behaviour.

Part of the one settings story: a frozen pydantic model whose defaults are written here
once (`extractor serve` shows them as its options' defaults), holding the library's
`Settings` (prompt, model, endpoint, cache: from the environment unless given), and
refusing a wrong value with `ConfigError`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from extractor.core.errors import ConfigError
from extractor.core.settings import Settings

DEFAULT_RATE_LIMIT = 120
"""Requests per minute a new API key may make (`extractor keys create --rate-limit`)."""


class ServiceConfig(BaseModel):
    """Everything `create_app` needs; `extractor serve` fills it from its options and the environment."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    db_url: str | None = None  # None: EXTRACTOR_DB_URL, else SQLite in the user data directory (`Store`)
    settings: Settings = Field(default_factory=Settings)
    models: tuple[str, ...] = ()  # models requests may ask for besides `settings.model`
    workers: int = 4
    max_body_bytes: int = 10 * 1024 * 1024
    max_text_chars: int = 1_000_000
    max_job_documents: int = 10_000
    lease_s: float = 30.0
    poll_s: float = 0.5
    max_attempts: int = 3
    list_path: Path | None = None  # a sanctions list (SDN CSV or FtM entities) for /v1/documents/{id}/matches
    session_secret_file: Path | None = None  # default: $EXTRACTOR_SESSION_SECRET, else the user data directory
    auth_failures: int = 10  # failed keys from one address before it is locked out ...
    auth_window_s: float = 300.0  # ... within this many seconds (and for as long)
    watch: bool = True  # poll watched sources, merge events, raise alerts (one process at a time, by lease)
    watch_tick_s: float = 5.0
    watch_host_interval_s: float = 1.0  # seconds between two requests to one host

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "service configuration"
            raise ConfigError(f"{where}={first.get('input')!r}: {first['msg']}") from None

    @model_validator(mode="after")
    def _checked(self) -> ServiceConfig:
        self.check()
        return self

    def check(self) -> None:
        """Raise `ConfigError` naming a setting out of range."""
        if self.workers < 1:
            raise ConfigError("--workers must be at least 1")
        if self.max_body_bytes < 1024:
            raise ConfigError("--max-body-mb: the body limit must be at least 1 KiB")
        if self.max_text_chars < 1 or self.max_job_documents < 1 or self.max_attempts < 1:
            raise ConfigError("the text, job and attempt limits must be at least 1")
        if self.lease_s <= 0 or self.poll_s <= 0:
            raise ConfigError("--lease and the poll interval must be positive")
        if self.watch_tick_s <= 0 or self.watch_host_interval_s < 0:
            raise ConfigError("--watch-tick must be positive and --watch-host-interval not negative")
        if self.auth_failures < 1 or self.auth_window_s < 1:
            raise ConfigError("the failed-key lockout needs at least 1 failure (--auth-failures) and a window "
                              "of at least 1 s (--auth-window)")
        if self.list_path is not None and not Path(self.list_path).is_file():
            raise ConfigError(f"--list {self.list_path}: no such file")


def default(name: str) -> Any:
    """The default of a `ServiceConfig` field, for the `extractor serve` option that sets it."""
    return ServiceConfig.model_fields[name].default
