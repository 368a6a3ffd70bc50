"""Comparison of two runs (A, B) on the same gold documents, and the regression gate.

`compare_runs(golds, preds_a, preds_b)` scores both runs document by document and reports:

- delta_f1 = headline micro-F1(B) - micro-F1(A) with a 95% paired bootstrap interval
  (`stats.paired_bootstrap`: each resample draws the document indices once and scores both
  runs on it), its bootstrap p-value and the minimum detectable difference (2.8 x the
  bootstrap SE of delta: approximate 80% power at alpha 0.05);
- per document: wins, ties and losses of B on the document's headline F1, with an exact
  two-sided sign test (ties dropped). A document with nothing to find and nothing predicted
  has no F1; for this comparison it counts as 1.0 (perfect), so a run that invents actions
  on it loses the document;
- per field path (all of `paths.FIELD_PATHS`): F1 of A and B, delta with its paired interval,
  bootstrap p-value and Holm-adjusted p-value over the fields whose delta is defined;
  `significant` when the Holm p is below 0.05;
- documents sorted by delta (largest loss of B first).

`is_regression(comparison, margin)` is the gate: True when the whole interval of delta_f1
lies below -margin (B is worse than A by more than `margin` with 95% confidence).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .corpus import Golds, Predictions, Texts, score_documents
from .document import DocScore
from .metrics import Counts
from .paths import FIELD_PATHS
from .stats import (
    DEFAULT_RESAMPLES,
    PairedDelta,
    Seed,
    SignTest,
    holm,
    min_detectable_delta,
    paired_bootstrap,
    sign_test,
)

ALPHA = 0.05
"""Family-wise error rate for the per-field Holm adjustment."""


@dataclass(frozen=True)
class FieldDelta:
    """One field path compared between runs."""

    path: str
    stats: PairedDelta
    p_holm: float | None

    @property
    def significant(self) -> bool:
        return self.p_holm is not None and self.p_holm < ALPHA

    def to_dict(self) -> dict[str, Any]:
        s = self.stats
        return {
            "a_f1": _r(s.a),
            "b_f1": _r(s.b),
            "delta": _r(s.delta),
            "ci_low": _r(s.low),
            "ci_high": _r(s.high),
            "p": _r(s.p),
            "p_holm": _r(self.p_holm),
            "significant": self.significant,
        }


@dataclass(frozen=True)
class DocDelta:
    """One document's headline F1 in both runs (None: nothing to find, nothing predicted)."""

    article_id: str
    a_f1: float | None
    b_f1: float | None

    @property
    def delta(self) -> float:
        """F1(B) - F1(A), an undefined F1 counting as 1.0."""
        return _defined(self.b_f1) - _defined(self.a_f1)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.article_id, "a_f1": _r(self.a_f1), "b_f1": _r(self.b_f1), "delta": _r(self.delta)}


@dataclass(frozen=True)
class Comparison:
    """Run B against run A on the same documents."""

    micro: PairedDelta
    sign: SignTest
    fields: dict[str, FieldDelta]
    documents: list[DocDelta]
    failures_a: int
    failures_b: int
    n_boot: int

    @property
    def n_documents(self) -> int:
        return len(self.documents)

    @property
    def delta_f1(self) -> float | None:
        return self.micro.delta

    @property
    def ci_low(self) -> float | None:
        return self.micro.low

    @property
    def ci_high(self) -> float | None:
        return self.micro.high

    @property
    def min_detectable_delta(self) -> float | None:
        return min_detectable_delta(self.micro.se)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready report of the comparison."""
        return {
            "n_documents": self.n_documents,
            "a_f1": _r(self.micro.a),
            "b_f1": _r(self.micro.b),
            "delta_f1": _r(self.delta_f1),
            "ci_low": _r(self.ci_low),
            "ci_high": _r(self.ci_high),
            "se": _r(self.micro.se),
            "p": _r(self.micro.p),
            "min_detectable_delta": _r(self.min_detectable_delta),
            "wins": self.sign.wins,
            "ties": self.sign.ties,
            "losses": self.sign.losses,
            "sign_test_p": _r(self.sign.p),
            "failures": {"a": self.failures_a, "b": self.failures_b},
            "n_boot": self.n_boot,
            "fields": {path: fd.to_dict() for path, fd in self.fields.items()},
            "documents": [d.to_dict() for d in self.documents],
        }


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def _defined(f1: float | None) -> float:
    return 1.0 if f1 is None else f1


def _group_counts(documents: dict[str, DocScore]) -> np.ndarray:
    """(n_docs, 1 + len(FIELD_PATHS), 3): the headline first, then every field path."""
    rows = []
    for doc in documents.values():
        groups: list[Counts] = [doc.headline, *(doc.fields[path] for path in FIELD_PATHS)]
        rows.append([(c.tp, c.fp, c.fn) for c in groups])
    return np.array(rows, dtype=float).reshape(-1, 1 + len(FIELD_PATHS), 3)


def compare_runs(
    golds: Golds,
    preds_a: Predictions,
    preds_b: Predictions,
    texts: Texts | None = None,
    *,
    n_boot: int = DEFAULT_RESAMPLES,
    seed: Seed = 0,
) -> Comparison:
    """Compare run B against run A on the gold documents; see the module docstring."""
    docs_a = score_documents(golds, preds_a, texts)
    docs_b = score_documents(golds, preds_b, texts)
    return compare_counts(
        list(docs_a), _group_counts(docs_a), _group_counts(docs_b),
        failed_a=[d.failed for d in docs_a.values()], failed_b=[d.failed for d in docs_b.values()],
        n_boot=n_boot, seed=seed,
    )


def compare_counts(
    ids: Sequence[str],
    counts_a: np.ndarray,
    counts_b: np.ndarray,
    *,
    failed_a: Sequence[bool],
    failed_b: Sequence[bool],
    n_boot: int = DEFAULT_RESAMPLES,
    seed: Seed = 0,
) -> Comparison:
    """Compare run B against run A from their per-document counts: (documents, `GROUPS`, 3) each.

    The rows are the documents `ids` in the same order in both; the groups are the headline,
    then every path of `FIELD_PATHS` (what `aggregate.Aggregate.counts` and `_group_counts`
    lay out). Scores stored with a run give exactly the comparison of its predictions.
    """
    deltas = paired_bootstrap(counts_a, counts_b, n_boot=n_boot, seed=seed)
    headline, per_field = deltas[0], deltas[1:]

    testable = [i for i, d in enumerate(per_field) if d.p is not None]
    adjusted = dict(zip(testable, holm([per_field[i].p or 0.0 for i in testable]), strict=True))
    fields = {path: FieldDelta(path, per_field[i], adjusted.get(i)) for i, path in enumerate(FIELD_PATHS)}

    f1_a, f1_b = _document_f1(counts_a), _document_f1(counts_b)
    documents = [DocDelta(doc_id, a, b) for doc_id, a, b in zip(ids, f1_a, f1_b, strict=True)]
    sign = sign_test([_defined(d.a_f1) for d in documents], [_defined(d.b_f1) for d in documents])
    documents.sort(key=lambda d: (d.delta, d.article_id))
    return Comparison(
        micro=headline,
        sign=sign,
        fields=fields,
        documents=documents,
        failures_a=int(sum(bool(f) for f in failed_a)),
        failures_b=int(sum(bool(f) for f in failed_b)),
        n_boot=n_boot,
    )


def compare_headlines(
    baseline: np.ndarray, others: Sequence[np.ndarray], *, n_boot: int = DEFAULT_RESAMPLES, seed: Seed = 0
) -> list[PairedDelta]:
    """The headline row of `compare_counts` for each of `others` against `baseline`, in one pass.

    The resamples depend only on the number of documents, `n_boot` and `seed`, so each result
    is the interval `compare_counts(baseline, other)` gives for its headline, at a fraction of
    the cost (one count group per run, and the resamples drawn once for all of them): what a
    grid of comparisons with one baseline needs.
    """
    if not others:
        return []
    a = np.repeat(np.asarray(baseline, dtype=float)[:, :1], len(others), axis=1)
    b = np.concatenate([np.asarray(other, dtype=float)[:, :1] for other in others], axis=1)
    return paired_bootstrap(a, b, n_boot=n_boot, seed=seed)


def _document_f1(counts: np.ndarray) -> list[float | None]:
    """Each document's headline F1 (None where it is undefined), as `DocScore.f1` computes it."""
    return [Counts(tp, fp, fn).f1 for tp, fp, fn in np.asarray(counts, dtype=float)[:, 0, :].tolist()]


def is_regression(comparison: Comparison, margin: float) -> bool:
    """True when the whole 95% interval of delta micro-F1 lies below -margin."""
    return comparison.ci_high is not None and comparison.ci_high < -margin


regression = is_regression
"""Alias of `is_regression` for gate code that reads `regression(result, margin)`."""
