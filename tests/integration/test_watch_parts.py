"""Parts of the monitor without a server: fetching on a local site, and the matching worker.

A poll that finds many new articles at once must not spend their deadlines queueing for the
client's own connections, and a transient failure (a 503, a timeout) is tried once more in the
same poll instead of waiting a whole polling interval. A known article is fetched again after
its source's recheck interval, so a text changed under an unchanged listing is noticed. Watched
names are matched in a worker process that gives the same matches and ends with its server.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select, update

from extractor.monitor.fetch import Fetcher, FetchError, Limits
from extractor.monitor.poll import Poller, PollReport
from extractor.monitor.sources import SourceInfo, add_source
from extractor.store import Store
from extractor.store.models import utcnow
from extractor.store.monitor import ItemRow
from extractor.testing.feeds import Site, article_html, rss
from tests.support import ROOT


def test_queued_requests_do_not_spend_their_deadline_waiting_for_a_connection() -> None:
    # 12 requests of 0.3 s through 2 connections take 1.8 s in all; each one alone takes 0.3 s
    # of its 1 s deadline. Counted from the call, the last ones would time out while queued.
    with Site() as site:
        site.page("/slow", "<p>slow</p>", delay=0.3)

        async def fetch_all() -> list[int]:
            fetcher = Fetcher(per_host_interval_s=0, max_connections=2)
            try:
                pages = await asyncio.gather(*(fetcher.get(f"{site.url}/slow", limits=Limits(timeout_s=1.0))
                                               for _ in range(12)))
            finally:
                await fetcher.aclose()
            return [page.status for page in pages]

        assert asyncio.run(fetch_all()) == [200] * 12
        assert site.hits["/slow"] == 12


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


def test_names_are_matched_in_a_worker_process_that_ends_with_its_server(tmp_path: Path) -> None:
    # The first name match loads rigour's name data for seconds while holding the GIL: the monitor
    # scores names in a worker process (started when a target has watched names to be scored
    # against), which must give the same matches and must not outlive a server that is killed.
    script = tmp_path / "server.py"
    script.write_text(
        "import asyncio, os, sys, time\n"
        "from extractor.monitor.events import ActionFacts\n"
        "from extractor.monitor.matchworker import MatchWorker\n"
        "from extractor.monitor.watchlists import Watchlist\n"
        "watch = [Watchlist(1, 'name', 'Junzheng Wang', None), Watchlist(2, 'programme', 'GLOMAG', None)]\n"
        "data = {'authority': 'us', 'action': 'impose', 'legal_basis': ['E.O. 13818'],\n"
        "        'targets': [{'name': 'Wang Junzheng', 'entity_type': 'person'}], 'evidence': ['Wang Junzheng']}\n"
        "other = {**data, 'targets': [{'name': 'Chen Mingguo', 'entity_type': 'person'}]}\n"
        "if __name__ == '__main__':\n"
        "    worker = MatchWorker()\n"
        "    found = asyncio.run(worker.find(watch, [ActionFacts.of(6, 'd', 1, 0, other)]))\n"
        "    print(sorted((m[0], m[1], m[4]) for m in found[6]), worker._pool is None, flush=True)\n"
        "    found = asyncio.run(worker.find(watch, [ActionFacts.of(7, 'd', 1, 0, data)]))\n"
        "    print(sorted((m[0], m[1], m[4]) for m in found[7]), flush=True)\n"
        "    print(*(p for p in worker._executor()._processes), flush=True)\n"
        "    time.sleep(600)\n")
    server = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert server.stdout is not None
        # No watched name near "Chen Mingguo": the programme alert alone, and no worker process.
        assert server.stdout.readline().strip() == "[(2, 'programme', 'GLOMAG')] True"
        assert server.stdout.readline().strip() == "[(1, 'target', 'Junzheng Wang'), (2, 'programme', 'GLOMAG')]"
        worker = int(server.stdout.readline())
        assert Path(f"/proc/{worker}").exists()
    finally:
        server.kill()
        server.wait(10)
    deadline = time.monotonic() + 20
    while Path(f"/proc/{worker}").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not Path(f"/proc/{worker}").exists(), "the matching worker outlived its server"


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
