"""Rendering of the review pages: the jinja2 environment (autoescaped) and the document view data."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2

from extractor.core.schema import ExtractionAnswer
from extractor.eval.reports.docview import Mark, marks_for, segments

from .forms import ACTION_KINDS, ENTITY_TYPES, MEASURES

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"

env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
)
env.globals.update(measures=MEASURES, entity_types=ENTITY_TYPES, action_kinds=ACTION_KINDS)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _when(value: dt.datetime | None) -> str:
    return "" if value is None else value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _idpath(value: str) -> str:
    """A document id as one URL path segment: every `/` encoded too, so `../../docs` stays a segment of its own
    (jinja's `urlencode` keeps `/`, and a browser would then resolve the dots)."""
    return quote(str(value), safe="")


env.filters.update(pct=_pct, when=_when, idpath=_idpath)


def render(name: str, **context: Any) -> str:
    """A page from the package's templates."""
    return env.get_template(name).render(**context)


def text_view(answer: ExtractionAnswer | None, text: str, spans: dict[str, list[int]]) -> dict[str, Any]:
    """The document text cut into runs with their marks, plus the grounding of every quote and name.

    Marks come from the eval report's alignment (`marks_for`); a name or quote filled from a
    selection is marked at exactly the selected offsets.
    """
    marks, rows = marks_for(answer, text) if answer is not None else ([], [])
    for path, (start, end) in spans.items():
        action = int(path.split("]")[0].split("[")[1])
        kind = "name" if path.endswith(".name") else "evidence"
        marks.append(Mark(start, end, kind, action, None, "selected", f"action {action + 1} {kind} (selected)"))
    found = sum(1 for r in rows if r["status"] != "not_found")
    return {
        "segments": segments(text, marks),
        "rows": rows,
        "not_found": [r for r in rows if r["status"] == "not_found"],
        "grounding_rate": found / len(rows) if rows else None,
    }
