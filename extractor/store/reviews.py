"""Reviews in the store: drafts, approvals that become the current extraction, and what reviewers corrected.

A review belongs to one model extraction (`ReviewRow`, the analyst's draft). Approving it
stores the reviewed answer as an extraction of its own (`origin = "review"`, one per
document, updated by a later approval) and makes that the document's current extraction,
marked as reviewed; the model's extraction stays as it was, for the diff and for eval. A
draft saved after an approval does not change what is served until it is approved.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from extractor.core.grounding.align import ground
from extractor.core.schema import ArticleExtraction

from .documents import get_document, index_rows, make_current
from .models import MODEL, REVIEW, DocumentRow, ExtractionRow, ReviewRow, utcnow
from .review_diff import diff_answers

UNREVIEWED, IN_REVIEW, APPROVED = "unreviewed", "in_review", "approved"
REVIEW_STATES = (UNREVIEWED, IN_REVIEW, APPROVED)


def document_with_extractions(session: Session, document_id: str) -> DocumentRow | None:
    """A document with its extractions loaded (for the review page)."""
    return get_document(session, document_id)


def _by_id(document: DocumentRow, extraction_id: int | None) -> ExtractionRow | None:
    return next((e for e in document.extractions if e.id == extraction_id), None)


def current_extraction(document: DocumentRow) -> ExtractionRow | None:
    """The extraction the document serves (its extractions loaded)."""
    return _by_id(document, document.current_extraction_id)


def review_base(document: DocumentRow) -> ExtractionRow | None:
    """The model extraction a review edits: the one the current review corrected, else the current one."""
    current = current_extraction(document)
    if current is not None and current.origin == REVIEW:
        return _by_id(document, current.based_on_id) or current
    if current is None:  # a document stored before extractions had a current one
        models = [e for e in document.extractions if e.origin == MODEL]
        return models[-1] if models else None
    return current


def newer_model_extractions(document: DocumentRow, base: ExtractionRow) -> list[ExtractionRow]:
    """Model extractions stored after `base` (later runs that the approved review stays current over)."""
    return [e for e in document.extractions if e.origin == MODEL and e.id > base.id]


def get_review(session: Session, extraction_id: int) -> ReviewRow | None:
    """The review of an extraction, if one was started."""
    return session.scalar(select(ReviewRow).where(ReviewRow.extraction_id == extraction_id))


def save_review(session: Session, document: DocumentRow, extraction: ExtractionRow, *, reviewer: str,
                result: dict[str, Any], notes: str | None, spans: dict[str, Any], approve: bool) -> ReviewRow:
    """Store a draft (`in_review`) or an approval of `extraction`'s review.

    An approval records the diff and the time and makes the reviewed answer the document's
    current extraction; a draft leaves the current extraction as it is.
    """
    review = get_review(session, extraction.id)
    if review is None:
        review = ReviewRow(extraction_id=extraction.id, document_id=extraction.document_id, reviewer=reviewer,
                           result=result, spans=spans, changes={})
        session.add(review)
    now = utcnow()
    review.reviewer, review.result, review.notes, review.spans, review.updated_at = reviewer, result, notes, spans, now
    model = {k: v for k, v in extraction.result.items() if k != "meta"}
    review.changes = {"changes": diff_answers(model, result)}
    if approve:
        review.status, review.approved_at = APPROVED, now
    else:
        review.status = IN_REVIEW  # an approved answer stays current until this draft is approved
    extraction.review_status = review.status
    session.flush()
    if approve:
        _make_reviewed_current(session, document, extraction, review)
    return review


def _make_reviewed_current(session: Session, document: DocumentRow, base: ExtractionRow, review: ReviewRow) -> int:
    """Store the approved answer as the document's reviewed extraction and make it current; its id."""
    result = {**review.result, "article_id": document.id}
    row = session.scalar(
        select(ExtractionRow).where(ExtractionRow.document_id == document.id, ExtractionRow.origin == REVIEW)
    )
    if row is None:
        row = ExtractionRow(document_id=document.id, origin=REVIEW, model="review", result={}, meta={})
        session.add(row)
    approved = review.approved_at or utcnow()
    row.prompt_id, row.prompt_hash, row.schema_hash = base.prompt_id, base.prompt_hash, base.schema_hash
    row.based_on_id, row.review_status, row.result = base.id, APPROVED, result
    row.created_at = approved
    row.meta = {
        "origin": REVIEW, "reviewed": True, "review_id": review.id, "reviewer": review.reviewer,
        "approved_at": approved.isoformat(timespec="seconds"), "based_on": base.id, "based_on_model": base.model,
        "prompt_id": base.prompt_id, "prompt_hash": base.prompt_hash, "schema_hash": base.schema_hash,
        "notes": review.notes, "changes": (review.changes or {}).get("changes", []),
        "grounding": ground(ArticleExtraction.model_validate(result), document.text).to_dict(),
    }
    row.actions = index_rows(document.id, result)  # a re-approval's index replaces the last one's
    session.flush()
    make_current(session, document.id, row.id, reviewed=True)
    document.current_extraction_id, document.current_reviewed = row.id, True
    return row.id


def _unpromoted_query() -> Any:
    has_reviewed = select(ExtractionRow.document_id).where(ExtractionRow.origin == REVIEW)
    return select(ReviewRow).where(ReviewRow.status == APPROVED, ReviewRow.document_id.not_in(has_reviewed))


def unpromoted(session: Session) -> bool:
    """True if an approved review has no reviewed extraction yet (approved before there were any)."""
    return session.scalar(_unpromoted_query().limit(1)) is not None


def promote_approved(session: Session) -> int:
    """Turn reviews approved before reviewed extractions existed into them; how many were promoted (idempotent)."""
    pending = session.scalars(_unpromoted_query().order_by(ReviewRow.document_id, ReviewRow.approved_at)).all()
    latest = {review.document_id: review for review in pending}  # the last approval of each document
    for review in latest.values():
        document = session.scalar(
            select(DocumentRow).where(DocumentRow.id == review.document_id)
            .options(selectinload(DocumentRow.extractions))
        )
        base = _by_id(document, review.extraction_id) if document is not None else None
        if document is not None and base is not None:
            _make_reviewed_current(session, document, base, review)
    return len(latest)


@dataclass(frozen=True)
class Approved:
    """An approved answer, as gold export and the correction statistics read it."""

    document_id: str
    result: dict[str, Any]
    reviewer: str
    approved_at: dt.datetime | None
    notes: str | None
    changes: list[dict[str, Any]]


def _approved(row: ExtractionRow) -> Approved:
    meta = row.meta or {}
    approved_at = dt.datetime.fromisoformat(meta["approved_at"]) if meta.get("approved_at") else None
    return Approved(row.document_id, row.result, str(meta.get("reviewer", "")), approved_at, meta.get("notes"),
                    list(meta.get("changes") or []))


def approved_reviews(session: Session) -> Iterator[tuple[Approved, DocumentRow]]:
    """Every document's approved answer with the document, in document-id order, read a few at a time."""
    query = (
        select(ExtractionRow, DocumentRow)
        .join(DocumentRow, DocumentRow.id == ExtractionRow.document_id)
        .where(ExtractionRow.origin == REVIEW)
        .order_by(ExtractionRow.document_id)
        .execution_options(yield_per=50)
    )
    for extraction, document in session.execute(query):
        yield _approved(extraction), document


@dataclass(frozen=True)
class FieldStats:
    """How often reviewers corrected one field."""

    field: str
    changes: int
    documents: int
    added: int
    removed: int
    changed: int


def correction_stats(session: Session) -> tuple[int, list[FieldStats]]:
    """The number of approved reviews and the fields they corrected, most corrected first."""
    counts: Counter[str] = Counter()
    by_op: dict[str, Counter[str]] = {}
    docs_per_field: dict[str, set[str]] = {}
    reviewed = 0
    rows = session.execute(
        select(ExtractionRow.document_id, ExtractionRow.meta).where(ExtractionRow.origin == REVIEW)
        .execution_options(yield_per=200)
    )
    for document_id, meta in rows:
        reviewed += 1
        for change in (meta or {}).get("changes") or []:
            field = change["field"]
            counts[field] += 1
            by_op.setdefault(field, Counter())[change["op"]] += 1
            docs_per_field.setdefault(field, set()).add(document_id)
    stats = [
        FieldStats(field, n, len(docs_per_field[field]), by_op[field]["added"], by_op[field]["removed"],
                   by_op[field]["changed"])
        for field, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    return reviewed, stats
