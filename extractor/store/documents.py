"""Documents and their extractions in the store: ids, deduplication, the current extraction, the filter index, deletion.

Every document points at its current extraction (see `models`): a new model extraction
becomes current unless an approved review is, and the switch is one conditional UPDATE of
the document row, so a job finishing while an analyst approves can never put the model's
answer back over the approved one.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from extractor.core.documents import Document, safe_label
from extractor.core.errors import DocumentError, ExtractorError

from .issuers import issuer_columns
from .models import MODEL, ActionRow, DocumentRow, ExtractionRow, ReviewRow, TargetRow

MAX_ID_CHARS = 200
# `/v1/documents/{id}/ftm` and `/matches` are the document's sub-resources: an id ending so
# would be read as one of them.
RESERVED_ID_ENDINGS = ("/ftm", "/matches")


class DocumentConflict(ExtractorError):
    """A document id is already stored with a different text."""


class DocumentGone(ExtractorError):
    """The document was deleted while it was being worked on (a job item, say): nothing is stored for it."""


@dataclass(frozen=True)
class ExtractionKey:
    """What makes two extractions of one document interchangeable."""

    prompt_id: str
    prompt_hash: str
    model: str
    schema_hash: str


def text_sha256(text: str) -> str:
    """The SHA-256 of a document's text (UTF-8), hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def can_exist(document_id: str) -> bool:
    """False for an id no stored document can have (a NUL or a lone surrogate): look-ups answer "not found" at once.

    PostgreSQL refuses a NUL in a query parameter outright, so such ids never reach the database.
    """
    return bool(document_id) and safe_label(document_id) == document_id


def check_document_id(document_id: str) -> None:
    """Raise `DocumentError` for an id the service could store but never address.

    Ids may hold `/` (the CLI makes `a/x` for files `a/x.txt` and `b/x.txt`; send it as
    `a%2Fx` or `a/x`), but `.` and `..` are dot segments that browsers and proxies remove
    from a URL, and `…/ftm` or `…/matches` would be read as another document's sub-resource.
    """
    label = safe_label(document_id)
    if not document_id.strip():
        raise DocumentError("the id is empty or whitespace only", article_id=label)
    if len(document_id) > MAX_ID_CHARS:
        raise DocumentError(f"id {label[:40]!r}...: longer than {MAX_ID_CHARS} characters", article_id=label[:200])
    if document_id in (".", ".."):
        raise DocumentError(f"id {document_id!r} cannot be used: URLs drop '.' and '..' segments, so the document "
                            "could never be read, reviewed or deleted", article_id=label)
    if document_id.endswith(RESERVED_ID_ENDINGS):
        raise DocumentError(f"id {label!r} cannot be used: it ends like the /ftm or /matches view of another "
                            "document", article_id=label)


def ensure_document(session: Session, document: Document, *, create: bool = True) -> DocumentRow:
    """The stored row for `document`, created on first sight; a different text under its id is a conflict.

    With `create=False` (a job worker storing its result) a missing document is `DocumentGone`:
    it was deleted while it was extracted, and must not come back. The row is then locked
    against deletion (FOR SHARE on PostgreSQL) until the transaction ends.
    """
    check_document_id(document.id)
    digest = text_sha256(document.text)
    if not create:
        row = session.get(DocumentRow, document.id, with_for_update={"read": True})
        if row is None:
            raise DocumentGone(f"{document.id}: the document was deleted while it was extracted; its result is "
                               "not stored")
    else:
        row = session.get(DocumentRow, document.id)
    if row is None:
        row = DocumentRow(id=document.id, sha256=digest, text=document.text, doc_meta=document.metadata())
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:  # stored meanwhile by a concurrent request
            row = session.get(DocumentRow, document.id, populate_existing=True)
            if row is None:
                raise
    if row.sha256 != digest:
        raise DocumentConflict(_conflict(document.id))
    return row


def ensure_documents(session: Session, documents: list[Document]) -> list[str | None]:
    """`ensure_document` for many at once, with one query and one insert: per document, None or its conflict.

    Short enough to hold SQLite's write lock for milliseconds per batch. If another request
    stored one of them meanwhile, it falls back to the one-by-one path.
    """
    digests = [text_sha256(d.text) for d in documents]
    rows = session.execute(
        select(DocumentRow.id, DocumentRow.sha256).where(DocumentRow.id.in_({d.id for d in documents}))
    ).all()
    known: dict[str, str] = {row_id: digest for row_id, digest in rows}
    new: list[DocumentRow] = []
    problems: list[str | None] = []
    for document, digest in zip(documents, digests, strict=True):
        try:
            check_document_id(document.id)
        except DocumentError as exc:
            problems.append(str(exc))
            continue
        if document.id not in known:
            known[document.id] = digest
            new.append(DocumentRow(id=document.id, sha256=digest, text=document.text, doc_meta=document.metadata()))
        problems.append(None if known[document.id] == digest else _conflict(document.id))
    try:
        with session.begin_nested():
            session.add_all(new)
    except IntegrityError:  # stored meanwhile by a concurrent request
        problems = []
        for document in documents:
            try:
                ensure_document(session, document)
                problems.append(None)
            except (DocumentConflict, DocumentError) as exc:
                problems.append(str(exc))
    return problems


def _conflict(document_id: str) -> str:
    return f"document {document_id!r} is stored with a different text: delete it first or post it under another id"


def as_document(row: DocumentRow) -> Document:
    """The library `Document` for a stored row."""
    return Document(id=row.id, text=row.text, **(row.doc_meta or {}))


def find_extraction(session: Session, document_id: str, key: ExtractionKey) -> ExtractionRow | None:
    """The stored model extraction of this document under `key`, if any."""
    return session.scalar(
        select(ExtractionRow).where(
            ExtractionRow.document_id == document_id,
            ExtractionRow.origin == MODEL,
            ExtractionRow.prompt_hash == key.prompt_hash,
            ExtractionRow.model == key.model,
            ExtractionRow.schema_hash == key.schema_hash,
        )
    )


def save_extraction(session: Session, document_id: str, key: ExtractionKey, line: dict[str, Any]) -> ExtractionRow:
    """Store a result line (`result_line()` output) once; a concurrent duplicate returns the first one.

    A new extraction becomes the document's current one unless an approved review is current.
    """
    existing = find_extraction(session, document_id, key)
    if existing is not None:
        return existing
    result = {k: v for k, v in line.items() if k != "meta"}
    row = ExtractionRow(
        document_id=document_id, prompt_id=key.prompt_id, prompt_hash=key.prompt_hash, model=key.model,
        schema_hash=key.schema_hash, result=result, meta=public_meta(line.get("meta")), origin=MODEL,
    )
    row.actions = index_rows(document_id, result)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        existing = find_extraction(session, document_id, key)
        if existing is None:
            raise
        return existing
    # Conditional on the row as it is when the UPDATE runs (PostgreSQL re-checks it after
    # waiting for a concurrent approval), so an approved review is never replaced.
    session.execute(
        update(DocumentRow)
        .where(DocumentRow.id == document_id, DocumentRow.current_reviewed.is_(False))
        .values(current_extraction_id=row.id)
        .execution_options(synchronize_session=False)
    )
    return row


# Run metadata that stays inside the server: where the model runs, and the cache's key.
INTERNAL_META = ("endpoint", "cache_key")


def public_meta(meta: dict[str, Any] | None) -> dict[str, Any]:
    """`meta` without the internal fields (`INTERNAL_META`)."""
    return {k: v for k, v in (meta or {}).items() if k not in INTERNAL_META}


def make_current(session: Session, document_id: str, extraction_id: int, *, reviewed: bool) -> None:
    """Point the document at `extraction_id` (an approved review sets `reviewed`, which model runs respect)."""
    session.execute(
        update(DocumentRow).where(DocumentRow.id == document_id)
        .values(current_extraction_id=extraction_id, current_reviewed=reviewed)
        .execution_options(synchronize_session=False)
    )


def current_state(session: Session, document_id: str) -> tuple[int | None, bool]:
    """(current extraction id, whether it is an approved review) of a document; (None, False) if unknown."""
    row = session.execute(
        select(DocumentRow.current_extraction_id, DocumentRow.current_reviewed).where(DocumentRow.id == document_id)
    ).first()
    return (row[0], bool(row[1])) if row is not None else (None, False)


def extraction_line(row: ExtractionRow) -> dict[str, Any]:
    """The stored extraction as a result line: the `ArticleExtraction` fields plus `meta` (internal fields left out)."""
    return {**row.result, "meta": public_meta(row.meta)}


def index_rows(document_id: str, result: dict[str, Any]) -> list[ActionRow]:
    """The filter index of one extraction's result: its actions and their targets.

    Values are made storable (a NUL or a lone surrogate from a model is written as an escape):
    the index is derived and only searched; the result itself is kept as it was.
    """
    actions = []
    for position, action in enumerate(result.get("actions") or []):
        start, end = date_range(action.get("date"))
        row = ActionRow(
            document_id=document_id, position=position, authority=safe_label(str(action.get("authority", "")))[:8],
            action=safe_label(str(action.get("action", "")))[:10],
            measures=("," + "".join(f"{safe_label(str(m))}," for m in action.get("measures") or []))[:400],
            date_from=start, date_to=end, **_storable(issuer_columns(action)),
        )
        row.targets = [
            TargetRow(document_id=document_id, name=safe_label(str(t["name"]))[:500],
                      entity_type=safe_label(str(t.get("entity_type", "other")))[:30])
            for t in action.get("targets") or []
        ]
        actions.append(row)
    return actions


def _storable(columns: dict[str, Any]) -> dict[str, Any]:
    """Index columns with their text made storable (as the other index values are)."""
    return {k: safe_label(v) if isinstance(v, str) else v for k, v in columns.items()}


def date_range(value: str | None) -> tuple[dt.date | None, dt.date | None]:
    """First and last day covered by an ISO date, month or year ("2024-03" → 1 and 31 March)."""
    if not value:
        return None, None
    parts = [int(p) for p in value.split("-")]
    if len(parts) == 3:
        day = dt.date(*parts)
        return day, day
    if len(parts) == 2:
        year, month = parts
        return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])
    return dt.date(parts[0], 1, 1), dt.date(parts[0], 12, 31)


def get_document(session: Session, document_id: str) -> DocumentRow | None:
    """A document with its extractions loaded, or None."""
    if not can_exist(document_id):
        return None
    return session.scalar(
        select(DocumentRow).where(DocumentRow.id == document_id).options(selectinload(DocumentRow.extractions))
    )


def delete_document(session: Session, document_id: str) -> int | None:
    """Delete a document and its extractions; the number of extractions deleted, or None if unknown."""
    if not can_exist(document_id) or session.get(DocumentRow, document_id) is None:
        return None
    count = session.scalar(select(func.count()).where(ExtractionRow.document_id == document_id)) or 0
    # Explicit deletes, child tables first, so this does not depend on the database enforcing cascades.
    for table in (ReviewRow, TargetRow, ActionRow, ExtractionRow):
        session.execute(delete(table).where(table.document_id == document_id))
    session.execute(delete(DocumentRow).where(DocumentRow.id == document_id))
    return count
