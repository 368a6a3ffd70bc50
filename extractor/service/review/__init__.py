"""The review pages: an analyst checks an extraction against its document, corrects it and approves it."""

from .routes import router
from .views import STATIC_DIR

__all__ = ["STATIC_DIR", "router"]
