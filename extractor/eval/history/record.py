"""A scored run as a store row: built from an evaluation, from a run directory, or from the API's JSON.

A run's id is a content hash of what was scored (prompt, model, schema, gold set and the
predictions file), so recording the same run again, or importing a committed run twice,
replaces its row instead of adding a second one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from extractor.core.errors import DocumentError
from extractor.store.models import RunRow, utcnow
from extractor.store.runs import DocScores

from ..goldset import GoldSet
from ..runs import PREDICTIONS, StoredRun
from ..score_run import Evaluation
from ..scoring.aggregate import GROUP_NAMES

RUN_ID = re.compile(r"[0-9a-f]{12}")

SOURCES = ("eval", "import", "service")
"""How a run reached the store: `extractor eval`, `extractor runs import`, or the service's API."""


@dataclass
class RunRecord:
    """Everything the store keeps of one scored run."""

    id: str
    name: str
    source: str
    info: dict[str, Any]
    """Its setup and accounting (run.json), the gold-set hash included."""
    metrics: dict[str, Any]
    """report.json without `documents` and `run`."""
    predictions: str
    """Where its predictions are: a run directory or a predictions file."""
    scores: DocScores
    gold_dir: str | None = None
    docs_dir: str | None = None
    finished_at: dt.datetime = field(default_factory=utcnow)

    def to_row(self) -> RunRow:
        """The store row."""
        info, metrics = self.info, self.metrics
        micro = metrics.get("micro") or {}
        accounting = info.get("accounting") or {}
        return RunRow(
            id=self.id, name=self.name[:200], source=self.source,
            prompt_id=str(info.get("prompt_id") or "?"), prompt_hash=str(info.get("prompt_hash") or ""),
            model=str(info.get("model") or "?"), schema_version=_str(info.get("schema_version")),
            schema_hash=_str(info.get("schema_hash")), gold_hash=str(info.get("gold_hash") or metrics.get("gold_hash")),
            gold_dir=self.gold_dir, docs_dir=self.docs_dir, finished_at=self.finished_at, recorded_at=utcnow(),
            n_documents=int(metrics.get("n_documents") or len(self.scores.ids)),
            failures=int((metrics.get("failures") or {}).get("count") or 0),
            micro_f1=micro.get("f1"), ci_low=micro.get("ci_low"), ci_high=micro.get("ci_high"),
            precision=micro.get("precision"), recall=micro.get("recall"), macro_f1=metrics.get("macro_f1"),
            grounding_rate=(metrics.get("grounding") or {}).get("rate"),
            prompt_tokens=_int(accounting.get("prompt_tokens")),
            completion_tokens=_int(accounting.get("completion_tokens")),
            cost=_float(accounting.get("cost")), duration_s=_float(info.get("duration_s")),
            predictions=self.predictions, info=info, metrics=metrics, doc_scores=self.scores.encode(),
        )

    def to_payload(self) -> dict[str, Any]:
        """The JSON body of `POST /v1/runs`."""
        return {
            "id": self.id, "name": self.name, "info": self.info, "metrics": self.metrics,
            "predictions": self.predictions, "gold_dir": self.gold_dir, "docs_dir": self.docs_dir,
            "finished_at": self.finished_at.isoformat(),
            "documents": {"ids": self.scores.ids, "failed": [bool(f) for f in self.scores.failed],
                          "groups": self.scores.groups, "counts": self.scores.counts.tolist()},
        }

    @classmethod
    def from_payload(cls, payload: dict[str, Any], *, source: str) -> RunRecord:
        """A record from `to_payload`'s JSON; shapes are checked, a wrong one is a `DocumentError`."""
        documents = payload.get("documents") or {}
        ids = [str(i) for i in documents.get("ids") or []]
        try:
            counts = np.asarray(documents.get("counts"), dtype=np.float64)
        except (TypeError, ValueError):
            raise DocumentError("documents.counts: not a numeric array") from None
        failed = np.asarray(documents.get("failed") or [], dtype=bool)
        groups = [str(g) for g in documents.get("groups") or []]
        if groups != list(GROUP_NAMES):
            raise DocumentError(f"documents.groups: expected {len(GROUP_NAMES)} groups in this order: "
                                f"{', '.join(GROUP_NAMES)}")
        if counts.shape != (len(ids), len(groups), 3) or failed.shape != (len(ids),):
            raise DocumentError(f"documents: counts must be (documents, groups, 3) = ({len(ids)}, {len(groups)}, 3) "
                                f"and failed one flag per document; got {counts.shape} and {failed.shape}")
        if not ids or len(set(ids)) != len(ids):
            raise DocumentError("documents.ids: one unique id per scored document (and at least one)")
        if not np.isfinite(counts).all() or (counts < 0).any():
            raise DocumentError("documents.counts: counts are finite and not negative")
        info, metrics = dict(payload.get("info") or {}), dict(payload.get("metrics") or {})
        if not info.get("gold_hash"):
            raise DocumentError("info.gold_hash: a run is compared only with runs on the same gold set")
        given = str(payload.get("id") or "")
        if given and not RUN_ID.fullmatch(given):
            raise DocumentError("id: a run id is 12 lowercase hexadecimal characters (or leave it out)")
        return cls(
            id=given or _content_id(info, hashlib.sha256(counts.tobytes() + "\n".join(ids).encode()).hexdigest()),
            name=str(payload.get("name") or info.get("prompt_id") or "run"), source=source, info=info,
            metrics=metrics, predictions=str(payload.get("predictions") or ""),
            scores=DocScores(ids, failed, counts, groups),
            gold_dir=_str(payload.get("gold_dir")), docs_dir=_str(payload.get("docs_dir")),
            finished_at=parse_time(payload.get("finished_at") or info.get("finished_at")),
        )


def record_of(
    evaluation: Evaluation, run: StoredRun, gold_set: GoldSet, *, name: str | None = None, source: str = "eval"
) -> RunRecord:
    """The record of a scored run (`score_run`'s or `tally_run`'s evaluation of `run`)."""
    predictions = predictions_path(run)
    info = {k: v for k, v in run.info.items() if k != "predictions_from"}
    info["gold_hash"] = evaluation.report["gold_hash"]
    metrics = {k: v for k, v in evaluation.report.items() if k not in ("documents", "run")}
    scores = DocScores(list(evaluation.ids), np.array(evaluation.failed, dtype=bool), evaluation.counts,
                       list(GROUP_NAMES))
    return RunRecord(
        id=_content_id(info, file_digest(predictions)),
        name=name or run.path.resolve().name, source=source, info=info, metrics=metrics,
        predictions=str(run.path.resolve()), scores=scores,
        gold_dir=str(gold_set.gold_dir.resolve()), docs_dir=str(gold_set.docs_dir.resolve()),
        finished_at=parse_time(info.get("finished_at")),
    )


def predictions_path(run: StoredRun) -> Path:
    """The predictions file of a run directory or file."""
    return run.path / PREDICTIONS if run.path.is_dir() else run.path


def file_digest(path: Path) -> str:
    """SHA-256 of a file, read a megabyte at a time."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _content_id(info: dict[str, Any], predictions_digest: str) -> str:
    key = "|".join(str(info.get(k) or "") for k in ("prompt_hash", "model", "schema_hash", "gold_hash"))
    return hashlib.sha256(f"{key}|{predictions_digest}".encode()).hexdigest()[:12]


def parse_time(value: Any) -> dt.datetime:
    """An ISO 8601 time (UTC when it has no zone), or now when there is none."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, str) and value:
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            return utcnow()
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    return utcnow()


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
