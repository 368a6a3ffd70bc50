"""Submitting a big job stores it in batches: SQLite's one write lock is never held for the whole job."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event, func, select

from extractor.core.documents import Document
from extractor.service.intake import Rejected
from extractor.service.routes.jobs import _store_job
from extractor.store import Store
from extractor.store import jobs as queue
from extractor.store.keys import add_key
from extractor.store.models import DocumentRow, JobItemRow


def test_a_big_job_commits_in_batches_and_keeps_every_item(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'service.db'}")
    with store.write() as session:
        key = add_key(session, name="k", prefix="sx_", key_hash="0" * 64, rate_limit=10)
    count = 3 * queue.SUBMIT_BATCH + 7
    entries: list[Document | Rejected] = [Document(id=f"d{n}", text=f"Document {n}.") for n in range(count)]
    entries[5] = Rejected(6, "line-6", "line 6: invalid JSON")
    inserted: list[int] = []  # documents inserted by each transaction
    pending: list[int] = [0]

    @event.listens_for(store.engine, "commit")
    def _commit(_conn: object) -> None:
        inserted.append(pending[0])
        pending[0] = 0

    @event.listens_for(DocumentRow, "after_insert")
    def _insert(*_args: object) -> None:
        pending[0] += 1

    job_id, rejected = _store_job(store, entries, "sanctions@v3", "m", key.id)
    assert [r.line for r in rejected] == [6]
    assert sum(inserted) == count - 1
    assert max(inserted) <= queue.SUBMIT_BATCH and len([n for n in inserted if n]) >= 4
    with store.read() as session:
        positions = session.scalars(select(JobItemRow.position).where(JobItemRow.job_id == job_id)).all()
        assert sorted(positions) == list(range(count))
        assert queue.get_job(session, job_id).total == count  # type: ignore[union-attr]
        assert session.scalar(select(func.count()).select_from(DocumentRow)) == count - 1
    store.close()
