"""Service soak: 100 clients for 10 minutes against `extractor serve`; throughput, latency and server RSS per minute.

`python -m benchmarks --only service-soak [--minutes N] [--clients N] [--soak-db URL]`

A fake model in its own process (50 ms per answer) and the server (SQLite in a temporary
directory unless `--soak-db`) run on this machine. Each client repeats a mix of what a team
does, so the database grows while it runs:

| share | request |
|--:|---|
| 30% | `POST /v1/extract` of a document already stored (answered from the store) |
| 10% | `POST /v1/extract` of a new document (one model call) |
| 15% | `GET /v1/documents` filtered by a fuzzy target name, or by authority |
| 15% | `GET /v1/documents/{id}` |
| 10% | `GET /v1/documents/{id}/ftm` |
| 5% | `POST /v1/jobs` of 5 new documents |
| 5% | `GET /v1/jobs/{id}` and its results |
| 10% | `GET /review` (the queue, page 1, as a logged-in browser) |

Every minute it prints requests/s, p50 and p99 latency, errors, and the server's resident
memory (VmRSS from /proc). Memory is flat when the last minutes stay within a few MiB of
the first minute after warm-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

MIX = (("extract_stored", 30), ("extract_new", 10), ("list", 15), ("detail", 15), ("ftm", 10), ("job", 5),
       ("job_status", 5), ("queue", 10))
MODEL_DELAY_S = 0.05
SEED_DOCUMENTS = 50


def _text(n: int, tag: str) -> str:
    return (f"Notice {tag} {n}: the Treasury sanctioned Acme Shipping and Soak Target {n} today for evading "
            f"export controls. " + "Background paragraph. " * 40)


@dataclass
class Minute:
    """What one minute of the soak measured."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)


@dataclass
class Soak:
    url: str
    key: str
    minutes: list[Minute] = field(default_factory=list)
    stored: list[str] = field(default_factory=list)
    jobs: list[str] = field(default_factory=list)
    counter: int = 0

    def new_id(self, tag: str) -> str:
        self.counter += 1
        return f"soak-{tag}-{self.counter}"


async def _one(soak: Soak, api: httpx.AsyncClient, web: httpx.AsyncClient, kind: str, rng: random.Random) -> int:
    if kind == "extract_stored":
        doc_id = rng.choice(soak.stored)
        n = int(doc_id.rsplit("-", 1)[1])
        return (await api.post("/v1/extract", json={"id": doc_id, "text": _text(n, "seed")})).status_code
    if kind == "extract_new":
        doc_id = soak.new_id("new")
        response = await api.post("/v1/extract", json={"id": doc_id, "text": _text(soak.counter, "new")})
        return response.status_code
    if kind == "list":
        params = {"target": f"Soak Target {rng.randrange(200)}"} if rng.random() < 0.5 else {"authority": "us"}
        return (await api.get("/v1/documents", params={**params, "limit": "50"})).status_code
    if kind == "detail":
        return (await api.get(f"/v1/documents/{rng.choice(soak.stored)}")).status_code
    if kind == "ftm":
        return (await api.get(f"/v1/documents/{rng.choice(soak.stored)}/ftm")).status_code
    if kind == "job":
        docs = [{"id": soak.new_id("job"), "text": _text(soak.counter, "job")} for _ in range(5)]
        response = await api.post("/v1/jobs", json=docs)
        if response.status_code == 202:
            soak.jobs.append(response.json()["id"])
            del soak.jobs[:-100]
        return response.status_code
    if kind == "job_status":
        if not soak.jobs:
            return (await api.get("/v1/documents", params={"limit": "10"})).status_code
        job_id = rng.choice(soak.jobs)
        status = await api.get(f"/v1/jobs/{job_id}")
        if status.status_code == 200 and status.json()["status"] == "finished":
            return (await api.get(f"/v1/jobs/{job_id}/results")).status_code
        return status.status_code
    return (await web.get("/review")).status_code


async def _client(soak: Soak, api: httpx.AsyncClient, web: httpx.AsyncClient, seed: int, start: float,
                  end: float) -> None:
    rng = random.Random(seed)
    kinds, weights = zip(*MIX, strict=True)
    while (now := time.monotonic()) < end:
        kind = rng.choices(kinds, weights)[0]
        began = time.perf_counter()
        try:
            status = await _one(soak, api, web, kind, rng)
        except httpx.HTTPError:
            status = 0
        minute = soak.minutes[min(int((now - start) // 60), len(soak.minutes) - 1)]
        minute.latencies.append(time.perf_counter() - began)
        minute.statuses[status] = minute.statuses.get(status, 0) + 1
        if status == 0 or status >= 400:
            minute.errors += 1


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _run(soak: Soak, pid: int, clients: int, minutes: float) -> list[float]:
    limits = httpx.Limits(max_connections=clients + 10, max_keepalive_connections=clients + 10)
    headers = {"Authorization": f"Bearer {soak.key}"}
    async with httpx.AsyncClient(base_url=soak.url, headers=headers, timeout=120, limits=limits) as api, \
            httpx.AsyncClient(base_url=soak.url, timeout=120, limits=limits) as web:
        form = await web.get("/review/login")  # the form's CSRF token, where the login form has one
        token = re.search(r'name="csrf" value="([^"]+)"', form.text)
        login = await web.post("/review/login", data={"key": soak.key, "next": "/review",
                                                      **({"csrf": token.group(1)} if token else {})})
        if login.status_code != 303:
            raise RuntimeError(f"cannot log in to the review pages: {login.status_code} {login.text[:200]}")
        for n in range(SEED_DOCUMENTS):
            doc_id = f"soak-seed-{n}"
            (await api.post("/v1/extract", json={"id": doc_id, "text": _text(n, "seed")})).raise_for_status()
            soak.stored.append(doc_id)
        rss = [_rss_mib(pid)]
        count = max(1, int(-(-minutes // 1)))
        soak.minutes = [Minute() for _ in range(count)]
        start = time.monotonic()
        end = start + minutes * 60

        async def sample() -> None:
            for m in range(1, count + 1):
                await asyncio.sleep(max(0.0, start + min(m * 60, minutes * 60) - time.monotonic()))
                rss.append(_rss_mib(pid))
                done = soak.minutes[m - 1]
                print(f"minute {m}: {len(done.latencies):,} requests, {done.errors} errors, server RSS {rss[-1]:.0f} "
                      "MiB", file=sys.stderr, flush=True)

        sampler = asyncio.create_task(sample())
        await asyncio.gather(*(_client(soak, api, web, seed, start, end) for seed in range(clients)))
        with contextlib.suppress(asyncio.CancelledError):
            await sampler
        return rss


def _percentile(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def soak(minutes: float = 10.0, clients: int = 100, db_url: str | None = None) -> list[dict[str, Any]]:
    """Run the soak; one row per minute and a summary row (the benchmark table's rows)."""
    from benchmarks.delay_server import ProcessDelayServer
    from benchmarks.run import _row
    from extractor.testing.service import Service, make_key

    with tempfile.TemporaryDirectory() as tmp, ProcessDelayServer(MODEL_DELAY_S) as model:
        url = db_url or f"sqlite:///{Path(tmp) / 'soak.db'}"
        key = make_key(url, "soak", rate_limit=10_000_000)
        service = Service(url, model.base_url, Path(tmp), workers=8, lease=30.0).start()
        try:
            assert service.proc is not None
            state = Soak(service.url, key)
            rss = asyncio.run(_run(state, service.proc.pid, clients, minutes))
        finally:
            service.stop()
    backend = url.split(":", 1)[0].split("+", 1)[0]
    rows = []
    for number, minute in enumerate(state.minutes, start=1):
        seconds = min(60.0, minutes * 60 - (number - 1) * 60)
        lat = minute.latencies
        rows.append(_row(
            f"service soak ({backend}, {clients} clients), minute {number}", "requests/s", len(lat) / seconds,
            f"p50 {_percentile(lat, 50) * 1000:.0f} ms, p99 {_percentile(lat, 99) * 1000:.0f} ms, "
            f"{minute.errors} errors, server RSS {rss[number]:.0f} MiB", "memory flat after warm-up"))
    warm = rss[1] if len(rss) > 2 else rss[0]
    every = [latency for minute in state.minutes for latency in minute.latencies]
    errors = sum(minute.errors for minute in state.minutes)
    rows.append(_row(
        f"service soak ({backend}, {clients} clients, {minutes:g} min): RSS end / after minute 1", "ratio",
        rss[-1] / warm,
        f"{len(every):,} requests, {len(every) / (minutes * 60):.0f}/s, p50 {_percentile(every, 50) * 1000:.0f} ms, "
        f"p99 {_percentile(every, 99) * 1000:.0f} ms, {errors} errors; RSS MiB by minute: "
        + ", ".join(f"{r:.0f}" for r in rss), "≈ 1.0 (flat)"))
    return rows


