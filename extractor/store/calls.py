"""The call log in the database: every model call of a run or of the service, for `extractor logs`.

`StoreCallLog` is the core's `CallLog` written to the store: `record` only queues the call
(it runs on the event loop), and one background thread writes the queue in batches, opening
the database on the first call (a run served from the cache never opens it). The log is
bounded twice: every string of a request or response is cut by the pipeline
(`core.calls.log.MAX_STRING`), and only the newest `max_rows` calls are kept.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from extractor.core.calls.log import CallRecord

from .db import Store
from .models import CallRow

log = logging.getLogger("extractor")
DEFAULT_MAX_ROWS = 10_000
_BATCH = 200
_QUEUE = 10_000
_STOP = object()


def call_row(call: CallRecord) -> CallRow:
    """The table row of one call."""
    return CallRow(
        started_at=call.started_at, run_id=call.run_id, article_id=(call.article_id or "")[:200] or None,
        prompt_id=call.prompt_id, model=call.model[:200], endpoint=call.endpoint[:300], mode=call.mode,
        step=(call.step or "")[:60] or None, status=call.status, error=call.error, finish_reason=call.finish_reason,
        prompt_tokens=call.prompt_tokens, completion_tokens=call.completion_tokens, latency_s=call.latency_s,
        request=call.request, response=call.response,
    )


class StoreCallLog:
    """A `CallLog` that writes to the store's database from one background thread."""

    def __init__(self, store: Store | str | None = None, *, max_rows: int = DEFAULT_MAX_ROWS) -> None:
        self._store = store if isinstance(store, Store) else None
        self._url = store if isinstance(store, str) else None
        self.max_rows = max_rows
        self.written = 0
        self.dropped = 0
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=_QUEUE)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def store(self) -> Store:
        """The store, opened (and migrated) on first use."""
        if self._store is None:
            self._store = Store(self._url)
        return self._store

    def record(self, call: CallRecord) -> None:
        """Queue one call for the writer; never blocks (a full queue drops the call and counts it)."""
        self._start()
        try:
            self._queue.put_nowait(call)
        except queue.Full:
            self.dropped += 1

    def _start(self) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._write, name="call-log", daemon=True)
                    self._thread.start()

    def _write(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < _BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stop = any(item is _STOP for item in batch)
            calls = [item for item in batch if item is not _STOP]
            if calls:
                try:
                    self._save(calls)
                except Exception as exc:  # the log is a record, never a reason for a run to fail
                    self.dropped += len(calls)
                    log.warning("model calls not logged: %s: %s", type(exc).__name__, str(exc).splitlines()[0])
            if stop:
                return

    def _save(self, calls: list[CallRecord]) -> None:
        with self.store.write() as session:
            session.add_all(call_row(call) for call in calls)
            session.flush()
            self.written += len(calls)
            newest = session.scalar(select(func.max(CallRow.id))) or 0
            if newest > self.max_rows:
                session.execute(delete(CallRow).where(CallRow.id <= newest - self.max_rows))

    def close(self, timeout: float = 30.0) -> None:
        """Write what is queued and stop the writer (bounded by `timeout` seconds)."""
        if self._thread is None:
            return
        self._queue.put(_STOP)
        self._thread.join(timeout)
        self._thread = None


def list_calls(
    session: Session, *, article_id: str | None = None, failed: bool = False, run_id: str | None = None,
    limit: int = 20,
) -> Sequence[CallRow]:
    """The newest calls first, optionally of one document, only failed ones (any status but ok), or of one run."""
    query = select(CallRow)
    if article_id is not None:
        query = query.where(CallRow.article_id == article_id)
    if failed:
        query = query.where(CallRow.status != "ok")
    if run_id is not None:
        query = query.where(CallRow.run_id == run_id)
    return session.scalars(query.order_by(CallRow.id.desc()).limit(limit)).all()


def call_dict(row: CallRow) -> dict[str, Any]:
    """A call as JSON: when, what, the request and raw response, tokens and latency."""
    return {
        "id": row.id, "started_at": row.started_at.isoformat(timespec="seconds") if row.started_at else None,
        "run_id": row.run_id, "article_id": row.article_id, "prompt_id": row.prompt_id, "model": row.model,
        "endpoint": row.endpoint, "mode": row.mode, "step": row.step, "status": row.status, "error": row.error,
        "finish_reason": row.finish_reason,
        "usage": {"prompt_tokens": row.prompt_tokens, "completion_tokens": row.completion_tokens},
        "latency_s": row.latency_s, "request": row.request, "response": row.response,
    }
