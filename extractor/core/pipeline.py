"""The extraction pipeline: document → prompt → cache → model → validate (re-ask) → ground → result.

`Extractor` holds the settings, the prompt, the backend and the cache for many calls;
`extract()` is the one-call convenience. The pipeline is written once, as coroutines:
`aextract_document` is what batches and the service await, and the synchronous methods run
it on a shared background loop (`aio.run_sync`). Run metadata rides on the result's `meta`
property, outside the schema's fields.

Everything that is the same for every document (the response model, its JSON schema, the
constant part of the cache key, the generation parameters) is computed once per extractor;
a cache hit costs one key, one read and one validation, and never builds a model client.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from pydantic import BaseModel

from .backends import Backend, get_backend
from .cache import Cache, open_cache
from .cache.keys import key_base, key_with
from .calls import accounting, guided, strategies
from .calls.aio import run_sync
from .calls.continuation import added_anything, combine, continuation_messages, salvage
from .calls.log import CallContext, CallLog, logged, reset_context, set_context
from .calls.sdk import Cut, Invalid, ask, structured_create
from .chunking import split_text
from .documents import Document, make_document
from .errors import ConfigError, ExtractionFailed
from .grounding.align import GROUNDING_VERSION, Grounding, ground
from .grounding.decoding import GROUNDED_VERSION, grounded_answer_model
from .grounding.require import grounding_drops, require_grounding
from .merging import dedupe, merge_answers
from .meta import RunMeta, Usage
from .prompts import Prompt, load_prompt
from .schema import ArticleExtraction, ExtractionAnswer, answer_model, schema_hash
from .settings import Settings

log = logging.getLogger("extractor")
MANY_CHUNKS = 50


@dataclass
class _Piece:
    """One model-sized part of a document, answered."""

    answer: ExtractionAnswer
    stats: accounting.CallStats
    key: str
    hit: bool
    grounding: dict[str, Any] | None = None


class Extractor:
    """A reusable extractor: one configuration, many documents.

    >>> ex = Extractor(model="embedded")          # doctest: +SKIP
    >>> result = ex.extract("Treasury sanctioned ...", article_id="a1")  # doctest: +SKIP
    >>> result.meta.usage.total_tokens             # doctest: +SKIP
    """

    def __init__(self, settings: Settings | None = None, *, prompt: str | Prompt | None = None, **overrides: Any):
        changes = {key: value for key, value in overrides.items() if value is not None}
        if prompt is not None:
            changes["prompt"] = prompt.id if isinstance(prompt, Prompt) else prompt
        self.settings = settings.with_(**changes) if settings else Settings.from_env(**changes)
        self.prompt = prompt if isinstance(prompt, Prompt) else load_prompt(self.settings.prompt)
        self.call_log: CallLog | None = None
        self.run_id: str | None = None

    # -- configuration, computed once -------------------------------------------------

    @cached_property
    def backend(self) -> Backend:
        """The model backend (cheap to build: a local model loads on its first call)."""
        return get_backend(self.settings)

    @cached_property
    def cache(self) -> Cache | None:
        """The result cache (disk, or Redis with EXTRACTOR_CACHE_URL), or None when caching is off."""
        return open_cache(self.settings)

    @cached_property
    def bounded(self) -> bool:
        """Whether the model-facing schema carries the prompt's list bounds (small models only)."""
        if self.settings.list_bounds is not None:
            return self.settings.list_bounds
        return self.backend.bounded_lists

    @cached_property
    def response_model(self) -> type[BaseModel]:
        """The model-facing answer: bounded lists for small models, the plain schema otherwise."""
        if self.bounded:
            return answer_model(**self.prompt.spec.limits.model_dump())
        return ExtractionAnswer

    @cached_property
    def max_tokens(self) -> int:
        """Output budget per call: the setting, else the prompt's, else the backend's default."""
        return self.settings.max_tokens or self.prompt.spec.max_tokens or self.backend.default_max_tokens

    @cached_property
    def json_schema(self) -> dict[str, Any]:
        """The JSON schema of the model-facing answer."""
        return self.response_model.model_json_schema()

    @cached_property
    def _params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"temperature": self.settings.temperature, "max_tokens": self.max_tokens}
        if self.settings.seed is not None:
            params["seed"] = self.settings.seed
        return params

    def params(self) -> dict[str, Any]:
        """Generation parameters sent with every request."""
        return dict(self._params)

    @cached_property
    def _key_base(self) -> str:
        # Under grounded decoding the schema sent is a function of the document (in the messages)
        # and of the code that builds it, whose version goes into the key instead.
        backend = {**self.backend.identity(), **({"grounded": GROUNDED_VERSION} if self.grounded else {}),
                   **({"guided": guided.GUIDED_VERSION} if self.guided else {})}
        return key_base(backend=backend, schema=self.json_schema, params=self._params, prompt_hash=self.prompt.hash)

    @cached_property
    def _schema_hash(self) -> str:
        return schema_hash()

    def log_calls(self, log: CallLog | None, *, run_id: str | None = None) -> None:
        """Give every model call from now on (request, raw response, tokens, latency) to `log`; None stops."""
        self.call_log = log
        self.run_id = run_id
        self.__dict__.pop("_acreate", None)

    @cached_property
    def _acreate(self) -> Any:
        backend = self.backend
        create: Callable[..., Awaitable[Any]] = backend.acreate
        if self.call_log is not None:
            create = logged(create, self.call_log, model=backend.model, endpoint=backend.endpoint,
                            mode=self.settings.mode, run_id=self.run_id)

        async def observed(*args: Any, **kwargs: Any) -> Any:
            completion = await create(*args, **kwargs)
            stats = accounting.current()
            if stats is not None:
                stats.add_completion(completion)
            return completion

        return structured_create(observed, backend.mode)

    # -- per document ---------------------------------------------------------------------

    def messages(self, document: Document) -> list[dict[str, str]]:
        """The messages this extractor sends for `document`."""
        return self.prompt.messages(document)

    def key_for(self, document: Document) -> str:
        """The cache key of `document` under this configuration."""
        return key_with(self._key_base, self.messages(document))

    @cached_property
    def grounded(self) -> bool:
        """Whether answers are decoded under a per-document schema of what the text supports (small models)."""
        return self.backend.grounded_decoding

    @cached_property
    def guided(self) -> bool:
        """Whether documents are read by rules instead of asked of the model (`calls/guided.py`): small models."""
        if self.settings.guided_reading is not None:
            return self.settings.guided_reading
        return self.backend.guided_reading

    def answer_model_for(self, document: Document) -> type[BaseModel]:
        """The model-facing response model used for `document`: per document under grounded decoding."""
        return grounded_answer_model(document, self.response_model) if self.grounded else self.response_model

    def extract(
        self, text: str, *, article_id: str | None = None, metadata: dict[str, Any] | None = None
    ) -> ArticleExtraction:
        """Extract sanctions actions from `text` (metadata: title, published, url, publisher)."""
        return self.extract_document(make_document(text, article_id=article_id, metadata=metadata))

    def extract_document(self, document: Document) -> ArticleExtraction:
        """Extract one `Document`; raises `ExtractionFailed` or `BackendError` on failure."""
        return run_sync(self.aextract_document(document))

    async def aextract_document(
        self, document: Document, *, slots: asyncio.Semaphore | None = None
    ) -> ArticleExtraction:
        """Extract one `Document` (asyncio); `slots` bounds the model calls in flight across documents.

        A document longer than the model's context is split into overlapping chunks, each
        extracted (and cached) on its own, concurrently within `slots`, and the answers merged.
        Evidence and names are then aligned to the whole text; with `require_grounding`
        unfound ones are dropped.
        """
        started = time.perf_counter()
        pieces = self.chunks(document)
        if len(pieces) == 1:
            done = [await self._piece(pieces[0], slots)]
        else:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(self._piece(piece, slots)) for piece in pieces]
            done = [task.result() for task in tasks]
        total = accounting.CallStats()
        for piece in done:
            total.merge(piece.stats)
        answers = [piece.answer for piece in done]
        merged = answers[0] if len(answers) == 1 else merge_answers(answers)
        key = done[0].key if len(done) == 1 else hashlib.sha256("".join(p.key for p in done).encode()).hexdigest()
        known = done[0].grounding if len(done) == 1 else None
        result = self.finish(document, merged, key, started, total, cache_hit=all(p.hit for p in done),
                             chunks=len(pieces), grounding=known)
        for piece in done:
            if not piece.hit:
                # A whole-document answer caches its grounding too, so a hit need not align again.
                whole = len(done) == 1 and not self.settings.require_grounding
                self.store(piece.key, piece.answer, piece.stats, grounding=result.meta.grounding if whole else None)
        return result

    async def aclose(self) -> None:
        """Release what this event loop opened (the endpoint client's connections)."""
        backend: Backend | None = self.__dict__.get("backend")  # never built: nothing was opened
        if backend is not None:
            await backend.aclose()

    def finish(
        self, document: Document, answer: ExtractionAnswer, key: str, started: float, stats: accounting.CallStats,
        *, cache_hit: bool, chunks: int = 1, grounding: dict[str, Any] | None = None,
    ) -> ArticleExtraction:
        """The public result of an answer: each target once, grounded in the text (filtered if required), with meta.

        Every backend's answer goes through here, cached or fresh, so none repeats a target.
        """
        result = ArticleExtraction.model_validate({**dedupe(answer).model_dump(), "article_id": document.id})
        dropped = None
        if grounding is None or self.settings.require_grounding:
            found: Grounding = ground(result, document.text)
            if self.settings.require_grounding:
                dropped = grounding_drops(result, found)  # reported in meta, never silent
                result = require_grounding(result, found)
                found = ground(result, document.text)
            grounding = found.to_dict()
        result._meta = self._meta(key, started, stats, cache_hit=cache_hit, chunks=chunks, grounding=grounding)
        result._meta.dropped = dropped
        return result

    def cached_answer(self, key: str) -> ExtractionAnswer | None:
        """The cached answer for `key`, unless caching is off or `refresh` is set."""
        entry = self._cached_entry(key)
        return ExtractionAnswer.model_validate(entry["answer"]) if entry is not None else None

    def _cached_entry(self, key: str) -> dict[str, Any] | None:
        if self.cache is None or self.settings.refresh:
            return None
        return self.cache.get(key)

    def store(self, key: str, answer: ExtractionAnswer, stats: accounting.CallStats,
              grounding: dict[str, Any] | None = None) -> None:
        """Cache a validated answer (errors never reach here); its grounding too, when one piece is the document."""
        if self.cache is not None:
            entry: dict[str, Any] = {"answer": answer.model_dump(mode="json"), "usage": stats.usage()}
            if stats.incomplete:
                entry["incomplete"] = stats.incomplete  # served again as incomplete, never as whole
            if grounding is not None:
                entry["grounding"] = {"version": GROUNDING_VERSION, **grounding}
            self.cache.set(key, entry)

    def chunks(self, document: Document) -> list[Document]:
        """The document, or overlapping pieces of it when it would not fit the model's context."""
        window = self.backend.context_window() or self.settings.context_tokens
        overhead = self.prompt.prefix_chars + len(self.prompt.render_user(" ", document.metadata()))
        reserve = self.max_tokens + 64
        if len(document.text) + overhead <= window - reserve:
            return [document]  # fits even at one character per token: no need to count
        # Characters per token of this text: counted when the backend can, else a safe 3.
        sample = document.text[:20000]
        counted = self.backend.count_tokens(sample)
        ratio = max(len(sample) / max(counted, 1), 1.0) if counted is not None else 3.0
        budget_tokens = window - reserve - overhead / ratio
        max_chars = int(budget_tokens * ratio * 0.9)
        if len(document.text) <= max_chars:
            return [document]
        if max_chars < 500:
            raise ConfigError(
                f"{document.id}: the context ({window} tokens) leaves no room for the article after the prompt "
                f"and max_tokens={self.max_tokens}: lower --max-tokens / EXTRACTOR_MAX_TOKENS, raise "
                "EXTRACTOR_CONTEXT_TOKENS if the model allows, or use a larger model"
            )
        # The overlap is a tenth of a chunk: enough to keep a sentence whole, never a resend of the text.
        pieces = split_text(document.text, max_chars=max_chars, overlap_chars=max_chars // 10)
        if len(pieces) > MANY_CHUNKS:
            log.warning("%s: %d chunks of %d characters at a %d-token context; a larger context "
                        "(EXTRACTOR_CONTEXT_TOKENS) would need fewer calls",
                        document.id, len(pieces), max_chars, window)
        return [document.model_copy(update={"text": piece.text}) for piece in pieces]

    async def _piece(self, document: Document, slots: asyncio.Semaphore | None) -> _Piece:
        """One model-sized document: from the cache, or asked (with re-asks and continuations) and cached."""
        key = self.key_for(document)
        entry = self._cached_entry(key)
        if entry is not None:
            answer = ExtractionAnswer.model_validate(entry["answer"])
            grounding = entry.get("grounding")
            if grounding is not None and grounding.pop("version", None) != GROUNDING_VERSION:
                grounding = None
            return _Piece(answer, accounting.CallStats(incomplete=list(entry.get("incomplete", []))), key, True,
                          grounding)
        gate: AbstractAsyncContextManager[Any] = slots if slots is not None else nullcontext()
        with accounting.tracking() as stats:
            async with gate:
                answer = await self._ask(document, stats)
        return _Piece(answer, stats, key, False)

    async def _ask(self, document: Document, stats: accounting.CallStats) -> ExtractionAnswer:
        async def call(messages: list[dict[str, str]], response_model: type[BaseModel], step: str | None) -> Any:
            return await self.acall(document, messages, response_model, stats, step)

        if self.guided:
            return guided.ask_guided(document)
        return await strategies.ask(self.prompt, document, self.answer_model_for(document), call)

    async def acall(
        self, document: Document, messages: list[dict[str, str]], response_model: type[BaseModel],
        stats: accounting.CallStats, step: str | None = None,
    ) -> Any:
        """One structured answer: validated and re-asked by instructor; continued when cut off at max_tokens.

        Failures name the document and the prompt. Each re-ask adds the bad answer and the
        validation error to the conversation, so validation_retries and max_tokens bound how
        much it can grow; `max_calls` bounds the continuations.
        """
        parts: list[BaseModel] = []
        request = messages
        for number in range(1, self.settings.max_calls + 1):
            label = step if number == 1 else f"{step + ' ' if step else ''}continuation {number - 1}"
            call = CallContext(document.id, self.prompt.id, label)
            context = set_context(call)
            rejected = call.reasons.append if self.call_log is not None else None
            part: BaseModel | Cut | None = None
            try:
                part = await ask(
                    self._acreate, messages=request, response_model=response_model,
                    max_retries=self.settings.validation_retries, rejected=rejected, **self._params,
                    **self.backend.request_kwargs(),
                )
            except Invalid as exc:
                raise self._failed(document, stats, accounting.step_reason(step, exc.reason)) from None
            finally:
                # Each call of this answer is logged with what became of it: accepted, re-asked, cut off or failed.
                call.settle(self.call_log, accepted=part is not None and not isinstance(part, Cut),
                            cut_off=isinstance(part, Cut))
                reset_context(context)
            if isinstance(part, Cut):
                cut = salvage(part.text, response_model)
                before = combine(parts) if parts else None
                if cut is not None:
                    parts.append(cut)
                if number > 1 and before is not None and not added_anything(before, combine(parts)):
                    repeated = "the model repeated itself instead of continuing"
                    stats.incomplete.append(accounting.step_reason(step, repeated))
                    break
                if number == self.settings.max_calls:
                    cut_off = (f"still cut off at max_tokens={self.max_tokens} after {number} call(s) "
                               "(EXTRACTOR_MAX_CALLS)")
                    stats.incomplete.append(accounting.step_reason(step, cut_off))
                    break
                stats.continuations += 1
                request = continuation_messages(messages, combine(parts) if parts else None)
                continue
            parts.append(part)
            break
        if not parts:
            reason = f"output cut off at max_tokens={self.max_tokens} before any item was complete"
            raise self._failed(document, stats, accounting.step_reason(step, reason + " (raise EXTRACTOR_MAX_TOKENS)"))
        return combine(parts)

    def _failed(self, document: Document, stats: accounting.CallStats, reason: str) -> ExtractionFailed:
        return ExtractionFailed(
            article_id=document.id,
            prompt_id=self.prompt.id,
            attempts=max(stats.attempts, 1),
            reason=reason,
            last_output=stats.last_output,
            usage=stats.usage(),
            endpoint=self.backend.endpoint,
            transport_retries=stats.transport_retries,
        )

    def _meta(
        self, key: str, started: float, stats: accounting.CallStats, *, cache_hit: bool, chunks: int,
        grounding: dict[str, Any],
    ) -> RunMeta:
        return RunMeta(
            prompt_id=self.prompt.id,
            prompt_hash=self.prompt.hash,
            schema_hash=self._schema_hash,
            backend=self.backend.name,
            model=self.backend.model,
            endpoint=self.backend.endpoint,
            answered_by="rules" if self.guided else "model",
            cache_hit=cache_hit,
            cache_key=key,
            attempts=stats.attempts,
            transport_retries=stats.transport_retries,
            continuations=stats.continuations,
            incomplete=bool(stats.incomplete),
            incomplete_reason="; ".join(stats.incomplete) or None,
            usage=Usage(**stats.usage()),
            cost=self.settings.cost(stats.prompt_tokens, stats.completion_tokens),
            # Client start-up and model loading are the process's cost, not this document's.
            latency_s=round(max(time.perf_counter() - started - stats.setup_s, 0.0), 4),
            created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            chunks=chunks,
            grounding=grounding,
        )


def extract(
    text: str,
    *,
    article_id: str | None = None,
    metadata: dict[str, Any] | None = None,
    model: str | None = None,
    prompt: str | None = None,
    **settings: Any,
) -> ArticleExtraction:
    """Extract the sanctions actions reported in `text`.

    `metadata` (title, published, url, publisher) is shown to the model so that "today"
    resolves. `prompt` is `NAME` or `NAME@vN` (default `Settings.prompt`: $EXTRACTOR_PROMPT, else
    `DEFAULT_PROMPT`, sanctions@v3). `model` is `embedded` (default without an endpoint) or a model name for the
    OpenAI-compatible endpoint in OPENAI_BASE_URL / OPENAI_API_KEY. Other keyword arguments
    are `Settings` fields (base_url, api_key, cache, refresh, cache_dir, ...). Run metadata
    is on `result.meta`.
    """
    return Extractor(prompt=prompt, model=model, **settings).extract(text, article_id=article_id, metadata=metadata)
