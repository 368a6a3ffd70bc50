"""Listing documents: the filters of `GET /v1/documents` and the review queue, on current extractions, paged in SQL.

A listing reads only the columns it shows (never a document's text or an extraction's
result), counts in SQL and fetches one page, so its memory does not grow with the size or
number of the documents stored.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz, process, utils
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from .issuers import issuer_condition
from .models import ActionRow, DocumentRow, ExtractionRow, TargetRow

MAX_FUZZY_MATCHES = 500


@dataclass(frozen=True)
class DocumentFilter:
    """Filters of `GET /v1/documents`; conditions on actions hold for one action of the current extraction."""

    target: str | None = None
    min_score: float = 85.0
    authority: str | None = None
    # A registry id ("us-ofac", "us-treasury" also finds OFAC's actions) or a printed name ("OFAC").
    issuer: str | None = None
    measure: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None


@dataclass(frozen=True)
class DocumentListing:
    """One document in a listing: what the list shows, without the text."""

    id: str
    sha256: str
    metadata: dict[str, Any]
    first_seen: dt.datetime
    extractions: int
    current_extraction_id: int | None
    reviewed: bool


def fuzzy_names(session: Session, query: str, min_score: float) -> list[str]:
    """Target names of current extractions that match `query` (rapidfuzz WRatio, case and punctuation folded)."""
    names = session.scalars(
        select(TargetRow.name).distinct()
        .join(ActionRow, ActionRow.id == TargetRow.action_id)
        .join(DocumentRow, DocumentRow.current_extraction_id == ActionRow.extraction_id)
    ).all()
    matches = process.extract(
        query, names, scorer=fuzz.WRatio, processor=utils.default_process, score_cutoff=min_score,
        limit=MAX_FUZZY_MATCHES,
    )
    return [name for name, _score, _index in matches]


def filter_conditions(session: Session, filters: DocumentFilter) -> list[ColumnElement[bool]] | None:
    """WHERE conditions on `DocumentRow` for `filters`; None when nothing can match (no target name does)."""
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
    if not conditions:
        return []
    # Only the current extraction's actions count: an approved review replaces what the model said.
    matching = (
        select(ActionRow.document_id)
        .join(DocumentRow, DocumentRow.current_extraction_id == ActionRow.extraction_id)
        .where(*conditions)
    )
    return [DocumentRow.id.in_(matching)]


def list_documents(
    session: Session, filters: DocumentFilter, *, limit: int, offset: int
) -> tuple[list[DocumentListing], int]:
    """One page of documents matching `filters` (newest first) and the number matching in all."""
    conditions = filter_conditions(session, filters)
    if conditions is None:
        return [], 0
    total = session.scalar(select(func.count(DocumentRow.id)).where(*conditions)) or 0
    count = (
        select(func.count(ExtractionRow.id)).where(ExtractionRow.document_id == DocumentRow.id)
        .correlate(DocumentRow).scalar_subquery()
    )
    rows = session.execute(
        select(DocumentRow.id, DocumentRow.sha256, DocumentRow.doc_meta, DocumentRow.first_seen,
               DocumentRow.current_extraction_id, DocumentRow.current_reviewed, count)
        .where(*conditions)
        .order_by(DocumentRow.first_seen.desc(), DocumentRow.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return [DocumentListing(r[0], r[1], r[2] or {}, r[3], int(r[6] or 0), r[4], bool(r[5])) for r in rows], total
