"""What a source lists: the entries of an RSS/Atom feed (feedparser) or the article links of an index page.

An entry is a URL with what the listing says about it (title, date, a fingerprint of the
listing's text), so the poller fetches an article only when it is new or its entry changed.
An article page becomes a `Document` through the same HTML-to-text path as `extract`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from urllib.parse import urldefrag, urljoin, urlsplit

from extractor.core.documents import Document, html_article
from extractor.core.errors import DocumentError, ExtractorError

MAX_ENTRIES = 500


class FeedError(ExtractorError):
    """A listing that cannot be read: malformed XML, not a feed, or an index page with no article links."""


@dataclass(frozen=True)
class Entry:
    """One article a source lists: its URL, title and date as listed, and a fingerprint of the listing."""

    url: str
    title: str | None = None
    published: str | None = None
    fingerprint: str = ""


def url_hash(url: str) -> str:
    """The SHA-256 of an article URL without its fragment (how an item is known)."""
    return hashlib.sha256(urldefrag(url.strip())[0].encode("utf-8")).hexdigest()


def _fingerprint(*parts: str | None) -> str:
    return hashlib.sha256("\x1f".join(p or "" for p in parts).encode("utf-8")).hexdigest()


def parse_feed(body: bytes, base_url: str) -> list[Entry]:
    """Entries of an RSS or Atom feed, in feed order; `FeedError` for malformed XML or a non-feed."""
    import feedparser

    parsed = feedparser.parse(body, response_headers={"content-location": base_url})
    if parsed.get("bozo") and not any(entry.get("link") for entry in parsed.entries):
        raise FeedError(f"{base_url}: not a readable feed ({parsed.get('bozo_exception') or 'malformed'})")
    if not parsed.entries and not parsed.get("version"):
        raise FeedError(f"{base_url}: not an RSS or Atom feed")
    entries: list[Entry] = []
    for item in parsed.entries[:MAX_ENTRIES]:
        link = item.get("link")
        if not link:
            continue
        url = urldefrag(urljoin(base_url, link))[0]
        # The entry's own fields: feedparser's `item.get("updated")` falls back to `published`
        # with a deprecation warning (its issue 310); the plain dict lookup does not.
        updated, updated_parsed = dict.get(item, "updated"), dict.get(item, "updated_parsed")
        published = _date(item.get("published_parsed") or updated_parsed)
        fingerprint = _fingerprint(item.get("id"), item.get("title"), updated or item.get("published"),
                                   item.get("summary"))
        entries.append(Entry(url, item.get("title"), published, fingerprint))
    return entries


def _date(parsed: object) -> str | None:
    if not parsed:
        return None
    try:
        return dt.date(*parsed[:3]).isoformat()  # type: ignore[index]
    except (TypeError, ValueError):
        return None


def parse_index(body: bytes, base_url: str, pattern: str | None) -> list[Entry]:
    """Article links of an index page: same host as the page, matching `pattern` (a regex) when given."""
    import lxml.html

    try:
        root = lxml.html.fromstring(body)
    except (ValueError, lxml.etree.ParserError) as exc:
        raise FeedError(f"{base_url}: not an HTML page ({exc})") from None
    host = urlsplit(base_url).netloc.lower()
    regex = re.compile(pattern) if pattern else None
    seen: set[str] = set()
    entries: list[Entry] = []
    for anchor in root.iter("a"):
        href = anchor.get("href")
        if not href:
            continue
        url = urldefrag(urljoin(base_url, href.strip()))[0]
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or parts.netloc.lower() != host or url in seen:
            continue
        if url.rstrip("/") == base_url.rstrip("/") or (regex is not None and not regex.search(url)):
            continue
        seen.add(url)
        title = " ".join(anchor.text_content().split()) or None
        entries.append(Entry(url, title, None, _fingerprint(url)))
        if len(entries) >= MAX_ENTRIES:
            break
    return entries


def article_text(body: bytes, content_type: str, url: str) -> tuple[str, str | None, str | None]:
    """Main text, title and date of a fetched article: HTML through trafilatura, plain text as it is."""
    html = body.decode("utf-8", errors="replace")
    if content_type == "text/plain":
        if not html.strip():
            raise DocumentError(f"{url}: empty page")
        return html, None, None
    return html_article(html, url)


def article_document(document_id: str, text: str, title: str | None, date: str | None, url: str,
                     entry: Entry) -> Document:
    """The `Document` of an article: its text, with the page's (or the listing's) title and date, and its URL."""
    return Document(id=document_id, text=text, title=title or entry.title, published=entry.published or date,
                    url=url, publisher=urlsplit(url).netloc or None)
