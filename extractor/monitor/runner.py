"""The monitor loop: under the database lease, poll due sources, digest new extractions, deliver alerts.

Every server process runs one `Monitor`; the one holding the `monitor` lease does the work, the
others wait and take over when it stops renewing (its process died). New articles become job
items for the service's worker pool (any process extracts them); the lease holder queues again
the watched articles whose extraction failed (`retry`), digests every new extraction into events
and alerts, then sends due webhook deliveries.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy.orm import Session

from extractor.store import Store

from . import alerts as alerting
from . import lease
from .delivery import deliver_due
from .digest import DigestReport, Placed, digest_batch, new_actions, pending
from .events import ActionFacts
from .fetch import Fetcher, Limits
from .matchworker import MatchWorker
from .poll import Poller, PollReport
from .retry import requeue_failed
from .watchlists import Watchlist, list_watchlists

log = logging.getLogger("extractor.monitor")
RETRY_CHECK_S = 60.0


@dataclass(frozen=True)
class MonitorConfig:
    """How often and how politely the monitor works."""

    tick_s: float = 5.0
    lease_s: float = 60.0
    concurrency: int = 8
    per_host_interval_s: float = 1.0
    limits: Limits = field(default_factory=Limits)
    retry_base_s: float = 2.0
    webhook_timeout_s: float = 10.0


@dataclass
class TickReport:
    """What one turn of the loop did."""

    polls: list[PollReport] = field(default_factory=list)
    digests: list[DigestReport] = field(default_factory=list)
    delivered: int = 0
    retried_job: str | None = None  # the job of watched articles whose extraction failed before

    @property
    def alerts(self) -> int:
        """Alerts raised in this turn."""
        return sum(d.alerts for d in self.digests)


class Monitor:
    """Sources, events and alerts for one process; `run` loops while the process serves."""

    def __init__(self, store: Store, config: MonitorConfig, *, prompt: str, model: str,
                 on_job: Callable[[str], None] | None = None) -> None:
        self.store = store
        self.config = config
        self.instance = uuid.uuid4().hex
        self.fetcher = Fetcher(per_host_interval_s=config.per_host_interval_s)
        self.poller = Poller(store, self.fetcher, prompt=prompt, model=model, limits=config.limits,
                             concurrency=config.concurrency, on_job=on_job)
        self._http = httpx.AsyncClient(follow_redirects=False)
        self.matching = MatchWorker()
        self._next_retry_check = 0.0
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    async def start(self) -> None:
        """Start the loop in the background."""
        self._task = asyncio.create_task(self.run(), name="monitor")

    def notify(self) -> None:
        """Run a turn now (a source or an extraction was added)."""
        self._wake.set()

    async def stop(self) -> None:
        """Stop the loop and give up the lease."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        with contextlib.suppress(Exception):
            await asyncio.to_thread(self._write, lease.release, lease.MONITOR_LEASE, self.instance)
        self.matching.close()
        await self.fetcher.aclose()
        await self._http.aclose()

    def _write(self, fn: Callable[..., object], *args: object) -> object:
        with self.store.write() as session:
            return fn(session, *args)

    async def holds_lease(self) -> bool:
        """Take or renew the monitor lease; True while this process holds it."""
        return bool(await asyncio.to_thread(
            self._write, lease.acquire, lease.MONITOR_LEASE, self.instance, self.config.lease_s))

    async def run(self) -> None:
        """Loop: a turn whenever the lease is ours, every `tick_s` (or at once when notified)."""
        while True:
            try:
                if await self.holds_lease():
                    await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("monitor turn failed; trying again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.config.tick_s)
            self._wake.clear()

    async def tick(self, *, poll: bool = True, everything: bool = False) -> TickReport:
        """One turn: poll due sources (all with `everything`), digest, deliver. The caller holds the lease."""
        report = TickReport()
        keeper = asyncio.create_task(self._keep_lease())
        try:
            if poll:
                report.polls = await self.poller.poll_due(everything=everything)
                report.retried_job = await self._retry_failed()
            report.digests = await self.digest()
            report.delivered = await deliver_due(self.store, self._http, base_delay_s=self.config.retry_base_s,
                                                 timeout_s=self.config.webhook_timeout_s)
        finally:
            keeper.cancel()
        return report

    async def _retry_failed(self) -> str | None:
        """Queue again the watched articles whose extraction failed (checked once a minute at most)."""
        if time.monotonic() < self._next_retry_check:
            return None
        self._next_retry_check = time.monotonic() + RETRY_CHECK_S
        job_id = await asyncio.to_thread(self._write_kw, requeue_failed, prompt=self.poller.prompt,
                                         model=self.poller.model)
        if isinstance(job_id, str) and self.poller.on_job is not None:
            self.poller.on_job(job_id)
        return job_id if isinstance(job_id, str) else None

    def _write_kw(self, fn: Callable[..., object], **kwargs: object) -> object:
        with self.store.write() as session:
            return fn(session, **kwargs)

    async def _keep_lease(self) -> None:
        """Renew the lease while a long turn runs."""
        while True:
            await asyncio.sleep(self.config.lease_s / 3)
            await self.holds_lease()

    async def digest(self) -> list[DigestReport]:
        """Digest every new extraction, batch by batch; watchlist matching runs outside the write lock
        (and the matching of names in a process of its own, see `matchworker`)."""
        reports: list[DigestReport] = []
        watchlists = await asyncio.to_thread(self._watchlists)
        while True:
            batch, actions = await asyncio.to_thread(self._pending)
            if not batch:
                return reports
            matches = await self.matching.find(watchlists, actions)

            def after(session: Session, placed: Placed, found: Any = matches) -> int:
                return len(alerting.store_alerts(session, found, placed))

            report = await asyncio.to_thread(self._write, digest_batch, batch, after)
            assert isinstance(report, DigestReport)
            reports.append(report)

    def _pending(self) -> tuple[list[tuple[int, str]], list[ActionFacts]]:
        with self.store.read() as session:
            batch = pending(session)
            latest: dict[str, int] = {}
            for extraction_id, document_id in batch:
                latest[document_id] = max(extraction_id, latest.get(document_id, 0))
            return batch, new_actions(session, list(latest.values())) if batch else []

    def _watchlists(self) -> list[Watchlist]:
        with self.store.read() as session:
            return list_watchlists(session)
