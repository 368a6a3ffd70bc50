"""One document scored for a bulk evaluation, in this process or in a pool of worker processes.

`score_item` does everything a document needs (score, report.json entry, grounding counts,
its share of the gold-set hash) and returns a small picklable `Scored`, so the same function
serves the serial pass and the workers. `score_in_workers` fans documents out to forked
processes in chunks and yields the results in id order, so corpus sums, the gold-set hash
and report.json come out exactly as from the serial pass. At most a few chunks per worker
are in flight, so memory stays bounded whatever the run's size.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from extractor.core.documents import Document
from extractor.core.grounding.align import grounding_counts
from extractor.core.schema import ArticleExtraction, GoldFile

from .goldset import GoldSet, hash_part
from .predictions import Prediction, PredictionFile
from .scoring.aggregate import count_row
from .scoring.document import score_document

PARALLEL_MIN = 1000
"""Runs smaller than this are scored in-process: starting workers would cost more than it saves."""

CHUNK = 200
"""Documents per task sent to a worker."""

GROUNDING_KEYS = tuple((kind, status) for kind in ("evidence", "names") for status in ("exact", "fuzzy", "not_found"))
"""The order of `Scored.grounding`: (kind, status) pairs."""


@dataclass(frozen=True)
class Scored:
    """What the bulk pass keeps of one scored document."""

    doc_id: str
    failed: bool
    row: tuple[float, ...]
    """Its counts, as `aggregate.count_row` lays them out."""
    body: bytes
    """The document's report.json entry, serialised (UTF-8)."""
    f1: float | None
    """The entry's F1: its place in the report order."""
    grounding: tuple[int, ...] | None
    """Counts in `GROUNDING_KEYS` order; None for a failed extraction."""
    hash_part: bytes
    """Its share of the gold-set hash, which only a pass in id order can fold together."""


def score_item(doc_id: str, gold: GoldFile, document: Document, pred: Prediction | None, *, indent: bool) -> Scored:
    """Score one document and serialise its report entry (the same in any process)."""
    score = score_document(gold, pred, document.text)
    doc = score.to_dict()
    if indent:  # small runs: indented as the committed reports are, for readable diffs
        body = json.dumps(doc, indent=2, ensure_ascii=False).replace("\n", "\n    ").encode()
    else:  # big runs: one compact line per document
        body = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
    counts = None
    if isinstance(pred, ArticleExtraction):
        evidence, names = grounding_counts(pred, document.text)
        by_kind = {"evidence": evidence, "names": names}
        counts = tuple(getattr(by_kind[kind], status) for kind, status in GROUNDING_KEYS)
    return Scored(doc_id, score.failed, count_row(score.fields, score.views), body, doc["f1"], counts,
                  hash_part(gold, document.text))


def score_serially(gold_set: GoldSet, predictions: Iterator[Prediction | None], *, indent: bool) -> Iterator[Scored]:
    """Every document of `gold_set` in id order, scored in this process."""
    for doc_id, pred in zip(gold_set.ids, predictions, strict=True):
        yield score_item(doc_id, gold_set.gold[doc_id], gold_set.documents[doc_id], pred, indent=indent)


def default_workers(n_documents: int) -> int:
    """Worker processes for a run of this size: one per core from `PARALLEL_MIN` documents."""
    if n_documents < PARALLEL_MIN or not _can_fork():
        return 1
    return max(1, os.cpu_count() or 1)


def _can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


# The worker's view of the run: set in the parent just before the pool forks, inherited by
# every worker (nothing to pickle or re-open but the predictions file).
_STATE: dict[str, Any] = {}


def _score_chunk(ids: list[str], places: list[tuple[int, int] | None]) -> list[Scored]:
    gold_set: GoldSet = _STATE["gold_set"]
    predictions: PredictionFile = _STATE["predictions"]
    indent: bool = _STATE["indent"]
    with predictions.path.open("rb") as handle:
        return [
            score_item(doc_id, gold_set.gold[doc_id], gold_set.documents[doc_id],
                       None if where is None else predictions.read_at(handle, where), indent=indent)
            for doc_id, where in zip(ids, places, strict=True)
        ]


def score_in_workers(
    gold_set: GoldSet, predictions: PredictionFile, *, workers: int, indent: bool
) -> Iterator[Scored]:
    """Every document of `gold_set` in id order, scored by `workers` forked processes.

    An error in a worker (a gold file that does not validate, say) is raised here, as the
    serial pass would raise it.
    """
    ids = gold_set.ids
    chunks = [ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK)]
    _STATE.update(gold_set=gold_set, predictions=predictions, indent=indent)
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            pending: deque[Future[list[Scored]]] = deque()
            ahead = 3 * workers  # chunks in flight: enough to keep every worker busy
            for chunk in chunks:
                pending.append(pool.submit(_score_chunk, chunk, [predictions.place(i) for i in chunk]))
                if len(pending) >= ahead:
                    yield from pending.popleft().result()
            while pending:
                yield from pending.popleft().result()
    finally:
        _STATE.clear()
