"""A watched article whose extraction failed is queued again, a few times, further and further apart."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import update

from extractor.core.documents import Document
from extractor.monitor.retry import MAX_TRIES, RETRY_AFTER_S, requeue_failed
from extractor.store import ExtractionKey, Store
from extractor.store import jobs as queue
from extractor.store.documents import ensure_document, save_extraction
from extractor.store.models import FAILED, JobItemRow, utcnow
from extractor.store.monitor import ItemRow, SourceRow


def _fail_all(store: Store, when: dt.datetime) -> None:
    with store.write() as session:
        session.execute(update(JobItemRow).values(status=FAILED, finished_at=when))


def test_failed_extractions_of_watched_articles_are_tried_again(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'retry.db'}")
    with store.write() as session:
        source = SourceRow(name="s", url="http://127.0.0.1/feed", kind="feed", every_s=60, failures=0, items_seen=0)
        session.add(source)
        session.flush()
        for doc in ("watched", "extracted", "elsewhere"):
            ensure_document(session, Document(id=doc, text=f"text of {doc}"))
        for doc in ("watched", "extracted"):
            session.add(ItemRow(source_id=source.id, url=f"http://127.0.0.1/{doc}", url_hash=doc, versions=1,
                                document_id=doc, text_sha256="x"))
        save_extraction(session, "extracted", ExtractionKey("p", "h", "m", "s"), {"article_id": "extracted"})
        queue.create_job(session, [queue.NewItem(d, document_id=d) for d in ("watched", "extracted", "elsewhere")],
                         prompt="sanctions@v3", model="m", api_key_id=None)
    start = utcnow()
    _fail_all(store, start)

    def retry(after_s: float) -> list[str]:
        with store.write() as session:
            job = requeue_failed(session, prompt="sanctions@v3", model="m",
                                 now=start + dt.timedelta(seconds=after_s))
            return [] if job is None else [line.document_id or "" for line in session.query(JobItemRow)
                                           .filter(JobItemRow.job_id == job)]

    assert retry(RETRY_AFTER_S / 2) == []  # not yet
    # Only the watched article without an extraction; the other job's document is not the monitor's.
    assert retry(RETRY_AFTER_S) == ["watched"]
    assert retry(RETRY_AFTER_S * 10) == []  # queued: not twice
    for attempt in range(2, MAX_TRIES):
        _fail_all(store, start)
        assert retry(RETRY_AFTER_S * 2 ** (attempt - 1) - 1) == []  # further apart each time
        assert retry(RETRY_AFTER_S * 2 ** (attempt - 1)) == ["watched"]
    _fail_all(store, start)
    assert retry(RETRY_AFTER_S * 1000) == []  # MAX_TRIES failures: given up
    store.close()
