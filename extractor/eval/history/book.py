"""Recording runs in the store, importing run directories, and reading runs back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select

from extractor.core.errors import DocumentError
from extractor.store import Store
from extractor.store.models import RunRow
from extractor.store.runs import get_run, save_run

from ..compare_runs import IncomparableRuns
from ..goldset import GoldSet
from ..predict import check_matches_gold
from ..runs import StoredRun, load_run
from ..score_run import Evaluation, tally_run
from ..scoring.stats import DEFAULT_RESAMPLES
from .record import RunRecord, record_of


def save(store: Store, record: RunRecord) -> RunRecord:
    """Store `record` (replacing a run recorded under the same id)."""
    with store.write() as session:
        save_run(session, record.to_row())
    return record


def record_evaluation(
    store: Store, evaluation: Evaluation, run: StoredRun, gold_set: GoldSet, *, name: str | None = None,
    source: str = "eval",
) -> RunRecord:
    """Record a run `score_run` has just scored."""
    return save(store, record_of(evaluation, run, gold_set, name=name, source=source))


def import_run(store: Store, path: Path, gold_set: GoldSet, *, name: str | None = None) -> RunRecord:
    """Score a run directory (or predictions file) on `gold_set` and record it; nothing in it is written.

    A run that recorded another gold set is refused: its scores would not be the ones it had.
    The interval uses the default resamples (2,000, as `extractor eval`).
    """
    run = load_run(path)
    recorded, current = run.info.get("gold_hash"), gold_set.hash()
    if recorded and recorded != current:
        raise IncomparableRuns(
            f"{path}: scored on gold set {recorded}, but {gold_set.gold_dir} holds {current}: "
            "pass the --gold and --docs it was scored on"
        )
    check_matches_gold(run, gold_set)
    evaluation = tally_run(run, gold_set, n_boot=DEFAULT_RESAMPLES)
    return save(store, record_of(evaluation, run, gold_set, name=name, source="import"))


def runs_by_ids(store: Store, ids: Sequence[str]) -> list[RunRow]:
    """The runs named (ids or unique prefixes), in that order, with their per-document scores loaded."""
    rows = []
    with store.read() as session:
        for run_id in ids:
            row = get_run(session, run_id)
            _ = row.doc_scores  # loaded inside the session: the pages use it after it ends
            rows.append(row)
        session.expunge_all()  # detached as loaded: the rollback that ends a read session would expire them
    if not rows:
        raise DocumentError("name at least one run")
    return rows


def grid_runs(
    store: Store, gold_hash: str | None = None, baseline: str | None = None
) -> tuple[str | None, list[RunRow]]:
    """The gold set of the grid (`gold_hash`, else the latest run's) and every run on it.

    Per-document scores are loaded only for what the grid compares: the latest run of each
    prompt × model pair and the baseline (an id or a unique prefix of one).
    """
    with store.read() as session:
        if gold_hash is None:
            gold_hash = session.scalar(select(RunRow.gold_hash).order_by(RunRow.finished_at.desc(), RunRow.id.desc())
                                       .limit(1))
        rows = list(session.scalars(select(RunRow).where(RunRow.gold_hash == gold_hash)
                                    .order_by(RunRow.finished_at, RunRow.id)).all())
        latest: dict[tuple[str, str], RunRow] = {}
        for row in rows:  # in finishing order: the last one of a pair wins
            latest[(row.prompt_id, row.model)] = row
        wanted = {row.id for row in latest.values()}
        wanted |= {row.id for row in rows if baseline and row.id.startswith(baseline)}
        for row in rows:
            if row.id in wanted:
                _ = row.doc_scores  # loaded while the session is open
        session.expunge_all()
    return gold_hash, rows


def summary(row: RunRow) -> dict[str, Any]:
    """A run as the runs list shows it (and `/v1/runs` answers): setup, headline, accounting, where it is."""
    tokens = None if row.prompt_tokens is None else row.prompt_tokens + (row.completion_tokens or 0)
    return {
        "id": row.id, "name": row.name, "source": row.source, "prompt_id": row.prompt_id,
        "prompt_hash": row.prompt_hash, "model": row.model, "schema_hash": row.schema_hash,
        "gold_hash": row.gold_hash, "finished_at": _iso(row.finished_at), "recorded_at": _iso(row.recorded_at),
        "n_documents": row.n_documents, "failures": row.failures, "micro_f1": row.micro_f1, "ci_low": row.ci_low,
        "ci_high": row.ci_high, "precision": row.precision, "recall": row.recall, "macro_f1": row.macro_f1,
        "grounding_rate": row.grounding_rate, "prompt_tokens": row.prompt_tokens,
        "completion_tokens": row.completion_tokens, "tokens": tokens, "cost": row.cost,
        "duration_s": row.duration_s, "predictions": row.predictions,
    }


def _iso(value: dt.datetime) -> str:
    """A stored time in ISO 8601 with its UTC offset (SQLite hands times back without a zone; all are UTC)."""
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).isoformat(timespec="seconds")
