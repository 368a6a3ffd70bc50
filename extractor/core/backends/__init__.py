"""Model backends. The core never imports a provider: `get_backend()` loads one lazily.

A backend is one module with one `Backend` subclass. In-process runtimes are named by the
prefix of `--model` (`embedded`, `embedded:gemma3`) and listed in `LOCAL`; any other model
name is served by the OpenAI-compatible endpoint.
"""

from __future__ import annotations

import importlib

from ..settings import Settings
from .base import Backend

LOCAL = {"embedded": f"{__name__}.embedded:EmbeddedBackend"}
"""`--model` prefix → `module:class` of an in-process backend (imported when first asked for)."""
ENDPOINT = f"{__name__}.openai_compat:OpenAICompatBackend"


def get_backend(settings: Settings) -> Backend:
    """The backend the settings ask for: embedded (default) or an OpenAI-compatible endpoint.

    Building one is cheap: the embedded model loads, and the OpenAI SDK is imported, only on
    the first call that needs them.
    """
    prefix = (settings.model or "embedded").split(":")[0]
    module, name = LOCAL.get(prefix, ENDPOINT).split(":")
    backend: type[Backend] = getattr(importlib.import_module(module), name)
    return backend.for_settings(settings)


__all__ = ["Backend", "get_backend"]
