"""A local OpenAI-compatible server that answers every chat completion after a fixed delay.

asyncio (aiohttp) rather than a thread per request, so hundreds of requests can wait at once
and the server itself never bounds concurrency; it records the peak number in flight. Runs
in a background thread on 127.0.0.1 with an ephemeral port.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

from aiohttp import web

ANSWER = json.dumps({
    "is_sanctions_news": True,
    "actions": [{"authority": "us", "action": "impose", "measures": ["asset_freeze"],
                 "targets": [{"name": "Acme Shipping", "entity_type": "company"}],
                 "evidence": ["Treasury sanctioned Acme Shipping."]}],
})


def _body() -> dict[str, Any]:
    return {
        "id": "chatcmpl-bench", "object": "chat.completion", "created": 0, "model": "bench-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": ANSWER}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
    }


class DelayServer:
    """`with DelayServer(delay_s=0.2) as server:` then point a client at `server.base_url`."""

    def __init__(self, delay_s: float = 0.0, *, shared: tuple[Any, Any, Any] | None = None) -> None:
        # (delay, peak, requests), each with a `.value`: plain here, multiprocessing values when shared.
        values: tuple[Any, Any, Any] = shared or (_Value(delay_s), _Value(0), _Value(0))
        self._delay, self._peak, self._requests = values
        self.in_flight = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def peak(self) -> int:
        return int(self._peak.value)

    @property
    def requests(self) -> int:
        return int(self._requests.value)

    def reset(self, delay_s: float | None = None) -> None:
        """Zero the counters (and change the delay) between measurements."""
        if delay_s is not None:
            self._delay.value = delay_s
        self._peak.value = 0
        self._requests.value = 0

    async def _chat(self, request: web.Request) -> web.Response:
        await request.read()
        self.in_flight += 1
        self._requests.value += 1
        self._peak.value = max(self._peak.value, self.in_flight)
        try:
            if self._delay.value:
                await asyncio.sleep(self._delay.value)
            return web.json_response(_body())
        finally:
            self.in_flight -= 1

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": "bench-model", "object": "model"}]})

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._start())
        self._ready.set()
        self._loop.run_forever()

    def __enter__(self) -> DelayServer:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("benchmark server did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        async def stop() -> None:
            if self._runner is not None:
                await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


class _Value:
    """A counter with `.value`, like a `multiprocessing.Value`, for the in-process server."""

    def __init__(self, value: float) -> None:
        self.value = value


class ProcessDelayServer(DelayServer):
    """The same server in a process of its own, as a real model server is: its CPU and GIL
    never compete with the client being measured. Counters are shared through `multiprocessing`."""

    def __init__(self, delay_s: float = 0.0) -> None:
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
        super().__init__(shared=(ctx.Value("d", delay_s), ctx.Value("i", 0), ctx.Value("i", 0)))
        self._ports = ctx.Queue()
        self._process = ctx.Process(target=_serve, args=(self._delay, self._peak, self._requests, self._ports),
                                    daemon=True)

    def __enter__(self) -> ProcessDelayServer:
        self._process.start()
        self.port = int(self._ports.get(timeout=30))
        return self

    def __exit__(self, *exc: object) -> None:
        self._process.terminate()
        self._process.join(10)


def _serve(delay: Any, peak: Any, requests: Any, ports: Any) -> None:
    """The server process: an in-process server whose counters are the shared values."""
    with DelayServer(shared=(delay, peak, requests)) as server:
        ports.put(server.port)
        threading.Event().wait()
