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

from extractor.core.schema import ArticleExtraction

from .aggregate import Aggregate, Totals
from .document import DocScore, Prediction, score_document
from .metrics import Counts
from .paths import HEADLINE_FIELDS
from .stats import DEFAULT_RESAMPLES, Interval, Seed

Golds = Mapping[str, ArticleExtraction]
Predictions = Mapping[str, Prediction]
Texts = Mapping[str, str]


def report_header(totals: Totals, unscored: list[str]) -> dict[str, Any]:
    """The corpus part of a report, in report order; `documents` is left for the caller to fill."""
    head = totals.micro.to_dict()
    interval = totals.interval
    rounded = {
        k: None if v is None else round(v, 6)
        for k, v in (("low", interval.low), ("high", interval.high), ("se", interval.se))
    }
    n = totals.n_documents
    failures = len(totals.failed_ids)
    return {
        "n_documents": n,
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
            "n_boot": totals.n_boot,
        },
        "macro_f1": None if totals.macro_f1 is None else round(totals.macro_f1, 6),
        "headline_fields": list(HEADLINE_FIELDS),
        "fields": {path: counts.to_dict() for path, counts in totals.fields.items()},
        "document_views": {path: counts.to_dict() for path, counts in totals.views.items()},
        "documents": {},
        "failures": {
            "count": failures,
            "rate": round(failures / n, 6) if n else None,
            "ids": list(totals.failed_ids),
        },
        "unscored": unscored,
    }


@dataclass
class CorpusScore:
    """The score of a run over a corpus, with every document's score."""

    documents: dict[str, DocScore]
    totals: Totals
    unscored: list[str]

    @property
    def fields(self) -> dict[str, Counts]:
        return self.totals.fields

    @property
    def views(self) -> dict[str, Counts]:
        return self.totals.views

    @property
    def micro(self) -> Counts:
        return self.totals.micro

    @property
    def interval(self) -> Interval:
        return self.totals.interval

    @property
    def macro_f1(self) -> float | None:
        return self.totals.macro_f1

    @property
    def n_boot(self) -> int:
        return self.totals.n_boot

    @property
    def failures(self) -> int:
        """Number of documents whose extraction failed."""
        return len(self.totals.failed_ids)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready report: micro with interval, macro, fields, documents, views, failures."""
        report = report_header(self.totals, self.unscored)
        report["documents"] = {doc_id: doc.to_dict() for doc_id, doc in self.documents.items()}
        return report


def score_documents(golds: Golds, preds: Predictions, texts: Texts | None = None) -> dict[str, DocScore]:
    """Score every gold document against its prediction, in sorted id order."""
    texts = texts or {}
    return {
        doc_id: score_document(golds[doc_id], preds.get(doc_id), texts.get(doc_id))
        for doc_id in sorted(golds)
    }


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
    aggregate = Aggregate()
    for doc_id, doc in documents.items():
        aggregate.add(doc_id, doc)
    return CorpusScore(
        documents=documents,
        totals=aggregate.finish(n_boot=n_boot, seed=seed),
        unscored=sorted(set(preds) - set(golds)),
    )
