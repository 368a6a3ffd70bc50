"""Polite HTTP fetching: conditional GET, a deadline for the whole response, a byte cap, a per-host pace.

A source that answers slowly (one byte a second) or endlessly (a 50 MB page) must not hold the
poller: the deadline covers connecting, headers and body together, and the body is read in
chunks and abandoned as soon as it passes the cap. Requests to one host are spaced by a
minimum interval, so a feed and its twenty articles never arrive at a server as a burst.

The deadline starts when the request does, not when it is asked for: at most `max_connections`
requests are in flight, and the others wait for a slot before their clock runs. A poll that
finds 400 new articles at once would otherwise spend its articles' deadlines queueing for the
client's connections and record them as timed out although no server was slow.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from extractor.core.errors import ExtractorError

USER_AGENT = "sanctions-extractor-monitor/1"
DEFAULT_TIMEOUT_S = 20.0
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
MAX_CONNECTIONS = 16


class FetchError(ExtractorError):
    """A page could not be had: an HTTP error status, a timeout, too many bytes, a broken connection.

    `transient` failures (a timeout, a broken connection, a 5xx or 429) may well succeed when
    tried again; the others (a 404, too many bytes) will not.
    """

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class Limits:
    """How long one fetch may take in all, and how many body bytes it may bring."""

    timeout_s: float = DEFAULT_TIMEOUT_S
    max_bytes: int = DEFAULT_MAX_BYTES


@dataclass(frozen=True)
class Fetched:
    """A response: its body, or `not_modified` after a conditional GET, and the validators to send next time."""

    url: str
    status: int
    body: bytes
    etag: str | None
    last_modified: str | None
    content_type: str

    @property
    def not_modified(self) -> bool:
        """True for a 304 answer to a conditional GET."""
        return self.status == 304


class Fetcher:
    """One HTTP client for the poller, with a minimum interval between requests to the same host."""

    def __init__(self, *, per_host_interval_s: float = 1.0, max_connections: int = MAX_CONNECTIONS) -> None:
        self.per_host_interval_s = per_host_interval_s
        self._client = httpx.AsyncClient(
            follow_redirects=True, max_redirects=5, headers={"user-agent": USER_AGENT},
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections // 2),
        )
        # One slot per connection: a request's deadline starts once it has one (see the module docstring).
        self._slots = asyncio.Semaphore(max_connections)
        self._hosts: dict[str, tuple[asyncio.Lock, list[float]]] = {}

    async def aclose(self) -> None:
        """Close the connections."""
        await self._client.aclose()

    async def _pace(self, url: str) -> None:
        """Wait for this host's turn: one request start per `per_host_interval_s`."""
        if self.per_host_interval_s <= 0:
            return
        host = urlsplit(url).netloc.lower()
        lock, last = self._hosts.setdefault(host, (asyncio.Lock(), [0.0]))
        async with lock:
            wait = last[0] + self.per_host_interval_s - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            last[0] = time.monotonic()

    async def get(
        self, url: str, *, limits: Limits = Limits(), etag: str | None = None, last_modified: str | None = None
    ) -> Fetched:
        """GET `url` within `limits`; `etag`/`last_modified` make it conditional. Raises `FetchError`.

        The time limit counts from the moment a connection slot is free, not from the call.
        """
        headers = {}
        if etag:
            headers["if-none-match"] = etag
        if last_modified:
            headers["if-modified-since"] = last_modified
        await self._pace(url)  # before taking a slot: a host's queue never holds the other hosts' slots
        async with self._slots:
            return await self._timed(url, headers, limits)

    async def _timed(self, url: str, headers: dict[str, str], limits: Limits) -> Fetched:
        try:
            async with asyncio.timeout(limits.timeout_s):
                return await self._get(url, headers, limits)
        except TimeoutError:
            raise FetchError(f"{url}: no complete answer within {limits.timeout_s:g} s", transient=True) from None
        except httpx.InvalidURL as exc:
            raise FetchError(f"{url}: invalid URL ({exc})") from None
        except httpx.TooManyRedirects as exc:
            raise FetchError(f"{url}: {exc}") from None
        except httpx.HTTPError as exc:
            raise FetchError(f"{url}: {type(exc).__name__} ({exc or 'no detail'})", transient=True) from None

    async def _get(self, url: str, headers: dict[str, str], limits: Limits) -> Fetched:
        # The per-read timeout is the whole budget: the outer deadline is what bounds a trickle.
        timeout = httpx.Timeout(limits.timeout_s)
        async with self._client.stream("GET", url, headers=headers, timeout=timeout) as response:
            if response.status_code == 304:
                return _fetched(response, b"")
            if response.status_code >= 400:
                status = response.status_code
                raise FetchError(f"{url}: HTTP {status}", transient=status >= 500 or status in (408, 429))
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > limits.max_bytes:
                raise FetchError(f"{url}: {int(declared):,} bytes declared; the limit is {limits.max_bytes:,}")
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > limits.max_bytes:
                    raise FetchError(f"{url}: more than {limits.max_bytes:,} bytes; the limit is {limits.max_bytes:,}")
                chunks.append(chunk)
            return _fetched(response, b"".join(chunks))


def _fetched(response: httpx.Response, body: bytes) -> Fetched:
    return Fetched(
        url=str(response.url), status=response.status_code, body=body, etag=response.headers.get("etag"),
        last_modified=response.headers.get("last-modified"),
        content_type=response.headers.get("content-type", "").split(";")[0].strip().lower(),
    )
