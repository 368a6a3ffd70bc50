"""Jobs in the store: submission, atomic claims under a lease, completion, recovery and results.

A worker claims one queued item with a single UPDATE ... RETURNING (with FOR UPDATE SKIP
LOCKED on PostgreSQL, so concurrent claimers never block on or take the same row). While
it works it renews the item's heartbeat; an item whose heartbeat is older than the lease
belonged to a server that died, and goes back to the queue. Finishing is conditional on
still holding the claim, so an item is recorded done exactly once even if a stalled worker
wakes up after its lease was taken over.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from .documents import extraction_line, public_meta
from .models import DONE, FAILED, ITEM_STATES, QUEUED, RUNNING, DocumentRow, ExtractionRow, JobItemRow, JobRow, utcnow

RESULTS_PAGE = 200
# Documents stored per transaction when a job is submitted: a 10,000-document job never holds
# SQLite's single write lock for more than one batch at a time.
SUBMIT_BATCH = 250


@dataclass(frozen=True)
class NewItem:
    """One entry of a job as submitted: a stored document, or a line that was rejected."""

    article_id: str
    document_id: str | None = None
    failure: dict[str, Any] | None = None


@dataclass(frozen=True)
class Claim:
    """An item a worker holds: what to extract, and with which prompt and model."""

    item_id: int
    job_id: str
    article_id: str
    document_id: str | None
    prompt: str
    model: str


def create_job(
    session: Session, items: list[NewItem], *, prompt: str, model: str, api_key_id: int | None,
    total: int | None = None,
) -> str:
    """Store a job and its items (rejected lines are stored as failed items); returns the job id.

    `total` larger than `len(items)` announces items that `add_items` stores later, batch by batch.
    """
    job_id = uuid.uuid4().hex
    session.add(JobRow(id=job_id, prompt=prompt, model=model, api_key_id=api_key_id,
                       total=len(items) if total is None else total))
    session.flush()
    add_items(session, job_id, items, start=0)
    return job_id


def add_items(session: Session, job_id: str, items: list[NewItem], *, start: int) -> None:
    """Store items of a job at positions `start`, `start + 1`, ..."""
    now = utcnow()
    session.add_all(
        JobItemRow(
            job_id=job_id, position=position, article_id=item.article_id[:200], document_id=item.document_id,
            status=FAILED if item.failure else QUEUED, error=item.failure, finished_at=now if item.failure else None,
        )
        for position, item in enumerate(items, start=start)
    )


def delete_job(session: Session, job_id: str) -> None:
    """Remove a job and its items (a submission that failed half-way)."""
    session.execute(delete(JobItemRow).where(JobItemRow.job_id == job_id))
    session.execute(delete(JobRow).where(JobRow.id == job_id))


def claim(session: Session, worker: str) -> Claim | None:
    """Atomically take the oldest queued item for `worker`, or None when the queue is empty."""
    oldest = (
        select(JobItemRow.id)
        .where(JobItemRow.status == QUEUED)
        .order_by(JobItemRow.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    statement = (
        update(JobItemRow)
        .where(JobItemRow.id == oldest, JobItemRow.status == QUEUED)
        .values(status=RUNNING, claimed_by=worker, heartbeat_at=utcnow(), attempts=JobItemRow.attempts + 1)
        .returning(JobItemRow.id)
        .execution_options(synchronize_session=False)
    )
    item_id = session.execute(statement).scalar()
    if item_id is None:
        return None
    row = session.execute(
        select(JobItemRow, JobRow).join(JobRow, JobRow.id == JobItemRow.job_id).where(JobItemRow.id == item_id)
    ).one()
    item, job = row
    return Claim(item.id, job.id, item.article_id, item.document_id, job.prompt, job.model)


def _finish(session: Session, item_id: int, worker: str, **values: Any) -> bool:
    statement = (
        update(JobItemRow)
        .where(JobItemRow.id == item_id, JobItemRow.status == RUNNING, JobItemRow.claimed_by == worker)
        .values(finished_at=utcnow(), claimed_by=None, **values)
        .execution_options(synchronize_session=False)
    )
    return bool(session.execute(statement).rowcount)  # type: ignore[attr-defined]


def finish_done(session: Session, item_id: int, worker: str, extraction_id: int) -> bool:
    """Mark a claimed item done; False if the claim was lost meanwhile (then nothing changes)."""
    return _finish(session, item_id, worker, status=DONE, extraction_id=extraction_id, error=None)


def finish_failed(session: Session, item_id: int, worker: str, failure: dict[str, Any]) -> bool:
    """Mark a claimed item failed with its failure line; False if the claim was lost meanwhile."""
    return _finish(session, item_id, worker, status=FAILED, error=failure)


def heartbeat(session: Session, worker: str) -> int:
    """Renew the lease on every item `worker` holds; the number renewed."""
    statement = (
        update(JobItemRow)
        .where(JobItemRow.status == RUNNING, JobItemRow.claimed_by == worker)
        .values(heartbeat_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(session.execute(statement).rowcount)  # type: ignore[attr-defined]


def requeue_stale(session: Session, lease: float, max_attempts: int) -> tuple[int, int]:
    """Items whose lease ran out go back to the queue, or fail after `max_attempts` claims.

    Returns (requeued, given up). An item that keeps killing its server (a document that
    crashes the model, say) thus stops being retried.
    """
    cutoff = utcnow() - dt.timedelta(seconds=lease)
    stale = session.execute(
        select(JobItemRow.id, JobItemRow.article_id, JobItemRow.attempts)
        .where(JobItemRow.status == RUNNING, JobItemRow.heartbeat_at < cutoff)
        .with_for_update(skip_locked=True)
    ).all()
    requeue = [item_id for item_id, _, attempts in stale if attempts < max_attempts]
    for item_id, article_id, attempts in stale:
        if attempts >= max_attempts:
            session.execute(
                update(JobItemRow).where(JobItemRow.id == item_id, JobItemRow.status == RUNNING)
                .values(status=FAILED, claimed_by=None, finished_at=utcnow(),
                        error=abandoned_line(article_id, attempts))
                .execution_options(synchronize_session=False)
            )
    if requeue:
        session.execute(
            update(JobItemRow).where(JobItemRow.id.in_(requeue), JobItemRow.status == RUNNING)
            .values(status=QUEUED, claimed_by=None)
            .execution_options(synchronize_session=False)
        )
    return len(requeue), len(stale) - len(requeue)


def abandoned_line(article_id: str, attempts: int) -> dict[str, Any]:
    """The failure line of an item whose server died under it `attempts` times."""
    message = f"{article_id}: abandoned after {attempts} attempts (the server stopped while extracting it each time)"
    return {"article_id": article_id, "error": {"type": "Abandoned", "message": message}, "meta": {}}


def release(session: Session, worker: str) -> int:
    """Put every item `worker` holds back in the queue (on an orderly shutdown)."""
    statement = (
        update(JobItemRow)
        .where(JobItemRow.status == RUNNING, JobItemRow.claimed_by == worker)
        .values(status=QUEUED, claimed_by=None, attempts=JobItemRow.attempts - 1)
        .execution_options(synchronize_session=False)
    )
    return int(session.execute(statement).rowcount)  # type: ignore[attr-defined]


def get_job(session: Session, job_id: str) -> JobRow | None:
    """A job row, or None."""
    return session.get(JobRow, job_id)


def job_counts(session: Session, job_id: str) -> dict[str, int]:
    """How many items of a job are queued, running, done and failed."""
    counts = dict.fromkeys(ITEM_STATES, 0)
    rows = session.execute(
        select(JobItemRow.status, func.count()).where(JobItemRow.job_id == job_id).group_by(JobItemRow.status)
    ).all()
    for status, count in rows:
        counts[status] = int(count)
    return counts


def claim_document(session: Session, claim_: Claim) -> DocumentRow | None:
    """The document a claimed item points at (None if it was deleted meanwhile)."""
    return session.get(DocumentRow, claim_.document_id) if claim_.document_id else None


def result_lines(session: Session, job_id: str) -> Iterator[dict[str, Any]]:
    """Result and failure lines of a job's finished items, in submission order, read page by page."""
    after = -1
    while True:
        rows = session.execute(
            select(JobItemRow, ExtractionRow)
            .outerjoin(ExtractionRow, ExtractionRow.id == JobItemRow.extraction_id)
            .where(JobItemRow.job_id == job_id, JobItemRow.status.in_((DONE, FAILED)), JobItemRow.position > after)
            .order_by(JobItemRow.position)
            .limit(RESULTS_PAGE)
        ).all()
        if not rows:
            return
        for item, extraction in rows:
            after = item.position
            if item.status == FAILED and item.error:
                error = {k: v for k, v in (item.error.get("error") or {}).items() if k != "endpoint"}
                yield {**item.error, "error": error, "meta": public_meta(item.error.get("meta"))}
            elif item.status == FAILED:
                yield {"article_id": item.article_id, "error": {"type": "Unknown", "message": ""}, "meta": {}}
            elif extraction is not None:
                yield extraction_line(extraction)
            else:
                message = f"{item.article_id}: the document was deleted after it was extracted"
                yield {"article_id": item.article_id, "error": {"type": "Deleted", "message": message}, "meta": {}}
        session.expire_all()
