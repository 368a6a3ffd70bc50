"""Stored runs: a directory with `predictions.jsonl` and `run.json` (how it was produced).

A run directory is what `extractor eval` writes and what `extractor compare` reads; a bare
predictions file from `extractor extract --out` is accepted too, its setup read from the
`meta` of its lines.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from extractor.batch.results import Failure
from extractor.core.errors import DocumentError
from extractor.core.files import write_atomic
from extractor.core.schema import ArticleExtraction

from .predictions import PredictionFile

PREDICTIONS = "predictions.jsonl"
RUN_INFO = "run.json"


@dataclass
class StoredRun:
    """Predictions by article id, plus the run's setup and accounting."""

    path: Path
    info: dict[str, Any]
    predictions: Mapping[str, ArticleExtraction | Failure]
    """Read on demand (a `PredictionFile`) when loaded from disk."""
    torn: list[int] = field(default_factory=list)  # torn lines skipped in predictions.jsonl

    @property
    def label(self) -> str:
        """A short name for reports: prompt id and model."""
        return f"{self.info.get('prompt_id', '?')} · {self.info.get('model', '?')}"


def load_run(path: Path) -> StoredRun:
    """A run directory (with run.json) or a predictions JSONL file."""
    path = Path(path)
    if path.is_dir():
        predictions_path = path / PREDICTIONS
        if not predictions_path.exists():
            raise DocumentError(f"{path}: not a run directory (no {PREDICTIONS})")
        info = _read_info(path / RUN_INFO)
    else:
        predictions_path, info = path, {}
    predictions = PredictionFile(predictions_path)
    merged = {**predictions.setup(), **{k: v for k, v in info.items() if v is not None}}
    return StoredRun(path=path, info=merged, predictions=predictions, torn=predictions.torn)


def _read_info(info_path: Path) -> dict[str, Any]:
    """run.json, or {} when there is none; a malformed one is a clear error."""
    if not info_path.exists():
        return {}
    try:
        info = json.loads(info_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DocumentError(f"{info_path}: malformed run file ({exc}); delete it to rebuild it from the "
                            f"predictions") from None
    if not isinstance(info, dict):
        raise DocumentError(f"{info_path}: malformed run file (not a JSON object); delete it")
    return info


def slug(value: str) -> str:
    """A file-name-safe form of a prompt id, model name or path."""
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in value)


def write_info(directory: Path, info: dict[str, Any]) -> None:
    """Write run.json (atomically: a crash leaves the old file or the new one)."""
    write_atomic(directory / RUN_INFO, json.dumps(info, indent=2, ensure_ascii=False) + "\n")


def record_gold_hash(run: StoredRun, gold_hash: str) -> None:
    """Record the gold-set hash in the run (and its run.json) when it has none yet."""
    if run.info.get("gold_hash"):
        return
    run.info["gold_hash"] = gold_hash
    info_path = run.path / RUN_INFO
    if run.path.is_dir() and info_path.exists():
        write_info(run.path, {**_read_info(info_path), "gold_hash": gold_hash})
