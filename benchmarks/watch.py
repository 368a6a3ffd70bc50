"""Monitoring benchmark rows: polling many feeds, extracting new items, merging actions into events.

- A full poll of 200 feeds of 50 items each on a local site when nothing changed: first with
  every listing parsed (all items known), then with conditional GET (every feed answers 304).
- Items per second when everything is new: feeds of new articles polled, fetched, extracted
  by the job workers against a fake model answering in 200 ms, digested into events.
- Event merging: 1,000 and 10,000 synthetic actions through `EventIndex` (CPU time); the time
  per action stays flat when merging is not quadratic.
"""

from __future__ import annotations

import asyncio
import gc
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from extractor.core.settings import Settings
from extractor.monitor import ActionFacts, EventIndex, Monitor, MonitorConfig
from extractor.monitor.feeds import parse_feed, url_hash
from extractor.monitor.sources import add_source
from extractor.service import ServiceConfig
from extractor.service.monitoring import run_once
from extractor.service.registry import Registry
from extractor.store import Store
from extractor.store.monitor import ItemRow
from extractor.testing.feeds import Site, article_html, rss
from extractor.testing.service import fake_model


def _row(what: str, unit: str, value: float, detail: str, goal: str) -> dict[str, Any]:
    return {"what": what, "unit": unit, "value": round(value, 3), "detail": detail, "goal": goal}


def _feeds(site: Site, feeds: int, items: int, tag: str) -> list[str]:
    urls = []
    for f in range(feeds):
        entries = [{"title": f"{tag} release {f}-{i}", "link": f"{site.url}/{tag}/{f}/{i}"} for i in range(items)]
        site.page(f"/{tag}/feed{f}.xml", rss(entries), content_type="application/rss+xml")
        urls.append(f"{site.url}/{tag}/feed{f}.xml")
    return urls


def unchanged_poll(feeds: int = 200, items: int = 50) -> list[dict[str, Any]]:
    """Two full polls of feeds whose items are all known: listings parsed, then 304s."""
    with tempfile.TemporaryDirectory() as tmp, Site() as site:
        store = Store(f"sqlite:///{Path(tmp) / 'bench.db'}")
        urls = _feeds(site, feeds, items, "known")
        with store.write() as session:
            for n, url in enumerate(urls):
                source = add_source(session, url, name=f"feed-{n}", every="1h")
                for entry in parse_feed(site.pages[url.removeprefix(site.url)].body, url):
                    session.add(ItemRow(source_id=source.id, url=entry.url, url_hash=url_hash(entry.url),
                                        fingerprint=entry.fingerprint, text_sha256="known", versions=1))
        monitor = Monitor(store, MonitorConfig(per_host_interval_s=0, concurrency=16), prompt="sanctions@v3",
                          model="none")

        async def poll() -> float:
            started = time.perf_counter()
            reports = await monitor.poller.poll_due(everything=True)
            elapsed = time.perf_counter() - started
            assert all(not r.error and not r.new for r in reports), reports[:3]
            return elapsed

        async def both() -> tuple[float, float]:
            try:
                return await poll(), await poll()
            finally:
                await monitor.stop()

        parsed, conditional = asyncio.run(both())
        store.close()
    detail = f"{feeds} feeds × {items} items, all known, 16 at once"
    return [
        _row("poll, nothing new (listings parsed)", "s", parsed, detail, "—"),
        _row("poll, nothing changed (conditional GET, 304)", "s", conditional, detail, "well under the parsed poll"),
    ]


def new_items(feeds: int = 10, items: int = 50, delay: float = 0.2, workers: int = 32) -> list[dict[str, Any]]:
    """Everything new: poll, fetch, extract (fake model at `delay` s), digest; items per second."""
    with tempfile.TemporaryDirectory() as tmp, Site() as site, fake_model(delay=delay) as model:
        db_url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        store = Store(db_url)
        urls = _feeds(site, feeds, items, "new")
        for f in range(feeds):
            for i in range(items):
                name = f"Person {f} {i}"
                text = (f"The Treasury designated {name} today under E.O. 14024.\n\n"
                        f"All property of {name} is blocked. [[target={name}|type=person|date=2024-03-05]]")
                site.page(f"/new/{f}/{i}", article_html(f"Release {f}-{i}", text))
        with store.write() as session:
            for n, url in enumerate(urls):
                add_source(session, url, name=f"feed-{n}", every="1h")
        settings = Settings.from_env(model="fake-model", base_url=model.base_url, api_key="bench",
                                     cache_dir=Path(tmp) / "cache", prompt="sanctions@v3")
        config = ServiceConfig(db_url=db_url, settings=settings, workers=workers, watch_host_interval_s=0)
        registry = Registry(settings)

        async def once() -> Any:
            try:
                return await run_once(config, store, registry, timeout_s=600)
            finally:
                await registry.aclose()

        started = time.perf_counter()
        report = asyncio.run(once())
        elapsed = time.perf_counter() - started
        store.close()
    total = feeds * items
    extracted = sum(d.extractions for d in report.digests)
    failed = [message for poll in report.polls for message in ([poll.error] if poll.error else []) + poll.failed]
    what = "new items end to end" + ("" if extracted == total else " (INCOMPLETE: not every item extracted)")
    detail = (f"{extracted} of {total} new articles extracted and digested in {elapsed:.1f} s (poll, fetch, "
              f"extract with {workers} workers, model {delay * 1000:.0f} ms)")
    if failed:
        detail += f"; {len(failed)} fetch failure(s), first: {failed[0]}"
    return [_row(what, "items/s", extracted / elapsed, detail, f"all {total}; toward {workers / delay:.0f}/s, "
                 "the model's bound")]


# Issuers as sources print them: compared by registry id (OFAC within the Treasury, State apart,
# None and an unplaceable name agreeing with any).
ISSUERS = [None, "OFAC", "U.S. Department of the Treasury", "Department of State", "Council of the European Union",
           "OFSI", "Global Affairs Canada", "the authorities"]


def merging(sizes: tuple[int, ...] = (1_000, 10_000)) -> list[dict[str, Any]]:
    """Synthetic actions (authorities, issuers, dates, overlapping target names) through `EventIndex`."""
    rows = []
    per_action = []
    for size in sizes:
        rng = random.Random(7)
        names = [f"{rng.choice(['Ivan', 'Olga', 'Li', 'Ahmed', 'Maria'])} {rng.choice(['Petrov', 'Wei', 'Khan'])}"
                 f" {n}" for n in range(size // 3)]
        facts = []
        for n in range(size):
            day = 1 + rng.randrange(28)
            data = {"authority": rng.choice(["us", "eu", "gb", "ca"]), "action": "impose",
                    "date": f"2024-{1 + rng.randrange(12):02d}-{day:02d}", "measures": ["asset_freeze"],
                    "targets": [{"name": rng.choice(names), "entity_type": "person"} for _ in range(3)],
                    "legal_basis": [f"E.O. {14000 + rng.randrange(40)}"], "issuer": rng.choice(ISSUERS)}
            facts.append(ActionFacts.of(n + 1, f"doc-{n // 2}", n + 1, n % 2, data))
        index = EventIndex()
        # The synthetic inputs and the previous size's index are moved out of the collector's way,
        # so that the row times the index (its own objects are collected as usual). CPU time: the
        # merge is one thread, and other jobs on a shared machine do not count.
        gc.collect()
        gc.freeze()
        started = time.process_time()
        for action in facts:
            index.add(action)
        elapsed = time.process_time() - started
        gc.unfreeze()
        per_action.append(elapsed / size)
        rows.append(_row(f"event merging, {size:,} actions", "s", elapsed,
                         f"{len(index.events):,} events; {elapsed / size * 1e6:.0f} µs per action",
                         "linear: µs per action flat as size grows"))
    if len(per_action) > 1:
        rows.append(_row("event merging, per-action time ratio (largest / smallest)", "×",
                         per_action[-1] / per_action[0], f"sizes {', '.join(f'{s:,}' for s in sizes)}",
                         "about 1 (quadratic would be ×10)"))
    return rows


def watch_rows(quick: bool = False) -> list[dict[str, Any]]:
    """Every monitoring row."""
    rows = unchanged_poll(40 if quick else 200, 50)
    rows += new_items(4 if quick else 10, 50)
    rows += merging((1_000, 3_000) if quick else (1_000, 10_000))
    return rows
