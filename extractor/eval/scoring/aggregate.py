"""Corpus totals accumulated one document at a time, without keeping the documents.

`Aggregate.add(doc)` folds one `DocScore` into the running per-field and per-view sums (in
document order, so the floating-point sums are exactly those of `metrics.micro` over the
same documents) and into a compact per-document count matrix, (n_docs, 1 + len(FIELD_PATHS),
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

GROUPS = 1 + len(FIELD_PATHS)
"""Rows of the per-document count matrix: the headline, then each field path."""


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


class Aggregate:
    """Running sums over scored documents; memory grows by one count row per document."""

    def __init__(self) -> None:
        self.fields = {path: Counts() for path in FIELD_PATHS}
        self.views = {path: Counts() for path in VIEW_PATHS}
        self.failed_ids: list[str] = []
        self._counts = np.zeros((64, GROUPS, 3))
        self.n = 0

    def add(self, doc_id: str, doc: DocScore) -> None:
        """Fold the score of document `doc_id` in."""
        self.add_counts(doc_id, failed=doc.failed, fields=doc.fields, views=doc.views)

    def add_counts(self, doc_id: str, *, failed: bool, fields: dict[str, Counts], views: dict[str, Counts]) -> None:
        """Fold in a document's counts (what `add` takes from a `DocScore`)."""
        for path in FIELD_PATHS:
            self.fields[path] = self.fields[path] + fields[path]
        for path in VIEW_PATHS:
            self.views[path] = self.views[path] + views[path]
        if failed:
            self.failed_ids.append(doc_id)
        if self.n == len(self._counts):  # grow by doubling: amortised O(1) per document
            self._counts = np.concatenate([self._counts, np.zeros_like(self._counts)])
        headline = micro(fields[path] for path in HEADLINE_FIELDS)  # as `DocScore.headline`
        row = self._counts[self.n]
        row[0] = (headline.tp, headline.fp, headline.fn)
        for k, path in enumerate(FIELD_PATHS, start=1):
            c = fields[path]
            row[k] = (c.tp, c.fp, c.fn)
        self.n += 1

    @property
    def counts(self) -> np.ndarray:
        """(n_docs, GROUPS, 3) counts of the documents added so far."""
        return self._counts[: self.n]

    def finish(self, *, n_boot: int = DEFAULT_RESAMPLES, seed: Seed = 0) -> Totals:
        """Micro (with its bootstrap interval over documents) and macro over the documents added."""
        counts = self.counts
        return Totals(
            n_documents=self.n,
            fields=dict(self.fields),
            views=dict(self.views),
            micro=micro(self.fields[path] for path in HEADLINE_FIELDS),
            interval=bootstrap_f1(counts[:, 0, :], n_boot=n_boot, seed=seed),
            macro_f1=macro_f1(self.fields[path] for path in HEADLINE_FIELDS),
            failed_ids=list(self.failed_ids),
            n_boot=n_boot,
            counts=counts,
        )
