"""Paired comparison of two recorded runs, from the per-document counts the store keeps.

The statistics are `scoring.paired.compare_counts`, the same function `extractor compare`
ends in, on the same counts: a comparison of two stored runs equals the comparison of their
predictions. Results are memoised per pair (a grid compares every cell with one baseline on
each page view).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from extractor.store.models import RunRow
from extractor.store.runs import DocScores

from ..compare_runs import IncomparableRuns, check_same_setup, compare_report
from ..scoring import Comparison, compare_counts
from ..scoring.aggregate import GROUP_NAMES
from ..scoring.stats import DEFAULT_RESAMPLES

_MEMO: OrderedDict[tuple[Any, ...], Comparison] = OrderedDict()
_MEMO_SIZE = 256


def scores_of(row: RunRow) -> DocScores:
    """The run's per-document counts; a run scored with other field groups is refused, naming them."""
    scores = DocScores.decode(row.doc_scores)
    if scores.groups != list(GROUP_NAMES):
        raise IncomparableRuns(f"run {row.id} was scored with other field paths ({len(scores.groups)} groups): "
                               "import or evaluate it again with this version")
    return scores


def setup_of(row: RunRow) -> dict[str, Any]:
    """A run's setup as a comparison report shows it: id, name, where its predictions are, then its run.json."""
    return {"run": row.id, "name": row.name, "path": row.predictions, **(row.info or {}),
            "gold_hash": row.gold_hash}


def compare_rows(a: RunRow, b: RunRow, *, n_boot: int = DEFAULT_RESAMPLES, seed: int = 0) -> Comparison:
    """Run B against run A: both on the same gold set and schema, paired on the same documents."""
    check_same_setup(setup_of(a), setup_of(b))
    key = (a.id, a.recorded_at, b.id, b.recorded_at, n_boot, seed)
    if key in _MEMO:
        _MEMO.move_to_end(key)
        return _MEMO[key]
    sa, sb = scores_of(a), scores_of(b)
    if sa.ids != sb.ids:
        raise IncomparableRuns(f"runs {a.id} and {b.id} scored different documents: their scores do not pair")
    comparison = compare_counts(sa.ids, sa.counts, sb.counts, failed_a=sa.failed.tolist(),
                                failed_b=sb.failed.tolist(), n_boot=n_boot, seed=seed)
    _MEMO[key] = comparison
    while len(_MEMO) > _MEMO_SIZE:
        _MEMO.popitem(last=False)
    return comparison


def rows_report(a: RunRow, b: RunRow, comparison: Comparison) -> dict[str, Any]:
    """The comparison as compare.json lays it out, the runs' setups from the store."""
    return compare_report(comparison, setup_of(a), setup_of(b), a.gold_hash)
