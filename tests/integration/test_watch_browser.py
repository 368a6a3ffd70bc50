"""The events and alerts pages in a real browser (Playwright driving Debian's chromium) against a real server.

The store holds the seeds and the March 22 and December 10, 2021 Treasury releases (their gold
answers as recorded extractions) and a GLOMAG watchlist; the server's monitor digests them. The
events page lists the merged events, an event shows its sources, its targets with who names
each and the sources' conflicts; the alerts page lists the programme alerts. A reader's key sees them all.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from extractor.monitor.watchlists import add_watchlist
from extractor.store import Store
from extractor.testing.fake_openai import FakeOpenAI
from extractor.testing.service import Service, make_key
from tests.integration.test_events import RELEASES, SEEDS, gold, record
from tests.support import ROOT
from tests.support.browser import chromium, require_chromium

SCREENSHOTS = os.environ.get("REVIEW_SCREENSHOTS")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Service, str, Any]]:
    sync_api = require_chromium()
    tmp = tmp_path_factory.mktemp("watch-browser")
    db_url = f"sqlite:///{tmp / 'service.db'}"
    store = Store(db_url)
    with store.write() as session:
        add_watchlist(session, "programme", "GLOMAG")
    for doc_id in SEEDS + RELEASES:
        record(store, doc_id, gold(doc_id), text=(ROOT / "evals" / "docs" / f"{doc_id}.txt").read_text())
    store.close()
    key = make_key(db_url, "analyst", role="reader")  # reading is all the monitoring pages need
    with FakeOpenAI() as fake:
        service = Service(db_url, fake.base_url, tmp, extra=("--watch-tick", "0.2")).start()
        try:
            with httpx.Client(base_url=service.url, headers={"Authorization": f"Bearer {key}"}, timeout=10) as api:
                deadline = time.monotonic() + 60
                while api.get("/v1/events").json()["total"] < 10 and time.monotonic() < deadline:
                    time.sleep(0.2)
            with chromium(sync_api) as browser:
                yield service, key, browser
        finally:
            service.stop()


def _shot(page: Any, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / name), full_page=True)


def test_events_and_alerts_pages(served: tuple[Service, str, Any]) -> None:
    service, key, browser = served
    page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
    page.goto(f"{service.url}/review/events")
    assert "/review/login" in page.url
    page.fill("#key", key)
    page.click("button[type=submit]")
    page.wait_for_url("**/review/events")
    rows = page.locator("#events tbody tr")
    assert rows.count() == 10
    assert page.locator("#events .tag.bad").count() >= 1  # a conflict between sources is flagged
    _shot(page, "watch-events.png")

    page.fill("input[name=programme]", "GLOMAG")
    page.click(".filters button[type=submit]")
    page.wait_for_url("**programme=GLOMAG**")
    assert page.locator("#events tbody tr").count() == 2

    page.click("#events tbody tr:has-text('2021-12-10') a.doclink")
    page.wait_for_url("**/review/events/*")
    assert page.locator("#sources tbody tr").count() == 2
    assert page.locator("#issuer").inner_text() == "Office of Foreign Assets Control"  # "Treasury" and "OFAC"
    soin = page.locator("#targets tbody tr:has-text('Soin')")
    assert soin.count() == 1 and "Dmitriy Yurevich Soin · Dmitry Yurevich Soin" in soin.inner_text()
    assert "measures" in page.locator("#conflicts").inner_text()
    assert page.locator("#event-alerts li").count() == 1
    _shot(page, "watch-event.png")

    page.click("header nav a[href='/review/alerts']")
    page.wait_for_url("**/review/alerts")
    assert page.locator("#alerts tbody tr").count() == 2
    assert "GLOMAG" in page.locator("#alerts").inner_text()
    _shot(page, "watch-alerts.png")

    page.goto(f"{service.url}/review/events?issuer=State+Department")  # by name or registry id (us-state)
    assert page.locator("#events tbody tr").count() == 1
    assert "U.S. Department of State" in page.locator("#events").inner_text()
