"""Result files: one JSON object per line, the `ArticleExtraction` fields plus a `meta` object.

A failed document is written as a failure line (`article_id`, `error`, `meta`), so a run
records everything it attempted and can be resumed, and a scorer can count the failure.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError

from extractor.core.errors import DocumentError, ExtractionFailed, ExtractorError
from extractor.core.schema import ArticleExtraction


@dataclass(frozen=True)
class Failure:
    """A document whose extraction failed, as read back from a result file."""

    article_id: str
    error: dict[str, Any]
    meta: dict[str, Any]


def result_line(result: ArticleExtraction) -> dict[str, Any]:
    """The JSON-ready line for a successful result."""
    line = result.model_dump(mode="json")
    meta = result.meta
    line["meta"] = meta.model_dump(mode="json") if meta is not None else {}
    return line


def failure_line(article_id: str, error: BaseException, meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON-ready line for a document that failed."""
    if isinstance(error, ExtractionFailed):
        record = error.to_dict()
        meta = {**(meta or {}), "usage": error.usage, "attempts": error.attempts}
    else:
        record = {"type": type(error).__name__, "message": str(error)}
    return {"article_id": article_id, "error": record, "meta": meta or {}}


def write_line(stream: IO[str], line: dict[str, Any]) -> None:
    """Append one line and flush, so a crash loses nothing already done."""
    stream.write(json.dumps(line, ensure_ascii=False) + "\n")
    stream.flush()


def iter_results(path: Path) -> Iterator[ArticleExtraction | Failure]:
    """Results and failures in a JSONL result file, in file order."""
    try:
        handle = path.open(encoding="utf-8")
    except FileNotFoundError:
        raise DocumentError(f"{path}: no such file") from None
    with handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
            except json.JSONDecodeError as exc:
                # A line cut by a crash is only possible at the end; anywhere else it is corruption.
                raise ExtractorError(f"{path}:{number}: invalid JSON ({exc.msg})") from None
            yield parse_record(record, number)


def parse_record(record: dict[str, Any], number: int) -> ArticleExtraction | Failure:
    """One decoded line of a result file: a result, or a failure (also for a line that does not validate)."""
    record = dict(record)
    meta = record.pop("meta", {}) or {}
    if "error" in record:
        return Failure(str(record.get("article_id", f"line-{number}")), record["error"], meta)
    try:
        result = ArticleExtraction.model_validate(record)
    except ValidationError as exc:
        article_id = str(record.get("article_id", f"line-{number}"))
        reason = f"does not validate: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}"
        return Failure(article_id, {"type": "ValidationError", "message": reason}, meta)
    result._meta = meta
    return result


def load_results(path: Path) -> dict[str, ArticleExtraction | Failure]:
    """The last line per document id in a result file (a re-run's line wins)."""
    return {item.article_id: item for item in iter_results(path)}


def done_ids(path: Path) -> set[str]:
    """Ids already extracted successfully in `path` (for resuming a run)."""
    if not path.exists():
        return set()
    done = set()
    with path.open(encoding="utf-8") as handle:
        for raw in handle:
            try:
                record = json.loads(raw)
            except json.JSONDecodeError:
                continue  # a line cut short by a crash: that document runs again
            if isinstance(record, dict) and "error" not in record and "article_id" in record:
                done.add(str(record["article_id"]))
    return done


def repair_tail(path: Path) -> None:
    """Drop a final line left incomplete by a crash, so appends start on a clean line."""
    if not path.exists() or path.stat().st_size == 0:
        return
    data = path.read_bytes()
    if data.endswith(b"\n"):
        return
    cut = data.rfind(b"\n") + 1
    path.write_bytes(data[:cut])
