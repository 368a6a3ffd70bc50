"""One `Extractor` per (prompt, model), created on first use and kept for the server's life."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from extractor.core.errors import ExtractorError
from extractor.core.pipeline import Extractor
from extractor.core.prompts import load_prompt
from extractor.core.schema import schema_hash
from extractor.core.settings import Settings
from extractor.store.documents import ExtractionKey

from .errors import ApiError


@dataclass
class Entry:
    """An extractor and the store key its results go under."""

    extractor: Extractor
    key: ExtractionKey
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)
    _ready: bool = False

    async def ready(self) -> Extractor:
        """The extractor with its backend created (once, off the event loop: a local model takes a moment)."""
        if not self._ready:
            async with self._lock:
                if not self._ready:
                    await asyncio.to_thread(lambda: self.extractor.backend)
                    self._ready = True
        return self.extractor


class Registry:
    """Resolves a request's prompt and model to an `Entry`; unknown ones are 400s.

    Prompt files are read when a prompt is first asked for; a server restart picks up edits.
    """

    def __init__(self, settings: Settings, *, models: tuple[str, ...] = ()) -> None:
        self.settings = settings
        self.default_prompt = settings.prompt
        self.default_model = settings.model or "embedded"
        self.models = (self.default_model, *(m for m in models if m != self.default_model))
        self._entries: dict[tuple[str, str], Entry] = {}

    def resolve(self, prompt: str | None, model: str | None) -> Entry:
        """The entry for `prompt` (NAME or NAME@vN) and `model` (one of the served models)."""
        prompt_name = (prompt or self.default_prompt).strip()
        model_name = (model or self.default_model).strip()
        if model_name not in self.models:
            raise ApiError(400, "unknown_model", f"model {model_name!r} is not served here: use one of "
                           f"{', '.join(self.models)}")
        entry = self._entries.get((prompt_name, model_name))
        if entry is not None:
            return entry
        try:
            loaded = load_prompt(prompt_name)
            extractor = Extractor(self.settings.with_(model=model_name), prompt=loaded)
        except ExtractorError as exc:
            code = "unknown_prompt" if "prompt" in type(exc).__name__.lower() else "invalid_request"
            raise ApiError(400, code, str(exc)) from None
        key = ExtractionKey(prompt_id=loaded.id, prompt_hash=loaded.hash, model=model_name, schema_hash=schema_hash())
        entry = Entry(extractor, key)
        self._entries[(prompt_name, model_name)] = entry
        return entry

    async def aclose(self) -> None:
        """Close every extractor's connections on this loop (at shutdown: an open session warns)."""
        for entry in self._entries.values():
            await entry.extractor.aclose()
