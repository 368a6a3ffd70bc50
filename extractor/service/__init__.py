"""The extraction service: FastAPI app, API keys, background job workers over the store."""

from __future__ import annotations

from typing import Any

from .config import ServiceConfig

__all__ = ["ServiceConfig", "create_app"]


def __getattr__(name: str) -> Any:
    # The app (FastAPI, SQLAlchemy) is imported when first asked for, so the command line can
    # read `ServiceConfig`'s defaults without paying for the web stack at every start.
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
