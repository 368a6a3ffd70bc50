"""One `Extractor` per (prompt, model), created on first use and kept for the server's life.

A request names a prompt of this server's registry: the prompts found in its prompt
directories at start-up (`sanctions`, `sanctions@v3`), never a path. Every spelling of
one version (`sanctions@v03`, `sanctions@3`, and `sanctions` for the latest) is
normalised to its id, so the registry holds at most one extractor per registered prompt
version and served model, however many spellings requests use.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from extractor.core.calls.log import CallLog
from extractor.core.errors import ExtractorError, PromptError
from extractor.core.pipeline import Extractor
from extractor.core.prompts import DEFAULT_PROMPT, available, load_prompt, parse_prompt_id
from extractor.core.schema import schema_hash
from extractor.core.settings import Settings
from extractor.store.documents import ExtractionKey

from .errors import ApiError

log = logging.getLogger("extractor.service")


@dataclass
class Entry:
    """An extractor and the store key its results go under."""

    extractor: Extractor
    key: ExtractionKey
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)
    _ready: bool = False
    # Documents being extracted now, by (id, text hash): identical requests wait for the first one.
    flights: dict[tuple[str, str], asyncio.Future[None]] = field(default_factory=dict, repr=False)

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

    Prompt files are read when a prompt is first asked for; a server restart picks up edits
    and new prompts.
    """

    def __init__(self, settings: Settings, *, prompt: str | None, models: tuple[str, ...] = (),
                 call_log: CallLog | None = None) -> None:
        self.settings = settings
        self.call_log = call_log
        self.default_prompt = prompt or DEFAULT_PROMPT
        self.default_model = settings.model or "embedded"
        self.models = (self.default_model, *(m for m in models if m != self.default_model))
        self.prompts = available()  # name -> versions: what requests may name
        self._entries: dict[tuple[str, str], Entry] = {}

    def prompt_id(self, prompt: str | None) -> str:
        """The registered id (`name@vN`) that `prompt` names; 400 for anything else (paths included)."""
        asked = (prompt or self.default_prompt).strip()
        served = ", ".join(f"{n}@v{v}" for n, versions in sorted(self.prompts.items()) for v in versions) or "none"
        unknown = ApiError(400, "unknown_prompt", f"unknown prompt {asked[:100]!r}: this server serves {served}")
        try:
            name, version = parse_prompt_id(asked)
        except PromptError:
            raise unknown from None
        versions = self.prompts.get(name)
        if not versions:
            raise unknown
        version = max(versions) if version is None else version
        if version not in versions:
            raise unknown
        return f"{name}@v{version}"

    def resolve(self, prompt: str | None, model: str | None) -> Entry:
        """The entry for `prompt` (a registered NAME or NAME@vN) and `model` (one of the served models)."""
        model_name = (model or self.default_model).strip()
        if model_name not in self.models:
            raise ApiError(400, "unknown_model", f"model {model_name[:100]!r} is not served here: use one of "
                           f"{', '.join(self.models)}")
        prompt_id = self.prompt_id(prompt)
        entry = self._entries.get((prompt_id, model_name))
        if entry is not None:
            return entry
        try:
            loaded = load_prompt(prompt_id)
            extractor = Extractor(self.settings.with_(model=model_name), prompt=loaded)
            extractor.log_calls(self.call_log)
        except ExtractorError as exc:
            # The server's own files are at fault: the details (paths, content) go to the log only.
            log.error("prompt %s with model %s cannot be used: %s", prompt_id, model_name, exc)
            raise ApiError(500, "configuration_error", f"prompt {prompt_id} cannot be used on this server; "
                           "the server log has the details") from None
        key = ExtractionKey(prompt_id=loaded.id, prompt_hash=loaded.hash, model=model_name, schema_hash=schema_hash())
        entry = Entry(extractor, key)
        self._entries[(prompt_id, model_name)] = entry
        return entry

    def __len__(self) -> int:
        """How many extractors the registry holds."""
        return len(self._entries)

    async def aclose(self) -> None:
        """Close every extractor's connections on this loop (at shutdown: an open session warns)."""
        for entry in self._entries.values():
            await entry.extractor.aclose()
