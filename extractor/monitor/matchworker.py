"""Watchlist matching for the monitor of a server, the scoring of names in a process of its own.

Name matching (nomenklatura's logic-v2 over rigour's name analysis) builds rigour's name tagger
on the first comparison in a process: seconds of CPU (8.6 s on a shared two-core machine) and
400 MB, during which the call holds the GIL. In the server's process that froze the event loop,
and the HTTP requests, the job leases and the monitor's lease with it. So the monitor blocks
targets against the watched names in a thread (rapidfuzz over the index: no tagger), and only
when some target has candidates to score sends the batch to one worker process, started then
and kept while the server runs (it exits by itself if the server is killed).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from .alerts import Match, find_matches, targets_of
from .events import ActionFacts
from .watchlists import WatchIndex, Watchlist, build_index

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


def needs_scoring(index: WatchIndex, actions: list[ActionFacts]) -> bool:
    """Whether some target of `actions` has watched names to be scored against (blocking only)."""
    return any(matcher.has_candidates(target)
               for action in actions for target in targets_of(action) for _watchlist, matcher in index.matchers)


def _find(watchlists: tuple[Watchlist, ...], actions: list[ActionFacts]) -> dict[int, list[Match]]:
    return find_matches(current_index(watchlists), actions)


def _triage(watchlists: tuple[Watchlist, ...], actions: list[ActionFacts]) -> dict[int, list[Match]] | None:
    """The matches when no name needs scoring (codes only, here and now); None when one does."""
    index = current_index(watchlists)
    return None if needs_scoring(index, actions) else find_matches(index, actions)


class MatchWorker:
    """Finds the watchlist matches of actions; the worker process is started at the first name to score."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # spawn: a fork of a process running threads and an event loop is not safe.
            self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_follow_parent, initargs=(os.getpid(),))
        return self._pool

    async def find(self, watchlists: Sequence[Watchlist], actions: list[ActionFacts]) -> dict[int, list[Match]]:
        """The watchlist matches of each action (by action id)."""
        current = tuple(watchlists)
        if not actions or not current:
            return {}
        found = await asyncio.to_thread(_triage, current, actions)
        if found is not None:
            return found
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


def _follow_parent(parent: int) -> None:
    """In the worker: exit when the server process is gone (killed: nobody else would stop it)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="follow-parent", daemon=True).start()
