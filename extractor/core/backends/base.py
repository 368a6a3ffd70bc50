"""The backend contract: raw chat-completions calls plus everything the pipeline asks of a backend.

The pipeline and the engines read a backend only through this class: no capability is
probed with `getattr`. A new backend subclasses `Backend`, implements the four abstract
members and overrides the defaults that do not fit it (as llm's `Model` does with
`supports_schema`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..settings import Settings


class Backend(ABC):
    """Something that answers OpenAI-style chat-completions calls.

    `acreate` takes OpenAI keyword arguments and returns an OpenAI `ChatCompletion` (or an
    object of the same shape); instructor drives it in `mode`. `create` is the same call for
    synchronous callers.
    """

    name: str
    """Short backend name, recorded in every result's `meta.backend`."""
    model: str
    """The model that answers, as recorded in `meta.model`."""
    endpoint: str
    """Where requests go (a URL, or `in-process`), for error messages and `meta.endpoint`."""
    bounded_lists: bool = False
    """Whether the model-facing schema carries the prompt's list bounds (`maxItems`): small models
    need them to stop repeating one item, capable models must not be cut by them."""
    default_max_tokens: int = 8192
    """The output budget per call when neither the settings nor the prompt set one."""
    grounded_decoding: bool = False
    """Whether answers are decoded under a per-document schema of what the text supports (tiny
    models that would otherwise copy the prompt's examples)."""
    guided_reading: bool = False
    """Whether documents are read by rules instead of asked of the model (`calls/guided.py`): for a
    model too small to read a release at all. `Settings.guided_reading` overrides it."""
    in_process: bool = False
    """Whether the model computes in this process (a local runtime): an engine then gives each
    worker a whole CPU, where an endpoint client mostly waits on the network."""

    @classmethod
    def for_settings(cls, settings: Settings) -> Backend:
        """The backend the settings describe (cheap: nothing is loaded or connected yet)."""
        return cls(settings)  # type: ignore[call-arg]

    @property
    @abstractmethod
    def mode(self) -> Any:
        """The instructor `Mode` the backend is driven in (instructor is imported on first use)."""

    @abstractmethod
    def create(self, **kwargs: Any) -> Any:
        """One chat-completions call, with transport retries already applied."""

    @abstractmethod
    async def acreate(self, **kwargs: Any) -> Any:
        """One chat-completions call for asyncio callers, with transport retries applied."""

    @abstractmethod
    def identity(self) -> dict[str, Any]:
        """Everything about the backend that changes answers (goes into cache keys)."""

    async def aclose(self) -> None:  # noqa: B027  (a default: nothing to release)
        """Release what the running event loop opened (connection pools); nothing by default."""

    def context_window(self) -> int | None:
        """The model's context length in tokens, when known; None leaves it to the settings."""
        return None

    def count_tokens(self, text: str) -> int | None:
        """Tokens `text` takes for this model, when the backend can count them; None otherwise."""
        return None

    def request_kwargs(self) -> dict[str, Any]:
        """Keyword arguments every request carries (the model name, for endpoints)."""
        return {}

    def probe_target(self) -> tuple[str, str | None] | None:
        """The base URL and API key of the endpoint checked before a run (`core/probe`); None: nothing to check."""
        return None

    def batch_client(self) -> Any | None:
        """An `openai.OpenAI` client for the Batch API's file and batch calls, if the backend has one."""
        return None

