"""Service configuration: database, extraction defaults, limits and worker behaviour."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from extractor.core.settings import Settings

DEFAULT_RATE_LIMIT = 120  # requests per minute for a new key


@dataclass(frozen=True)
class ServiceConfig:
    """Everything `create_app` needs; `extractor serve` fills it from its options."""

    db_url: str | None = None
    settings: Settings | None = None
    prompt: str | None = None
    models: tuple[str, ...] = field(default_factory=tuple)
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

    def check(self) -> None:
        """Raise ValueError naming a setting out of range."""
        if self.workers < 1:
            raise ValueError("workers must be at least 1")
        if self.max_body_bytes < 1024:
            raise ValueError("the body limit must be at least 1 KiB")
        if self.lease_s <= 0 or self.poll_s <= 0 or self.watch_tick_s <= 0 or self.watch_host_interval_s < 0:
            raise ValueError("lease, poll and watch intervals must be positive")
        if self.auth_failures < 1 or self.auth_window_s < 1:
            raise ValueError("the failed-key lockout needs at least 1 failure and a window of at least 1 s")
        if self.list_path is not None and not Path(self.list_path).is_file():
            raise ValueError(f"--list {self.list_path}: no such file")
