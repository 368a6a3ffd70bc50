"""Background job workers: bounded concurrency, atomic claims, leases renewed while working.

`concurrency` asyncio tasks each claim one item at a time from the database, so several
server processes can share one queue. A keeper task renews this process's leases and
sends items whose lease ran out (their server died) back to the queue, so a job survives
a restart: an item left `running` is picked up again, and finishing is conditional on
holding the claim, so none is recorded twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Any

from extractor.core.documents import Document
from extractor.core.errors import DocumentError, ExtractorError
from extractor.store import Store
from extractor.store import jobs as queue
from extractor.store.documents import as_document

from .errors import ApiError, public_failure
from .extraction import extract_stored
from .registry import Registry

log = logging.getLogger("extractor.service.workers")


class JobWorkers:
    """The worker pool of one server process."""

    def __init__(
        self, store: Store, registry: Registry, *, concurrency: int, lease_s: float, poll_s: float,
        max_attempts: int,
    ) -> None:
        self.store = store
        self.registry = registry
        self.concurrency = concurrency
        self.lease_s = lease_s
        self.poll_s = poll_s
        self.max_attempts = max_attempts
        self.instance = uuid.uuid4().hex
        self._tasks: list[asyncio.Task[None]] = []
        self._wake = asyncio.Event()

    @property
    def running(self) -> bool:
        """True while the workers are up."""
        return bool(self._tasks) and not any(t.done() for t in self._tasks)

    async def start(self) -> None:
        """Start the workers and the lease keeper."""
        self._tasks = [asyncio.create_task(self._work(), name=f"job-worker-{n}") for n in range(self.concurrency)]
        self._tasks.append(asyncio.create_task(self._keep(), name="job-lease-keeper"))

    def notify(self) -> None:
        """Wake idle workers now (a job was submitted)."""
        self._wake.set()

    async def stop(self) -> None:
        """Stop the workers and hand their unfinished items back to the queue."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        with contextlib.suppress(Exception):
            released = await asyncio.to_thread(self._in_session, queue.release, self.instance)
            if released:
                log.info("released %d unfinished item(s) back to the queue", released)

    def _in_session(self, fn: Any, *args: Any) -> Any:
        with self.store.write() as session:
            return fn(session, *args)

    async def _idle(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=self.poll_s)
        self._wake.clear()

    async def _work(self) -> None:
        while True:
            try:
                claim = await asyncio.to_thread(self._in_session, _claim_with_document, self.instance)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("cannot claim a job item; retrying")
                await asyncio.sleep(self.poll_s)
                continue
            if claim is None:
                await self._idle()
                continue
            await self._process(*claim)

    async def _process(self, claim: queue.Claim, document: Document | None) -> None:
        try:
            extraction_id = await self._extract(claim, document)
        except asyncio.CancelledError:
            raise
        except ApiError as exc:  # e.g. the job's prompt file was removed since it was submitted
            done = await self._finish(queue.finish_failed, claim, _failure(claim.article_id, exc.code, exc.message))
        except ExtractorError as exc:
            done = await self._finish(queue.finish_failed, claim, public_failure(claim.article_id, exc))
        except Exception:
            log.exception("job %s item %s (%s) failed unexpectedly", claim.job_id, claim.item_id, claim.article_id)
            message = f"{claim.article_id}: internal error while extracting; the server log has the details"
            done = await self._finish(queue.finish_failed, claim, _failure(claim.article_id, "InternalError", message))
        else:
            done = extraction_id is None or await self._finish(queue.finish_done, claim, extraction_id)
        if not done:
            log.warning("job %s item %s: lease lost before it finished; its new holder records it",
                        claim.job_id, claim.item_id)

    async def _extract(self, claim: queue.Claim, document: Document | None) -> int | None:
        """Extract a claimed item; the extraction id if the item is still to be marked done, else None."""
        if document is None:
            raise DocumentError(f"{claim.article_id}: the document was deleted before it was extracted")
        entry = self.registry.resolve(claim.prompt, claim.model)
        recorded: list[bool] = []

        def record(session: Any, extraction_id: int) -> None:
            # Stored and marked done in one transaction: no window where one is kept without the other.
            recorded.append(queue.finish_done(session, claim.item_id, self.instance, extraction_id))
            if not recorded[-1]:
                log.warning("job %s item %s: lease lost before it finished; its new holder records it",
                            claim.job_id, claim.item_id)

        extracted = await extract_stored(self.store, entry, document, then=record)
        return None if recorded else extracted.extraction_id

    async def _finish(self, fn: Any, claim: queue.Claim, value: Any) -> bool:
        try:
            return bool(await asyncio.to_thread(self._in_session, fn, claim.item_id, self.instance, value))
        except Exception:
            # The item stays running; when its lease runs out it is queued again.
            log.exception("cannot record job item %s", claim.item_id)
            return False

    async def _keep(self) -> None:
        interval = max(self.lease_s / 3, 0.05)
        while True:
            try:
                await asyncio.to_thread(self._in_session, queue.heartbeat, self.instance)
                requeued, abandoned = await asyncio.to_thread(
                    self._in_session, queue.requeue_stale, self.lease_s, self.max_attempts
                )
                if requeued or abandoned:
                    log.info("recovered %d item(s) from a stopped server; %d given up", requeued, abandoned)
                    self.notify()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("lease keeper: database error; retrying")
            await asyncio.sleep(interval)


def _claim_with_document(session: Any, worker: str) -> tuple[queue.Claim, Document | None] | None:
    claim = queue.claim(session, worker)
    if claim is None:
        return None
    row = queue.claim_document(session, claim)
    return claim, (as_document(row) if row is not None else None)


def _failure(article_id: str, kind: str, message: str) -> dict[str, Any]:
    return {"article_id": article_id, "error": {"type": kind, "message": message}, "meta": {}}
