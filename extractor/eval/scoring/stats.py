"""Uncertainty over documents: bootstrap intervals, paired comparison, sign test, Holm, MDD.

Everything here works on per-document count arrays (`[..., 3]` = TP, FP, FN), never on
extractions, so it knows nothing about fields or matching.

- Bootstrap (`bootstrap_f1`): resample the documents with replacement `n_boot` times
  (default 2000), recompute micro-F1 from the summed per-document counts of each resample,
  and take the 2.5 and 97.5 percentiles (95% percentile interval). Resamples use a
  `numpy.random.Generator` built from `seed`, so equal seeds give equal intervals.
  A resample whose F1 is undefined (no gold and no predicted values) is left out.
- Paired bootstrap (`paired_bootstrap`): the document indices are drawn once per resample
  and both runs are scored on that same resample; the statistic is delta = F1(B) - F1(A),
  with its percentile interval, its bootstrap standard error (standard deviation over
  resamples) and a two-sided bootstrap p-value 2 * min(P(delta <= 0), P(delta >= 0))
  (capped at 1; the proportions are over resamples).
- Sign test (`sign_test`): per document, B wins when its F1 is higher than A's, loses when
  lower, ties when equal (within 1e-12); exact two-sided binomial test of wins against
  losses with p = 0.5 (`scipy.stats.binomtest`), ties dropped; p = 1 when all tie.
- Holm (`holm`): step-down adjustment for the per-field p-values; adjusted p_(i) =
  max over j <= i of min(1, (m - j + 1) p_(j)), p sorted ascending.
- Minimum detectable difference (`min_detectable_delta`): 2.8 x the bootstrap standard
  error of delta. 2.8 = 1.96 + 0.84, the normal quantiles for a two-sided alpha of 0.05 and
  80% power; an approximation that treats delta as normal with the bootstrap SE.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

DEFAULT_RESAMPLES = 2000
CONFIDENCE = 0.95
MDD_FACTOR = 2.8
"""z(0.975) + z(0.80): 80% power at two-sided alpha 0.05."""
TIE_TOLERANCE = 1e-12

Seed = int | np.random.Generator | None


@dataclass(frozen=True)
class Interval:
    """A point estimate with its bootstrap percentile interval and standard error."""

    estimate: float | None
    low: float | None
    high: float | None
    se: float | None


@dataclass(frozen=True)
class PairedDelta:
    """delta = F1(B) - F1(A) on the same documents, with paired bootstrap interval and p-value."""

    a: float | None
    b: float | None
    delta: float | None
    low: float | None
    high: float | None
    se: float | None
    p: float | None


@dataclass(frozen=True)
class SignTest:
    """Per-document wins, ties and losses of B against A, with the exact two-sided sign-test p."""

    wins: int
    ties: int
    losses: int
    p: float


def f1_of(counts: np.ndarray) -> np.ndarray:
    """F1 = 2 TP / (2 TP + FP + FN) over the last axis (TP, FP, FN); NaN where undefined."""
    tp, fp, fn = counts[..., 0], counts[..., 1], counts[..., 2]
    denominator = 2 * tp + fp + fn
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, 2 * tp / np.where(denominator > 0, denominator, 1), np.nan)


CHUNK_CELLS = 1 << 21
"""Resample × document cells drawn at a time (2 Mi: about 16 MB per int64 array)."""


def resample_weights(n_docs: int, n_boot: int, seed: Seed = 0) -> np.ndarray:
    """How often each document is drawn in each resample: an (n_boot, n_docs) integer matrix."""
    return np.concatenate(list(_weight_chunks(n_docs, n_boot, seed)), axis=0).reshape(n_boot, n_docs)


def _weight_chunks(n_docs: int, n_boot: int, seed: Seed) -> Iterator[np.ndarray]:
    """`resample_weights` a few rows at a time, from the same random stream.

    Drawing rows in chunks from one generator yields exactly the draws of one big call, so the
    intervals do not depend on the chunk size, while memory stays at a few chunk-sized arrays
    whatever the number of documents.
    """
    rng = np.random.default_rng(seed)
    rows = max(1, CHUNK_CELLS // max(1, n_docs))
    for first in range(0, n_boot, rows):
        count = min(rows, n_boot - first)
        draws = rng.integers(0, n_docs, size=(count, n_docs))
        draws += (np.arange(count) * n_docs)[:, None]
        yield np.bincount(draws.ravel(), minlength=count * n_docs).reshape(count, n_docs)


def _resampled_f1(doc_counts: np.ndarray, n_boot: int, seed: Seed) -> np.ndarray:
    """F1 of every resample: (n_boot, ...) from doc_counts (n_docs, ..., 3), resampled in chunks."""
    n_docs = doc_counts.shape[0]
    flat = doc_counts.reshape(n_docs, -1)
    summed = np.concatenate([weights @ flat for weights in _weight_chunks(n_docs, n_boot, seed)], axis=0)
    return f1_of(summed.reshape(n_boot, *doc_counts.shape[1:]))


def _percentiles(samples: np.ndarray) -> tuple[float | None, float | None]:
    samples = samples[~np.isnan(samples)]
    if samples.size == 0:
        return None, None
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(samples, [tail, 100 - tail])
    return float(low), float(high)


def _std(samples: np.ndarray) -> float | None:
    samples = samples[~np.isnan(samples)]
    return float(np.std(samples, ddof=1)) if samples.size > 1 else None


def _scalar(value: np.floating | float) -> float | None:
    return None if np.isnan(value) else float(value)


def bootstrap_f1(doc_counts: np.ndarray, *, n_boot: int = DEFAULT_RESAMPLES, seed: Seed = 0) -> Interval:
    """Micro-F1 of the summed counts with a 95% bootstrap percentile interval over documents.

    `doc_counts` is (n_docs, 3): TP, FP, FN of each document.
    """
    doc_counts = np.asarray(doc_counts, dtype=float).reshape(-1, 3)
    estimate = _scalar(float(f1_of(doc_counts.sum(axis=0))))
    if len(doc_counts) == 0 or estimate is None:
        return Interval(estimate, None, None, None)
    samples = _resampled_f1(doc_counts, n_boot, seed)
    low, high = _percentiles(samples)
    return Interval(estimate, low, high, _std(samples))


def bootstrap_p(deltas: np.ndarray) -> float | None:
    """Two-sided bootstrap p-value of delta = 0: 2 * min(P(delta <= 0), P(delta >= 0)), at most 1."""
    deltas = deltas[~np.isnan(deltas)]
    if deltas.size == 0:
        return None
    below, above = float(np.mean(deltas <= 0)), float(np.mean(deltas >= 0))
    return min(1.0, 2 * min(below, above))


def paired_bootstrap(
    counts_a: np.ndarray, counts_b: np.ndarray, *, n_boot: int = DEFAULT_RESAMPLES, seed: Seed = 0
) -> list[PairedDelta]:
    """Paired bootstrap of delta F1 for k count groups at once (the same resamples for all).

    `counts_a` and `counts_b` are (n_docs, k, 3) on the same documents in the same order;
    the result has one PairedDelta per group.
    """
    a = np.asarray(counts_a, dtype=float)
    b = np.asarray(counts_b, dtype=float)
    if a.shape != b.shape or a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"paired counts must both be (n_docs, k, 3), got {a.shape} and {b.shape}")
    f1_a, f1_b = f1_of(a.sum(axis=0)), f1_of(b.sum(axis=0))
    deltas = np.full((0, a.shape[1]), np.nan)
    if a.shape[0] > 0:
        # Both runs go through the same resamples (one pass): the bootstrap stays paired.
        both = _resampled_f1(np.stack([a, b], axis=1), n_boot, seed)
        deltas = both[:, 1] - both[:, 0]
    out = []
    for k in range(a.shape[1]):
        delta = _scalar(f1_b[k] - f1_a[k])
        low, high = _percentiles(deltas[:, k]) if delta is not None else (None, None)
        out.append(
            PairedDelta(
                a=_scalar(f1_a[k]),
                b=_scalar(f1_b[k]),
                delta=delta,
                low=low,
                high=high,
                se=_std(deltas[:, k]) if delta is not None else None,
                p=bootstrap_p(deltas[:, k]) if delta is not None else None,
            )
        )
    return out


def sign_test(scores_a: Sequence[float], scores_b: Sequence[float]) -> SignTest:
    """Wins, ties, losses of B against A per document and the exact two-sided sign-test p-value."""
    diffs = np.asarray(scores_b, dtype=float) - np.asarray(scores_a, dtype=float)
    wins = int(np.sum(diffs > TIE_TOLERANCE))
    losses = int(np.sum(diffs < -TIE_TOLERANCE))
    ties = len(diffs) - wins - losses
    # Imported here: scipy.stats takes half a second to import, and only comparisons need it.
    from scipy.stats import binomtest

    p = binomtest(wins, wins + losses, 0.5, alternative="two-sided").pvalue if wins + losses else 1.0
    return SignTest(wins, ties, losses, float(p))


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm step-down adjusted p-values, in the input order."""
    m = len(pvalues)
    adjusted = [0.0] * m
    running = 0.0
    for rank, index in enumerate(sorted(range(m), key=lambda i: pvalues[i])):
        running = max(running, min(1.0, (m - rank) * pvalues[index]))
        adjusted[index] = running
    return adjusted


def min_detectable_delta(se: float | None) -> float | None:
    """Approximate smallest delta F1 detectable with 80% power at alpha 0.05: 2.8 x SE."""
    return None if se is None else MDD_FACTOR * se
