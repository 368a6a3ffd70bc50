"""Scoring a stored run in one streaming pass, and writing its reports.

One document at a time: read its gold, text and prediction, score it, ground the prediction
once (for the grounding summary and, for the documents shown, the HTML marks), write its
score to a part file and fold it into the corpus totals (`scoring.aggregate`). Memory holds
the ids, one count row per document and the `HTML_DOCUMENTS` lowest-scoring documents, so it
does not grow with the size of the run beyond that.

Reports: report.json has every document (streamed in from the part file); report.md and
report.html show the `HTML_DOCUMENTS` lowest-scoring documents (all of them in a run up to
that size) and say how many more report.json holds.
"""

from __future__ import annotations

import heapq
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from extractor.core.files import write_atomic
from extractor.core.grounding import Grounding, ground
from extractor.core.schema import ArticleExtraction

from .goldset import GoldSet
from .predictions import PredictionFile
from .runs import StoredRun
from .scoring.aggregate import Aggregate
from .scoring.corpus import report_header
from .scoring.document import score_document
from .scoring.stats import DEFAULT_RESAMPLES, Seed

HTML_DOCUMENTS = 200
"""Documents shown in report.md and report.html (lowest F1 first); report.json has them all."""

INDENT_LIMIT = 1000
"""Runs up to this size get every document of report.json indented (readable diffs); larger
runs one line per document, which json's C encoder writes about ten times faster."""

_STATUSES = ("exact", "fuzzy", "not_found")
_SLOT = "__documents_streamed_here__"


@dataclass
class Evaluation:
    """The report (its `documents` only those shown) and the files written."""

    report: dict[str, Any]
    paths: list[Path]
    shown: int
    omitted: int


def _predictions(run: StoredRun, ids: list[str]) -> Any:
    if isinstance(run.predictions, PredictionFile):
        return run.predictions.many(ids)
    return (run.predictions.get(doc_id) for doc_id in ids)


def _rank(index: int, doc: dict[str, Any]) -> tuple[bool, float, int]:
    """Report order: undefined F1 first, then lowest F1, then id order."""
    return (doc["f1"] is not None, doc["f1"] or 0.0, index)


def evaluate_run(
    run: StoredRun,
    gold_set: GoldSet,
    out_dir: Path,
    *,
    n_boot: int = DEFAULT_RESAMPLES,
    seed: Seed = 0,
    shown: int = HTML_DOCUMENTS,
) -> Evaluation:
    """Score `run` against `gold_set` and write report.json, report.md and report.html into `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    ids = gold_set.ids
    indent = len(ids) <= INDENT_LIMIT
    aggregate = Aggregate()
    grounding = {"evidence": dict.fromkeys(_STATUSES, 0), "names": dict.fromkeys(_STATUSES, 0)}
    worst: list[tuple[tuple[float, float, int], str, dict[str, Any], Grounding | None]] = []
    part = out_dir / "report.json.part"
    with part.open("w", encoding="utf-8") as sink:
        items = zip(gold_set.items(), _predictions(run, ids), strict=True)
        for index, ((doc_id, gold, document), pred) in enumerate(items):
            score = score_document(gold, pred, document.text)
            aggregate.add(doc_id, score)
            doc = score.to_dict()
            if indent:
                body = json.dumps(doc, indent=2, ensure_ascii=False).replace("\n", "\n    ")
            else:
                body = json.dumps(doc, ensure_ascii=False)
            sink.write(("" if index == 0 else ",\n") + f"    {json.dumps(doc_id, ensure_ascii=False)}: {body}")
            marks = None
            if isinstance(pred, ArticleExtraction):
                marks = ground(pred, document.text)  # once per document: summary and HTML marks
                for kind, counts in (("evidence", marks.evidence), ("names", marks.names)):
                    for status in _STATUSES:
                        grounding[kind][status] += getattr(counts, status)
            # A max-heap (negated rank) of the `shown` lowest-ranked documents.
            rank = _rank(index, doc)
            entry = ((-float(rank[0]), -rank[1], -rank[2]), doc_id, doc, marks)
            if len(worst) < shown:
                heapq.heappush(worst, entry)
            elif shown:
                heapq.heappushpop(worst, entry)
    totals = aggregate.finish(n_boot=n_boot, seed=seed)
    report = report_header(totals, sorted(doc_id for doc_id in run.predictions if doc_id not in gold_set.gold))
    report["gold_hash"] = gold_set.hash()  # recorded by the pass above
    total = sum(sum(c.values()) for c in grounding.values())
    found = total - sum(c["not_found"] for c in grounding.values())
    report["grounding"] = {"rate": found / total if total else None, "items": total, **grounding}
    report["run"] = run.info
    paths = [out_dir / "report.json", out_dir / "report.md", out_dir / "report.html"]
    _write_json(paths[0], report, part)
    chosen = sorted(worst, key=lambda e: -e[0][2])  # back to id order
    report["documents"] = {doc_id: doc for _, doc_id, doc, _ in chosen}
    omitted = len(ids) - len(chosen)
    _write_pages(paths[1], paths[2], report, run, gold_set, chosen, omitted)
    return Evaluation(report, paths, len(chosen), omitted)


def _write_json(path: Path, report: dict[str, Any], part: Path) -> None:
    """report.json as `json.dumps(report, indent=2)` would write it, documents copied from the part file."""
    head, tail = json.dumps({**report, "documents": _SLOT}, indent=2, ensure_ascii=False).split(f'"{_SLOT}"', 1)
    # Written beside and renamed, so a crash never leaves half a report.json.
    staged = path.with_name(f".{path.name}.tmp")
    with staged.open("w", encoding="utf-8") as out, part.open(encoding="utf-8") as documents:
        out.write(head)
        if part.stat().st_size:
            out.write("{\n")
            while chunk := documents.read(1 << 20):
                out.write(chunk)
            out.write("\n  }")
        else:
            out.write("{}")
        out.write(tail + "\n")
    os.replace(staged, path)
    part.unlink()


def _write_pages(
    md: Path,
    html: Path,
    report: dict[str, Any],
    run: StoredRun,
    gold_set: GoldSet,
    chosen: list[tuple[Any, str, dict[str, Any], Grounding | None]],
    omitted: int,
) -> None:
    from .reports.html import document_section, report_html
    from .reports.text import eval_markdown

    write_atomic(md, eval_markdown(report, run.info, omitted=omitted))
    sections = []
    for _, doc_id, doc, marks in chosen:
        gold, document = gold_set.gold[doc_id], gold_set.documents[doc_id]
        sections.append(
            document_section(doc_id, gold, run.predictions.get(doc_id), document.text, doc, title=document.title,
                             notes=gold.notes, grounding=marks)
        )
    sections.sort(key=lambda d: (d["score"]["f1"] is not None, d["score"]["f1"] or 0.0))
    write_atomic(html, report_html(report, run.info, sections, omitted=omitted))
