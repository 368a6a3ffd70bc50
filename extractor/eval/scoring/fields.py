"""Comparison rules by kind of value: scalar, flag, free-text scalar, code set, free-text list.

Each rule compares one gold value with one predicted value (or one gold list with one
predicted list) and records the outcome in a `Tally`; the counting rules are in `tally`.
`paired=False` marks a value whose action or target has no counterpart on the other side
(an unmatched gold or predicted action or target): then "both empty" is not an abstention,
there is simply nothing to score.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from extractor.core.issuers import issuer_id, same_issuer

from .align import ItemMatch, match_equal, match_items, one_sided, score_matrix
from .match import token_f1
from .tally import Tally, Where

_ANY_OVERLAP = 1e-9
"""Free-text pairs sharing at least one token earn credit; others are leftover wrong values."""


def _equal(gold: Any, pred: Any) -> bool:
    return bool(gold == pred)


def scalar(
    tally: Tally,
    path: str,
    gold: Any,
    pred: Any,
    where: Where,
    *,
    paired: bool = True,
    equal: Callable[[Any, Any], bool] = _equal,
) -> None:
    """Score one scalar value; None is empty."""
    if gold is None and pred is None:
        if paired:
            tally.abstain(path)
    elif pred is None:
        tally.missing(path, gold, where)
    elif gold is None:
        tally.hallucinated(path, pred, where)
    elif equal(gold, pred):
        tally.hit(path)
    else:
        tally.wrong(path, gold, pred, where)


def flag(
    tally: Tally, path: str, gold: bool | None, pred: bool | None, where: Where, *, paired: bool = True
) -> None:
    """Score a boolean whose False (the default) means "not stated": True is the value found."""
    scalar(tally, path, True if gold else None, True if pred else None, where, paired=paired)


def free_text(
    tally: Tally, path: str, gold: str | None, pred: str | None, where: Where, *, paired: bool = True
) -> None:
    """Score one free-text value with token-F1 credit when both are set."""
    if gold is not None and pred is not None:
        credit = token_f1(gold, pred)
        if credit == 1.0:
            tally.hit(path)
        else:
            tally.wrong(path, gold, pred, where, credit=credit)
        return
    scalar(tally, path, gold, pred, where, paired=paired)


def issuer(
    tally: Tally,
    path: str,
    gold: tuple[str | None, str | None],
    pred: tuple[str | None, str | None],
    where: Where,
    *,
    paired: bool = True,
) -> None:
    """Score an issuer, each given as (printed form, action authority), by the body it names.

    When the registry knows both bodies, naming the same one (or one that contains the
    other: "OFAC" and "Treasury") is a hit, and different ones are wrong with no credit for
    shared words ("Department of State" and "Department of the Treasury"). Otherwise the
    printed forms earn token-F1 credit as any free text.
    """
    if gold[0] is not None and pred[0] is not None:
        gold_id, pred_id = issuer_id(*gold), issuer_id(*pred)
        if gold_id is not None and pred_id is not None:
            if same_issuer(gold_id, pred_id):
                tally.hit(path)
            else:
                tally.wrong(path, gold[0], pred[0], where)
            return
    free_text(tally, path, gold[0], pred[0], where, paired=paired)


def record(
    tally: Tally,
    path: str,
    match: ItemMatch,
    gold: Sequence[Any],
    pred: Sequence[Any],
    where: Where,
    *,
    paired: bool = True,
    partial: bool = False,
    notes: Mapping[int, str] | None = None,
) -> None:
    """Record an aligned pair of lists: matches, leftover pairs, gold-only and predicted-only items.

    With `partial`, a matched pair earns its similarity as credit (free text); otherwise
    every match is a full hit. `notes` annotates predicted-only items by index.
    """
    if not gold and not pred:
        if paired:
            tally.abstain(path)
        return
    for g, p, score in match.pairs:
        if partial and score < 1.0:
            tally.wrong(path, gold[g], pred[p], where, credit=score)
        else:
            tally.hit(path)
    for g, p, _ in match.leftover_pairs:
        tally.wrong(path, gold[g], pred[p], where)
    for g in match.gold_only:
        tally.missing(path, gold[g], where)
    for p in match.pred_only:
        tally.hallucinated(path, pred[p], where, note=(notes or {}).get(p))


def code_set(
    tally: Tally,
    path: str,
    gold: Sequence[str],
    pred: Sequence[str],
    where: Where,
    *,
    normalize: Callable[[str], str | None],
    paired: bool = True,
) -> None:
    """Score two lists of codes as sets after normalisation (exact match per item)."""
    gold_set = [v for v in dict.fromkeys(map(normalize, gold)) if v]
    pred_set = [v for v in dict.fromkeys(map(normalize, pred)) if v]
    record(tally, path, match_equal(gold_set, pred_set), gold_set, pred_set, where, paired=paired)


def text_list(
    tally: Tally, path: str, gold: Sequence[str], pred: Sequence[str], where: Where, *, paired: bool = True
) -> None:
    """Score two lists of free-text items by one-to-one token-F1 assignment with fractional credit."""
    gold_items = list(dict.fromkeys(v for v in gold if v.strip()))
    pred_items = list(dict.fromkeys(v for v in pred if v.strip()))
    if gold_items and pred_items:
        match = match_items(score_matrix(gold_items, pred_items, token_f1), _ANY_OVERLAP)
    else:  # one side empty, as in every unmatched action: no matrix to build
        match = one_sided(len(gold_items), len(pred_items))
    record(tally, path, match, gold_items, pred_items, where, paired=paired, partial=True)
