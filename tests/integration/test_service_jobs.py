"""Jobs that survive a crash: kill -9 mid-job, restart, every document exactly once; atomic claims."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest

from extractor.core.documents import Document
from extractor.store import Store
from extractor.store import jobs as queue
from extractor.store.documents import ensure_document
from extractor.store.models import JobItemRow
from extractor.testing.service import Service, article, fake_model, make_key, results, wait_job
from tests.support.postgres import database_url

DATABASES = ["sqlite", "postgresql"]


def _db(kind: str, tmp_path: Path) -> str:
    try:
        return database_url(kind, tmp_path)
    except LookupError as reason:
        pytest.skip(f"PostgreSQL unavailable: {reason}")


@pytest.mark.parametrize("kind", DATABASES)
def test_job_survives_kill_9(kind: str, tmp_path: Path) -> None:
    db_url = _db(kind, tmp_path)
    key = make_key(db_url, "restart")
    workers, total = 8, 60
    with fake_model(delay=0.25) as fake:
        first = Service(db_url, fake.base_url, tmp_path, workers=workers, lease=1.0).start()
        try:
            with httpx.Client(base_url=first.url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as api:
                docs = [article(f"rs-{n:02d}", target=f"Restart Target {n}") for n in range(total)]
                job_id = api.post("/v1/jobs", json=docs).json()["id"]
                deadline = time.monotonic() + 30
                while api.get(f"/v1/jobs/{job_id}").json()["done"] < 12 and time.monotonic() < deadline:
                    time.sleep(0.05)
                first.kill()  # mid-job: items are running, none of them finished cleanly
        finally:
            first.kill()
        before = _counts(db_url, job_id)
        assert 12 <= before["done"] < total and before["running"] > 0, before

        second = Service(db_url, fake.base_url, tmp_path, workers=workers, lease=1.0).start()
        try:
            with httpx.Client(base_url=second.url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as api:
                status = wait_job(api, job_id, timeout=60)
                lines = results(api, job_id)
        finally:
            second.stop()
    assert (status["done"], status["failed"]) == (total, 0), status
    ids = [line["article_id"] for line in lines]
    assert ids == [d["id"] for d in docs]  # each document exactly once, in order
    assert all("error" not in line for line in lines)
    # Only the items cut off by the kill were asked twice: at most one per worker.
    asked = len(fake.chat_requests())
    assert total <= asked <= total + workers, asked


def _counts(db_url: str, job_id: str) -> dict[str, int]:
    store = Store(db_url)
    with store.read() as session:
        counts = queue.job_counts(session, job_id)
    store.close()
    return counts


@pytest.mark.parametrize("kind", DATABASES)
def test_concurrent_claims_take_each_item_once(kind: str, tmp_path: Path) -> None:
    store = Store(_db(kind, tmp_path))
    with store.write() as session:
        ensure_document(session, Document(id="d", text="text"))
        job_id = queue.create_job(session, [queue.NewItem(f"i{n}", "d") for n in range(120)], prompt="p",
                                  model="m", api_key_id=None)
    claimed: list[int] = []
    lock = threading.Lock()

    def claimer(name: str) -> None:
        while True:
            with store.write() as session:
                claim = queue.claim(session, name)
            if claim is None:
                return
            with store.write() as session:
                assert queue.finish_done(session, claim.item_id, name, extraction_id=None)  # type: ignore[arg-type]
            with lock:
                claimed.append(claim.item_id)

    threads = [threading.Thread(target=claimer, args=(f"w{n}",)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(claimed) == 120 and len(set(claimed)) == 120
    with store.read() as session:
        assert queue.job_counts(session, job_id)["done"] == 120
    store.close()


def test_stale_items_are_requeued_then_abandoned(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'q.db'}")
    with store.write() as session:
        ensure_document(session, Document(id="d", text="text"))
        queue.create_job(session, [queue.NewItem("only", "d")], prompt="p", model="m", api_key_id=None)
    for attempt in range(1, 4):
        with store.write() as session:
            claim = queue.claim(session, f"dead-{attempt}")
            assert claim is not None
        time.sleep(0.05)
        with store.write() as session:
            assert queue.requeue_stale(session, lease=0.01, max_attempts=3) == ((1, 0) if attempt < 3 else (0, 1))
        with store.write() as session:  # the dead server's late answer does not count
            assert not queue.finish_done(session, claim.item_id, f"dead-{attempt}", extraction_id=1)
    with store.read() as session:
        item = session.get(JobItemRow, claim.item_id)
        assert item is not None and item.status == "failed" and item.error is not None
        assert item.error["error"]["type"] == "Abandoned"
    store.close()
