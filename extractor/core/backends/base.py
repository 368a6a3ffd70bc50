"""The backend contract: a raw chat-completions `create` plus what identifies its answers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from instructor import Mode


class Backend(Protocol):
    """Something that answers OpenAI-style chat-completions calls.

    `create` takes OpenAI keyword arguments and returns an OpenAI `ChatCompletion` (or an
    object of the same shape); instructor drives it in `mode`.
    """

    name: str
    model: str
    endpoint: str
    mode: Mode

    def create(self, **kwargs: Any) -> Any:
        """One chat-completions call, with transport retries already applied."""
        ...

    def identity(self) -> dict[str, Any]:
        """Everything about the backend that changes answers (goes into cache keys)."""
        ...

    def context_window(self) -> int | None:
        """The model's context length in tokens, when known."""
        ...

    def request_kwargs(self) -> dict[str, Any]:
        """Keyword arguments every request carries (the model name, for endpoints)."""
        ...


MODE_BY_NAME: dict[str, Mode] = {
    "json_schema": Mode.JSON_SCHEMA,
    "tools": Mode.TOOLS,
    "json": Mode.JSON,
    "md_json": Mode.MD_JSON,
}

CreateFn = Callable[..., Any]
