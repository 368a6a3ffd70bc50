"""Model backends. The core never imports a provider: `get_backend()` loads one lazily."""

from __future__ import annotations

from ..settings import Settings
from .base import Backend


def get_backend(settings: Settings) -> Backend:
    """The backend the settings ask for: embedded (default) or an OpenAI-compatible endpoint.

    Building one is cheap: the embedded model loads, and the OpenAI SDK is imported, only on
    the first call that needs them.
    """
    if settings.uses_embedded:
        from .embedded import EmbeddedBackend

        return EmbeddedBackend.for_settings(settings)
    from .openai_compat import OpenAICompatBackend

    return OpenAICompatBackend(settings)


__all__ = ["Backend", "get_backend"]
