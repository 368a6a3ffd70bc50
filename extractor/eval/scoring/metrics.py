"""Counts and the metrics computed from them: precision, recall, F1; micro and macro aggregation.

- precision = TP / (TP + FP), recall = TP / (TP + FN), F1 = 2 TP / (2 TP + FP + FN)
  (the harmonic mean of P and R whenever both are defined). Counts may be fractional
  (free-text credit), the formulas are the same.
- A metric whose denominator is zero is undefined and reported as None: precision with no
  predictions, recall with nothing to find, F1 with neither (a document or field where gold
  and prediction are both empty). Correct abstentions are counted but never enter these
  formulas: abstaining correctly is not a hit.
- micro: the counts summed (over documents, and over the field paths of a group such as the
  headline), then the formulas applied once.
- macro over fields: the unweighted mean of the per-field F1 over the fields whose F1 is
  defined on the corpus (a field with no gold and no predicted value anywhere is left out).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass
class Counts:
    """TP/FP/FN (possibly fractional) and the error categories behind them, for one field or group."""

    tp: float = 0.0
    fp: float = 0.0
    fn: float = 0.0
    missing: int = 0
    hallucinated: int = 0
    wrong_value: int = 0
    correct_abstention: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.tp + other.tp,
            self.fp + other.fp,
            self.fn + other.fn,
            self.missing + other.missing,
            self.hallucinated + other.hallucinated,
            self.wrong_value + other.wrong_value,
            self.correct_abstention + other.correct_abstention,
        )

    @property
    def precision(self) -> float | None:
        """TP / (TP + FP), None when nothing was predicted."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp > 0 else None

    @property
    def recall(self) -> float | None:
        """TP / (TP + FN), None when there was nothing to find."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn > 0 else None

    @property
    def f1(self) -> float | None:
        """2 TP / (2 TP + FP + FN), None when gold and prediction are both empty."""
        denominator = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / denominator if denominator > 0 else None

    def to_dict(self) -> dict[str, Any]:
        """Counts and metrics as JSON-ready values (floats rounded to 6 places)."""
        # Spelt out rather than through the properties: a bulk evaluation calls this twenty
        # times per document.
        tp, fp, fn = self.tp, self.fp, self.fn
        predicted, relevant, denominator = tp + fp, tp + fn, 2 * tp + fp + fn
        return {
            "tp": round(tp, 6),
            "fp": round(fp, 6),
            "fn": round(fn, 6),
            "missing": self.missing,
            "hallucinated": self.hallucinated,
            "wrong_value": self.wrong_value,
            "correct_abstention": self.correct_abstention,
            "precision": round(tp / predicted, 6) if predicted > 0 else None,
            "recall": round(tp / relevant, 6) if relevant > 0 else None,
            "f1": round(2 * tp / denominator, 6) if denominator > 0 else None,
        }


def micro(counts: Iterable[Counts]) -> Counts:
    """The sum of several Counts (micro aggregation)."""
    total = Counts()
    for item in counts:
        total = total + item
    return total


def macro_f1(per_field: Iterable[Counts]) -> float | None:
    """Mean F1 over the fields whose F1 is defined; None when none is."""
    scores = [c.f1 for c in per_field if c.f1 is not None]
    return sum(scores) / len(scores) if scores else None
