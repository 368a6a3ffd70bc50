"""Any OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp server) via `openai`."""

from __future__ import annotations

from typing import Any

import openai

from ..errors import ConfigError
from ..settings import Settings
from ..transport import with_transport_retries
from .base import MODE_BY_NAME

OPENAI_URL = "https://api.openai.com/v1"


class OpenAICompatBackend:
    """Chat completions through the official client; its own retries are off (ours are tenacity)."""

    name = "openai"
    grounded_decoding = False

    def __init__(self, settings: Settings) -> None:
        if not settings.model:
            raise ConfigError("no model set: pass --model or set EXTRACTOR_MODEL")
        if not settings.base_url and not settings.api_key:
            raise ConfigError(
                f"model {settings.model!r} needs an endpoint: set OPENAI_API_KEY for OpenAI, "
                "or OPENAI_BASE_URL for a vLLM / Ollama / llama.cpp server (or use --model embedded)"
            )
        self.model = settings.model
        self.endpoint = settings.base_url or OPENAI_URL
        self.mode = MODE_BY_NAME[settings.mode]
        # Local servers accept any key; the client insists on one.
        self._client = openai.OpenAI(
            base_url=self.endpoint,
            api_key=settings.api_key or "not-needed",
            max_retries=0,
            timeout=settings.timeout,
        )
        self.create = with_transport_retries(
            self._client.chat.completions.create,
            endpoint=self.endpoint,
            attempts=settings.transport_attempts,
            budget=settings.transport_budget,
        )

    def identity(self) -> dict[str, Any]:
        """Backend, model, base URL and mode: what decides the answer besides the request."""
        return {"backend": self.name, "model": self.model, "base_url": self.endpoint, "mode": self.mode.value}

    def context_window(self) -> int | None:
        """Unknown for remote models: the server reports overflow as an error."""
        return None

    def request_kwargs(self) -> dict[str, Any]:
        """Keyword arguments every request carries."""
        return {"model": self.model}
