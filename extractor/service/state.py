"""What the running app holds: config, store, extractor registry, job workers, rate limiter, sessions, lockout
and monitor."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from extractor.store import Store

from .auth import AuthThrottle, RateLimiter
from .config import ServiceConfig
from .registry import Registry
from .sessions import Sessions

if TYPE_CHECKING:
    from extractor.monitor import Monitor

    from .workers import JobWorkers


@dataclass
class ServiceState:
    """Shared by every request of one app instance (`app.state.service`)."""

    config: ServiceConfig
    store: Store
    registry: Registry
    workers: JobWorkers
    limiter: RateLimiter
    sessions: Sessions
    throttle: AuthThrottle
    monitor: Monitor | None = None
