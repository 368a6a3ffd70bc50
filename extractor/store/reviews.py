"""Reviews in the store: the review queue, drafts, approvals and what reviewers corrected."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from . import documents as docs
from .models import DocumentRow, ExtractionRow, ReviewRow, utcnow
from .review_diff import diff_answers

UNREVIEWED, IN_REVIEW, APPROVED = "unreviewed", "in_review", "approved"
REVIEW_STATES = (UNREVIEWED, IN_REVIEW, APPROVED)
QUEUE_LIMIT = 5000  # documents a queue page sorts and filters over
SORT_KEYS = ("first_seen", "id", "published", "grounding", "status", "actions")


@dataclass(frozen=True)
class QueueItem:
    """One row of the review queue."""

    id: str
    title: str | None
    published: str | None
    first_seen: dt.datetime
    extraction_id: int | None
    actions: int
    authorities: tuple[str, ...]
    grounding_rate: float | None
    review_status: str
    reviewer: str | None


def latest_extraction(row: DocumentRow) -> ExtractionRow | None:
    """The extraction a review applies to: the newest one of the document."""
    return row.extractions[-1] if row.extractions else None


def _reviews_by_extraction(session: Session, ids: list[int]) -> dict[int, ReviewRow]:
    if not ids:
        return {}
    rows = session.scalars(select(ReviewRow).where(ReviewRow.extraction_id.in_(ids))).all()
    return {r.extraction_id: r for r in rows}


def _item(row: DocumentRow, extraction: ExtractionRow | None, review: ReviewRow | None) -> QueueItem:
    result = extraction.result if extraction else {}
    grounding = (extraction.meta or {}).get("grounding") if extraction else None
    actions = result.get("actions") or []
    return QueueItem(
        id=row.id, title=(row.doc_meta or {}).get("title"), published=(row.doc_meta or {}).get("published"),
        first_seen=row.first_seen, extraction_id=extraction.id if extraction else None, actions=len(actions),
        authorities=tuple(sorted({str(a.get("authority", "")) for a in actions})),
        grounding_rate=grounding.get("rate") if isinstance(grounding, dict) else None,
        review_status=review.status if review else UNREVIEWED, reviewer=review.reviewer if review else None,
    )


def _sort_key(sort: str) -> Any:
    if sort == "id":
        return lambda i: i.id
    if sort == "published":
        return lambda i: (i.published or "", i.id)
    if sort == "grounding":
        return lambda i: (i.grounding_rate if i.grounding_rate is not None else 2.0, i.id)
    if sort == "status":
        return lambda i: (REVIEW_STATES.index(i.review_status), i.id)
    if sort == "actions":
        return lambda i: (i.actions, i.id)
    return lambda i: (i.first_seen, i.id)


def review_queue(session: Session, filters: docs.DocumentFilter, *, status: str | None = None,
                 sort: str = "first_seen", descending: bool = False) -> list[QueueItem]:
    """Documents to review with extraction, grounding and review status, filtered and sorted.

    Filters on authority and dates are the `/v1/documents` ones; `status` keeps one review state.
    """
    rows, _total = docs.list_documents(session, filters, limit=QUEUE_LIMIT, offset=0)
    latest = {row.id: latest_extraction(row) for row in rows}
    reviews = _reviews_by_extraction(session, [e.id for e in latest.values() if e is not None])
    items = []
    for row in rows:
        extraction = latest[row.id]
        item = _item(row, extraction, reviews.get(extraction.id) if extraction else None)
        if status is None or item.review_status == status:
            items.append(item)
    return sorted(items, key=_sort_key(sort), reverse=descending)


def get_review(session: Session, extraction_id: int) -> ReviewRow | None:
    """The review of an extraction, if one was started."""
    return session.scalar(select(ReviewRow).where(ReviewRow.extraction_id == extraction_id))


def save_review(session: Session, extraction: ExtractionRow, *, reviewer: str, result: dict[str, Any],
                notes: str | None, spans: dict[str, Any], approve: bool) -> ReviewRow:
    """Store a draft (`in_review`) or an approval of `extraction`; approval records the diff and time."""
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
    elif review.status != APPROVED:
        review.status = IN_REVIEW
    extraction.review_status = review.status
    session.flush()
    return review


def approved_reviews(session: Session) -> Iterator[tuple[ReviewRow, DocumentRow]]:
    """Every approved review with its document, in document-id order."""
    query = (
        select(ReviewRow, DocumentRow)
        .join(DocumentRow, DocumentRow.id == ReviewRow.document_id)
        .where(ReviewRow.status == APPROVED)
        .order_by(ReviewRow.document_id, ReviewRow.id)
    )
    for row in session.execute(query):
        yield row.tuple()


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
    for review, _document in approved_reviews(session):
        reviewed += 1
        for change in (review.changes or {}).get("changes", []):
            field = change["field"]
            counts[field] += 1
            by_op.setdefault(field, Counter())[change["op"]] += 1
            docs_per_field.setdefault(field, set()).add(review.document_id)
    stats = [
        FieldStats(field, n, len(docs_per_field[field]), by_op[field]["added"], by_op[field]["removed"],
                   by_op[field]["changed"])
        for field, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    return reviewed, stats


def document_with_extractions(session: Session, document_id: str) -> DocumentRow | None:
    """A document with its extractions loaded (for the review page)."""
    return session.scalar(
        select(DocumentRow).where(DocumentRow.id == document_id).options(selectinload(DocumentRow.extractions))
    )
