"""Recording of per-item outcomes: TP/FP/FN counts, error categories and error items.

Counting rules (one document; per field path):

- Scalars on a matched pair (authority, action, entity_type, country, target_count, date,
  and the flags is_countermeasure and is_sanctions_news, where False counts as empty):
  equal → TP 1; both empty → correct_abstention (counted, not a hit: no TP);
  gold set, prediction empty → FN 1, `missing`; gold empty, prediction set → FP 1,
  `hallucinated`; both set and different → FP 1 + FN 1, `wrong_value`.
- Free-text scalars (issuer, role): as scalars, except that when both are set the pair earns
  the credit s = token F1 (see `match.token_f1`) and counts TP s, FP 1 - s, FN 1 - s.
  s = 1 is a plain hit; s < 1 is recorded as `wrong_value` with its credit. An issuer whose
  body the registry knows on both sides (`extractor.core.issuers`) is a hit when both name
  one body (or one contains the other: "OFAC" and "Treasury"), else `wrong_value` with no credit.
- Lists of codes (measures, target_countries, coordinated_with) are compared as sets after
  normalisation: each matched gold item TP 1, each unmatched gold item FN 1, each unmatched
  predicted item FP 1. Unmatched items are paired up while both sides have some, and each
  such pair is one `wrong_value` (FP 1 + FN 1); the rest are `missing` (gold) or
  `hallucinated` (prediction). Two empty lists → correct_abstention.
- Lists of free text (legal_basis, reasons): items are paired one-to-one by the assignment
  that maximises the total token F1. A pair with credit s > 0 counts TP s, FP 1 - s,
  FN 1 - s (s = 1 a hit, s < 1 `wrong_value`); pairs sharing no token count FP 1 + FN 1
  (`wrong_value`, credit 0); unpaired gold items FN 1 (`missing`), unpaired predicted items
  FP 1 (`hallucinated`). So TP + FP = number of predicted items and TP + FN = number of
  gold items: P = TP / |pred| and R = TP / |gold| stay consistent under fractional credit.
- Target names: as code lists, matched by name (lenient or strict, see `match`) instead of
  equality. When the document text is given, a predicted name that occurs nowhere in it is
  always `hallucinated` (never paired as a wrong value) and carries the note
  "not in document text".
- `actions`: a matched pair TP 1; an unmatched gold action FN 1 (`missing`); an unmatched
  predicted action FP 1 (`hallucinated`); no actions on either side → correct_abstention.
  Every value of an unmatched gold action (each scalar, each list item, each sub-field of
  each target) is `missing` (FN 1), every value of an unmatched predicted action is
  `hallucinated` (FP 1). Targets left unmatched inside a matched action pair are treated
  the same way for their sub-fields.
- A failed extraction is scored as an empty prediction: every gold value is `missing`.

Invariants: outside free text, FP = hallucinated + wrong_value and FN = missing +
wrong_value; for free text, FP = hallucinated + sum(1 - s) over wrong_value pairs (same for FN).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from .metrics import Counts

Category = Literal["missing", "hallucinated", "wrong_value"]

NOT_IN_TEXT = "not in document text"


@dataclass(frozen=True)
class Where:
    """Where an item sits: gold and predicted action indices, and the target it belongs to."""

    gold_action: int | None = None
    pred_action: int | None = None
    target: str | None = None


@dataclass(frozen=True)
class ErrorItem:
    """One scoring error, for reports: field path, gold value, predicted value, category."""

    path: str
    category: Category
    gold: Any
    pred: Any
    gold_action: int | None = None
    pred_action: int | None = None
    target: str | None = None
    credit: float | None = None
    """Fractional TP credit the pair earned (free text), when any."""
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; empty optional keys are left out."""
        # Built by hand: dataclasses.asdict deep-copies every value, a cost paid per error item.
        out: dict[str, Any] = {"path": self.path, "category": self.category, "gold": self.gold, "pred": self.pred}
        if self.gold_action is not None:
            out["gold_action"] = self.gold_action
        if self.pred_action is not None:
            out["pred_action"] = self.pred_action
        if self.target is not None:
            out["target"] = self.target
        if self.credit is not None:
            out["credit"] = self.credit
        if self.note is not None:
            out["note"] = self.note
        return out


class Tally:
    """Accumulates Counts per field path and the error items of one document."""

    def __init__(self, paths: Iterable[str]) -> None:
        self.counts: dict[str, Counts] = {path: Counts() for path in paths}
        self.errors: list[ErrorItem] = []

    def hit(self, path: str) -> None:
        """An exact match: TP 1."""
        self.counts[path].tp += 1

    def abstain(self, path: str) -> None:
        """Gold and prediction both empty: counted, not a hit."""
        self.counts[path].correct_abstention += 1

    def missing(self, path: str, gold: Any, where: Where = Where()) -> None:
        """Gold set, prediction empty: FN 1."""
        self.counts[path].fn += 1
        self.counts[path].missing += 1
        self._error(path, "missing", gold, None, where)

    def hallucinated(self, path: str, pred: Any, where: Where = Where(), note: str | None = None) -> None:
        """Prediction set, gold empty: FP 1."""
        self.counts[path].fp += 1
        self.counts[path].hallucinated += 1
        self._error(path, "hallucinated", None, pred, where, note=note)

    def wrong(self, path: str, gold: Any, pred: Any, where: Where = Where(), credit: float = 0.0) -> None:
        """Both set and different: TP credit, FP and FN 1 - credit (credit 0 outside free text)."""
        counts = self.counts[path]
        counts.tp += credit
        counts.fp += 1 - credit
        counts.fn += 1 - credit
        counts.wrong_value += 1
        self._error(path, "wrong_value", gold, pred, where, credit=round(credit, 6) if credit else None)

    def _error(
        self,
        path: str,
        category: Category,
        gold: Any,
        pred: Any,
        where: Where,
        *,
        credit: float | None = None,
        note: str | None = None,
    ) -> None:
        self.errors.append(
            ErrorItem(
                path, category, gold, pred, where.gold_action, where.pred_action, where.target, credit, note
            )
        )
