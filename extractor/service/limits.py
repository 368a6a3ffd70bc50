"""ASGI middleware: a request body size limit (413 as JSON) and headers that keep responses data-only.

Redirects never carry the request's `Host` header back: an absolute `Location` on this
server (Starlette's trailing-slash redirect builds one from `Host`) is made relative.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import error_response

# How much of an oversized body is read and thrown away before answering, so the client
# (still sending) reads the 413 instead of a reset connection; past this the connection is cut.
DRAIN_FACTOR = 8
# No inline script or style, no other origin: article text on a review page can never run.
REVIEW_POLICY = (b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; "
                 b"base-uri 'none'; frame-ancestors 'none'")
# The API docs page: Swagger UI's scripts from this server only (no CDN, no inline script); its
# components set inline styles, so styles may be inline.
DOCS_POLICY = (b"default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
               b"connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")


class BodyLimit:
    """Answer 413 for a body over `max_bytes` (declared by Content-Length or counted while streaming)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) <= self.max_bytes:
            await self.app(scope, receive, send)  # the server stops at Content-Length: nothing more can come
            return
        if declared is not None and declared.isdigit():
            await self._drain(receive, int(declared))
            await self._too_large(scope, receive, send, int(declared))
            return
        # No (usable) length: buffer up to the limit, then replay the body to the app.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._drain(receive, None)
                await self._too_large(scope, receive, send, None)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _drain(self, receive: Receive, declared: int | None) -> None:
        budget = self.max_bytes * DRAIN_FACTOR
        if declared is not None and declared > budget:
            return
        seen = 0
        while seen <= budget:
            message = await receive()
            if message["type"] != "http.request":
                return
            seen += len(message.get("body", b""))
            if not message.get("more_body", False):
                return

    async def _too_large(self, scope: Scope, receive: Receive, send: Send, declared: int | None) -> None:
        size = f"{declared:,} bytes" if declared is not None else "larger than that"
        message = f"the request body is {size}; the limit is {self.max_bytes:,} bytes"
        response = error_response(413, "body_too_large", message, {"connection": "close"})
        await response(scope, receive, send)


class DataOnlyHeaders:
    """`nosniff` and a deny-all CSP on API responses: article text in JSON is never run as a page."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        # The docs page and the review pages run only this server's scripts; everything else is data.
        if path.startswith("/docs"):
            policy = DOCS_POLICY
        elif path.startswith("/review"):
            policy = REVIEW_POLICY
        else:
            policy = b"default-src 'none'; frame-ancestors 'none'"
        host = dict(scope.get("headers") or []).get(b"host", b"")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, _relative(v, host) if k.lower() == b"location" else v)
                           for k, v in message.get("headers", [])]
                headers += [(b"x-content-type-options", b"nosniff"), (b"content-security-policy", policy)]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def _relative(location: bytes, host: bytes) -> bytes:
    """`location` without scheme and host when it points at `host` (this server, as the client named it)."""
    parts = urlsplit(location.decode("latin-1"))
    if not parts.netloc or parts.netloc.encode("latin-1") != host:
        return location
    relative = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    # "//evil" would be read as another host: keep a single leading slash.
    return ("/" + relative.lstrip("/")).encode("latin-1")
