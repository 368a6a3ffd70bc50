"""The extraction pipeline: document → prompt → cache → model → validate (re-ask) → result.

`Extractor` holds the settings, the prompt, the backend and the cache for many calls;
`extract()` is the one-call convenience. Run metadata rides on the result's `meta`
property, outside the schema's fields.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import os
import time
from functools import cached_property
from typing import Any

import instructor
from instructor.core.exceptions import IncompleteOutputException, InstructorRetryException
from pydantic import BaseModel, Field

from . import accounting, strategies
from .backends import Backend, get_backend
from .cache import ResultCache, cache_key
from .chunking import merge_answers, split_text
from .documents import Document, make_document
from .errors import BackendError, ConfigError, ExtractionFailed
from .grounded import grounded_answer_model
from .grounding import ground, require_grounding
from .prompts import Prompt, load_prompt
from .schema import SCHEMA_VERSION, ArticleExtraction, ExtractionAnswer, answer_model, schema_hash, to_article
from .settings import Settings


class Usage(BaseModel):
    """Tokens over every attempt of one extraction."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class RunMeta(BaseModel):
    """How a result was produced: prompt, model, cost, cache and timing."""

    prompt_id: str
    prompt_hash: str
    schema_version: str = SCHEMA_VERSION
    schema_hash: str
    backend: str
    model: str
    endpoint: str
    cache_hit: bool = False
    cache_key: str
    attempts: int = Field(description="Model calls made (validation attempts); 0 on a cache hit")
    transport_retries: int = 0
    usage: Usage = Field(default_factory=Usage, description="Tokens spent by this call (0 on a cache hit)")
    cost: float | None = None
    latency_s: float
    created_at: str
    chunks: int = Field(default=1, description="Pieces the document was split into to fit the context")
    grounding: dict[str, Any] | None = Field(
        default=None, description="Evidence quotes and target names aligned to the text: rate and spans"
    )


class Extractor:
    """A reusable extractor: one configuration, many documents.

    >>> ex = Extractor(model="embedded")          # doctest: +SKIP
    >>> result = ex.extract("Treasury sanctioned ...", article_id="a1")  # doctest: +SKIP
    >>> result.meta.usage.total_tokens             # doctest: +SKIP
    """

    def __init__(self, settings: Settings | None = None, *, prompt: str | Prompt | None = None, **overrides: Any):
        changes = {key: value for key, value in overrides.items() if value is not None}
        self.settings = settings.with_(**changes) if settings else Settings.from_env(**changes)
        self.settings.check()
        self.prompt = load_prompt(prompt or os.environ.get("EXTRACTOR_PROMPT") or "sanctions")
        self.response_model: type[BaseModel] = answer_model(**self.prompt.spec.limits.model_dump())

    @cached_property
    def backend(self) -> Backend:
        """The model backend, created on first use (loading a local model takes a moment)."""
        return get_backend(self.settings)

    @cached_property
    def cache(self) -> ResultCache | None:
        """The on-disk result cache, or None when caching is off."""
        return ResultCache(self.settings.cache_dir) if self.settings.cache else None

    @cached_property
    def _create(self) -> Any:
        backend = self.backend

        def observed(*args: Any, **kwargs: Any) -> Any:
            completion = backend.create(*args, **kwargs)
            stats = accounting.current()
            if stats is not None:
                stats.add_completion(completion)
            return completion

        return instructor.patch(create=observed, mode=backend.mode)

    @cached_property
    def json_schema(self) -> dict[str, Any]:
        """The JSON schema of the model-facing answer."""
        return self.response_model.model_json_schema()

    def params(self) -> dict[str, Any]:
        """Generation parameters sent with every request."""
        params: dict[str, Any] = {"temperature": self.settings.temperature, "max_tokens": self.settings.max_tokens}
        if self.settings.seed is not None:
            params["seed"] = self.settings.seed
        return params

    def messages(self, document: Document) -> list[dict[str, str]]:
        """The messages this extractor sends for `document`."""
        return self.prompt.messages(document)

    def key_for(self, document: Document) -> str:
        """The cache key of `document` under this configuration."""
        return cache_key(
            backend=self.backend.identity(),
            messages=self.messages(document),
            schema=self.json_schema,
            params=self.params(),
            prompt_hash=self.prompt.hash,
        )

    def extract(
        self, text: str, *, article_id: str | None = None, metadata: dict[str, Any] | None = None
    ) -> ArticleExtraction:
        """Extract sanctions actions from `text` (metadata: title, published, url, publisher)."""
        return self.extract_document(make_document(text, article_id=article_id, metadata=metadata))

    def extract_document(self, document: Document) -> ArticleExtraction:
        """Extract one `Document`; raises `ExtractionFailed` or `BackendError` on failure.

        A document longer than the model's context is split into overlapping chunks, each
        extracted (and cached) on its own, and the answers merged. Evidence and names are
        then aligned to the whole text; with `require_grounding` unfound ones are dropped.
        """
        started = time.perf_counter()
        pieces = self.chunks(document)
        total = accounting.CallStats()
        hits, keys, answers = 0, [], []
        for piece in pieces:
            answer, stats, key, hit = self._extract_piece(piece)
            answers.append(answer)
            keys.append(key)
            hits += hit
            total.prompt_tokens += stats.prompt_tokens
            total.completion_tokens += stats.completion_tokens
            total.attempts += stats.attempts
            total.transport_retries += stats.transport_retries
        merged = answers[0] if len(answers) == 1 else merge_answers(answers)
        key = keys[0] if len(keys) == 1 else hashlib.sha256("".join(keys).encode()).hexdigest()
        return self.finish(document, merged, key, started, total, cache_hit=hits == len(pieces), chunks=len(pieces))

    async def aextract_document(self, document: Document) -> ArticleExtraction:
        """`extract_document` for asyncio callers (batches, the service's workers)."""
        return await asyncio.to_thread(self.extract_document, document)

    def finish(
        self, document: Document, answer: ExtractionAnswer, key: str, started: float, stats: accounting.CallStats,
        *, cache_hit: bool, chunks: int = 1,
    ) -> ArticleExtraction:
        """The public result of an answer: grounded in the text (filtered if required), with run metadata."""
        result = to_article(answer, document.id)
        grounding = ground(result, document.text)
        if self.settings.require_grounding:
            result = require_grounding(result, grounding)
            grounding = ground(result, document.text)
        result._meta = self._meta(key, started, stats, cache_hit=cache_hit, chunks=chunks,
                                  grounding=grounding.to_dict())
        return result

    def cached_answer(self, key: str) -> ExtractionAnswer | None:
        """The cached answer for `key`, unless caching is off or `refresh` is set."""
        if self.cache is None or self.settings.refresh:
            return None
        entry = self.cache.get(key)
        return ExtractionAnswer.model_validate(entry["answer"]) if entry is not None else None

    def store(self, key: str, answer: ExtractionAnswer, stats: accounting.CallStats) -> None:
        """Cache a validated answer (errors never reach here)."""
        if self.cache is not None:
            self.cache.set(key, {"answer": answer.model_dump(mode="json"), "usage": stats.usage()})

    def chunks(self, document: Document) -> list[Document]:
        """The document, or overlapping pieces of it when it would not fit the model's context."""
        window = self.backend.context_window() or self.settings.context_tokens
        overhead = sum(len(m["content"]) for m in self.messages(document.model_copy(update={"text": " "})))
        # Characters per token of this text: counted when the backend can, else a safe 3.
        count = getattr(self.backend, "count_tokens", None)
        sample = document.text[:20000]
        ratio = max(len(sample) / max(count(sample), 1), 1.0) if count else 3.0
        budget_tokens = window - self.settings.max_tokens - overhead / ratio - 64
        max_chars = int(budget_tokens * ratio * 0.9)
        if len(document.text) <= max_chars:
            return [document]
        if max_chars < 500:
            raise ConfigError(
                f"{document.id}: the context ({window} tokens) leaves no room for the article after the prompt "
                f"and max_tokens={self.settings.max_tokens}: lower --max-tokens or use a larger model"
            )
        pieces = split_text(document.text, max_chars=max_chars, overlap_chars=max(max_chars // 10, 200))
        return [document.model_copy(update={"text": piece.text}) for piece in pieces]

    def _extract_piece(self, document: Document) -> tuple[ExtractionAnswer, accounting.CallStats, str, bool]:
        """One model-sized document: from the cache, or asked (with re-asks) and then cached."""
        key = self.key_for(document)
        cached = self.cached_answer(key)
        if cached is not None:
            return cached, accounting.CallStats(), key, True
        with accounting.tracking() as stats:
            answer = self._ask(document, stats)
        self.store(key, answer, stats)
        return answer, stats, key, False

    def _ask(self, document: Document, stats: accounting.CallStats) -> ExtractionAnswer:
        def call(messages: list[dict[str, str]], response_model: type[BaseModel], step: str | None) -> Any:
            return self.call(document, messages, response_model, stats, step)

        return strategies.ask(self.prompt, document, self.answer_model_for(document), call)

    def answer_model_for(self, document: Document) -> type[BaseModel]:
        """The model-facing response model used for `document`."""
        grounded = getattr(self.backend, "grounded_decoding", False)
        return grounded_answer_model(document, self.response_model) if grounded else self.response_model

    def call(
        self, document: Document, messages: list[dict[str, str]], response_model: type[BaseModel],
        stats: accounting.CallStats, step: str | None = None,
    ) -> Any:
        """One structured call: instructor validates and re-asks; failures name the document and prompt."""
        # Each re-ask adds the bad answer and the validation error to the conversation, so
        # validation_retries and max_tokens bound how much it can grow.
        try:
            return self._create(
                messages=messages,
                response_model=response_model,
                max_retries=self.settings.validation_retries,
                **self.params(),
                **self.backend.request_kwargs(),
            )
        except InstructorRetryException as exc:
            transport = _backend_error(exc)
            if transport is not None:
                raise transport from None  # the endpoint failed: not a validation failure
            reason = _last_reason(exc)
            raise self._failed(document, stats, f"step {step}: {reason}" if step else reason) from None
        except IncompleteOutputException:
            reason = f"output cut off at max_tokens={self.settings.max_tokens} before the JSON was complete"
            raise self._failed(document, stats, f"step {step}: {reason}" if step else reason) from None

    def _failed(self, document: Document, stats: accounting.CallStats, reason: str) -> ExtractionFailed:
        return ExtractionFailed(
            article_id=document.id,
            prompt_id=self.prompt.id,
            attempts=max(stats.attempts, 1),
            reason=reason,
            last_output=stats.last_output,
            usage=stats.usage(),
        )

    def _meta(
        self, key: str, started: float, stats: accounting.CallStats, *, cache_hit: bool, chunks: int,
        grounding: dict[str, Any],
    ) -> RunMeta:
        return RunMeta(
            prompt_id=self.prompt.id,
            prompt_hash=self.prompt.hash,
            schema_hash=schema_hash(),
            backend=self.backend.name,
            model=self.backend.model,
            endpoint=self.backend.endpoint,
            cache_hit=cache_hit,
            cache_key=key,
            attempts=stats.attempts,
            transport_retries=stats.transport_retries,
            usage=Usage(**stats.usage()),
            cost=self.settings.cost(stats.prompt_tokens, stats.completion_tokens),
            latency_s=round(time.perf_counter() - started, 4),
            created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            chunks=chunks,
            grounding=grounding,
        )


def _backend_error(exc: InstructorRetryException) -> BackendError | None:
    attempts = getattr(exc, "failed_attempts", None) or []
    candidates = [a.exception for a in attempts] + [exc.__cause__, exc.__context__]
    return next((c for c in candidates if isinstance(c, BackendError)), None)


def _last_reason(exc: InstructorRetryException) -> str:
    attempts = getattr(exc, "failed_attempts", None) or []
    if attempts:
        return str(attempts[-1].exception)
    return str(exc)


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
    resolves. `prompt` is `NAME` or `NAME@vN` (default $EXTRACTOR_PROMPT, else the latest
    `sanctions`). `model` is `embedded` (default without an endpoint) or a model name for the
    OpenAI-compatible endpoint in OPENAI_BASE_URL / OPENAI_API_KEY. Other keyword arguments
    are `Settings` fields (base_url, api_key, cache, refresh, cache_dir, ...). Run metadata
    is on `result.meta`.
    """
    return Extractor(prompt=prompt, model=model, **settings).extract(text, article_id=article_id, metadata=metadata)
