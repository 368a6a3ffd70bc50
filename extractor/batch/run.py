"""Many documents at once: bounded concurrency, results streamed as each document finishes.

The pipeline is async end to end (the async OpenAI client; the embedded model on a worker
thread), so `concurrency` is the only bound: at most that many documents are in flight and
at most that many model calls (the chunks of a long document share the same slots).
Documents are pulled lazily from the input, so a huge input is never held in memory at once.
"""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from extractor.core.documents import Document
from extractor.core.errors import DocumentError, ExtractorError
from extractor.core.pipeline import Extractor
from extractor.core.schema import ArticleExtraction

from .results import done_ids, failure_line, repair_tail, result_line, write_line


@dataclass(frozen=True)
class Outcome:
    """What happened to one input: a result, or the error that stopped it."""

    article_id: str
    result: ArticleExtraction | None = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        """True when the document produced a schema-valid result."""
        return self.result is not None


@dataclass
class RunSummary:
    """Accounting over a run, the same whichever engine ran it: documents, tokens, cache, retries, latency, cost.

    `pending` says work is left for a re-run (a Batch API batch still running); `details`
    holds what only one engine knows (the batch id and its status).
    """

    documents: int = 0
    succeeded: int = 0
    failed: int = 0
    skipped: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    attempts: int = 0
    transport_retries: int = 0
    cost: float | None = None
    latencies: list[float] = field(default_factory=list, repr=False)
    pending: bool = False
    details: dict[str, Any] = field(default_factory=dict)

    def add(self, outcome: Outcome) -> None:
        """Count one finished document."""
        self.documents += 1
        if outcome.result is None:
            self.failed += 1
            usage = getattr(outcome.error, "usage", None) or {}
            self.prompt_tokens += usage.get("prompt_tokens", 0)
            self.completion_tokens += usage.get("completion_tokens", 0)
            self.attempts += getattr(outcome.error, "attempts", 0) or 0
            self.transport_retries += getattr(outcome.error, "transport_retries", 0) or 0
            return
        self.succeeded += 1
        meta = outcome.result.meta
        if meta is None:
            return
        self.cache_hits += int(meta.cache_hit)
        self.prompt_tokens += meta.usage.prompt_tokens
        self.completion_tokens += meta.usage.completion_tokens
        self.attempts += meta.attempts
        self.transport_retries += meta.transport_retries
        if meta.cost is not None:
            self.cost = (self.cost or 0.0) + meta.cost
        if not meta.cache_hit:
            self.latencies.append(meta.latency_s)

    def merge(self, other: RunSummary) -> None:
        """Add another summary's counts (a worker's share of the run)."""
        for name in COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        if other.cost is not None:
            self.cost = (self.cost or 0.0) + other.cost
        self.latencies += other.latencies
        self.pending = self.pending or other.pending
        self.details.update(other.details)

    def state(self) -> dict[str, Any]:
        """Everything, latencies included, as JSON-ready values (`from_state` reads it back)."""
        return {**{name: getattr(self, name) for name in COUNTS}, "cost": self.cost, "latencies": self.latencies,
                "pending": self.pending, "details": self.details}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> RunSummary:
        """The summary `state()` described."""
        return cls(**state)

    def percentile(self, q: float) -> float | None:
        """Latency percentile in seconds over documents that called the model."""
        if not self.latencies:
            return None
        if len(self.latencies) == 1:
            return self.latencies[0]
        cuts = statistics.quantiles(self.latencies, n=100, method="inclusive")
        return cuts[min(max(int(q) - 1, 0), 98)]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready totals, with latency percentiles (and `pending` and the details, when there are any)."""
        totals = {
            "documents": self.documents,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "skipped": self.skipped,
            "cache_hits": self.cache_hits,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
            "attempts": self.attempts,
            "transport_retries": self.transport_retries,
            "cost": self.cost,
            "latency_p50_s": self.percentile(50),
            "latency_p90_s": self.percentile(90),
            "latency_p99_s": self.percentile(99),
        }
        if self.pending:
            totals["pending"] = True
        return {**totals, **self.details}


COUNTS = ("documents", "succeeded", "failed", "skipped", "cache_hits", "prompt_tokens", "completion_tokens",
          "attempts", "transport_retries")
"""The additive fields of `RunSummary`."""


Input = Document | DocumentError


async def aextract_many(
    extractor: Extractor,
    documents: Iterable[Input],
    *,
    concurrency: int = 4,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> RunSummary:
    """Extract `documents` with at most `concurrency` in flight; call `on_outcome` for each."""
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    summary = RunSummary()
    source = iter(documents)
    slots = asyncio.Semaphore(concurrency)

    def finish(outcome: Outcome) -> None:
        summary.add(outcome)
        if on_outcome is not None:
            on_outcome(outcome)

    async def worker() -> None:
        for item in source:  # workers share one iterator: each document is taken once
            if isinstance(item, DocumentError):
                finish(Outcome(article_id=getattr(item, "article_id", None) or str(item).split(":")[0], error=item))
                continue
            if not isinstance(item, Document):
                finish(Outcome(article_id=repr(item)[:80], error=DocumentError(
                    f"{type(item).__name__} is not a Document: build inputs with Document(id=..., text=...)")))
                continue
            try:
                result = await extractor.aextract_document(item, slots=slots)
            except ExtractorError as exc:
                finish(Outcome(article_id=item.id, error=exc))
            else:
                finish(Outcome(article_id=item.id, result=result))

    try:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    finally:
        await extractor.aclose()
    return summary


def extract_many(
    documents: Iterable[Input],
    *,
    extractor: Extractor | None = None,
    concurrency: int = 4,
    on_outcome: Callable[[Outcome], None] | None = None,
    **settings: Any,
) -> list[Outcome]:
    """Extract many documents concurrently; returns the outcomes in completion order.

    `documents` may be `Document`s or (from the readers) `DocumentError`s, which become
    failed outcomes. Settings keywords build an `Extractor` when none is given.
    """
    extractor = extractor or Extractor(**settings)
    outcomes: list[Outcome] = []

    def collect(outcome: Outcome) -> None:
        outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)

    asyncio.run(aextract_many(extractor, documents, concurrency=concurrency, on_outcome=collect))
    return outcomes


class Pending:
    """The inputs not yet done in the result file `out`, streamed one at a time.

    Nothing is held but the ids already done, so an input of millions of documents runs in
    constant memory; `skipped` counts the documents passed over so far. A last line cut
    short by a crash is removed first, so its document runs again.
    """

    def __init__(self, documents: Iterable[Input], out: Path | None) -> None:
        self._documents = documents
        self.skipped = 0
        self.done: set[str] = set()
        if out is not None:
            repair_tail(out)
            self.done = done_ids(out)

    def __iter__(self) -> Iterator[Input]:
        for item in self._documents:
            if getattr(item, "id", None) in self.done:
                self.skipped += 1
                continue
            yield item


def extract_into(
    sink: IO[str],
    extractor: Extractor,
    documents: Iterable[Input],
    *,
    concurrency: int = 1,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> RunSummary:
    """Extract `documents`, appending a result or failure line to `sink` as each one finishes."""

    def record(outcome: Outcome) -> None:
        if outcome.result is not None:
            write_line(sink, result_line(outcome.result))
        else:
            assert outcome.error is not None
            write_line(sink, failure_line(outcome.article_id, outcome.error))
        if on_outcome is not None:
            on_outcome(outcome)

    return asyncio.run(aextract_many(extractor, documents, concurrency=concurrency, on_outcome=record))
