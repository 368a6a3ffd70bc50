"""Parts of the monitor without a server: fetching and polling on a local site.

A poll that finds many new articles at once must not spend their deadlines queueing for the
client's own connections, and a transient failure (a 503, a timeout) is tried once more in the
same poll instead of waiting a whole polling interval. A known article is fetched again after
its source's recheck interval, so a text changed under an unchanged listing is noticed. (The
worker process that scores watched names is tested with the server, in `test_watch.py`.)
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from sqlalchemy import select, update

from extractor.monitor.fetch import Fetcher, FetchError, Limits
from extractor.monitor.poll import Poller, PollReport
from extractor.monitor.sources import SourceInfo, add_source
from extractor.store import Store
from extractor.store.models import utcnow
from extractor.store.monitor import ItemRow
from extractor.testing.feeds import Site, article_html, rss


def test_queued_requests_do_not_spend_their_deadline_waiting_for_a_connection() -> None:
    # 20 requests of 0.5 s through 2 connections take 5 s in all; each one alone takes 0.5 s of
    # its 2.5 s deadline (room for a busy machine). Counted from the call, the last ones would
    # time out while queued.
    with Site() as site:
        site.page("/slow", "<p>slow</p>", delay=0.5)

        async def fetch_all() -> list[int]:
            fetcher = Fetcher(per_host_interval_s=0, max_connections=2)
            try:
                pages = await asyncio.gather(*(fetcher.get(f"{site.url}/slow", limits=Limits(timeout_s=2.5))
                                               for _ in range(20)))
            finally:
                await fetcher.aclose()
            return [page.status for page in pages]

        assert asyncio.run(fetch_all()) == [200] * 20
        assert site.hits["/slow"] == 20


def test_fetch_errors_say_whether_trying_again_may_help() -> None:
    with Site() as site:
        site.page("/busy", "x", status=503)

        async def error(path: str) -> FetchError:
            fetcher = Fetcher(per_host_interval_s=0)
            try:
                await fetcher.get(f"{site.url}{path}")
            except FetchError as exc:
                return exc
            finally:
                await fetcher.aclose()
            raise AssertionError(f"{path} was fetched")

        assert asyncio.run(error("/busy")).transient
        assert not asyncio.run(error("/missing")).transient  # a 404 stays a 404


def poll_once(store: Store, source: SourceInfo) -> PollReport:
    """One poll of `source` by a poller of its own (no pacing), as the monitor would do it."""
    async def once() -> PollReport:
        fetcher = Fetcher(per_host_interval_s=0)
        try:
            return await Poller(store, fetcher, prompt="sanctions@v3", model="none").poll(source)
        finally:
            await fetcher.aclose()

    return asyncio.run(once())


def test_a_transient_article_failure_is_tried_again_in_the_same_poll(tmp_path: Path) -> None:
    with Site() as site:
        site.page("/news/a", article_html("Release A", "The Treasury designated Person A today."), fail_first=1)
        site.page("/news/b", article_html("Release B", "The Treasury designated Person B today."))
        site.page("/feed.xml", rss([{"title": t, "link": f"{site.url}/news/{t}"} for t in ("a", "b")]),
                  content_type="application/rss+xml", fail_first=1)
        store = Store(f"sqlite:///{tmp_path / 'poll.db'}")
        with store.write() as session:
            source = add_source(session, f"{site.url}/feed.xml", name="feed", every="1h")
        report = poll_once(store, source)
        store.close()
    assert report.error is None and report.failed == [], report
    assert report.new == 2 and report.job_id is not None
    assert site.hits["/feed.xml"] == 2 and site.hits["/news/a"] == 2 and site.hits["/news/b"] == 1


def test_a_known_article_of_an_index_page_is_fetched_again_after_its_recheck_interval(tmp_path: Path) -> None:
    # An index page lists URLs: an article whose text changes under the same link changes nothing
    # in the listing. After `recheck` it is fetched again, conditionally: 304 if unchanged.
    with Site() as site:
        site.page("/news/a", article_html("Release A", "The Treasury designated Person A today."))
        site.page("/news", "<html><body><a href='/news/a'>Release A</a></body></html>")
        store = Store(f"sqlite:///{tmp_path / 'poll.db'}")
        with store.write() as session:
            source = add_source(session, f"{site.url}/news", name="index", pattern=r"/news/", every="1h",
                                recheck="1h")

        def poll() -> PollReport:
            return poll_once(store, source)

        def an_hour_passes() -> None:
            with store.write() as session:
                session.execute(update(ItemRow).values(checked_at=utcnow() - dt.timedelta(hours=1, seconds=1)))

        assert poll().new == 1
        site.page("/news/a", article_html("Release A", "The Treasury designated Person A and Person B today."))
        assert (poll().changed, site.hits["/news/a"]) == (0, 1)  # within the hour: not fetched again
        an_hour_passes()
        changed = poll()
        assert (changed.rechecked, changed.changed, site.hits["/news/a"]) == (1, 1, 2)
        assert changed.job_id is not None
        an_hour_passes()
        unchanged = poll()  # the page's ETag sent: 304
        assert (unchanged.rechecked, unchanged.changed, unchanged.job_id, site.hits["/news/a"]) == (1, 0, None, 3)
        with store.read() as session:
            [item] = session.scalars(select(ItemRow)).all()
            assert item.versions == 2 and item.etag and item.error is None
        store.close()
