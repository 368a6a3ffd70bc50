"""Any OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp server) via `openai`.

The SDK is imported and its clients are built only when the first request is made, so a run
served entirely from the cache never pays for them. Extraction uses the async client (one per
event loop, since an httpx connection pool belongs to the loop that opened it); the sync
client serves synchronous callers.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from functools import cached_property
from typing import Any

from ..calls import accounting
from ..calls.aio import is_portal
from ..calls.sdk import chat_poster, mode_for
from ..calls.transport import RetryPolicy, chat_completion
from ..errors import ConfigError
from ..settings import Settings
from .base import Backend

OPENAI_URL = "https://api.openai.com/v1"
# Sized for large answers (a release designating 200 targets); longer ones are continued.
DEFAULT_MAX_TOKENS = 8192


class OpenAICompatBackend(Backend):
    """Chat completions through the official client; its own retries are off (ours are tenacity)."""

    name = "openai"
    default_max_tokens = DEFAULT_MAX_TOKENS

    def __init__(self, settings: Settings) -> None:
        if not settings.model:
            raise ConfigError("no model set: pass --model or set EXTRACTOR_MODEL")
        if not settings.base_url and not settings.api_key:
            raise ConfigError(
                f"model {settings.model!r} needs an endpoint: set OPENAI_API_KEY for OpenAI, "
                "or OPENAI_BASE_URL for a vLLM / Ollama / llama.cpp server (or use --model embedded)"
            )
        self.settings = settings
        self.model = settings.model
        self.endpoint = settings.base_url or OPENAI_URL
        self.policy = RetryPolicy(
            endpoint=self.endpoint, attempts=settings.transport_attempts, budget=settings.transport_budget,
            timeout=settings.timeout,
        )
        self._async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = weakref.WeakKeyDictionary()
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = weakref.WeakKeyDictionary()

    @cached_property
    def mode(self) -> Any:
        """The instructor mode, from `--mode` / EXTRACTOR_MODE."""
        return mode_for(self.settings.mode)

    def _client_options(self) -> dict[str, Any]:
        # Local servers accept any key; the client insists on one.
        return {"base_url": self.endpoint, "api_key": self.settings.api_key or "not-needed", "max_retries": 0,
                "timeout": self.settings.timeout}

    @cached_property
    def client(self) -> Any:
        """The synchronous `openai.OpenAI` client (the Batch API's file and batch calls use it)."""
        import openai

        return openai.OpenAI(**self._client_options())

    @cached_property
    def _sync_create(self) -> Any:
        return self.policy.wrap(chat_poster(self.client), check=chat_completion)

    def create(self, **kwargs: Any) -> Any:
        """One chat-completions call, retried on transient faults."""
        return self._sync_create(**kwargs)

    async def acreate(self, **kwargs: Any) -> Any:
        """One chat-completions call on this event loop's client, retried on transient faults."""
        loop = asyncio.get_running_loop()
        create = self._async.get(loop)
        if create is None:
            started = time.perf_counter()
            import openai

            # The synchronous callers' shared loop keeps httpx: its clients live as long as the
            # process, and an aiohttp session left open at exit warns; the loops of batch runs
            # and workers close theirs (`aclose`).
            http = {} if is_portal(loop) else _http_client(openai, self.settings)
            client = openai.AsyncOpenAI(**self._client_options(), **http)
            self._clients[loop] = client
            create = self._async[loop] = self.policy.awrap(chat_poster(client), check=chat_completion)
            accounting.add_setup(time.perf_counter() - started)
        return await create(**kwargs)

    async def aclose(self) -> None:
        """Close this event loop's client (its connection pool belongs to the loop)."""
        loop = asyncio.get_running_loop()
        self._async.pop(loop, None)
        client = self._clients.pop(loop, None)
        if client is not None:
            await client.close()

    def identity(self) -> dict[str, Any]:
        """Backend, model, base URL and mode: what decides the answer besides the request."""
        return endpoint_identity(self.settings)

    def request_kwargs(self) -> dict[str, Any]:
        """Keyword arguments every request carries."""
        return {"model": self.model}

    def probe_target(self) -> tuple[str, str | None]:
        """This endpoint and its key: a run checks them once before its first document."""
        return self.endpoint, self.settings.api_key

    def batch_client(self) -> Any:
        """The synchronous client: an OpenAI endpoint takes Batch API files and batches."""
        return self.client


def _http_client(openai: Any, settings: Settings) -> dict[str, Any]:
    """The async client's transport: aiohttp when chosen and installed, else the SDK's httpx default.

    With a hundred requests in flight, httpx's pool costs the client process more CPU per
    request than the request itself; the SDK's aiohttp transport (the `openai[aiohttp]` extra)
    costs less, so `-j 128` gets closer to 128 at once.
    """
    factory = getattr(openai, "DefaultAioHttpClient", None)
    if settings.http != "aiohttp" or factory is None:
        return {}
    try:
        import aiohttp  # noqa: F401  (the SDK's aiohttp transport needs it)
    except ImportError:
        return {}
    return {"http_client": factory(timeout=settings.timeout)}


def endpoint_identity(settings: Settings) -> dict[str, Any]:
    """The identity of the endpoint `settings` name, without building a client."""
    return {"backend": "openai", "model": settings.model, "base_url": settings.base_url or OPENAI_URL,
            "mode": settings.mode}
