"""`/v1/runs`: the run history as JSON: list with filters, one run, record, delete, compare two, the grid."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from extractor.core.errors import ExtractorError
from extractor.eval.compare_runs import IncomparableRuns
from extractor.eval.history.book import grid_runs, runs_by_ids, save, summary
from extractor.eval.history.compare import compare_rows, rows_report
from extractor.eval.history.grid import build_grid
from extractor.eval.history.record import RunRecord
from extractor.store.runs import SORT_KEYS, RunFilter, RunNotFound, delete_run, get_run, list_runs

from ..deps import SessionDep, StateDep, require_role
from ..errors import ApiError

router = APIRouter(tags=["runs"])


class RunSummary(BaseModel):
    """A recorded eval run: setup, headline with its 95% interval, accounting, where its predictions are."""

    id: str
    name: str
    source: str = Field(description="eval (`extractor eval`), import (`extractor runs import`) or service (POSTed)")
    prompt_id: str
    prompt_hash: str
    model: str
    schema_hash: str | None
    gold_hash: str
    finished_at: str
    recorded_at: str
    n_documents: int
    failures: int
    micro_f1: float | None
    ci_low: float | None
    ci_high: float | None
    precision: float | None
    recall: float | None
    macro_f1: float | None
    grounding_rate: float | None
    prompt_tokens: int | None
    completion_tokens: int | None
    tokens: int | None
    cost: float | None
    duration_s: float | None
    predictions: str


class RunPage(BaseModel):
    """A page of runs."""

    total: int
    limit: int
    offset: int
    items: list[RunSummary]


class RunDetail(RunSummary):
    """A run with its per-field metrics (report.json without documents) and its run.json."""

    metrics: dict[str, Any]
    info: dict[str, Any]


class RunDocuments(BaseModel):
    """Every scored document's counts: `counts[i][g]` = [TP, FP, FN] of document `ids[i]` in group `groups[g]`."""

    ids: list[str]
    failed: list[bool]
    groups: list[str]
    counts: list[list[list[float]]]


class RunIn(BaseModel):
    """A scored run to record (what `extractor eval --server` sends: `RunRecord.to_payload()`)."""

    id: str | None = Field(default=None, description="12 hex characters; derived from the scores when left out")
    name: str | None = None
    info: dict[str, Any] = Field(description="run.json: prompt_id, prompt_hash, model, schema_hash, gold_hash, ...")
    metrics: dict[str, Any] = Field(description="report.json without documents: micro, macro_f1, fields, ...")
    predictions: str = Field(default="", description="Where the predictions are (a run directory)")
    gold_dir: str | None = None
    docs_dir: str | None = None
    finished_at: str | None = None
    documents: RunDocuments


def status_of(exc: ExtractorError) -> int:
    """404 for an unknown run, 409 for runs that do not compare, 422 for anything else asked wrongly."""
    if isinstance(exc, RunNotFound):
        return 404
    return 409 if isinstance(exc, IncomparableRuns) else 422


def _run_error(exc: ExtractorError) -> ApiError:
    status = status_of(exc)
    return ApiError(status, {404: "not_found", 409: "incomparable_runs"}.get(status, "invalid_request"), str(exc))


@router.get("/runs", response_model=RunPage)
def list_recorded(
    session: SessionDep,
    prompt: Annotated[str | None, Query(max_length=100, description="A prompt id, or a name for every version")] = None,
    model: Annotated[str | None, Query(max_length=200)] = None,
    gold: Annotated[str | None, Query(max_length=64, description="A gold-set hash")] = None,
    since: Annotated[dt.date | None, Query(description="Finished on or after (YYYY-MM-DD)")] = None,
    until: Annotated[dt.date | None, Query(description="Finished on or before (YYYY-MM-DD)")] = None,
    sort: Annotated[str, Query(description=", ".join(SORT_KEYS))] = "finished_at",
    desc: bool = True,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> RunPage:
    """Recorded eval runs, newest first by default."""
    if sort not in SORT_KEYS:
        raise ApiError(422, "invalid_request", f"sort: one of {', '.join(SORT_KEYS)}")
    filters = RunFilter(prompt=prompt, model=model, gold_hash=gold, since=since, until=until)
    rows, total = list_runs(session, filters, sort=sort, descending=desc, limit=limit, offset=offset)
    return RunPage(total=total, limit=limit, offset=offset, items=[RunSummary(**summary(r)) for r in rows])


@router.post("/runs", response_model=RunSummary, status_code=201, dependencies=[Depends(require_role("reviewer"))])
def record(body: RunIn, state: StateDep) -> RunSummary:
    """Record a scored run (the same predictions recorded again replace the earlier row)."""
    try:
        run = RunRecord.from_payload(body.model_dump(), source="service")
    except ExtractorError as exc:
        raise ApiError(422, "invalid_request", str(exc)) from None
    save(state.store, run)
    with state.store.read() as session:
        return RunSummary(**summary(get_run(session, run.id)))


@router.get("/runs/compare")
def compare(
    state: StateDep,
    a: Annotated[str, Query(max_length=16, description="Run A (the baseline): an id or its first characters")],
    b: Annotated[str, Query(max_length=16, description="Run B")],
) -> dict[str, Any]:
    """The paired comparison of B against A (compare.json's layout), from the stored per-document scores."""
    try:
        row_a, row_b = runs_by_ids(state.store, [a, b])
        return rows_report(row_a, row_b, compare_rows(row_a, row_b))
    except ExtractorError as exc:
        raise _run_error(exc) from None


@router.get("/runs/grid")
def grid(
    state: StateDep,
    gold: Annotated[str | None, Query(max_length=64, description="A gold-set hash (default: the latest run's)")] = None,
    baseline: Annotated[str | None, Query(max_length=16, description="The baseline run")] = None,
) -> dict[str, Any]:
    """The latest run of every prompt × model pair on one gold set, each against the baseline."""
    gold_hash, runs = grid_runs(state.store, gold, baseline)
    if gold_hash is None:
        return {"gold_hash": None, "baseline": None, "prompts": [], "models": [], "cells": []}
    table = build_grid(runs, gold_hash, baseline)
    cells = []
    for (prompt_id, model), cell in table.cells.items():
        c = cell.comparison
        cells.append({
            "prompt_id": prompt_id, "model": model, "run": cell.run.id, "runs": cell.runs,
            "micro_f1": cell.run.micro_f1, "ci_low": cell.run.ci_low, "ci_high": cell.run.ci_high,
            "delta": c.delta if c else None, "delta_low": c.low if c else None,
            "delta_high": c.high if c else None, "clear": cell.clear, "problem": cell.problem,
        })
    return {"gold_hash": gold_hash, "baseline": table.baseline.id if table.baseline else None,
            "prompts": table.prompts, "models": table.models, "cells": cells}


@router.get("/runs/{run_id}", response_model=RunDetail)
def get_recorded(run_id: str, session: SessionDep) -> RunDetail:
    """One run with its per-field metrics."""
    try:
        row = get_run(session, run_id)
    except ExtractorError as exc:
        raise _run_error(exc) from None
    return RunDetail(**summary(row), metrics=row.metrics or {}, info=row.info or {})


@router.delete("/runs/{run_id}", dependencies=[Depends(require_role("admin"))])
def delete_recorded(run_id: str, state: StateDep) -> dict[str, str]:
    """Remove a run from the history (its run directory, if any, is left alone)."""
    try:
        with state.store.write() as session:
            removed = delete_run(session, run_id)
    except ExtractorError as exc:
        raise _run_error(exc) from None
    return {"deleted": removed}
