"""The runs pages beside the review pages (same login): history, prompts × models grid, paired comparison,
documents where runs disagree, and one document with gold and every run side by side.

Everything is rendered on the server; the pages' only script (`runs.js`) adds conveniences
(picking two grid cells or rows, keys n/p), so each page works with the forms alone.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import urlencode

import jinja2
from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from extractor.core.errors import ExtractorError
from extractor.eval.history.book import grid_runs, runs_by_ids, summary
from extractor.eval.history.compare import compare_rows, rows_report, scores_of, setup_of
from extractor.eval.history.documents import FILTERS, DocumentLine, Sources, document_lines, document_view
from extractor.eval.history.grid import build_grid
from extractor.eval.reports.html import FONTS_JS, TEMPLATES, environment
from extractor.eval.reports.values import compare_title, document_change, labels_for
from extractor.store.keys import KeyInfo
from extractor.store.models import RunRow
from extractor.store.runs import SORT_KEYS, RunFilter, facets, list_runs

from ..deps import get_state
from ..review.routes import _login_redirect, _user
from ..review.views import HERE as REVIEW_DIR
from ..review.views import env as review_env
from . import HERE
from .api import status_of

router = APIRouter(prefix="/review", include_in_schema=False)

env = environment(jinja2.ChoiceLoader([
    jinja2.FileSystemLoader(HERE / "templates"),
    jinja2.FileSystemLoader(REVIEW_DIR / "templates"),
    jinja2.PrefixLoader({"report": TEMPLATES}),
]))
env.filters.update({k: v for k, v in review_env.filters.items() if k in ("pct", "when")})

SOURCES = Sources()
"""Gold sets and predictions read for the per-document view, kept between requests."""


def _page(html: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(html, status_code=status, headers={"cache-control": "no-store"})


def _error(status: int, message: str, user: tuple[KeyInfo, Any]) -> HTMLResponse:
    title = {404: "Not found", 409: "These runs do not compare"}.get(status, "Cannot show that")
    page = env.get_template("error.html.j2").render(title=title, message=message, user=user[0], csrf=user[1].csrf)
    return _page(page, status)


def _refused(exc: ExtractorError, user: tuple[KeyInfo, Any]) -> HTMLResponse:
    """The error page for runs that are unknown (404), do not compare (409) or were asked for wrongly (422)."""
    return _error(status_of(exc), str(exc), user)


def _render(name: str, user: tuple[KeyInfo, Any], **context: Any) -> HTMLResponse:
    return _page(env.get_template(name).render(user=user[0], csrf=user[1].csrf, **context))


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _runs_query(ids: list[str], **extra: Any) -> str:
    return urlencode([("run", i) for i in ids] + [(k, v) for k, v in extra.items() if v not in (None, "")])


@router.get("/fonts.js")
def fonts_js() -> FileResponse:
    """The script that says where CJK text has no font (the same file the static reports inline)."""
    return FileResponse(FONTS_JS, media_type="text/javascript")


@router.get("/runs")
def history(
    request: Request, prompt: str | None = None, model: str | None = None, gold: str | None = None,
    since: str | None = None, until: str | None = None, sort: str = "finished_at", desc: bool = True,
) -> Response:
    """The run history: a table sortable and filterable by prompt, model, gold set and date."""
    user = _user(request)
    if user is None:
        return _login_redirect(request)
    sort = sort if sort in SORT_KEYS else "finished_at"
    start, end = _date(since), _date(until)
    problem = "Dates must be YYYY-MM-DD." if (since and not start) or (until and not end) else None
    filters = RunFilter(prompt=prompt or None, model=model or None, gold_hash=gold or None, since=start, until=end)
    with get_state(request).store.read() as session:
        rows, total = list_runs(session, filters, sort=sort, descending=desc, limit=500)
        items = [summary(r) for r in rows]
        options = facets(session)
    params = {"prompt": prompt or "", "model": model or "", "gold": gold or "", "since": since or "",
              "until": until or ""}
    return _render("runs.html.j2", user, items=items, total=total, options=options, params=params, sort=sort,
                   desc=desc, problem=problem,
                   query=lambda **kw: urlencode({k: v for k, v in {**params, **kw}.items() if v not in ("", None)}))


@router.get("/runs/grid")
def grid_page(request: Request, gold: str | None = None, baseline: str | None = None) -> Response:
    """Prompts × models: micro-F1 with its interval per cell, coloured by the paired difference from a baseline."""
    user = _user(request)
    if user is None:
        return _login_redirect(request)
    store = get_state(request).store
    with store.read() as session:
        gold_sets = facets(session)["gold_hashes"]
    gold_hash, runs = grid_runs(store, gold if gold in gold_sets else None, baseline)
    if gold_hash is None:
        return _render("grid.html.j2", user, grid=None, gold_sets=[], runs=[], gold_hash=None)
    table = build_grid(runs, gold_hash, baseline)
    choices = sorted(runs, key=lambda r: (r.prompt_id, r.model, r.finished_at))
    return _render("grid.html.j2", user, grid=table, gold_sets=gold_sets, runs=choices, gold_hash=gold_hash,
                   runs_query=_runs_query)


@router.get("/runs/compare")
def compare_page(request: Request, run: Annotated[list[str] | None, Query()] = None, a: str | None = None,
                 b: str | None = None) -> Response:
    """The paired comparison of two runs (`a`, `b`, or the two `run` picked in the history or grid)."""
    user = _user(request)
    if user is None:
        return _login_redirect(request)
    ids = [i for i in (a, b) if i] or list(run or [])
    if len(ids) != 2:
        return _error(422, f"Pick exactly two runs to compare (got {len(ids)}).", user)
    try:
        row_a, row_b = runs_by_ids(get_state(request).store, ids)
        report = rows_report(row_a, row_b, compare_rows(row_a, row_b))
    except ExtractorError as exc:
        return _refused(exc, user)
    labels = labels_for([setup_of(row_a), setup_of(row_b)])
    failed = [dict(zip(s.ids, s.failed.tolist(), strict=True)) for s in (scores_of(row_a), scores_of(row_b))]
    for doc in report["documents"]:
        doc["change"] = document_change(doc, labels, tuple(f.get(doc["id"], False) for f in failed))
    return _render("compare.html.j2", user, report=report, labels=labels, title=compare_title(report, labels),
                   a=summary(row_a), b=summary(row_b), ids=[row_a.id, row_b.id], runs_query=_runs_query)


def _runs_and_lines(
    request: Request, run: list[str] | None, only: str
) -> tuple[list[RunRow], list[DocumentLine], str]:
    """The runs named in the query, their documents under filter `only` (where they disagree when it is not
    one of `FILTERS`), and that filter."""
    only = only if only in FILTERS else "disagree"
    rows = runs_by_ids(get_state(request).store, list(run or []))
    return rows, document_lines(rows, only), only


@router.get("/runs/documents")
def documents_page(request: Request, run: Annotated[list[str] | None, Query()] = None,
                   only: str = "disagree") -> Response:
    """The gold documents of the chosen runs with each run's F1: all, where they disagree, or where one fails."""
    user = _user(request)
    if user is None:
        return _login_redirect(request)
    try:
        rows, lines, only = _runs_and_lines(request, run, only)
    except ExtractorError as exc:
        return _refused(exc, user)
    ids = [r.id for r in rows]
    return _render("documents.html.j2", user, runs=[summary(r) for r in rows], ids=ids, lines=lines, only=only,
                   filters=FILTERS, labels=labels_for([setup_of(r) for r in rows]), runs_query=_runs_query)


@router.get("/runs/documents/{doc_id}")
def document_page(request: Request, doc_id: str, run: Annotated[list[str] | None, Query()] = None,
                  only: str = "disagree", mark: int = 0) -> Response:
    """One document: its text marked with the gold evidence and one run's quotes and names, gold and every run
    side by side, aligned by gold action, and each run's errors."""
    user = _user(request)
    if user is None:
        return _login_redirect(request)
    try:
        rows, lines, only = _runs_and_lines(request, run, only)
        labels = labels_for([setup_of(r) for r in rows])
        view = document_view(doc_id, rows, SOURCES, labels)
    except ExtractorError as exc:
        return _refused(exc, user)
    order = [line.id for line in lines]
    at = order.index(doc_id) if doc_id in order else None
    prev_id = order[at - 1] if at is not None and at > 0 else None
    next_id = order[at + 1] if at is not None and at + 1 < len(order) else None
    mark = mark if 0 <= mark < len(rows) else 0
    ids = [r.id for r in rows]
    return _render("document.html.j2", user, view=view, labels=labels, ids=ids, only=only, mark=mark,
                   segments=view.segments(mark), position=at, count=len(order), prev_id=prev_id, next_id=next_id,
                   runs_query=_runs_query)
