"""The backend contract: raw chat-completions calls plus what identifies and limits their answers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from instructor import Mode


class Backend(Protocol):
    """Something that answers OpenAI-style chat-completions calls.

    `acreate` takes OpenAI keyword arguments and returns an OpenAI `ChatCompletion` (or an
    object of the same shape); instructor drives it in `mode`. `create` is the same call for
    synchronous callers.

    `bounded_lists` says whether the model-facing schema carries the prompt's list bounds
    (`maxItems`): small models need them to stop repeating one item, capable models must not
    be cut by them. `default_max_tokens` is the output budget when neither the settings nor
    the prompt set one.

    Two optional capability flags, read with a default of False, are for small models only:
    `grounded_decoding` (the schema sent is narrowed to what each document supports,
    `grounding/decoding.py`) and `guided_reading` (the document is read by rules instead of
    asked of the model, `calls/guided.py`).
    """

    name: str
    model: str
    endpoint: str
    bounded_lists: bool
    default_max_tokens: int

    @property
    def mode(self) -> Mode:
        """The instructor mode the backend is driven in (instructor is imported on first use)."""
        ...

    def create(self, **kwargs: Any) -> Any:
        """One chat-completions call, with transport retries already applied."""
        ...

    async def acreate(self, **kwargs: Any) -> Any:
        """One chat-completions call for asyncio callers, with transport retries applied."""
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


MODE_NAMES = ("json_schema", "tools", "json", "md_json")


def mode_for(name: str) -> Mode:
    """The instructor `Mode` of a `--mode` name."""
    from instructor import Mode

    return {"json_schema": Mode.JSON_SCHEMA, "tools": Mode.TOOLS, "json": Mode.JSON, "md_json": Mode.MD_JSON}[name]
