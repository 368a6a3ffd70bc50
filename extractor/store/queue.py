"""The review queue: documents with their current extraction's status, filtered, sorted and paged in SQL.

One page costs a count, a count per review state, the page's rows (columns only: no text,
no result) and the authorities of that page's extractions; moving to the previous or next
document costs two one-row queries. Nothing reads the whole queue.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import Session, aliased

from .listing import DocumentFilter, filter_conditions
from .models import ActionRow, DocumentRow, ExtractionRow, ReviewRow
from .reviews import APPROVED, IN_REVIEW, REVIEW_STATES, UNREVIEWED

PAGE_SIZE = 100
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
    reviewed: bool  # the current extraction is an approved review


@dataclass(frozen=True)
class QueuePage:
    """One page of the queue, with the number of documents matching and the count per review state."""

    items: list[QueueItem]
    total: int
    counts: dict[str, int]
    page: int
    pages: int


def _columns() -> dict[str, Any]:
    current = aliased(ExtractionRow, name="current")
    review = aliased(ReviewRow, name="review")
    # The review that matters is the one of the model extraction the current answer stands on.
    base_id = case((DocumentRow.current_reviewed.is_(True), current.based_on_id),
                   else_=DocumentRow.current_extraction_id)
    status = func.coalesce(review.status, case((DocumentRow.current_reviewed.is_(True), APPROVED), else_=UNREVIEWED))
    actions = (select(func.count(ActionRow.id)).where(ActionRow.extraction_id == DocumentRow.current_extraction_id)
               .correlate(DocumentRow).scalar_subquery())
    return {
        "current": current, "review": review, "base_id": base_id, "status": status, "actions": actions,
        "grounding": current.meta[("grounding", "rate")].as_float(),
        "title": DocumentRow.doc_meta["title"].as_string(),
        "published": DocumentRow.doc_meta["published"].as_string(),
    }


def _joined(query: Any, c: dict[str, Any]) -> Any:
    return (query.select_from(DocumentRow)
            .outerjoin(c["current"], c["current"].id == DocumentRow.current_extraction_id)
            .outerjoin(c["review"], c["review"].extraction_id == c["base_id"]))


def _order(sort: str, c: dict[str, Any], descending: bool) -> list[Any]:
    rank = case((c["status"] == UNREVIEWED, 0), (c["status"] == IN_REVIEW, 1), else_=2)
    key: ColumnElement[Any] = {
        "id": DocumentRow.id, "published": func.coalesce(c["published"], ""),
        "grounding": func.coalesce(c["grounding"], 2.0), "status": rank, "actions": c["actions"],
    }.get(sort, DocumentRow.first_seen)
    keys = [key, DocumentRow.id] if sort != "id" else [key]
    return [k.desc() for k in keys] if descending else [k.asc() for k in keys]


def review_queue(session: Session, filters: DocumentFilter, *, status: str | None = None, sort: str = "first_seen",
                 descending: bool = False, page: int = 1, page_size: int = PAGE_SIZE) -> QueuePage:
    """Documents to review with extraction, grounding and review status: one page, filtered and sorted in SQL.

    Filters on authority and dates are the `/v1/documents` ones (on current extractions);
    `status` keeps one review state.
    """
    conditions = filter_conditions(session, filters)
    if conditions is None:
        return QueuePage([], 0, dict.fromkeys(REVIEW_STATES, 0), 1, 1)
    c = _columns()
    counts = dict.fromkeys(REVIEW_STATES, 0)
    for state, n in session.execute(
        _joined(select(c["status"], func.count(DocumentRow.id)), c).where(*conditions).group_by(c["status"])
    ):
        counts[str(state)] = int(n)
    if status is not None:
        conditions = [*conditions, c["status"] == status]
    total = counts[status] if status is not None else sum(counts.values())
    pages = max(1, -(-total // page_size))
    page = min(max(page, 1), pages)
    rows = session.execute(
        _joined(select(DocumentRow.id, c["title"], c["published"], DocumentRow.first_seen,
                       DocumentRow.current_extraction_id, c["actions"], c["grounding"], c["status"],
                       c["review"].reviewer, DocumentRow.current_reviewed), c)
        .where(*conditions).order_by(*_order(sort, c, descending))
        .limit(page_size).offset((page - 1) * page_size)
    ).all()
    authorities = _authorities(session, [r[4] for r in rows if r[4] is not None])
    items = [
        QueueItem(id=r[0], title=r[1], published=r[2], first_seen=r[3], extraction_id=r[4], actions=int(r[5] or 0),
                  authorities=authorities.get(r[4], ()), grounding_rate=r[6], review_status=str(r[7]),
                  reviewer=r[8], reviewed=bool(r[9]))
        for r in rows
    ]
    return QueuePage(items, total, counts, page, pages)


def _authorities(session: Session, extraction_ids: list[int]) -> dict[int, tuple[str, ...]]:
    if not extraction_ids:
        return {}
    found: dict[int, set[str]] = {}
    for extraction_id, authority in session.execute(
        select(ActionRow.extraction_id, ActionRow.authority).where(ActionRow.extraction_id.in_(extraction_ids))
        .distinct()
    ):
        found.setdefault(extraction_id, set()).add(authority)
    return {k: tuple(sorted(v)) for k, v in found.items()}


def neighbours(session: Session, document_id: str) -> tuple[str | None, str | None]:
    """Previous and next documents in the queue's default order (first seen, then id): two one-row queries."""
    first_seen = session.scalar(select(DocumentRow.first_seen).where(DocumentRow.id == document_id))
    if first_seen is None:
        return None, None
    before = or_(DocumentRow.first_seen < first_seen,
                 and_(DocumentRow.first_seen == first_seen, DocumentRow.id < document_id))
    after = or_(DocumentRow.first_seen > first_seen,
                and_(DocumentRow.first_seen == first_seen, DocumentRow.id > document_id))
    previous = session.scalar(select(DocumentRow.id).where(before)
                              .order_by(DocumentRow.first_seen.desc(), DocumentRow.id.desc()).limit(1))
    following = session.scalar(select(DocumentRow.id).where(after)
                               .order_by(DocumentRow.first_seen, DocumentRow.id).limit(1))
    return previous, following
