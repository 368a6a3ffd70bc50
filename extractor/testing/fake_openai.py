"""A local OpenAI-compatible HTTP server for tests: scripted replies, recorded requests.

It speaks just enough of the chat-completions API for the real `openai` client, on
127.0.0.1 with an ephemeral port, and stops when the test ends.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

Reply = dict[str, Any]


class _Server(ThreadingHTTPServer):
    # The default listen backlog of 5 drops connections when many clients open at once.
    request_queue_size = 256
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (a timeout test) breaks the pipe: expected, not worth a traceback.
        import sys

        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class Loopback:
    """A threaded HTTP server on 127.0.0.1 in a daemon thread, used as a context manager (the tests' stand-ins)."""

    server: ThreadingHTTPServer
    thread: threading.Thread
    stopping: threading.Event  # set when the server stops: handlers that pause end early

    def _listen(self, handler: type[BaseHTTPRequestHandler], server: type[ThreadingHTTPServer] = _Server) -> None:
        self.server = server(("127.0.0.1", 0), handler)
        # A short poll interval: shutdown() waits for one, and every test stops a server.
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def root(self) -> str:
        """`http://127.0.0.1:PORT`."""
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()


def completion(content: str | None = None, *, prompt_tokens: int = 100, completion_tokens: int = 20,
               finish_reason: str = "stop", tool_args: str | None = None) -> Reply:
    """A chat-completion reply body."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_args is not None:
        message["content"] = None
        message["tool_calls"] = [{"id": "call_1", "type": "function",
                                  "function": {"name": "ExtractionAnswer", "arguments": tool_args}}]
    return {
        "status": 200,
        "json": {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": 0,
            "model": "fake-model",
            "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        },
    }


def error(status: int, message: str = "fault", headers: dict[str, str] | None = None) -> Reply:
    """An error reply in OpenAI's error format."""
    return {"status": status, "headers": headers or {}, "json": {"error": {"message": message, "type": "test"}}}


VALID_ANSWER = json.dumps({
    "is_sanctions_news": True,
    "actions": [{"authority": "us", "action": "impose", "measures": ["asset_freeze"],
                 "targets": [{"name": "Acme Shipping", "entity_type": "company"}],
                 "evidence": ["Treasury sanctioned Acme Shipping."]}],
})


@dataclass
class FakeOpenAI(Loopback):
    """Scripted replies (popped in order, then `default`), every request recorded."""

    script: list[Reply | Callable[[dict[str, Any]], Reply]] = field(default_factory=list)
    default: Reply = field(default_factory=lambda: completion(VALID_ANSWER))
    delay: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    handlers: dict[str, Callable[[str, str, bytes], Reply]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def _serve(self, method: str) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                reply = fake._reply(method, self.path, raw, dict(self.headers))
                if reply.get("drop"):
                    self.connection.close()
                    return
                body = reply["raw"] if "raw" in reply else json.dumps(reply.get("json", {})).encode()
                self.send_response(reply.get("status", 200))
                self.send_header("content-type", reply.get("content_type", "application/json"))
                for key, value in reply.get("headers", {}).items():
                    self.send_header(key, value)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                if reply.get("cut_body"):  # the connection drops half-way through the body
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.connection.shutdown(2)
                    return
                trickle = float(reply.get("trickle", 0))
                if trickle:  # headers at once, then the body one byte at a time over `trickle` seconds
                    pause = trickle / max(len(body), 1)
                    for index in range(len(body)):
                        self.wfile.write(body[index:index + 1])
                        self.wfile.flush()
                        if fake.stopping.wait(pause):
                            return
                    return
                self.wfile.write(body)

            def do_POST(self) -> None:
                self._serve("POST")

            def do_GET(self) -> None:
                self._serve("GET")

        self._listen(Handler)

    @property
    def base_url(self) -> str:
        """The `/v1` URL to give the client."""
        return f"{self.root}/v1"

    def _reply(self, method: str, path: str, raw: bytes, headers: dict[str, str]) -> Reply:
        for prefix, handler in self.handlers.items():
            if path.startswith(prefix):
                return handler(method, path, raw)
        try:
            body = json.loads(raw) if raw else {}
        except json.JSONDecodeError:
            body = {"_raw": raw.decode(errors="replace")}
        with self._lock:
            self.requests.append({"method": method, "path": path, "body": body, "headers": headers})
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            step = self.script.pop(0) if self.script else self.default
        try:
            reply = step(body) if callable(step) else step
            pause = reply.get("delay", self.delay)
            if pause:
                self.stopping.wait(pause)  # ends early when the server stops
            return reply
        finally:
            with self._lock:
                self.in_flight -= 1

    def chat_requests(self) -> list[dict[str, Any]]:
        """Bodies of the chat-completions requests received."""
        return [r["body"] for r in self.requests if r["path"].endswith("/chat/completions")]

