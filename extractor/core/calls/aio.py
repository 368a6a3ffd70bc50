"""Run the async pipeline from synchronous code.

The pipeline is written once, as coroutines. Synchronous callers (`Extractor.extract`, the
CLI's single calls, a notebook whose loop is already running) hand their coroutine to one
long-lived event loop on a daemon thread, so HTTP connection pools opened there are reused
from call to call instead of being rebuilt by a fresh `asyncio.run` each time.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_loop: asyncio.AbstractEventLoop | None = None
_lock = threading.Lock()


def _portal() -> asyncio.AbstractEventLoop:
    global _loop
    with _lock:
        if _loop is None or _loop.is_closed():
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="extractor-loop", daemon=True)
            thread.start()
            _loop = loop
        return _loop


def is_portal(loop: asyncio.AbstractEventLoop) -> bool:
    """True for the shared loop of synchronous callers (it runs until the process ends)."""
    return loop is _loop


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` to completion on the shared background loop and return its result.

    Exceptions propagate unchanged; Ctrl-C cancels the coroutine.
    """
    future = asyncio.run_coroutine_threadsafe(coro, _portal())
    try:
        return future.result()
    except KeyboardInterrupt:
        future.cancel()
        raise
