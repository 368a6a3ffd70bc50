"""Document-level views: what a document says, whatever the grouping into actions.

Two extractions can group the same content into actions differently (one action with two
measures against two actions with one each); these views score the content as sets over
the whole document, so grouping does not matter:

- `doc.target_names`: the set of target names in the document (gold names merged by
  `token_key`, their aliases pooled), matched leniently (`match.NAME_THRESHOLD`); a
  predicted name absent from the document text carries the note "not in document text".
- `doc.authorities`: the set of authority codes.
- `doc.tuples`: the set of (authority, target, measure) tuples: one per target and measure
  of each action; an action with no measures contributes (authority, target, None), one
  with no targets (authority, None, measure), one with neither (authority, None, None).
  Two tuples match when authority and measure are equal and the names match leniently
  (or both are None).

Each view counts a matched element TP 1, an unmatched gold element FN 1 (`missing`), an
unmatched predicted element FP 1 (`hallucinated`), and both sets empty as
correct_abstention. Unmatched elements are not paired as wrong values: sets have no slots.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from extractor.core.schema import ArticleExtraction, SanctionAction

from .align import grid, match_equal, match_items
from .fields import record
from .match import NAME_THRESHOLD, lenient_matrix, name_in_text, token_keys
from .normalize import code, measure, token_key
from .paths import VIEW_AUTHORITIES, VIEW_TARGET_NAMES, VIEW_TUPLES
from .tally import NOT_IN_TEXT, Tally, Where


@dataclass(frozen=True)
class _Name:
    """A name as displayed, with the keys it is accepted under (gold: name and aliases)."""

    display: str
    keys: tuple[str, ...]


def _names(actions: Sequence[SanctionAction], *, with_aliases: bool) -> list[_Name]:
    """Distinct target names of a document, merged by key (aliases pooled when wanted)."""
    merged: dict[str, tuple[str, list[str]]] = {}
    for action in actions:
        for target in action.targets:
            key = token_key(target.name)
            if not key:
                continue
            _, forms = merged.setdefault(key, (target.name, [target.name]))
            if with_aliases:
                forms.extend(target.aliases)
    return [_Name(display, token_keys(forms)) for display, forms in merged.values()]


_Tuple = tuple[str | None, _Name | None, str | None]


def _tuples(actions: Sequence[SanctionAction], *, with_aliases: bool) -> list[_Tuple]:
    """Distinct (authority, target, measure) tuples of a document."""
    seen: dict[tuple[str | None, str | None, str | None], _Tuple] = {}
    for action in actions:
        authority = code(action.authority)
        names: list[_Name | None] = [
            _Name(t.name, token_keys([t.name, *t.aliases] if with_aliases else [t.name]))
            for t in action.targets
        ] or [None]
        measures: list[str | None] = [measure(m) for m in action.measures] or [None]
        for name in names:
            for value in measures:
                key = (authority, token_key(name.display) if name else None, value)
                seen.setdefault(key, (authority, name, value))
    return list(seen.values())


def _names_matrix(gold: Sequence[_Name], pred: Sequence[_Name]) -> np.ndarray:
    """`_name_score` of every gold name against every predicted name, in one rapidfuzz call."""
    return lenient_matrix([g.keys for g in gold], [p.display for p in pred])


def _tuples_matrix(gold: Sequence[_Tuple], pred: Sequence[_Tuple]) -> np.ndarray:
    """The tuple similarity matrix, computed only within blocks of equal (authority, measure).

    Tuples of different authorities or measures score 0, so only pairs inside a block need a
    name score: the quadratic part shrinks to the block sizes and the names are scored once.
    """
    matrix = np.zeros((len(gold), len(pred)))
    blocks: dict[tuple[str | None, str | None], tuple[list[int], list[int]]] = {}
    for i, item in enumerate(gold):
        blocks.setdefault((item[0], item[2]), ([], []))[0].append(i)
    for j, item in enumerate(pred):
        if (item[0], item[2]) in blocks:
            blocks[(item[0], item[2])][1].append(j)
    gold_names = list(dict.fromkeys(t[1] for t in gold if t[1] is not None))
    pred_names = list(dict.fromkeys(t[1] for t in pred if t[1] is not None))
    names = _names_matrix(gold_names, pred_names)
    gold_at = {name: k for k, name in enumerate(gold_names)}
    pred_at = {name: k for k, name in enumerate(pred_names)}
    for rows, cols in blocks.values():
        if not cols:
            continue
        named_rows = [i for i in rows if gold[i][1] is not None]
        named_cols = [j for j in cols if pred[j][1] is not None]
        if named_rows and named_cols:
            at_rows = [gold_at[gold[i][1]] for i in named_rows]  # type: ignore[index]
            at_cols = [pred_at[pred[j][1]] for j in named_cols]  # type: ignore[index]
            matrix[grid(named_rows, named_cols)] = names[grid(at_rows, at_cols)]
        # No target on either side: the tuples are equal; one side only: they differ (0).
        bare_rows = [i for i in rows if gold[i][1] is None]
        bare_cols = [j for j in cols if pred[j][1] is None]
        if bare_rows and bare_cols:
            matrix[grid(bare_rows, bare_cols)] = 1.0
    return matrix


def _show(item: _Tuple) -> list[str | None]:
    return [item[0], item[1].display if item[1] else None, item[2]]


def score_views(
    tally: Tally, gold: ArticleExtraction, pred: ArticleExtraction, normalized_text: str | None
) -> None:
    """Record the three document views of one (gold, prediction) pair in `tally`.

    `normalized_text` is the document text after `normalize.normalized_text`, or None.
    """
    where = Where()
    gold_names = _names(gold.actions, with_aliases=True)
    pred_names = _names(pred.actions, with_aliases=False)
    names = match_items(_names_matrix(gold_names, pred_names), NAME_THRESHOLD, pair_leftovers=False)
    notes: dict[int, str] = {}
    if normalized_text is not None:
        notes = {
            j: NOT_IN_TEXT
            for j in names.pred_only
            if not name_in_text(pred_names[j].display, normalized_text)
        }
    record(
        tally,
        VIEW_TARGET_NAMES,
        names,
        [n.display for n in gold_names],
        [n.display for n in pred_names],
        where,
        notes=notes,
    )

    gold_auth = [a for a in dict.fromkeys(code(x.authority) for x in gold.actions) if a]
    pred_auth = [a for a in dict.fromkeys(code(x.authority) for x in pred.actions) if a]
    authorities = match_equal(gold_auth, pred_auth, pair_leftovers=False)
    record(tally, VIEW_AUTHORITIES, authorities, gold_auth, pred_auth, where)

    gold_tuples = _tuples(gold.actions, with_aliases=True)
    pred_tuples = _tuples(pred.actions, with_aliases=False)
    tuples = match_items(_tuples_matrix(gold_tuples, pred_tuples), NAME_THRESHOLD, pair_leftovers=False)
    record(
        tally,
        VIEW_TUPLES,
        tuples,
        [_show(t) for t in gold_tuples],
        [_show(t) for t in pred_tuples],
        where,
    )
