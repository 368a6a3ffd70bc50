"""How long a job submission keeps SQLite's write lock from everyone else.

Stores a job of N documents (default 10,000) the way `POST /v1/jobs` does, in batches
of `SUBMIT_BATCH` documents per transaction, and, for comparison, in one transaction,
while another thread keeps making one small write at a time (as a review save or a job
worker's claim would). Prints the submission time and the longest time that other writer
waited for the lock. Run: `.venv/bin/python benchmarks/job_submit.py [--documents 10000]`.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _one_transaction(store: Any, entries: list[Any], key_id: int) -> None:
    """The submission as it was before batching: every document and item in one transaction."""
    from extractor.store import jobs as queue
    from extractor.store.documents import ensure_document

    with store.write() as session:
        items = []
        for entry in entries:
            ensure_document(session, entry)
            items.append(queue.NewItem(entry.id, document_id=entry.id))
        queue.create_job(session, items, prompt="sanctions@v3", model="m", api_key_id=key_id)


def _batched(store: Any, entries: list[Any], key_id: int) -> None:
    from extractor.service.routes.jobs import _store_job

    _store_job(store, entries, "sanctions@v3", "m", key_id)


def measure(submit: Callable[[Any, list[Any], int], None], documents: int) -> tuple[float, float]:
    """(submission seconds, longest wait of a concurrent small writer)."""
    from extractor.core.documents import Document
    from extractor.store import Store
    from extractor.store.keys import add_key

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'service.db'}")
        with store.write() as session:
            key = add_key(session, name="bench", prefix="sx_", key_hash="0" * 64, rate_limit=10)
        entries = [Document(id=f"d{n}", text=f"Document {n}: the authorities sanctioned firm {n}.")
                   for n in range(documents)]
        waits: list[float] = []
        stop = threading.Event()

        def other_writer() -> None:
            from extractor.store.keys import revoke_key

            while not stop.is_set():
                started = time.perf_counter()
                with store.write() as session:
                    revoke_key(session, "bench")  # a tiny write that needs the lock
                waits.append(time.perf_counter() - started)
                time.sleep(0.01)

        thread = threading.Thread(target=other_writer)
        started = time.perf_counter()
        thread.start()
        submit(store, entries, key.id)
        elapsed = time.perf_counter() - started
        stop.set()
        thread.join()
        store.close()
        return elapsed, max(waits, default=0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--documents", type=int, default=10_000)
    args = parser.parse_args()
    rows = [("one transaction", *measure(_one_transaction, args.documents)),
            ("batches (POST /v1/jobs)", *measure(_batched, args.documents))]
    print(f"| {args.documents:,} documents | submit s | longest wait of another writer, s |")
    print("| --- | --- | --- |")
    for name, elapsed, wait in rows:
        print(f"| {name} | {elapsed:.2f} | {wait:.2f} |")
    print(f"longest wait, one transaction / batches: {rows[0][2] / max(rows[1][2], 1e-6):.0f}x")


if __name__ == "__main__":
    main()
