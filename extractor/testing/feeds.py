"""A local site for monitoring tests and benchmarks: feeds and article pages a test changes between polls.

Pages are set by path (`site.page("/a1", html)`); a page answers with an ETag and 304 to a
matching If-None-Match. A page can be slow (`delay`), trickle its body (`trickle` seconds for
the whole body), be endless-ish (`size` bytes streamed without holding them in memory),
answer an error status, or fail its first requests with a 503 (`fail_first`). POSTs are
recorded (a webhook receiver). Every request is counted.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from dataclasses import dataclass, field
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from xml.sax.saxutils import escape

from .fake_openai import Loopback
from .fake_openai import _Server as QuietServer


@dataclass
class Page:
    """What a path answers."""

    body: bytes = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    delay: float = 0.0
    trickle: float = 0.0
    size: int = 0  # stream this many bytes instead of `body`
    fail_first: int = 0  # answer this many requests with 503 before answering normally


class _Server(QuietServer):
    request_queue_size = 512  # a benchmark poll opens many connections at once


@dataclass
class Site(Loopback):
    """A threaded HTTP server on 127.0.0.1 serving `pages`; use as a context manager."""

    pages: dict[str, Page] = field(default_factory=dict)
    hits: Counter[str] = field(default_factory=Counter)
    posts: list[dict[str, Any]] = field(default_factory=list)
    post_status: int = 200

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                with site._lock:
                    site.hits[path] += 1
                    page = site.pages.get(path)
                    failing = page is not None and site.hits[path] <= page.fail_first
                if failing:
                    self._send(503, b"busy", "text/plain")
                    return
                if page is None:
                    self._send(404, b"not found", "text/plain")
                    return
                if page.delay and site.stopping.wait(page.delay):
                    return
                if page.size:
                    self._stream(page)
                    return
                etag = '"' + hashlib.sha256(page.body).hexdigest()[:16] + '"'
                if page.status == 200 and self.headers.get("if-none-match") == etag:
                    self.send_response(304)
                    self.send_header("etag", etag)
                    self.send_header("content-length", "0")
                    self.end_headers()
                    return
                if page.trickle:
                    self._trickle(page)
                    return
                self._send(page.status, page.body, page.content_type, {"etag": etag} if page.status == 200 else {})

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                with site._lock:
                    site.posts.append({"path": self.path, "headers": dict(self.headers), "body": body})
                    status = site.post_status
                self._send(status, b"{}", "application/json")

            def _send(self, status: int, body: bytes, kind: str, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("content-type", kind)
                self.send_header("content-length", str(len(body)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            def _stream(self, page: Page) -> None:
                self.send_response(200)
                self.send_header("content-type", page.content_type)
                self.send_header("connection", "close")  # no length declared: the client must count
                self.end_headers()
                chunk = b"<p>" + b"x" * 65_530 + b"</p>\n"
                sent = 0
                while sent < page.size and not site.stopping.is_set():
                    self.wfile.write(chunk)
                    sent += len(chunk)
                self.close_connection = True

            def _trickle(self, page: Page) -> None:
                self.send_response(200)
                self.send_header("content-type", page.content_type)
                self.send_header("content-length", str(len(page.body)))
                self.end_headers()
                pause = page.trickle / max(len(page.body), 1)
                for index in range(len(page.body)):
                    self.wfile.write(page.body[index:index + 1])
                    self.wfile.flush()
                    if site.stopping.wait(pause):
                        return

        self._listen(Handler, _Server)

    @property
    def url(self) -> str:
        """The site's base URL."""
        return self.root

    def page(self, path: str, body: str | bytes = b"", **options: Any) -> None:
        """Set what `path` answers."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        with self._lock:
            self.pages[path] = Page(data, **options)



def article_html(title: str, text: str, *, sidebar: str = "Most read: nothing today.", date: str = "2024-03-05") -> str:
    """An article page with navigation and a sidebar around the text (what trafilatura must cut away)."""
    paragraphs = "".join(f"<p>{escape(p)}</p>" for p in text.split("\n\n") if p.strip())
    return (f"<html><head><title>{escape(title)}</title>"
            f'<meta property="article:published_time" content="{date}T09:00:00Z"></head>'
            f"<body><nav><a href='/'>Home</a> | <a href='/news'>News</a></nav>"
            f"<aside><h3>Sidebar</h3><p>{escape(sidebar)}</p></aside>"
            f"<article><h1>{escape(title)}</h1>{paragraphs}</article><footer>Footer text</footer></body></html>")


def rss(items: list[dict[str, str]], *, title: str = "Press releases") -> str:
    """An RSS 2.0 feed of `items` (each with link, title, and optionally guid, updated, description)."""
    import datetime as dt

    entries = []
    for item in items:
        updated = item.get("updated") or "2024-03-05T09:00:00+00:00"
        when = format_datetime(dt.datetime.fromisoformat(updated))
        entries.append(
            f"<item><title>{escape(item['title'])}</title><link>{escape(item['link'])}</link>"
            f"<guid>{escape(item.get('guid', item['link']))}</guid><pubDate>{when}</pubDate>"
            f"<description>{escape(item.get('description', ''))}</description></item>")
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{escape(title)}</title>'
            f"<link>http://127.0.0.1/</link><description>test</description>{''.join(entries)}</channel></rss>")
