"""Paired comparison of two recorded runs, from the per-document counts the store keeps.

The statistics are `scoring.paired.compare_counts`, the same function `extractor compare`
ends in, on the same counts: a comparison of two stored runs equals the comparison of their
predictions. The grid needs only the headline (`compare_headlines`: the same resamples, one
count group per run, every cell in one pass). Results are memoised per pair: a grid compares
every cell with one baseline on each page view.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from extractor.store.models import RunRow
from extractor.store.runs import DocScores

from ..compare_runs import IncomparableRuns, check_same_setup, compare_report
from ..scoring import Comparison, PairedDelta, compare_counts, compare_headlines
from ..scoring.aggregate import GROUP_NAMES
from ..scoring.stats import DEFAULT_RESAMPLES

_MEMO: OrderedDict[tuple[Any, ...], Comparison | PairedDelta] = OrderedDict()
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


def _key(a: RunRow, b: RunRow, n_boot: int, seed: int) -> tuple[Any, ...]:
    return (a.id, a.recorded_at, b.id, b.recorded_at, n_boot, seed)


def _paired_scores(a: RunRow, b: RunRow) -> tuple[DocScores, DocScores]:
    check_same_setup(setup_of(a), setup_of(b))
    sa, sb = scores_of(a), scores_of(b)
    if sa.ids != sb.ids:
        raise IncomparableRuns(f"runs {a.id} and {b.id} scored different documents: their scores do not pair")
    return sa, sb


def _remember(key: tuple[Any, ...], value: Comparison | PairedDelta) -> None:
    _MEMO[key] = value
    while len(_MEMO) > _MEMO_SIZE:
        _MEMO.popitem(last=False)


def compare_rows(a: RunRow, b: RunRow, *, n_boot: int = DEFAULT_RESAMPLES, seed: int = 0) -> Comparison:
    """Run B against run A: both on the same gold set and schema, paired on the same documents."""
    key = (*_key(a, b, n_boot, seed), "all")
    found = _MEMO.get(key)
    if isinstance(found, Comparison):
        _MEMO.move_to_end(key)
        return found
    sa, sb = _paired_scores(a, b)
    comparison = compare_counts(sa.ids, sa.counts, sb.counts, failed_a=sa.failed.tolist(),
                                failed_b=sb.failed.tolist(), n_boot=n_boot, seed=seed)
    _remember(key, comparison)
    return comparison


def compare_headlines_with(
    baseline: RunRow, rows: Sequence[RunRow], *, n_boot: int = DEFAULT_RESAMPLES, seed: int = 0
) -> list[PairedDelta | IncomparableRuns]:
    """ΔF1 of each run against `baseline` with its paired interval (the headline of `compare_rows`, which
    the comparison page shows), or why the two do not compare; the missing ones in one pass."""
    results: list[PairedDelta | IncomparableRuns | None] = []
    todo: list[tuple[int, DocScores]] = []
    base_scores: DocScores | None = None
    for n, row in enumerate(rows):
        key = _key(baseline, row, n_boot, seed)
        known = _MEMO.get((*key, "all")) or _MEMO.get((*key, "headline"))
        if known is not None:
            results.append(known.micro if isinstance(known, Comparison) else known)
            continue
        try:
            base_scores, scores = _paired_scores(baseline, row)
        except IncomparableRuns as exc:
            results.append(exc)
            continue
        results.append(None)
        todo.append((n, scores))
    if todo and base_scores is not None:
        deltas = compare_headlines(base_scores.counts, [s.counts for _, s in todo], n_boot=n_boot, seed=seed)
        for (n, _), delta in zip(todo, deltas, strict=True):
            results[n] = delta
            _remember((*_key(baseline, rows[n], n_boot, seed), "headline"), delta)
    return [r for r in results if r is not None]


def rows_report(a: RunRow, b: RunRow, comparison: Comparison) -> dict[str, Any]:
    """The comparison as compare.json lays it out, the runs' setups from the store."""
    return compare_report(comparison, setup_of(a), setup_of(b), a.gold_hash)
