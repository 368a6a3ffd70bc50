"""Watched articles whose extraction failed are queued again, a few times, further and further apart.

An article is known by its URL and text: once its document exists, the poller never queues it
again. If its job item then failed (the model was down longer than the transport retries last,
or the server died under it too often), the article would never be extracted. `requeue_failed`
finds such documents (no extraction, nothing queued or running, fewer than `MAX_TRIES` failed
attempts, the last one `RETRY_AFTER_S` · 2^(failures - 1) ago) and puts them in one new job.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from extractor.store import jobs as queue
from extractor.store.models import FAILED, QUEUED, RUNNING, ExtractionRow, JobItemRow, utcnow
from extractor.store.monitor import ItemRow

MAX_TRIES = 3
RETRY_AFTER_S = 600.0
BATCH = 200


def requeue_failed(session: Session, *, prompt: str, model: str, now: dt.datetime | None = None) -> str | None:
    """Queue the watched documents whose extraction failed and is due another try; the new job's id."""
    now = now or utcnow()
    failed = (
        select(JobItemRow.document_id.label("document_id"), func.count().label("tries"),
               func.max(JobItemRow.finished_at).label("last"))
        .where(JobItemRow.status == FAILED, JobItemRow.document_id.in_(
            select(ItemRow.document_id).where(ItemRow.document_id.is_not(None))))
        .group_by(JobItemRow.document_id)
        .subquery()
    )
    busy = select(JobItemRow.id).where(JobItemRow.document_id == failed.c.document_id,
                                       JobItemRow.status.in_((QUEUED, RUNNING))).exists()
    done = select(ExtractionRow.id).where(ExtractionRow.document_id == failed.c.document_id).exists()
    rows = session.execute(
        select(failed.c.document_id, failed.c.tries, failed.c.last)
        .where(failed.c.tries < MAX_TRIES, ~busy, ~done).order_by(failed.c.last).limit(BATCH)
    ).all()
    due = [document_id for document_id, tries, last in rows
           if last is None or _aware(last) + dt.timedelta(seconds=RETRY_AFTER_S * 2 ** (tries - 1)) <= now]
    if not due:
        return None
    return queue.create_job(session, [queue.NewItem(d, document_id=d) for d in due], prompt=prompt, model=model,
                            api_key_id=None)


def _aware(value: dt.datetime) -> dt.datetime:
    """SQLite gives naive datetimes back from an aggregate: they are UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
