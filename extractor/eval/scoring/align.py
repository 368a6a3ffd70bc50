"""Alignment of predicted list items to gold list items by optimal assignment.

`match_items` takes a gold × prediction similarity matrix and solves the assignment that
maximises the total similarity over the admissible pairs (similarity at or above a minimum)
with `scipy.optimize.linear_sum_assignment`. Admissible pairs in the solution are matches.
What is left on both sides can then be paired once more, on the raw similarity, so that a
report can show "gold X, predicted Y" as one wrong value instead of two unrelated errors;
those leftover pairs are never matches.

Actions (`align_actions`) are matched on `action_similarity`, a weighted mean of

| component | weight | score |
|---|---|---|
| authority | 0.35 | 1 if the codes are equal else 0 |
| targets | 0.30 | m / (n_gold + n_pred - m), m = lenient name matches |
| action kind | 0.15 | 1 if equal else 0 |
| measures | 0.15 | Jaccard of the measure sets |
| is_countermeasure | 0.05 | 1 if equal else 0 |

A component whose two sides are both empty (no targets, no measures) carries no evidence
and is left out; the remaining weights are renormalised. Pairs below
`MIN_ACTION_SIMILARITY` (0.5) stay unmatched: at the `actions` level the gold action counts
as one false negative and the predicted one as one false positive (and each of their values
as missing or hallucinated, see `tally`). Two actions of different authorities with no
targets and no measures therefore never match (at most 0.20 / 0.55 = 0.36).

Targets are matched within a matched action pair, by name, in two modes: strict (equal
keys, score 1.0) and lenient (token_sort_ratio / 100 at or above `NAME_THRESHOLD`), each
against the gold name and every gold alias (see `match`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TypeVar

import numpy as np
from scipy.optimize import linear_sum_assignment

from extractor.core.schema import SanctionAction, Target

from .match import NAME_THRESHOLD, jaccard, lenient_matrix, strict_matrix, token_keys
from .normalize import code, measure

MIN_ACTION_SIMILARITY = 0.5
"""Predicted and gold actions below this similarity are not paired."""

ACTION_WEIGHTS: dict[str, float] = {
    "authority": 0.35,
    "targets": 0.30,
    "action": 0.15,
    "measures": 0.15,
    "is_countermeasure": 0.05,
}

G = TypeVar("G")
P = TypeVar("P")

Pair = tuple[int, int, float]
"""(gold index, predicted index, similarity)."""


@dataclass(frozen=True)
class ItemMatch:
    """The outcome of aligning one gold list with one predicted list."""

    pairs: list[Pair] = field(default_factory=list)
    """Matches: admissible pairs of the optimal assignment."""
    leftover_pairs: list[Pair] = field(default_factory=list)
    """Unmatched items paired for display (wrong values); not matches."""
    gold_only: list[int] = field(default_factory=list)
    pred_only: list[int] = field(default_factory=list)


def _assign(scores: np.ndarray, rows: Sequence[int], cols: Sequence[int], min_score: float) -> list[Pair]:
    """Optimal assignment over the sub-matrix rows × cols, keeping pairs at or above `min_score`."""
    if not rows or not cols:
        return []
    if len(rows) == 1 and len(cols) == 1:  # the common case, without the solver's overhead
        value = float(scores[rows[0], cols[0]])
        return [(rows[0], cols[0], value)] if value >= min_score else []
    sub = scores[grid(rows, cols)]
    # Inadmissible pairs weigh nothing, so they never displace an admissible one.
    weights = np.where(sub >= min_score, sub, 0.0)
    row_ind, col_ind = linear_sum_assignment(weights, maximize=True)
    return sorted(
        (rows[r], cols[c], float(sub[r, c]))
        for r, c in zip(row_ind, col_ind, strict=True)
        if sub[r, c] >= min_score
    )


def grid(rows: Sequence[int], cols: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """`np.ix_(rows, cols)` without its argument checks (called for every small matrix of every document)."""
    return np.asarray(rows)[:, None], np.asarray(cols)


def one_sided(n_gold: int, n_pred: int) -> ItemMatch:
    """The alignment when one side is empty (the common case of an unmatched action): nothing to pair."""
    return ItemMatch([], [], list(range(n_gold)), list(range(n_pred)))


def match_items(
    scores: np.ndarray,
    min_score: float,
    *,
    pair_leftovers: bool = True,
    unpairable: Collection[int] = (),
    display_scores: np.ndarray | None = None,
) -> ItemMatch:
    """Align gold items (rows of `scores`) with predicted items (columns).

    Pairs scoring at or above `min_score` are matches. With `pair_leftovers`, the unmatched
    items are paired again on `display_scores` (default: `scores`) for display as wrong
    values; predicted indices in `unpairable` (e.g. names that occur nowhere in the text)
    stay unpaired.
    """
    n_gold, n_pred = scores.shape
    if not n_gold or not n_pred:
        return one_sided(n_gold, n_pred)
    pairs = _assign(scores, list(range(n_gold)), list(range(n_pred)), min_score)
    paired_gold, paired_pred = {g for g, _, _ in pairs}, {p for _, p, _ in pairs}
    gold_left = [i for i in range(n_gold) if i not in paired_gold]
    pred_left = [j for j in range(n_pred) if j not in paired_pred]
    leftover: list[Pair] = []
    if pair_leftovers:
        blocked = set(unpairable)
        pairable = [j for j in pred_left if j not in blocked]
        display = scores if display_scores is None else display_scores
        leftover = _assign(display, gold_left, pairable, -np.inf)
    shown_gold, shown_pred = {g for g, _, _ in leftover}, {p for _, p, _ in leftover}
    gold_only = [i for i in gold_left if i not in shown_gold]
    pred_only = [j for j in pred_left if j not in shown_pred]
    return ItemMatch(pairs, leftover, gold_only, pred_only)


def match_equal(gold: Sequence[Hashable], pred: Sequence[Hashable], *, pair_leftovers: bool = True) -> ItemMatch:
    """`match_items` over the equality matrix of two lists of distinct values, without building it.

    The equal values are the matches (similarity 1.0); with `pair_leftovers` the unequal rest
    is paired in order, gold with prediction, which is what the solver returns for the
    all-zero matrix they leave (checked in the tests).
    """
    at = {value: j for j, value in enumerate(pred)}
    pairs = [(i, at[value], 1.0) for i, value in enumerate(gold) if value in at]
    matched = {j for _, j, _ in pairs}
    gold_left = [i for i, value in enumerate(gold) if value not in at]
    pred_left = [j for j in range(len(pred)) if j not in matched]
    if not pair_leftovers:
        return ItemMatch(pairs, [], gold_left, pred_left)
    k = min(len(gold_left), len(pred_left))
    leftover = [(gold_left[n], pred_left[n], 0.0) for n in range(k)]
    return ItemMatch(pairs, leftover, gold_left[k:], pred_left[k:])


def score_matrix(gold: Sequence[G], pred: Sequence[P], score: Callable[[G, P], float]) -> np.ndarray:
    """The len(gold) × len(pred) matrix of `score(gold_item, pred_item)`."""
    matrix = np.zeros((len(gold), len(pred)))
    for i, g in enumerate(gold):
        for j, p in enumerate(pred):
            matrix[i, j] = score(g, p)
    return matrix


def target_keys(target: Target) -> tuple[str, ...]:
    """Keys of a gold target's acceptable names: the name and every alias."""
    return _forms_keys(target.name, tuple(target.aliases))


@lru_cache(maxsize=65536)
def _forms_keys(name: str, aliases: tuple[str, ...]) -> tuple[str, ...]:
    # Memoised: a gold target is compared with the targets of every predicted action.
    return token_keys([name, *aliases])


def target_scores(gold: Sequence[Target], pred: Sequence[Target], *, strict: bool) -> np.ndarray:
    """Name similarity of every gold target with every predicted target (read-only)."""
    return _name_scores(tuple(target_keys(t) for t in gold), tuple(p.name for p in pred), strict)


@lru_cache(maxsize=4096)
def _name_scores(gold_keys: tuple[tuple[str, ...], ...], pred: tuple[str, ...], strict: bool) -> np.ndarray:
    # Memoised: an action pair's target names are compared for the action similarity, then
    # again (both modes) when the pair is scored.
    matrix = (strict_matrix if strict else lenient_matrix)(gold_keys, pred)
    matrix.flags.writeable = False
    return matrix


def align_targets(
    gold: Sequence[Target], pred: Sequence[Target], *, strict: bool, unpairable: Collection[int] = ()
) -> ItemMatch:
    """Match predicted targets to gold targets by name (strict or lenient).

    Leftovers are paired on the lenient score in both modes, so a near miss is shown next
    to the gold name it misses.
    """
    if not gold or not pred:  # no name to compare: skip the matrices
        return one_sided(len(gold), len(pred))
    lenient = target_scores(gold, pred, strict=False)
    if not strict:
        return match_items(lenient, NAME_THRESHOLD, unpairable=unpairable)
    strict_scores = target_scores(gold, pred, strict=True)
    return match_items(strict_scores, 1.0, unpairable=unpairable, display_scores=lenient)


@dataclass(frozen=True)
class _ActionView:
    """What the action similarity reads of one action, reduced once per document."""

    authority: str | None
    action: str
    is_countermeasure: bool
    measures: frozenset[str]
    names: tuple[str, ...]
    """Target names as given (the predicted side of a name matrix)."""
    keys: tuple[tuple[str, ...], ...]
    """Target name keys, aliases included (the gold side of a name matrix)."""


def _view(action: SanctionAction, *, gold: bool) -> _ActionView:
    return _ActionView(
        code(action.authority),
        action.action,
        action.is_countermeasure,
        frozenset(map(measure, action.measures)),
        tuple(t.name for t in action.targets),
        tuple(target_keys(t) for t in action.targets) if gold else (),
    )


def _similarity(gold: _ActionView, pred: _ActionView) -> float:
    parts = [
        ("authority", float(gold.authority == pred.authority)),
        ("action", float(gold.action == pred.action)),
        ("is_countermeasure", float(gold.is_countermeasure == pred.is_countermeasure)),
    ]
    if gold.measures or pred.measures:
        parts.append(("measures", jaccard(gold.measures, pred.measures)))
    if gold.names or pred.names:
        scores = _name_scores(gold.keys, pred.names, False)
        matched = len(match_items(scores, NAME_THRESHOLD).pairs)
        parts.append(("targets", matched / (len(gold.names) + len(pred.names) - matched)))
    total = sum(ACTION_WEIGHTS[name] for name, _ in parts)
    return sum(ACTION_WEIGHTS[name] * value for name, value in parts) / total


def action_similarity(gold: SanctionAction, pred: SanctionAction) -> float:
    """Similarity of two actions in [0, 1] (weights in the module docstring)."""
    return _similarity(_view(gold, gold=True), _view(pred, gold=False))


def align_actions(gold: Sequence[SanctionAction], pred: Sequence[SanctionAction]) -> ItemMatch:
    """Match predicted actions to gold actions; pairs below MIN_ACTION_SIMILARITY stay unmatched."""
    # Each action is reduced once, not once per action it is compared with.
    gold_views = [_view(action, gold=True) for action in gold]
    pred_views = [_view(action, gold=False) for action in pred]
    return match_items(
        score_matrix(gold_views, pred_views, _similarity), MIN_ACTION_SIMILARITY, pair_leftovers=False
    )
