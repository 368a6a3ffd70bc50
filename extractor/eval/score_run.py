"""Scoring a stored run in one streaming pass, and writing its reports.

One document at a time: read its gold, text and prediction, score it, ground the prediction
(for the grounding summary), write its score to a part file and fold it into the corpus
totals (`scoring.aggregate`). Big runs are scored by one worker process per core
(`scored.score_in_workers`), the results folded in id order, so the numbers are the same
as from one process. Memory holds the ids, one count row per document and the
`HTML_DOCUMENTS` lowest-scoring documents' entries, so it does not grow with the size of
the run beyond that; the shown documents are grounded again for the HTML marks.

Reports: report.json has every document (streamed in from the part file); report.md and
report.html show the `HTML_DOCUMENTS` lowest-scoring documents (all of them in a run up to
that size) and say how many more report.json holds.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from extractor.core.files import write_atomic
from extractor.core.grounding.align import ground
from extractor.core.schema import ArticleExtraction

from .goldset import GoldSet
from .predictions import PredictionFile
from .runs import StoredRun, record_gold_hash
from .scored import GROUNDING_KEYS, Scored, default_workers, score_in_workers, score_serially
from .scoring.aggregate import GROUPS, Aggregate
from .scoring.corpus import report_header
from .scoring.stats import DEFAULT_RESAMPLES, Seed

HTML_DOCUMENTS = 200
"""Documents shown in report.md and report.html (lowest F1 first); report.json has them all."""

INDENT_LIMIT = 1000
"""Runs up to this size get every document of report.json indented (readable diffs); larger
runs one compact line per document (orjson), which is written many times faster."""

_SLOT = "__documents_streamed_here__"


@dataclass
class Evaluation:
    """The report (its `documents` only those shown), the files written, and every document's counts."""

    report: dict[str, Any]
    paths: list[Path]
    shown: int
    omitted: int
    ids: list[str] = field(default_factory=list)
    """The scored documents, in the order of `counts`' rows."""
    counts: np.ndarray = field(default_factory=lambda: np.zeros((0, GROUPS, 3)))
    """(documents, `aggregate.GROUPS`, 3): each document's TP, FP, FN, the headline then every field path."""

    @property
    def failed(self) -> list[bool]:
        """Per document of `ids`: did its extraction fail."""
        failed = set(self.report["failures"]["ids"])
        return [doc_id in failed for doc_id in self.ids]


def _scored(run: StoredRun, gold_set: GoldSet, *, indent: bool, workers: int | None) -> Iterator[Scored]:
    """Every document scored, in id order: in worker processes for big runs from a file, else here."""
    ids = gold_set.ids
    count = default_workers(len(ids)) if workers is None else workers
    if count > 1 and isinstance(run.predictions, PredictionFile):
        return score_in_workers(gold_set, run.predictions, workers=count, indent=indent)
    if isinstance(run.predictions, PredictionFile):
        predictions: Iterator[Any] = run.predictions.many(ids)
    else:
        predictions = (run.predictions.get(doc_id) for doc_id in ids)
    return score_serially(gold_set, predictions, indent=indent)


# A max-heap (negated rank) of the lowest-ranked documents: rank, id, report entry.
_Worst = list[tuple[tuple[float, float, int], str, bytes]]


def _score_pass(
    run: StoredRun, gold_set: GoldSet, sink: BinaryIO | None, *, n_boot: int, seed: Seed, shown: int,
    workers: int | None,
) -> tuple[dict[str, Any], Evaluation, _Worst]:
    """One pass over the gold set: the report without documents, the counts, the `shown` worst entries.

    Each document's report.json entry is written to `sink` when one is given.
    """
    indent = len(gold_set.ids) <= INDENT_LIMIT
    aggregate = Aggregate(len(gold_set.ids))
    grounding: dict[str, dict[str, int]] = {}
    for kind, status in GROUNDING_KEYS:
        grounding.setdefault(kind, {})[status] = 0
    digest = hashlib.sha256()
    worst: _Worst = []
    ids: list[str] = []
    for index, item in enumerate(_scored(run, gold_set, indent=indent, workers=workers)):
        aggregate.add_row(item.doc_id, failed=item.failed, row=item.row)
        ids.append(item.doc_id)
        digest.update(item.hash_part)
        if sink is not None:
            key = json.dumps(item.doc_id, ensure_ascii=False).encode()
            sink.write((b"" if index == 0 else b",\n") + b"    " + key + b": " + item.body)
        if item.grounding is not None:
            for (kind, status), count in zip(GROUNDING_KEYS, item.grounding, strict=True):
                grounding[kind][status] += count
        # Report order: undefined F1 first, then lowest F1, then id order.
        entry = ((-float(item.f1 is not None), -(item.f1 or 0.0), -index), item.doc_id, item.body)
        if len(worst) < shown:
            heapq.heappush(worst, entry)
        elif shown:
            heapq.heappushpop(worst, entry)
    gold_set.remember_hash(digest)
    totals = aggregate.finish(n_boot=n_boot, seed=seed)
    report = report_header(totals, sorted(doc_id for doc_id in run.predictions if doc_id not in gold_set.gold))
    report["gold_hash"] = gold_set.hash()  # recorded by the pass above
    if sink is not None:
        record_gold_hash(run, report["gold_hash"])  # in run.json too, when it has none yet
    else:
        run.info.setdefault("gold_hash", report["gold_hash"])
    total = sum(sum(c.values()) for c in grounding.values())
    found = total - sum(c["not_found"] for c in grounding.values())
    report["grounding"] = {"rate": found / total if total else None, "items": total, **grounding}
    report["run"] = run.info
    return report, Evaluation(report, [], 0, 0, ids, totals.counts), worst


def tally_run(
    run: StoredRun, gold_set: GoldSet, *, n_boot: int = DEFAULT_RESAMPLES, seed: Seed = 0,
    workers: int | None = None,
) -> Evaluation:
    """Score `run` as `score_run` does, writing nothing: the report has no documents, no files were written."""
    return _score_pass(run, gold_set, None, n_boot=n_boot, seed=seed, shown=0, workers=workers)[1]


def score_run(
    run: StoredRun,
    gold_set: GoldSet,
    out_dir: Path,
    *,
    n_boot: int = DEFAULT_RESAMPLES,
    seed: Seed = 0,
    shown: int = HTML_DOCUMENTS,
    workers: int | None = None,
) -> Evaluation:
    """Score `run` against `gold_set` and write report.json, report.md and report.html into `out_dir`.

    `workers` scoring processes (default: one per core for runs of `scored.PARALLEL_MIN`
    documents or more, else 1); the numbers are the same whatever their count.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    part = out_dir / "report.json.part"
    # A large buffer: one write call per megabyte rather than per document entry.
    with part.open("wb", buffering=1 << 20) as sink:
        report, evaluation, worst = _score_pass(run, gold_set, sink, n_boot=n_boot, seed=seed, shown=shown,
                                                workers=workers)
    paths = [out_dir / "report.json", out_dir / "report.md", out_dir / "report.html"]
    _write_json(paths[0], report, part)
    chosen = [(doc_id, json.loads(body)) for _, doc_id, body in sorted(worst, key=lambda e: -e[0][2])]  # id order
    report["documents"] = dict(chosen)
    omitted = len(gold_set.ids) - len(chosen)
    _write_pages(paths[1], paths[2], report, run, gold_set, chosen, omitted)
    evaluation.paths, evaluation.shown, evaluation.omitted = paths, len(chosen), omitted
    return evaluation


def _write_json(path: Path, report: dict[str, Any], part: Path) -> None:
    """report.json as `json.dumps(report, indent=2)` would write it, documents copied from the part file."""
    head, tail = json.dumps({**report, "documents": _SLOT}, indent=2, ensure_ascii=False).split(f'"{_SLOT}"', 1)
    # Written beside and renamed, so a crash never leaves half a report.json.
    staged = path.with_name(f".{path.name}.tmp")
    size = part.stat().st_size
    with staged.open("wb") as out, part.open("rb") as documents:
        out.write(head.encode())
        if size:
            out.write(b"{\n")
            out.flush()
            _copy_bytes(documents, out, size)
            out.write(b"\n  }")
        else:
            out.write(b"{}")
        out.write(tail.encode() + b"\n")
    os.replace(staged, path)
    part.unlink()


def _copy_bytes(source: Any, target: Any, size: int) -> None:
    """Append `size` bytes of `source` to `target`: in the kernel where it can, else through a buffer."""
    # A big run's part file is most of a gigabyte: copying it through Python (decoding and
    # encoding it again, as text mode would) costs seconds the scoring workers could use.
    done = 0
    try:
        while done < size:
            sent = os.sendfile(target.fileno(), source.fileno(), done, size - done)
            if sent == 0:
                break
            done += sent
    except (AttributeError, OSError):  # no sendfile on this platform, or not for these files
        pass
    if done == size:
        return
    source.seek(done)
    shutil.copyfileobj(source, target, 1 << 20)


def _write_pages(
    md: Path,
    html: Path,
    report: dict[str, Any],
    run: StoredRun,
    gold_set: GoldSet,
    chosen: list[tuple[str, dict[str, Any]]],
    omitted: int,
) -> None:
    from .reports.html import document_section, report_html
    from .reports.text import eval_markdown

    write_atomic(md, eval_markdown(report, run.info, omitted=omitted))
    sections = []
    for doc_id, doc in chosen:
        gold, document = gold_set.gold[doc_id], gold_set.documents[doc_id]
        pred = run.predictions.get(doc_id)
        marks = ground(pred, document.text) if isinstance(pred, ArticleExtraction) else None  # the shown only
        sections.append(
            document_section(doc_id, gold, pred, document.text, doc, title=document.title,
                             notes=gold.notes, grounding=marks)
        )
    sections.sort(key=lambda d: (d["score"]["f1"] is not None, d["score"]["f1"] or 0.0))
    write_atomic(html, report_html(report, run.info, sections, omitted=omitted))
