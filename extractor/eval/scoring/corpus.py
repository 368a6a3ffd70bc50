"""Aggregation over a corpus: per-field and headline counts, micro and macro F1, failures.

`score_corpus(golds, preds, texts)` scores every gold document (`document.score_document`)
and sums the counts:

- documents are the gold ids; a gold id missing from `preds`, or mapped to None or a
  failure marker, is a failed extraction (all gold values missing). Predictions without a
  gold are not scored and are listed under "unscored";
- fields: per path, counts summed over documents (micro over documents);
- micro (headline): counts summed over documents and over `paths.HEADLINE_FIELDS`, with a
  95% bootstrap interval over documents (`stats.bootstrap_f1`, `n_boot` resamples, `seed`);
- macro_f1: mean F1 of the headline fields whose F1 is defined (`metrics.macro_f1`);
- failures: the number of failed documents and their share of all documents.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from extractor.core.schema import ArticleExtraction

from .document import DocScore, Prediction, score_document
from .metrics import Counts, macro_f1, micro
from .paths import FIELD_PATHS, HEADLINE_FIELDS, VIEW_PATHS
from .stats import DEFAULT_RESAMPLES, Interval, Seed, bootstrap_f1

Golds = Mapping[str, ArticleExtraction]
Predictions = Mapping[str, Prediction]
Texts = Mapping[str, str]


@dataclass
class CorpusScore:
    """The score of a run over a corpus."""

    documents: dict[str, DocScore]
    fields: dict[str, Counts]
    views: dict[str, Counts]
    micro: Counts
    interval: Interval
    macro_f1: float | None
    unscored: list[str]
    n_boot: int

    @property
    def failures(self) -> int:
        """Number of documents whose extraction failed."""
        return sum(doc.failed for doc in self.documents.values())

    @property
    def failure_rate(self) -> float | None:
        """Share of failed documents; None for an empty corpus."""
        return self.failures / len(self.documents) if self.documents else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready report: micro with interval, macro, fields, documents, views, failures."""
        head = self.micro.to_dict()
        rounded = {
            k: None if v is None else round(v, 6)
            for k, v in (("low", self.interval.low), ("high", self.interval.high), ("se", self.interval.se))
        }
        return {
            "n_documents": len(self.documents),
            "micro": {
                "precision": head["precision"],
                "recall": head["recall"],
                "f1": head["f1"],
                "ci_low": rounded["low"],
                "ci_high": rounded["high"],
                "se": rounded["se"],
                "tp": head["tp"],
                "fp": head["fp"],
                "fn": head["fn"],
                "n_boot": self.n_boot,
            },
            "macro_f1": None if self.macro_f1 is None else round(self.macro_f1, 6),
            "headline_fields": list(HEADLINE_FIELDS),
            "fields": {path: counts.to_dict() for path, counts in self.fields.items()},
            "document_views": {path: counts.to_dict() for path, counts in self.views.items()},
            "documents": {doc_id: doc.to_dict() for doc_id, doc in self.documents.items()},
            "failures": {
                "count": self.failures,
                "rate": None if self.failure_rate is None else round(self.failure_rate, 6),
                "ids": [doc_id for doc_id, doc in self.documents.items() if doc.failed],
            },
            "unscored": self.unscored,
        }


def score_documents(golds: Golds, preds: Predictions, texts: Texts | None = None) -> dict[str, DocScore]:
    """Score every gold document against its prediction, in sorted id order."""
    texts = texts or {}
    return {
        doc_id: score_document(golds[doc_id], preds.get(doc_id), texts.get(doc_id))
        for doc_id in sorted(golds)
    }


def headline_counts(documents: Mapping[str, DocScore]) -> np.ndarray:
    """(n_docs, 3) array of each document's headline TP, FP, FN."""
    rows = [(d.headline.tp, d.headline.fp, d.headline.fn) for d in documents.values()]
    return np.array(rows, dtype=float).reshape(-1, 3)


def score_corpus(
    golds: Golds,
    preds: Predictions,
    texts: Texts | None = None,
    *,
    n_boot: int = DEFAULT_RESAMPLES,
    seed: Seed = 0,
) -> CorpusScore:
    """Score a run (`preds`) against the gold documents; see the module docstring."""
    documents = score_documents(golds, preds, texts)
    fields = {path: micro(d.fields[path] for d in documents.values()) for path in FIELD_PATHS}
    views = {path: micro(d.views[path] for d in documents.values()) for path in VIEW_PATHS}
    return CorpusScore(
        documents=documents,
        fields=fields,
        views=views,
        micro=micro(fields[path] for path in HEADLINE_FIELDS),
        interval=bootstrap_f1(headline_counts(documents), n_boot=n_boot, seed=seed),
        macro_f1=macro_f1(fields[path] for path in HEADLINE_FIELDS),
        unscored=sorted(set(preds) - set(golds)),
        n_boot=n_boot,
    )
