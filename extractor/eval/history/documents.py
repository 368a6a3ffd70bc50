"""Documents across recorded runs: which ones the runs disagree on or fail, and one document side by side.

The listing needs only the stored per-document counts. The side-by-side view reads the gold
set (from the directories the run recorded, checked against its gold-set hash) and each
run's predictions (from its run directory), both kept open between requests, and scores the
one document again for its alignment and errors.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from extractor.batch.results import Failure
from extractor.core.errors import DocumentError, ExtractorError
from extractor.core.schema import ArticleExtraction, SanctionAction
from extractor.store.models import RunRow

from ..goldset import GoldSet, load_gold_set
from ..predictions import Prediction
from ..reports.docview import Mark, marks_for, segments
from ..runs import load_run
from ..scoring import score_document
from ..scoring.metrics import Counts
from .compare import scores_of

FILTERS = ("all", "disagree", "failed")
"""`all` documents; those where the runs' F1 `disagree` (or one fails and another does not); any run `failed`."""

TIE = 1e-9


class SourceMissing(ExtractorError):
    """A run's gold set or predictions cannot be read here (moved, deleted, or on another machine)."""


@dataclass
class DocumentLine:
    """One document of the listing: each run's F1 (None: nothing to find, nothing predicted) and failure."""

    id: str
    f1: list[float | None]
    failed: list[bool]

    @property
    def disagree(self) -> bool:
        """The runs score it differently, or some fail it and others do not."""
        defined = [1.0 if f is None else f for f in self.f1]
        return (max(defined) - min(defined) > TIE) or (any(self.failed) and not all(self.failed))

    @property
    def spread(self) -> float:
        defined = [1.0 if f is None else f for f in self.f1]
        return max(defined) - min(defined)


def document_lines(runs: Sequence[RunRow], only: str = "all") -> list[DocumentLine]:
    """The gold documents of `runs` (one gold set), filtered by `only`; largest disagreement first."""
    if only not in FILTERS:
        raise DocumentError(f"unknown filter {only!r}: choose one of {', '.join(FILTERS)}")
    scores = [scores_of(run) for run in runs]
    if not scores:
        return []
    if len({run.gold_hash for run in runs}) > 1:
        raise DocumentError("these runs were scored on different gold sets: pick runs of one gold set")
    f1_by: list[dict[str, float | None]] = []
    failed_by: list[dict[str, bool]] = []
    for s in scores:
        f1_by.append({i: Counts(*c).f1 for i, c in zip(s.ids, s.counts[:, 0, :].tolist(), strict=True)})
        failed_by.append(dict(zip(s.ids, s.failed.tolist(), strict=True)))
    lines = [DocumentLine(doc_id, [f.get(doc_id) for f in f1_by], [bool(f.get(doc_id, True)) for f in failed_by])
             for doc_id in scores[0].ids]
    if only == "disagree":
        lines = [line for line in lines if line.disagree]
    elif only == "failed":
        lines = [line for line in lines if any(line.failed)]
    return sorted(lines, key=lambda line: (-line.spread, line.id))


class Sources:
    """Gold sets and predictions of recorded runs, read from disk when first needed and kept (bounded)."""

    def __init__(self, size: int = 16) -> None:
        self._gold: OrderedDict[tuple[str, str, float, float], GoldSet] = OrderedDict()
        self._predictions: OrderedDict[tuple[str, float, int], Mapping[str, Prediction]] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def gold_set(self, run: RunRow) -> GoldSet:
        """The gold set `run` was scored on, if its directories are here and still hold that gold set."""
        if not run.gold_dir or not run.docs_dir:
            raise SourceMissing(f"run {run.id} did not record where its gold set is")
        try:  # a file added, removed or replaced in either directory changes its mtime: read it again then
            key = (run.gold_dir, run.docs_dir, Path(run.gold_dir).stat().st_mtime, Path(run.docs_dir).stat().st_mtime)
        except OSError:
            raise SourceMissing(f"the gold set of run {run.id} is not here ({run.gold_dir})") from None
        with self._lock:
            gold_set = self._gold.get(key)
        if gold_set is None:
            try:
                gold_set = load_gold_set(Path(run.gold_dir), Path(run.docs_dir))
            except ExtractorError as exc:
                raise SourceMissing(f"the gold set of run {run.id} cannot be read here: {exc}") from None
            with self._lock:
                self._remember(self._gold, key, gold_set)
        if gold_set.hash() != run.gold_hash:
            raise SourceMissing(f"{run.gold_dir} now holds gold set {gold_set.hash()}, not the run's {run.gold_hash}")
        return gold_set

    def predictions(self, run: RunRow) -> Mapping[str, Prediction]:
        """The run's predictions, from where it recorded them."""
        path = Path(run.predictions)
        file = path / "predictions.jsonl" if path.is_dir() else path
        try:
            stat = file.stat()
        except OSError:
            raise SourceMissing(f"the predictions of run {run.id} are not here ({run.predictions})") from None
        key = (str(file), stat.st_mtime, stat.st_size)
        with self._lock:
            found = self._predictions.get(key)
        if found is None:
            try:
                found = load_run(path).predictions
            except ExtractorError as exc:
                raise SourceMissing(f"the predictions of run {run.id} cannot be read: {exc}") from None
            with self._lock:
                self._remember(self._predictions, key, found)
        return found

    def _remember(self, memo: OrderedDict[Any, Any], key: Any, item: Any) -> None:
        memo[key] = item
        while len(memo) > self._size:
            memo.popitem(last=False)


@dataclass
class RunColumn:
    """One run's answer for the document: its score, failure, actions and what they matched."""

    run: RunRow
    f1: float | None = None
    failure: str | None = None
    problem: str | None = None
    """Why the prediction cannot be shown (its file is not here)."""
    answer: ArticleExtraction | None = None
    matched: dict[int, int] = field(default_factory=dict)
    """Gold action index → this run's action index."""
    errors: list[dict[str, Any]] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)
    grounding_rate: float | None = None


@dataclass
class DocumentView:
    """Gold and each run's answer for one document, aligned by gold action."""

    id: str
    title: str | None
    text: str
    gold: ArticleExtraction
    notes: str | None
    columns: list[RunColumn]
    rows: list[list[tuple[int, SanctionAction] | None]]
    """Row by row: gold action, then each run's action at the same place (None where there is none)."""
    gold_marks: list[Mark]

    def segments(self, column: int | None) -> list[Any]:
        """The text cut at the marks of the gold evidence and of run `column`'s quotes and names."""
        extra = self.columns[column].marks if column is not None and column < len(self.columns) else []
        return segments(self.text, self.gold_marks + extra)


def _tag(mark: Mark, side: str, prefix: str) -> Mark:
    from dataclasses import replace

    return replace(mark, kind=f"{side} {mark.kind}", side=side, label=f"{prefix}{mark.label}")


def document_view(doc_id: str, runs: Sequence[RunRow], sources: Sources, labels: Sequence[str]) -> DocumentView:
    """Gold and every run's answer for `doc_id`, with the alignment of each run to the gold."""
    if not runs:
        raise DocumentError("choose at least one run")
    gold_set = sources.gold_set(runs[0])
    if doc_id not in gold_set.gold:
        raise DocumentError(f"no document {doc_id!r} in the gold set of these runs")
    gold, document = gold_set.gold[doc_id], gold_set.documents[doc_id]
    gold_marks = [_tag(m, "gold", "gold ") for m in marks_for(gold, document.text)[0] if m.kind == "evidence"]
    columns = []
    for run, label in zip(runs, labels, strict=True):
        column = RunColumn(run)
        try:
            pred: Prediction | None = sources.predictions(run).get(doc_id)
        except SourceMissing as exc:
            column.problem = str(exc)
            columns.append(column)
            continue
        score = score_document(gold, pred, document.text)
        column.f1 = score.f1
        column.errors = [e.to_dict() for e in score.errors]
        column.matched = {g: p for g, p, _ in score.actions.pairs}
        if isinstance(pred, ArticleExtraction):
            column.answer = pred
            marks, rows = marks_for(pred, document.text)
            column.marks = [_tag(m, "pred", f"{label}: ") for m in marks]
            found = sum(1 for r in rows if r["status"] != "not_found")
            column.grounding_rate = found / len(rows) if rows else None
        elif isinstance(pred, Failure):
            column.failure = str(pred.error.get("message") or "the extraction failed")
        else:
            column.failure = "no prediction for this document"
        columns.append(column)
    return DocumentView(doc_id, document.title, document.text, gold, gold.notes, columns,
                        _aligned_rows(gold, columns), gold_marks)


def _aligned_rows(gold: ArticleExtraction, columns: list[RunColumn]) -> list[list[tuple[int, SanctionAction] | None]]:
    """A row per gold action with each run's matching action, then each run's actions the gold does not have."""
    rows: list[list[tuple[int, SanctionAction] | None]] = []
    for g, action in enumerate(gold.actions):
        row: list[tuple[int, SanctionAction] | None] = [(g, action)]
        for column in columns:
            p = column.matched.get(g)
            row.append((p, column.answer.actions[p]) if p is not None and column.answer is not None else None)
        rows.append(row)
    for n, column in enumerate(columns):
        if column.answer is None:
            continue
        used = set(column.matched.values())
        for p, action in enumerate(column.answer.actions):
            if p not in used:
                extra: list[tuple[int, SanctionAction] | None] = [None] * (len(columns) + 1)
                extra[n + 1] = (p, action)
                rows.append(extra)
    return rows
