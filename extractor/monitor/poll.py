"""Polling a source: its listing (conditional GET), the new or changed articles, one job for their extraction.

An item is known by its URL and by the hash of its text. A listing that re-lists an item, or
an article whose page changed only around its text (a sidebar), leads to no new document. The
articles of one poll are fetched first and then recorded in one transaction together with the
job that extracts them and the listing's new validators (ETag, Last-Modified): a process killed
mid-poll has recorded nothing, so the next poll does the same work again, and a committed job
is extracted by the job workers even across restarts. Nothing is lost and nothing done twice.

A listing that does not change hides an article whose text does (an index page lists a URL, not
its text). Articles already seen are therefore fetched again, with a conditional GET, once their
source's `recheck_s` has passed since their last fetch: a few per poll (`RECHECKS`), the longest
unchecked first, so a source's articles are rechecked gradually rather than all in one poll.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from extractor.core.errors import DocumentError
from extractor.store import Store
from extractor.store import jobs as queue
from extractor.store.documents import ensure_document, text_sha256
from extractor.store.models import DocumentRow, utcnow
from extractor.store.monitor import ItemRow, SourceRow

from .feeds import Entry, FeedError, article_document, article_text, parse_feed, parse_index, url_hash
from .fetch import Fetched, Fetcher, FetchError, Limits
from .sources import SourceInfo, due_sources, record_failure

log = logging.getLogger("extractor.monitor.poll")
# A transient failure (a timeout, a dropped connection, a 5xx) is tried once more in the same poll,
# after this pause: a busy moment of this process or of the site then costs no article a whole
# polling interval.
ATTEMPTS = 2
RETRY_PAUSE_S = 1.0
RECHECKS = 10  # known articles fetched again per poll, at most


@dataclass
class PollReport:
    """What one poll of one source did."""

    source: str
    not_modified: bool = False
    listed: int = 0
    new: int = 0
    changed: int = 0
    duplicates: int = 0
    rechecked: int = 0  # known articles fetched again (unchanged, or changed: then also in `changed`)
    failed: list[str] = field(default_factory=list)
    error: str | None = None
    job_id: str | None = None


@dataclass(frozen=True)
class _Article:
    entry: Entry
    hash: str
    text: str | None = None
    title: str | None = None
    date: str | None = None
    url: str | None = None
    error: str | None = None
    recheck: bool = False  # a known article fetched again
    not_modified: bool = False
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class _Recheck:
    entry: Entry
    etag: str | None
    last_modified: str | None


class Poller:
    """Polls due sources, a few at once, and queues their new articles for extraction."""

    def __init__(
        self, store: Store, fetcher: Fetcher, *, prompt: str, model: str, limits: Limits | None = None,
        concurrency: int = 8, on_job: Callable[[str], None] | None = None,
    ) -> None:
        self.store = store
        self.fetcher = fetcher
        self.prompt = prompt
        self.model = model
        self.limits = limits or Limits()
        self.concurrency = concurrency
        self.on_job = on_job

    async def poll_due(self, *, everything: bool = False) -> list[PollReport]:
        """Poll every due source (every source with `everything`); one failing never stops the others."""
        sources = await asyncio.to_thread(self._due, everything)
        gate = asyncio.Semaphore(self.concurrency)

        async def one(source: SourceInfo) -> PollReport:
            async with gate:
                return await self.poll(source)

        return list(await asyncio.gather(*(one(source) for source in sources)))

    async def poll(self, source: SourceInfo) -> PollReport:
        """Poll one source; its error is recorded on it (and reported) rather than raised."""
        report = PollReport(source.name)
        try:
            listing = await self._fetch(source.url, source.limits, etag=source.etag,
                                        last_modified=source.last_modified)
            entries = [] if listing.not_modified else _entries(source, listing)
        except (FetchError, FeedError) as exc:
            report.error = str(exc)
            await asyncio.to_thread(self._write, record_failure, source.id, report.error)
            return report
        report.not_modified = listing.not_modified
        report.listed = len(entries)
        known = await asyncio.to_thread(self._known_values, [url_hash(entry.url) for entry in entries])
        wanted = [entry for entry in entries if _wanted(known.get(url_hash(entry.url)), entry)]
        rechecks = await asyncio.to_thread(self._rechecks, source, {url_hash(entry.url) for entry in wanted})
        articles = await asyncio.gather(*(self._article(source, entry) for entry in wanted),
                                        *(self._article(source, r.entry, r) for r in rechecks))
        await asyncio.to_thread(self._write, self._record, source, listing, list(articles), report)
        if report.job_id and self.on_job is not None:
            self.on_job(report.job_id)
        return report

    def _due(self, everything: bool) -> list[SourceInfo]:
        with self.store.read() as session:
            return due_sources(session, utcnow(), self.limits, everything=everything)

    def _known_values(self, hashes: list[str]) -> dict[str, tuple[str | None, str | None]]:
        """(fingerprint, text hash) of the known items among `hashes` (read off the event loop)."""
        with self.store.read() as session:
            return {digest: (row.fingerprint, row.text_sha256) for digest, row in _known(session, hashes).items()}

    def _rechecks(self, source: SourceInfo, fetching: set[str]) -> list[_Recheck]:
        """Known articles of `source` not fetched for `recheck_s`: the longest unchecked first, a few."""
        last = func.coalesce(ItemRow.checked_at, ItemRow.first_seen)
        cutoff = utcnow() - dt.timedelta(seconds=source.recheck_s)
        with self.store.read() as session:
            rows = session.scalars(
                select(ItemRow).where(ItemRow.source_id == source.id, ItemRow.text_sha256.is_not(None), last <= cutoff)
                .order_by(last, ItemRow.id).limit(RECHECKS + len(fetching))
            ).all()
            found = [_Recheck(Entry(row.url, row.title, row.published, row.fingerprint or ""), row.etag,
                              row.last_modified) for row in rows if row.url_hash not in fetching]
        return found[:RECHECKS]

    def _write(self, fn: Callable[..., object], *args: object) -> object:
        with self.store.write() as session:
            return fn(session, *args)

    async def _fetch(self, url: str, limits: Limits, *, etag: str | None = None,
                     last_modified: str | None = None) -> Fetched:
        """GET with one more try after a transient failure (see `ATTEMPTS`)."""
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return await self.fetcher.get(url, limits=limits, etag=etag, last_modified=last_modified)
            except FetchError as exc:
                if not exc.transient or attempt == ATTEMPTS:
                    raise
                log.info("%s; trying once more", exc)
                await asyncio.sleep(RETRY_PAUSE_S)
        raise AssertionError("unreachable")

    async def _article(self, source: SourceInfo, entry: Entry, recheck: _Recheck | None = None) -> _Article:
        digest = url_hash(entry.url)
        again = recheck is not None
        try:
            page = await self._fetch(entry.url, source.limits, etag=recheck.etag if recheck else None,
                                     last_modified=recheck.last_modified if recheck else None)
            if page.not_modified:  # only a recheck sends validators: the article is as it was
                return _Article(entry, digest, recheck=again, not_modified=True)
            text, title, date = await asyncio.to_thread(article_text, page.body, page.content_type, entry.url)
        except (FetchError, DocumentError) as exc:
            return _Article(entry, digest, error=str(exc), recheck=again)
        return _Article(entry, digest, text, title, date, page.url, recheck=again, etag=page.etag,
                        last_modified=page.last_modified)

    def _record(self, session: Session, source: SourceInfo, listing: Fetched, articles: list[_Article],
                report: PollReport) -> None:
        row = session.get(SourceRow, source.id)
        if row is None:
            return  # removed while it was being polled
        known = _known(session, [article.hash for article in articles])
        new_items: list[queue.NewItem] = []
        for article in articles:
            item = known.get(article.hash)
            if item is None:
                item = ItemRow(source_id=source.id, url=article.entry.url[:2000], url_hash=article.hash, versions=0)
                try:
                    with session.begin_nested():
                        session.add(item)
                except IntegrityError:  # listed by another source in the same moment
                    continue
            item.title = (article.entry.title or article.title or "")[:1000] or None
            item.published = article.entry.published
            if article.recheck:
                report.rechecked += 1
                item.checked_at = utcnow()  # fetched again after `recheck_s`, whatever came of it
                if article.not_modified or article.error is not None:
                    item.error = article.error  # a recheck's failure is the article's, not the source's
                    continue
            elif article.error is not None or article.text is None:
                item.error = article.error
                report.failed.append(article.error or article.entry.url)
                continue  # its fingerprint stays old, so the next poll tries again
            item.error = None
            item.checked_at = utcnow()
            item.etag, item.last_modified = (article.etag or "")[:500] or None, article.last_modified
            item.fingerprint = article.entry.fingerprint
            document_id = self._document(session, item, article, report)
            if document_id is not None:
                new_items.append(queue.NewItem(document_id, document_id=document_id))
        if new_items:
            report.job_id = queue.create_job(session, new_items, prompt=self.prompt, model=self.model,
                                             api_key_id=None)
        now = utcnow()
        if not listing.not_modified and not report.failed:
            # After a failed article the old validators stay, so the next poll lists it again.
            row.etag, row.last_modified = listing.etag, listing.last_modified
        row.last_polled_at = row.last_ok_at = now
        row.failures = 0
        row.items_seen = (row.items_seen or 0) + report.new
        row.last_error = _item_errors(report.failed)
        row.next_poll_at = now + dt.timedelta(seconds=row.every_s)

    def _document(self, session: Session, item: ItemRow, article: _Article, report: PollReport) -> str | None:
        """Store the article's text as a document; its id if it is to be extracted (None: known text)."""
        assert article.text is not None
        digest = text_sha256(article.text)
        if item.text_sha256 == digest:
            return None  # the page changed around its text (a sidebar, a timestamp): nothing new
        first = item.text_sha256 is None
        item.text_sha256 = digest
        item.versions = (item.versions or 0) + 1
        item.changed_at = utcnow()
        same = session.scalar(select(DocumentRow.id).where(DocumentRow.sha256 == digest).limit(1))
        if same is not None:  # the same text under another URL (a syndicated release): one extraction
            item.document_id = same
            report.duplicates += 1
            return None
        document_id = f"watch-{item.url_hash[:16]}-{digest[:8]}"
        document = article_document(document_id, article.text, article.title, article.date,
                                    article.url or item.url, article.entry)
        ensure_document(session, document)
        item.document_id = document_id
        if first:
            report.new += 1
        else:
            report.changed += 1
        return document_id


def _entries(source: SourceInfo, listing: Fetched) -> list[Entry]:
    if source.kind == "page":
        return parse_index(listing.body, listing.url, source.pattern)
    return parse_feed(listing.body, listing.url)


def _known(session: Session, hashes: list[str]) -> dict[str, ItemRow]:
    found: dict[str, ItemRow] = {}
    for start in range(0, len(hashes), 500):
        chunk = hashes[start:start + 500]
        found.update((row.url_hash, row) for row in session.scalars(select(ItemRow).where(ItemRow.url_hash.in_(chunk))))
    return found


def _wanted(item: tuple[str | None, str | None] | None, entry: Entry) -> bool:
    """Fetch an article that is new, whose listing changed, or whose last fetch failed."""
    return item is None or item[0] != entry.fingerprint or item[1] is None


def _item_errors(failed: list[str]) -> str | None:
    if not failed:
        return None
    more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
    return f"{len(failed)} article(s) failed: {failed[0]}{more}"[:2000]
