"""Job input: a JSON list (or `{"documents": [...]}`) or JSONL, checked line by line.

A bad entry does not sink the job: it is reported and stored as a failed item, and the
other documents are extracted. JSONL is split on "\n" only (a JSON string may hold U+2028
and the like raw), and a line nested too deeply to parse is one rejected line.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from extractor.core.documents import Document, safe_label
from extractor.core.errors import DocumentError
from extractor.store.documents import check_document_id

from .errors import ApiError


@dataclass(frozen=True)
class Rejected:
    """An input entry that is not a usable document, and why."""

    line: int
    article_id: str
    message: str


Entry = Document | Rejected


def content_id(text: str) -> str:
    """The id of a document posted without one: derived from its text, so re-posting finds it."""
    return "doc-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def to_document(record: Any, line: int, max_text_chars: int) -> Entry:
    """One entry as a `Document`, or a `Rejected` naming its line and the problem."""
    where = f"line {line}"
    if not isinstance(record, dict):
        return Rejected(line, f"line-{line}", f"{where}: expected an object with 'text', got {type(record).__name__}")
    raw_id = record.get("id")
    # The label names the entry in reports and failed items: storable even when the id is not.
    article_id = safe_label(str(raw_id))[:200] if raw_id not in (None, "") else f"line-{line}"
    text = record.get("text")
    if not isinstance(text, str):
        return Rejected(line, article_id, f"{where} (id {article_id}): 'text' is missing or not a string")
    if len(text) > max_text_chars:
        return Rejected(line, article_id, f"{where} (id {article_id}): text is {len(text):,} characters; "
                        f"the limit is {max_text_chars:,}")
    fields = {k: record.get(k) for k in ("title", "published", "url", "publisher") if record.get(k) is not None}
    try:
        document_id = str(raw_id) if raw_id not in (None, "") else content_id(text)
        document = Document(id=document_id, text=text, **fields)
        check_document_id(document.id)
        return document
    except (ValidationError, ValueError, TypeError, DocumentError) as exc:
        return Rejected(line, article_id, f"{where} (id {article_id}): {_reason(exc)}")


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        return f"{loc}: {msg}" if loc else msg
    return str(exc)


def from_jsonl(raw: bytes, max_text_chars: int) -> list[Entry]:
    """Entries of a JSONL body; a line that is not UTF-8 or not valid JSON is rejected, the others kept."""
    entries: list[Entry] = []
    raw = raw.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte-order mark
    for number, data in enumerate(raw.split(b"\n"), start=1):
        if not data.strip():
            continue
        try:
            record = json.loads(data.decode("utf-8"))
        except UnicodeDecodeError as exc:
            entries.append(Rejected(number, f"line-{number}", f"line {number}: not UTF-8 (invalid byte at offset "
                                    f"{exc.start} of the line)"))
            continue
        except json.JSONDecodeError as exc:
            entries.append(Rejected(number, f"line-{number}", f"line {number}: invalid JSON ({exc.msg})"))
            continue
        except RecursionError:
            entries.append(Rejected(number, f"line-{number}", f"line {number}: invalid JSON (nested too deeply)"))
            continue
        entries.append(to_document(record, number, max_text_chars))
    return entries


def from_json(raw: bytes, max_text_chars: int) -> tuple[list[Entry], str | None, str | None]:
    """Entries of a JSON body (a list, or an object with `documents`, `prompt`, `model`)."""
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ApiError(400, "invalid_json", "the request body is not valid JSON") from None
    except RecursionError:
        raise ApiError(400, "invalid_json", "the request body is nested too deeply to read") from None
    prompt = model = None
    if isinstance(body, dict):
        prompt, model = body.get("prompt"), body.get("model")
        for name, value in (("prompt", prompt), ("model", model)):
            if value is not None and not isinstance(value, str):
                raise ApiError(422, "invalid_request", f"{name} must be a string")
        body = body.get("documents")
    if not isinstance(body, list):
        raise ApiError(422, "invalid_request", "expected a JSON list of documents or an object with 'documents'")
    return [to_document(record, n, max_text_chars) for n, record in enumerate(body, start=1)], prompt, model
