"""Self-contained HTML pages: the eval report and the single-document view (jinja2, autoescaped)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from extractor.batch.results import Failure
from extractor.core.grounding.align import Grounding
from extractor.core.schema import ArticleExtraction, ExtractionAnswer

from . import values
from .docview import document_view, marks_for, segments

STATIC_DIR = Path(__file__).resolve().parent / "static"
FONTS_JS = STATIC_DIR / "fonts.js"
"""The script that says where CJK text has no font: inlined in the static reports, served by the service."""


def environment(loader: jinja2.BaseLoader) -> jinja2.Environment:
    """A jinja2 environment for report pages: autoescaped, with the readable-value filters of `values`."""
    env = jinja2.Environment(loader=loader, autoescape=True, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(values.FILTERS)
    env.globals.update(counts_legend=values.COUNTS_LEGEND, undefined_legend=values.UNDEFINED_LEGEND,
                       group_errors=values.group_errors, error_cells=values.error_cells,
                       interval=values.interval)
    return env


TEMPLATES = jinja2.PackageLoader("extractor.eval.reports", "templates")
_env = environment(TEMPLATES)
_env.globals["fonts_js"] = FONTS_JS.read_text(encoding="utf-8")


def _meta_dict(result: ArticleExtraction) -> dict[str, Any]:
    meta = result.meta
    if meta is None:
        return {}
    return meta if isinstance(meta, dict) else meta.model_dump()


def show_html(result: ArticleExtraction, text: str) -> str:
    """One document with its extraction: actions as cards, evidence and names marked in the text."""
    return show_page([(result.article_id, result, text)], source=result.article_id)


def show_page(
    items: list[tuple[str, ArticleExtraction | Failure, str | None]], *, source: str, omitted: int = 0
) -> str:
    """Documents with their extractions on one page (a list of them first when there are several).

    Each item is (id, result or failure, the document's text or None when it was not found);
    `omitted` documents of `source` are not shown.
    """
    from dataclasses import replace

    many = len(items) > 1
    docs: list[dict[str, Any]] = []
    for k, (doc_id, result, text) in enumerate(items):
        side = f"d{k}-" if many else ""
        if isinstance(result, Failure):
            docs.append({"id": doc_id, "side": side, "failure": str(result.error.get("message") or "failed"),
                         "answer": None, "view": None})
            continue
        if text is None:
            view: dict[str, Any] = {"segments": [], "rows": [], "grounding_rate": None}
        else:
            view = document_view(result, text)
            if many:
                view["segments"] = [replace(s, marks=[replace(m, side=side[:-1]) for m in s.marks])
                                    for s in view["segments"]]
        docs.append({
            "id": doc_id, "side": side, "failure": None, "answer": result, "meta": _meta_dict(result), "view": view,
            "not_found": [row for row in view["rows"] if row["status"] == "not_found"],
            "no_text": "No text for this document: pass --docs DIR (or --text FILE for one document).",
        })
    return _env.get_template("show.html.j2").render(docs=docs, source=source, omitted=omitted)


def _rows(gold: ExtractionAnswer, pred: ExtractionAnswer | None, alignment: dict[str, Any]) -> list[dict[str, Any]]:
    """Gold and predicted actions side by side: matched pairs first, then unmatched ones."""
    rows = []
    pairs = alignment.get("actions", alignment.get("pairs", []))
    matched_gold, matched_pred = set(), set()
    for pair in pairs:
        g, p = pair["gold"], pair["pred"]
        matched_gold.add(g)
        matched_pred.add(p)
        rows.append({"gold": gold.actions[g], "gi": g, "pred": pred.actions[p] if pred else None, "pi": p})
    for g, action in enumerate(gold.actions):
        if g not in matched_gold:
            rows.append({"gold": action, "gi": g, "pred": None, "pi": None})
    if pred is not None:
        for p, action in enumerate(pred.actions):
            if p not in matched_pred:
                rows.append({"gold": None, "gi": None, "pred": action, "pi": p})
    return rows


def document_section(
    doc_id: str,
    gold: ExtractionAnswer,
    pred: ArticleExtraction | Failure | None,
    text: str,
    score: dict[str, Any],
    title: str | None = None,
    notes: str | None = None,
    grounding: Grounding | None = None,
) -> dict[str, Any]:
    """Template data for one document of the eval report (`grounding`: the prediction's, if computed)."""
    answer = pred if isinstance(pred, ArticleExtraction) else None
    pred_marks, rows = marks_for(answer, text, "predicted ", grounding) if answer else ([], [])
    gold_marks, _ = marks_for(gold, text, "gold ")
    pred_marks = [_tag(mark, "pred") for mark in pred_marks]
    gold_marks = [_tag(mark, "gold") for mark in gold_marks if mark.kind == "evidence"]
    found = sum(1 for r in rows if r["status"] != "not_found")
    failure = None
    if isinstance(pred, Failure):
        failure = {"message": pred.error.get("message", ""), "last_output": pred.error.get("last_output")}
    elif pred is None:
        failure = {"message": "no prediction for this document", "last_output": None}
    return {
        "id": doc_id,
        "title": title,
        "gold_notes": notes,
        "score": score,
        "failure": failure,
        "rows": _rows(gold, answer, score.get("alignment", {})),
        "view": {"segments": segments(text, pred_marks + gold_marks),
                 "grounding_rate": found / len(rows) if rows else None},
    }


def _tag(mark: Any, side: str) -> Any:
    from dataclasses import replace

    return replace(mark, kind=f"{side} {mark.kind}", side=side)


def report_html(report: dict[str, Any], run: dict[str, Any], docs: list[dict[str, Any]], omitted: int = 0) -> str:
    """The eval report page; `omitted` documents are in report.json only."""
    return _env.get_template("report.html.j2").render(report=report, run=run, docs=docs, omitted=omitted)
