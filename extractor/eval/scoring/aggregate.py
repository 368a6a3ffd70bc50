"""Corpus totals accumulated one document at a time, without keeping the documents.

`Aggregate.add(doc)` (or `add_row` with its `count_row`, what a scoring worker sends) folds
one document into the running per-field and per-view sums (in document order, so the
floating-point sums are exactly those of `metrics.micro` over the same documents) and into a
compact per-document count matrix, (n_docs, 1 + len(FIELD_PATHS),
3) float64 (headline first, then every field path; TP, FP, FN): 456 bytes a document, which
is all the bootstrap needs. `finish()` computes micro, macro and the bootstrap interval.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .document import DocScore
from .metrics import Counts, macro_f1, micro
from .paths import FIELD_PATHS, HEADLINE_FIELDS, VIEW_PATHS
from .stats import DEFAULT_RESAMPLES, Interval, Seed, bootstrap_f1

GROUP_NAMES = ("headline", *FIELD_PATHS)
"""Rows of the per-document count matrix: the headline, then each field path."""
GROUPS = len(GROUP_NAMES)


@dataclass
class Totals:
    """What a corpus report needs beyond the documents themselves."""

    n_documents: int
    fields: dict[str, Counts]
    views: dict[str, Counts]
    micro: Counts
    interval: Interval
    macro_f1: float | None
    failed_ids: list[str]
    n_boot: int
    counts: np.ndarray
    """(n_docs, GROUPS, 3) per-document TP, FP, FN: the headline, then each field path."""


COUNT_KEYS = ("tp", "fp", "fn", "missing", "hallucinated", "wrong_value", "correct_abstention")
"""The order of one path's values in a count row."""

ROW_PATHS = (*FIELD_PATHS, *VIEW_PATHS)
"""The order of the paths in a count row."""

_HEADLINE_AT = tuple(FIELD_PATHS.index(path) for path in HEADLINE_FIELDS)

_BATCH = 512
"""Rows folded in at once."""


def count_row(fields: dict[str, Counts], views: dict[str, Counts]) -> tuple[float, ...]:
    """A document's counts as one flat row: `COUNT_KEYS` for each path of `ROW_PATHS`.

    What bulk scoring sends back from a worker process: a tuple of floats pickles in a
    fraction of the time twenty `Counts` objects take.
    """
    counts = [fields[path] for path in FIELD_PATHS] + [views[path] for path in VIEW_PATHS]
    return tuple(
        value
        for c in counts
        for value in (c.tp, c.fp, c.fn, c.missing, c.hallucinated, c.wrong_value, c.correct_abstention)
    )


class Aggregate:
    """Running sums over scored documents; memory grows by one count row per document."""

    def __init__(self, expected: int = 0) -> None:
        """`expected`: how many documents will be added, when known (the count rows are sized once)."""
        # Running sums of every path's values, added document by document in order (float64
        # holds the integer counts exactly), so they equal summing `Counts` in that order.
        self._sums = np.zeros(len(ROW_PATHS) * len(COUNT_KEYS))
        self._pending: list[tuple[float, ...]] = []
        self.failed_ids: list[str] = []
        self._counts = np.zeros((max(64, expected), GROUPS, 3))
        self._folded = 0  # rows of `_counts` filled

    def add(self, doc_id: str, doc: DocScore) -> None:
        """Fold the score of document `doc_id` in."""
        self.add_row(doc_id, failed=doc.failed, row=count_row(doc.fields, doc.views))

    def add_row(self, doc_id: str, *, failed: bool, row: tuple[float, ...]) -> None:
        """Fold in a document's `count_row`."""
        if failed:
            self.failed_ids.append(doc_id)
        self._pending.append(row)
        if len(self._pending) >= _BATCH:
            self._fold()

    def _fold(self) -> None:
        """Fold the pending rows in with numpy, a batch at a time.

        `cumsum` adds row after row, left to right, so the sums and each headline come out
        bit for bit as adding the documents one by one would give them.
        """
        if not self._pending:
            return
        rows = np.array(self._pending)
        self._pending = []
        self._sums = np.cumsum(np.vstack([self._sums, rows]), axis=0)[-1]
        while self._folded + len(rows) > len(self._counts):  # grow by doubling: amortised O(1) per document
            self._counts = np.concatenate([self._counts, np.zeros_like(self._counts)])
        width = len(COUNT_KEYS)
        values = rows[:, : len(FIELD_PATHS) * width].reshape(len(rows), len(FIELD_PATHS), width)[:, :, :3]
        block = self._counts[self._folded : self._folded + len(rows)]
        block[:, 1:] = values
        # The headline as `DocScore.headline` sums it: path by path, in order, from zero.
        block[:, 0] = np.cumsum(values[:, list(_HEADLINE_AT)], axis=1)[:, -1]
        self._folded += len(rows)

    @property
    def n(self) -> int:
        """Documents added so far."""
        return self._folded + len(self._pending)

    def _totals(self, paths: tuple[str, ...]) -> dict[str, Counts]:
        self._fold()
        width = len(COUNT_KEYS)
        out = {}
        for path in paths:
            at = ROW_PATHS.index(path) * width
            tp, fp, fn, *rest = self._sums[at : at + width].tolist()
            out[path] = Counts(tp, fp, fn, *(int(v) for v in rest))
        return out

    @property
    def fields(self) -> dict[str, Counts]:
        """Counts per field path, summed over the documents added so far."""
        return self._totals(FIELD_PATHS)

    @property
    def views(self) -> dict[str, Counts]:
        """Counts per document view, summed over the documents added so far."""
        return self._totals(VIEW_PATHS)

    @property
    def counts(self) -> np.ndarray:
        """(n_docs, GROUPS, 3) counts of the documents added so far."""
        self._fold()
        return self._counts[: self._folded]

    def finish(self, *, n_boot: int = DEFAULT_RESAMPLES, seed: Seed = 0) -> Totals:
        """Micro (with its bootstrap interval over documents) and macro over the documents added."""
        counts, fields = self.counts, self.fields
        return Totals(
            n_documents=self.n,
            fields=fields,
            views=self.views,
            micro=micro(fields[path] for path in HEADLINE_FIELDS),
            interval=bootstrap_f1(counts[:, 0, :], n_boot=n_boot, seed=seed),
            macro_f1=macro_f1(fields[path] for path in HEADLINE_FIELDS),
            failed_ids=list(self.failed_ids),
            n_boot=n_boot,
            counts=counts,
        )
