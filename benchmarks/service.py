"""Service throughput: `POST /v1/extract` served from the store, and a job against a slow fake model.

Starts a fake OpenAI-compatible model (answers after --latency seconds) and `extractor serve`
on loopback with a temporary SQLite database (or --db URL), then measures:

1. requests/s and p50/p99 latency of `POST /v1/extract` answered from the store, with
   --clients concurrent clients;
2. a --documents job with --workers job workers, against ideal = N × latency / workers.

    .venv/bin/python benchmarks/service.py
    .venv/bin/python benchmarks/service.py --db postgresql+psycopg://user@127.0.0.1/bench
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from extractor.testing.service import Service, article, fake_model, make_key  # noqa: E402


async def store_requests(url: str, key: str, clients: int, total: int) -> tuple[float, list[float]]:
    """`total` requests for one stored document from `clients` concurrent clients: (seconds, latencies)."""
    doc = article("bench-stored", target="Benchmark Holdings")
    latencies: list[float] = []
    remaining = total
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60,
                                 limits=limits) as client:
        first = await client.post("/v1/extract", json=doc)
        first.raise_for_status()

        async def one_client() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                started = time.perf_counter()
                response = await client.post("/v1/extract", json=doc)
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200 or not response.json()["meta"]["stored"]:
                    raise RuntimeError(f"unexpected answer {response.status_code}: {response.text[:200]}")

        started = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(clients)))
        return time.perf_counter() - started, latencies


def run_job(url: str, key: str, documents: int) -> float:
    """Seconds from submitting a `documents` job to its last item finishing."""
    docs = [article(f"bench-job-{n:04d}", target=f"Benchmark Target {n}") for n in range(documents)]
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=120) as client:
        started = time.perf_counter()
        job = client.post("/v1/jobs", json=docs)
        job.raise_for_status()
        job_id = job.json()["id"]
        deadline = started + 3600
        while time.perf_counter() < deadline:
            status = client.get(f"/v1/jobs/{job_id}").json()
            if status["status"] == "finished":
                elapsed = time.perf_counter() - started
                if status["failed"]:
                    raise RuntimeError(f"{status['failed']} document(s) failed")
                return elapsed
            time.sleep(0.05)
    raise RuntimeError("the job did not finish within an hour")


def percentile(values: list[float], q: int) -> float:
    """The q-th percentile (inclusive method)."""
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def main() -> None:
    """Run both measurements and print the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=32)
    parser.add_argument("--latency", type=float, default=0.2, help="fake model latency, seconds")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, fake_model(delay=args.latency) as fake:
        db_url = args.db or f"sqlite:///{Path(tmp) / 'bench.db'}"
        key = make_key(db_url)
        service = Service(db_url, fake.base_url, Path(tmp), workers=args.workers, lease=30).start()
        try:
            seconds, latencies = asyncio.run(store_requests(service.url, key, args.clients, args.requests))
            job_seconds = run_job(service.url, key, args.documents)
        finally:
            service.stop()
    ideal = args.documents * args.latency / args.workers
    backend = db_url.split(":", 1)[0]
    print(f"| measurement ({backend}) | value |")
    print("| --- | --- |")
    print(f"| POST /v1/extract from the store, {args.clients} clients, {len(latencies)} requests | "
          f"{len(latencies) / seconds:.0f} requests/s |")
    p50, p99 = percentile(latencies, 50) * 1000, percentile(latencies, 99) * 1000
    print(f"| latency p50 / p99 | {p50:.1f} ms / {p99:.1f} ms |")
    print(f"| job of {args.documents} documents, {args.latency * 1000:.0f} ms model, {args.workers} workers | "
          f"{job_seconds:.2f} s (ideal {ideal:.2f} s) |")
    print(f"| job throughput as a fraction of ideal | {ideal / job_seconds:.2f} |")


if __name__ == "__main__":
    main()
