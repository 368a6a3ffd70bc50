"""Eval runs in the store: record, list with filters, look up by id or id prefix, delete.

A run row keeps what comparisons need without the predictions: the headline, per-field
metrics and every document's counts (`DocScores`, an `.npz` of ids, failure flags and a
(documents, groups, 3) TP/FP/FN array, compressed). The store does not know what the groups
are; the eval layer names them and checks that two runs name them alike.
"""

from __future__ import annotations

import datetime as dt
import io
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Select, delete, func, select
from sqlalchemy.orm import Session

from extractor.core.errors import ExtractorError

from .models import RunRow

SORT_KEYS = {
    "finished_at": RunRow.finished_at,
    "prompt": RunRow.prompt_id,
    "model": RunRow.model,
    "f1": RunRow.micro_f1,
    "failures": RunRow.failures,
    "cost": RunRow.cost,
    "tokens": RunRow.prompt_tokens + RunRow.completion_tokens,
    "name": RunRow.name,
}
"""What the runs list can be sorted by."""


class RunNotFound(ExtractorError):
    """No run with that id (or the prefix names more than one)."""


@dataclass(frozen=True)
class DocScores:
    """Per-document counts of one run: `counts[i, g]` is (TP, FP, FN) of document `ids[i]` in group `groups[g]`."""

    ids: list[str]
    failed: np.ndarray
    """(documents,) bool: the extraction failed."""
    counts: np.ndarray
    """(documents, groups, 3) float64."""
    groups: list[str]

    def encode(self) -> bytes:
        """The bytes stored in `runs.doc_scores`: an `.npz` (no pickles: strings as unicode arrays), deflated.

        zlib at level 1: the counts are small numbers and compress about as well as at the
        default level, several times faster (100,000 documents: about 6 MB in under a second).
        """
        buffer = io.BytesIO()
        np.savez(
            buffer, ids=np.array(self.ids, dtype=str), failed=np.asarray(self.failed, dtype=bool),
            counts=np.asarray(self.counts, dtype=np.float64), groups=np.array(self.groups, dtype=str),
        )
        return zlib.compress(buffer.getvalue(), 1)

    @classmethod
    def decode(cls, data: bytes) -> DocScores:
        """The scores `encode` stored."""
        with np.load(io.BytesIO(zlib.decompress(data)), allow_pickle=False) as npz:
            return cls(ids=npz["ids"].tolist(), failed=npz["failed"].astype(bool), counts=npz["counts"],
                       groups=npz["groups"].tolist())


@dataclass(frozen=True)
class RunFilter:
    """Filters of the runs list; every given one must hold."""

    prompt: str | None = None
    """A prompt id (`sanctions@v3`) or a prompt name (`sanctions`: every version)."""
    model: str | None = None
    gold_hash: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None


def _filtered(query: Select[Any], filters: RunFilter) -> Select[Any]:
    if filters.prompt:
        if "@" in filters.prompt:
            query = query.where(RunRow.prompt_id == filters.prompt)
        else:
            same_name = RunRow.prompt_id.startswith(f"{filters.prompt}@", autoescape=True)
            query = query.where((RunRow.prompt_id == filters.prompt) | same_name)
    if filters.model:
        query = query.where(RunRow.model == filters.model)
    if filters.gold_hash:
        query = query.where(RunRow.gold_hash == filters.gold_hash)
    if filters.since:
        query = query.where(RunRow.finished_at >= dt.datetime.combine(filters.since, dt.time(), dt.UTC))
    if filters.until:
        end = dt.datetime.combine(filters.until, dt.time(), dt.UTC) + dt.timedelta(days=1)
        query = query.where(RunRow.finished_at < end)
    return query


def save_run(session: Session, row: RunRow) -> RunRow:
    """Insert the run, or replace the one recorded under its id (the same predictions scored again)."""
    existing = session.get(RunRow, row.id)
    if existing is not None:
        session.delete(existing)
        session.flush()
    session.add(row)
    session.flush()
    return row


def list_runs(
    session: Session, filters: RunFilter | None = None, *, sort: str = "finished_at", descending: bool = True,
    limit: int | None = None, offset: int = 0,
) -> tuple[Sequence[RunRow], int]:
    """Runs matching `filters` in the given order (id breaks ties), and how many match in all."""
    filters = filters or RunFilter()
    column = SORT_KEYS.get(sort, RunRow.finished_at)
    order = [column.desc() if descending else column.asc(), RunRow.id]
    query = _filtered(select(RunRow), filters).order_by(*order).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    total = session.scalar(_filtered(select(func.count()).select_from(RunRow), filters)) or 0
    return session.scalars(query).all(), total


def get_run(session: Session, run_id: str) -> RunRow:
    """The run with this id, or the only one whose id starts with it (as git resolves commits)."""
    run_id = run_id.strip()
    row = session.get(RunRow, run_id) if run_id else None
    if row is not None:
        return row
    if len(run_id) < 4 or not run_id.isalnum():
        raise RunNotFound(f"no run {run_id!r} (see `extractor runs list`; give at least 4 characters of an id)")
    matches = session.scalars(select(RunRow).where(RunRow.id.startswith(run_id)).limit(2)).all()
    if not matches:
        raise RunNotFound(f"no run {run_id!r} (see `extractor runs list`)")
    if len(matches) > 1:
        raise RunNotFound(f"{run_id!r} names more than one run: give more of the id")
    return matches[0]


def delete_run(session: Session, run_id: str) -> str:
    """Delete a run (by id or unique prefix); returns its id. Its run directory is left alone."""
    row = get_run(session, run_id)
    session.execute(delete(RunRow).where(RunRow.id == row.id))
    return row.id


def facets(session: Session) -> dict[str, list[str]]:
    """The prompts, models and gold sets that runs were recorded with (for filter menus)."""
    return {
        "prompts": sorted(session.scalars(select(RunRow.prompt_id).distinct()).all()),
        "models": sorted(session.scalars(select(RunRow.model).distinct()).all()),
        "gold_hashes": [h for h, _ in session.execute(
            select(RunRow.gold_hash, func.max(RunRow.finished_at)).group_by(RunRow.gold_hash)
            .order_by(func.max(RunRow.finished_at).desc())).all()],
    }
