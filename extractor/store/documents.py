"""Documents and their extractions in the store: deduplication, the filter index, queries, deletion."""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz, process, utils
from sqlalchemy import Select, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from extractor.core.documents import Document
from extractor.core.errors import ExtractorError

from .issuers import issuer_columns, issuer_condition
from .models import ActionRow, DocumentRow, ExtractionRow, ReviewRow, TargetRow

MAX_FUZZY_MATCHES = 500


class DocumentConflict(ExtractorError):
    """A document id is already stored with a different text."""


@dataclass(frozen=True)
class ExtractionKey:
    """What makes two extractions of one document interchangeable."""

    prompt_id: str
    prompt_hash: str
    model: str
    schema_hash: str


@dataclass(frozen=True)
class DocumentFilter:
    """Filters of `GET /v1/documents`; conditions on actions hold for one and the same action."""

    target: str | None = None
    min_score: float = 85.0
    authority: str | None = None
    # A registry id ("us-ofac", "us-treasury" also finds OFAC's actions) or a printed name ("OFAC").
    issuer: str | None = None
    measure: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None


def text_sha256(text: str) -> str:
    """The SHA-256 of a document's text (UTF-8), hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def ensure_document(session: Session, document: Document) -> DocumentRow:
    """The stored row for `document`, created on first sight; a different text under its id is a conflict."""
    digest = text_sha256(document.text)
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
            except DocumentConflict as exc:
                problems.append(str(exc))
    return problems


def _conflict(document_id: str) -> str:
    return f"document {document_id!r} is stored with a different text: delete it first or post it under another id"


def as_document(row: DocumentRow) -> Document:
    """The library `Document` for a stored row."""
    return Document(id=row.id, text=row.text, **(row.doc_meta or {}))


def find_extraction(session: Session, document_id: str, key: ExtractionKey) -> ExtractionRow | None:
    """The stored extraction of this document under `key`, if any."""
    return session.scalar(
        select(ExtractionRow).where(
            ExtractionRow.document_id == document_id,
            ExtractionRow.prompt_hash == key.prompt_hash,
            ExtractionRow.model == key.model,
            ExtractionRow.schema_hash == key.schema_hash,
        )
    )


def save_extraction(session: Session, document_id: str, key: ExtractionKey, line: dict[str, Any]) -> ExtractionRow:
    """Store a result line (`result_line()` output) once; a concurrent duplicate returns the first one."""
    existing = find_extraction(session, document_id, key)
    if existing is not None:
        return existing
    result = {k: v for k, v in line.items() if k != "meta"}
    row = ExtractionRow(
        document_id=document_id, prompt_id=key.prompt_id, prompt_hash=key.prompt_hash, model=key.model,
        schema_hash=key.schema_hash, result=result, meta=public_meta(line.get("meta")),
    )
    row.actions = _index(document_id, result)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        existing = find_extraction(session, document_id, key)
        if existing is None:
            raise
        return existing
    return row


# Run metadata that stays inside the server: where the model runs, and the cache's key.
INTERNAL_META = ("endpoint", "cache_key")


def public_meta(meta: dict[str, Any] | None) -> dict[str, Any]:
    """`meta` without the internal fields (`INTERNAL_META`)."""
    return {k: v for k, v in (meta or {}).items() if k not in INTERNAL_META}


def extraction_line(row: ExtractionRow) -> dict[str, Any]:
    """The stored extraction as a result line: the `ArticleExtraction` fields plus `meta` (internal fields left out)."""
    return {**row.result, "meta": public_meta(row.meta)}


def _index(document_id: str, result: dict[str, Any]) -> list[ActionRow]:
    actions = []
    for position, action in enumerate(result.get("actions") or []):
        start, end = date_range(action.get("date"))
        row = ActionRow(
            document_id=document_id, position=position, authority=action.get("authority", ""),
            action=action.get("action", ""), measures="," + "".join(f"{m}," for m in action.get("measures") or []),
            date_from=start, date_to=end, **issuer_columns(action),
        )
        row.targets = [
            TargetRow(document_id=document_id, name=t["name"][:500], entity_type=t.get("entity_type", "other"))
            for t in action.get("targets") or []
        ]
        actions.append(row)
    return actions


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


def fuzzy_names(session: Session, query: str, min_score: float) -> list[str]:
    """Stored target names that match `query` (rapidfuzz WRatio, case and punctuation folded)."""
    names = session.scalars(select(TargetRow.name).distinct()).all()
    matches = process.extract(
        query, names, scorer=fuzz.WRatio, processor=utils.default_process, score_cutoff=min_score,
        limit=MAX_FUZZY_MATCHES,
    )
    return [name for name, _score, _index in matches]


def _filtered(session: Session, filters: DocumentFilter) -> Select[DocumentRow] | None:
    query = select(DocumentRow)
    conditions: list[Any] = []
    if filters.authority:
        conditions.append(ActionRow.authority == filters.authority.lower())
    if filters.issuer:
        conditions.append(issuer_condition(filters.issuer, filters.authority))
    if filters.measure:
        conditions.append(ActionRow.measures.like(f"%,{filters.measure},%"))
    if filters.since:
        conditions.append(ActionRow.date_to >= filters.since)
    if filters.until:
        conditions.append(ActionRow.date_from <= filters.until)
    if filters.target:
        names = fuzzy_names(session, filters.target, filters.min_score)
        if not names:
            return None
        conditions.append(ActionRow.id.in_(select(TargetRow.action_id).where(TargetRow.name.in_(names))))
    if conditions:
        query = query.where(DocumentRow.id.in_(select(ActionRow.document_id).where(*conditions)))
    return query


def list_documents(
    session: Session, filters: DocumentFilter, *, limit: int, offset: int
) -> tuple[Sequence[DocumentRow], int]:
    """One page of documents matching `filters` (newest first) and the number matching in all."""
    query = _filtered(session, filters)
    if query is None:
        return [], 0
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.options(selectinload(DocumentRow.extractions))
        .order_by(DocumentRow.first_seen.desc(), DocumentRow.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return rows, total


def get_document(session: Session, document_id: str) -> DocumentRow | None:
    """A document with its extractions loaded, or None."""
    return session.scalar(
        select(DocumentRow).where(DocumentRow.id == document_id).options(selectinload(DocumentRow.extractions))
    )


def delete_document(session: Session, document_id: str) -> int | None:
    """Delete a document and its extractions; the number of extractions deleted, or None if unknown."""
    if session.get(DocumentRow, document_id) is None:
        return None
    count = session.scalar(select(func.count()).where(ExtractionRow.document_id == document_id)) or 0
    # Explicit deletes, child tables first, so this does not depend on the database enforcing cascades.
    for table in (ReviewRow, TargetRow, ActionRow, ExtractionRow):
        session.execute(delete(table).where(table.document_id == document_id))
    session.execute(delete(DocumentRow).where(DocumentRow.id == document_id))
    return count
