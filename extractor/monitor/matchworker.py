"""Watchlist matching in a process of its own, for the monitor of a server.

Name matching (nomenklatura's logic-v2 over rigour's name analysis) builds rigour's name tagger
on its first use in a process: seconds of CPU (8 s on a shared two-core machine) and 400 MB,
during which the call holds the GIL. In the server's process that froze the event loop, and the
HTTP requests, the job leases and the monitor's lease with it. The monitor therefore matches
names in one worker process, started when a name or file watchlist exists, warmed as soon as
the watchlists change (so the first alert does not wait for the tagger), and kept while the
server runs. Programmes, authorities and countries are compared as codes, in a thread.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from .alerts import Match, find_matches
from .events import ActionFacts
from .watchlists import WatchIndex, Watchlist, build_index

log = logging.getLogger("extractor.monitor.matching")

# The current watchlists (and their files' modification times) and their index, in each process.
_cached: tuple[tuple[Any, ...], WatchIndex] | None = None


def _stamp(watchlists: Sequence[Watchlist]) -> tuple[Any, ...]:
    def mtime(watch: Watchlist) -> float | None:
        try:
            return Path(watch.value).stat().st_mtime if watch.kind == "file" else None
        except OSError:
            return None

    return tuple((watch, mtime(watch)) for watch in watchlists)


def current_index(watchlists: Sequence[Watchlist]) -> WatchIndex:
    """The index of these watchlists, built again only when they (or their files) changed."""
    global _cached
    stamp = _stamp(watchlists)
    if _cached is None or _cached[0] != stamp:
        _cached = (stamp, build_index(list(watchlists)))
    return _cached[1]


def _find(watchlists: tuple[Watchlist, ...], actions: list[ActionFacts]) -> dict[int, list[Match]]:
    return find_matches(current_index(watchlists), actions)


def _warm(watchlists: tuple[Watchlist, ...]) -> None:
    current_index(watchlists).warm()


def names_watched(watchlists: Sequence[Watchlist]) -> bool:
    """True when some watchlist is matched by name (a name or a file of names)."""
    return any(watch.kind in ("name", "file") for watch in watchlists)


class MatchWorker:
    """The worker process that matches watched names (started on first use, one at a time)."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._warmed: tuple[Watchlist, ...] | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # spawn: a fork of a process running threads and an event loop is not safe.
            self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_follow_parent, initargs=(os.getpid(),))
        return self._pool

    def warm(self, watchlists: Sequence[Watchlist]) -> None:
        """Start building the index and loading the name data now, in the background."""
        current = tuple(watchlists)
        if not names_watched(current) or current == self._warmed:
            return
        self._warmed = current
        future: Future[None] = self._executor().submit(_warm, current)
        future.add_done_callback(_report_warm_failure)

    async def find(self, watchlists: Sequence[Watchlist], actions: list[ActionFacts]) -> dict[int, list[Match]]:
        """The watchlist matches of each action (by action id)."""
        current = tuple(watchlists)
        if not actions or not current:
            return {}
        if not names_watched(current):
            return await asyncio.to_thread(_find, current, actions)
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor(), _find, current, actions)
        except BrokenProcessPool:
            self.close()  # the worker died (killed, out of memory): a new one next time
            raise

    def close(self) -> None:
        """Stop the worker process."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
            self._warmed = None


def _follow_parent(parent: int) -> None:
    """In the worker: exit when the server process is gone (killed: nobody else would stop it)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="follow-parent", daemon=True).start()


def _report_warm_failure(future: Future[None]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.warning("watchlist matching could not be prepared: %s", future.exception())
