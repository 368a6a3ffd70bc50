"""Result files: one JSON object per line, the `ArticleExtraction` fields plus a `meta` object.

A failed document is written as a failure line (`article_id`, `error`, `meta`), so a run
records everything it attempted and can be resumed, and a scorer can count the failure.

Crash safety: each line is written whole and flushed; a line torn by a crash (cut short,
not JSON, not an object) is never read as a result: readers skip it and count it, and
`repair_tail` removes a torn last line before anything is appended, so its document is
simply done again.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError

from extractor.core.errors import BackendError, ConfigError, DocumentError, ExtractionFailed
from extractor.core.lines import MAX_DOCUMENT_BYTES, SKIP_CHUNK
from extractor.core.schema import ArticleExtraction

# A result line holds a document's answer and its metadata (grounding spans included): far
# less than the document itself, but allow for more. A longer line is torn, never held.
MAX_RESULT_LINE_BYTES = 4 * MAX_DOCUMENT_BYTES


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
    """The JSON-ready line for a document that failed.

    An unreadable input names its document by the id the reader gave it, never by a
    fragment of the message.
    """
    if isinstance(error, DocumentError) and error.article_id:
        article_id = error.article_id
    if isinstance(error, ExtractionFailed):
        record = error.to_dict()
        meta = {**(meta or {}), "usage": error.usage, "attempts": error.attempts,
                "transport_retries": error.transport_retries}
    else:
        record = {"type": type(error).__name__, "message": str(error)}
        if isinstance(error, BackendError):  # the requests made before giving up
            meta = {**(meta or {}), "attempts": error.attempts, "transport_retries": error.transport_retries}
    return {"article_id": article_id, "error": record, "meta": meta or {}}


def write_line(stream: IO[str], line: dict[str, Any]) -> None:
    """Append one line and flush, so a crash loses nothing already done.

    The line is written as one string, checked to encode first: a value that UTF-8 cannot hold
    (a lone surrogate) is written as a JSON escape instead of failing halfway through the line.
    """
    text = json.dumps(line, ensure_ascii=False) + "\n"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(line) + "\n"
    stream.write(text)
    stream.flush()


@dataclass
class ResultFile:
    """What a result file holds: its results and failures in file order, and its torn lines."""

    items: list[ArticleExtraction | Failure]
    torn: list[int]  # line numbers of lines that are not whole JSON objects


def read_results(path: Path) -> ResultFile:
    """Every result and failure line of `path`; torn lines are skipped and their numbers kept."""
    torn: list[int] = []
    return ResultFile(list(_records(path, torn)), torn)


def iter_results(path: Path) -> Iterator[ArticleExtraction | Failure]:
    """Results and failures in a JSONL result file, in file order, one at a time (torn lines skipped)."""
    return _records(path, [])


def _open(path: Path) -> IO[bytes]:
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise DocumentError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DocumentError(f"{path}: is a directory, not a result file (.jsonl)") from None
    except OSError as exc:
        raise DocumentError(f"{path}: cannot read ({exc.strerror})") from None
    if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
        handle.close()
        raise DocumentError(f"{path}: not a regular file (a device, pipe or socket), so not a result file")
    return handle


def _objects(path: Path) -> Iterator[tuple[int, dict[str, Any] | None]]:
    """Numbered JSON objects of a result file, None for a torn line; lines split on "\n" and bounded in length."""
    with _open(path) as handle:
        number = 0
        while raw := handle.readline(MAX_RESULT_LINE_BYTES + 1):
            number += 1
            if len(raw) > MAX_RESULT_LINE_BYTES and not raw.endswith(b"\n"):
                while (more := handle.readline(SKIP_CHUNK)) and not more.endswith(b"\n"):
                    pass
                yield number, None
                continue
            if not raw.strip():
                continue
            try:
                record = json.loads(raw.decode("utf-8", errors="replace"))
            except (json.JSONDecodeError, RecursionError):
                record = None
            yield number, record if isinstance(record, dict) else None


def _records(path: Path, torn: list[int]) -> Iterator[ArticleExtraction | Failure]:
    for number, record in _objects(path):
        if record is None:
            torn.append(number)
            continue
        yield parse_record(record, number)


def _result_records(path: Path) -> Iterator[dict[str, Any]]:
    """The result lines (not failures, not torn lines) of `path`, as decoded objects; nothing when there is no file."""
    if not path.is_file():
        return
    for _number, record in _objects(path):
        if record is not None and "error" not in record:
            yield record


def latest(items: list[ArticleExtraction | Failure]) -> dict[str, ArticleExtraction | Failure]:
    """One item per document id: the last result, else the last failure.

    A failure line never hides a result of the same id (a refused duplicate, say).
    """
    chosen: dict[str, ArticleExtraction | Failure] = {}
    for item in items:
        if isinstance(item, Failure) and isinstance(chosen.get(item.article_id), ArticleExtraction):
            continue
        chosen[item.article_id] = item
    return chosen


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
    """The latest line per document id in a result file (a re-run's result wins)."""
    return latest(read_results(path).items)


def done_ids(path: Path) -> set[str]:
    """Ids already extracted successfully in `path` (for resuming a run; a torn line's document runs again)."""
    return {str(record["article_id"]) for record in _result_records(path) if "article_id" in record}


def setups(path: Path) -> set[tuple[str, str]]:
    """The (prompt hash, model) pairs of the result lines in `path`."""
    found = set()
    for record in _result_records(path):
        meta = record.get("meta")
        if isinstance(meta, dict) and meta.get("prompt_hash") and meta.get("model"):
            found.add((str(meta["prompt_hash"]), str(meta["model"])))
    return found


def looks_like_results(path: Path) -> bool:
    """False when `path` holds something other than result lines (it starts with no JSON object, or is binary).

    A file cut short by a crash still starts with `{`; anything else must not be appended to,
    and its "torn last line" must never be cut off.
    """
    if not path.is_file():
        return True
    with path.open("rb") as handle:
        head = handle.read(8192)
    return not head.strip() or (head.lstrip().startswith(b"{") and b"\x00" not in head)


def check_resumable(path: Path, *, prompt_id: str, prompt_hash: str, model: str, flag: str = "--out") -> None:
    """Refuse to resume into `path` when its results came from another prompt or model.

    Resuming skips documents by id; results of another prompt or model would be kept as if
    they were this run's, so the run would silently mix two setups.
    """
    other = sorted(s for s in setups(path) if s != (prompt_hash, model))
    if other:
        theirs = ", ".join(f"prompt hash {h} with model {m}" for h, m in other[:3])
        raise ConfigError(
            f"{path} holds results of another setup ({theirs}); this run uses {prompt_id} (hash {prompt_hash}) with "
            f"model {model}: use another {flag}, or the same --prompt and --model to resume"
        )


def repair_tail(path: Path) -> None:
    """Drop a final line left incomplete by a crash, so appends start on a clean line.

    The file is truncated in place (never rewritten), so a crash during the repair itself
    cannot lose the lines before it.
    """
    if not path.is_file() or path.stat().st_size == 0:
        return
    if not looks_like_results(path):
        raise ConfigError(f"{path} does not hold result lines (it does not start with a JSON object): "
                          "nothing is appended to it or cut from it; choose another output file")
    with path.open("rb") as handle:
        size = handle.seek(0, 2)
        position = size
        while position > 0:  # look back for the last newline, a block at a time
            step = min(65536, position)
            handle.seek(position - step)
            block = handle.read(step)
            if position == size and block.endswith(b"\n"):
                return
            newline = block.rfind(b"\n")
            if newline >= 0:
                cut = position - step + newline + 1
                break
            position -= step
        else:
            cut = 0
    os.truncate(path, cut)
