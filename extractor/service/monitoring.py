"""The monitor wired to the service: new articles go to the job queue that the worker pool extracts.

`make_monitor` is what `extractor serve` runs; `run_once` is `extractor watch run --once` (for
cron): poll every source, extract the new articles with a worker pool of its own, digest, send.
"""

from __future__ import annotations

import asyncio
import time

from extractor.monitor import Limits, Monitor, MonitorConfig, TickReport
from extractor.store import Store
from extractor.store import jobs as queue
from extractor.store.models import QUEUED, RUNNING

from .config import ServiceConfig
from .registry import Registry
from .workers import JobWorkers


def make_monitor(config: ServiceConfig, store: Store, registry: Registry, workers: JobWorkers,
                 limits: Limits | None = None) -> Monitor:
    """The monitor of a server process: new articles are extracted under the default prompt and model."""
    entry = registry.resolve(None, None)
    # A lease a little longer than the job lease: a process that died hands the poller over as fast.
    monitor_config = MonitorConfig(tick_s=config.watch_tick_s, lease_s=max(config.lease_s * 2, 2.0),
                                   per_host_interval_s=config.watch_host_interval_s, limits=limits or Limits())
    return Monitor(store, monitor_config, prompt=entry.key.prompt_id, model=entry.key.model,
                   on_job=lambda _job_id: workers.notify())


async def run_once(config: ServiceConfig, store: Store, registry: Registry, *, timeout_s: float = 3600.0) -> TickReport:
    """Poll every source now, extract what is new, digest it into events and alerts, send webhooks.

    Waits (at most `timeout_s`) for the jobs this poll created; returns the combined report.
    """
    workers = JobWorkers(store, registry, concurrency=config.workers, lease_s=config.lease_s,
                         poll_s=config.poll_s, max_attempts=config.max_attempts)
    monitor = make_monitor(config, store, registry, workers)
    await workers.start()
    try:
        if not await monitor.holds_lease():
            raise RuntimeError("another process holds the monitor lease (a running `extractor serve`?): "
                               "it polls the sources already")
        report = await monitor.tick(everything=True)
        jobs = [p.job_id for p in report.polls if p.job_id] + ([report.retried_job] if report.retried_job else [])
        deadline = time.monotonic() + timeout_s
        while jobs and time.monotonic() < deadline:
            jobs = [job for job in jobs if await asyncio.to_thread(_pending, store, job)]
            if jobs:
                await asyncio.sleep(0.2)
                await monitor.holds_lease()
        after = await monitor.tick(poll=False)
        report.digests += after.digests
        report.delivered += after.delivered
        return report
    finally:
        await monitor.stop()
        await workers.stop()


def _pending(store: Store, job_id: str) -> bool:
    with store.read() as session:
        counts = queue.job_counts(session, job_id)
    return bool(counts[QUEUED] + counts[RUNNING])
