"""The extraction service: FastAPI app, API keys, background job workers over the store."""

from .app import create_app
from .config import ServiceConfig

__all__ = ["ServiceConfig", "create_app"]
