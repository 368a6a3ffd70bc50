"""One table of every performance figure, measured in one run: `python -m benchmarks`.

Rows (each a ratio or rate; see docs/performance.md):

- raw `openai` call vs the pipeline per document, at 0 ms and 200 ms model latency, cache off
  (wall, and this process's CPU time per document);
- cache miss (200 ms model) vs in-process cache hit;
- actual vs ideal wall for 200 documents at -j 8, 32 and 128 (200 ms model), with the peak
  number of requests the server saw in flight, the raw async SDK's own wall at the same -j,
  and a bare aiohttp client's (what a client process can do against this server here at all);
- scoring (score_document alone) on unique synthetic documents: documents per second;
- whole `extractor eval --predictions` at a small and a 10× larger synthetic corpus, each in a
  subprocess: wall seconds, documents per second and peak RSS (of the main process, and the
  largest of its scoring workers), the run recorded in a throwaway run history as `eval` does;
- the run history (`benchmarks.history`): recording a run, a paired comparison and a grid from
  stored per-document scores, at 30 documents and the eval sizes;
- monitoring (`benchmarks.watch`): one poll of many unchanged feeds, items per second when every
  item is new, and event merging.

The model is `benchmarks.delay_server` (local, fixed delay). Extraction rows use only the
public API (`Extractor`, `aextract_many`, `Settings`). Options: `--only NAME` (repeatable:
raw, cache, concurrency, scoring, eval, history, watch), `--quick` (smaller sizes), `--eval-sizes 2000,20000,100000`
(the eval corpora), `--out FILE`. `--only service-soak` runs the service soak instead
(`benchmarks/soak.py`: 100 clients for `--minutes` 10 against `extractor serve`, server RSS
every minute); it is never part of the default run.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "latest.json"
SOAK_OUT = ROOT / "benchmarks" / "results" / "soak.json"
SECTIONS = ("raw", "cache", "concurrency", "scoring", "eval", "history", "watch", "service-soak")
DEFAULT_SECTIONS = SECTIONS[:-1]  # the soak takes ten minutes: only on request


def _documents(n: int, tag: str) -> list[Any]:
    from extractor import Document

    return [Document(id=f"{tag}-{i}", text=f"Treasury sanctioned Acme Shipping. Notice {tag} {i}.") for i in range(n)]


def _extractor(base_url: str, cache_dir: Path | None) -> Any:
    from extractor import Extractor, Settings

    settings = Settings(model="bench-model", base_url=base_url, api_key="bench", cache=cache_dir is not None,
                        cache_dir=cache_dir or Path(tempfile.gettempdir()) / "unused-bench-cache")
    return Extractor(settings, prompt="sanctions@v3")


def raw_vs_pipeline(server: Any, n: int) -> list[dict[str, Any]]:
    """Per-document time of the raw openai call with the same messages, and of the pipeline."""
    from openai import OpenAI

    rows = []
    for delay in (0.0, 0.2):
        server.reset(delay)
        extractor = _extractor(server.base_url, None)
        client = OpenAI(base_url=server.base_url, api_key="bench", max_retries=0)
        docs = _documents(n, f"raw{delay}")
        extractor.extract_document(docs[0])  # warm both paths (imports, connections)
        client.chat.completions.create(model="bench-model", messages=extractor.messages(docs[0]))  # type: ignore[arg-type]
        started, cpu = time.perf_counter(), time.process_time()
        for doc in docs:
            client.chat.completions.create(model="bench-model", messages=extractor.messages(doc))  # type: ignore[arg-type]
        raw, raw_cpu = (time.perf_counter() - started) / n, (time.process_time() - cpu) / n
        started, cpu = time.perf_counter(), time.process_time()
        for doc in docs:
            extractor.extract_document(doc)
        pipeline, pipeline_cpu = (time.perf_counter() - started) / n, (time.process_time() - cpu) / n
        # CPU time of this process (the server runs in its own): steadier than wall time on a busy machine.
        detail = (f"{pipeline * 1000:.2f} ms vs {raw * 1000:.2f} ms (+{(pipeline - raw) * 1000:.2f}); CPU "
                  f"{pipeline_cpu * 1000:.2f} ms vs {raw_cpu * 1000:.2f} ms")
        rows.append(_row(f"pipeline vs raw openai call, {delay * 1000:.0f} ms model", "ratio", pipeline / raw,
                         detail, "≤ 1.03× at 200 ms; ≤ +1 ms at 0 ms"))
    return rows


def cache_miss_vs_hit(server: Any, n: int) -> list[dict[str, Any]]:
    """A 200 ms miss against an in-process hit of the same documents."""
    server.reset(0.2)
    with tempfile.TemporaryDirectory() as cache:
        extractor = _extractor(server.base_url, Path(cache))
        docs = _documents(n, "cache")
        started = time.perf_counter()
        for doc in docs:
            extractor.extract_document(doc)
        miss = (time.perf_counter() - started) / n
        started = time.perf_counter()
        for doc in docs:
            extractor.extract_document(doc)
        hit = (time.perf_counter() - started) / n
    return [_row("cache miss / hit (200 ms model)", "ratio", miss / hit,
                 f"hit {hit * 1000:.2f} ms, miss {miss * 1000:.1f} ms", "hit ≤ 1 ms, ≥ 200×")]


async def _timed_many(one: Callable[[Any], Awaitable[None]], items: list[Any], j: int) -> float:
    """Wall seconds for `one` over every item at `j` in flight, after one call to connect and warm up."""
    slots = asyncio.Semaphore(j)

    async def limited(item: Any) -> None:
        async with slots:
            await one(item)

    await one(items[0])
    started = time.perf_counter()
    await asyncio.gather(*(limited(item) for item in items))
    return time.perf_counter() - started


async def _raw_many(base_url: str, messages: list[Any], j: int) -> float:
    """Wall seconds for the raw async SDK (aiohttp transport, as the pipeline uses) at `j` in flight."""
    import openai

    client = openai.AsyncOpenAI(base_url=base_url, api_key="bench", max_retries=0,
                                http_client=openai.DefaultAioHttpClient())

    async def one(m: Any) -> None:
        await client.chat.completions.create(model="bench-model", messages=m)

    try:
        return await _timed_many(one, messages, j)
    finally:
        await client.close()


async def _bare_many(base_url: str, messages: list[Any], j: int) -> float:
    """Wall seconds for a bare aiohttp client posting the same bodies at `j` in flight.

    No SDK, no parsing beyond `json.loads`: about what this machine and this server allow a
    client process, the ceiling the other two rows are measured against.
    """
    import aiohttp

    bodies = [json.dumps({"model": "bench-model", "messages": m}).encode() for m in messages]
    url, headers = f"{base_url}/chat/completions", {"content-type": "application/json"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

        async def one(body: bytes) -> None:
            async with session.post(url, data=body, headers=headers) as response:
                json.loads(await response.read())

        return await _timed_many(one, bodies, j)


def concurrency(server: Any, n: int, levels: list[int]) -> list[dict[str, Any]]:
    """Actual vs ideal wall for n documents at each -j, 200 ms model, beside the raw SDK's and a bare client's."""
    from extractor.batch.run import aextract_many

    rows = []
    for j in levels:
        ideal = -(-n // j) * 0.2
        server.reset(0.2)
        extractor = _extractor(server.base_url, None)
        messages = [extractor.messages(d) for d in _documents(n, f"raw{j}")]
        bare = asyncio.run(_bare_many(server.base_url, messages, j))
        server.reset(0.2)
        raw = asyncio.run(_raw_many(server.base_url, messages, j))
        server.reset(0.2)
        extractor = _extractor(server.base_url, None)
        docs = _documents(n, f"j{j}")
        started = time.perf_counter()
        asyncio.run(aextract_many(extractor, docs, concurrency=j))
        wall = time.perf_counter() - started
        rows.append(_row(f"{n} documents, 200 ms model, -j {j}: ideal / actual wall", "ratio", ideal / wall,
                         f"{wall:.2f} s vs ideal {ideal:.2f} s; peak in flight {server.peak}; the raw async "
                         f"SDK alone: {raw:.2f} s ({ideal / raw:.2f} of ideal); a bare aiohttp client: {bare:.2f} s "
                         f"({ideal / bare:.2f})", "≥ 0.90"))
    return rows


def scoring(n: int) -> list[dict[str, Any]]:
    """score_document on unique synthetic documents (parsed beforehand): documents per second."""
    from benchmarks.synthetic import generate
    from extractor.batch.results import parse_record
    from extractor.core.schema import GoldFile
    from extractor.eval.scoring import score_document

    items = [(GoldFile.model_validate(i.gold), parse_record(i.prediction, 1), i.text) for i in generate(n, seed=11)]
    started = time.perf_counter()
    for gold, pred, text in items:
        score_document(gold, pred, text)
    seconds = time.perf_counter() - started
    return [_row("scoring alone, unique texts", "documents/s", n / seconds, f"{n} documents in {seconds:.2f} s",
                 "≥ 5,000/s")]


def whole_eval(sizes: list[int]) -> list[dict[str, Any]]:
    """`extractor eval --predictions` on synthetic corpora, each in its own process: wall and peak RSS."""
    from benchmarks.synthetic import write_corpus

    rows, measured = [], []
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            gold, docs, predictions = write_corpus(Path(tmp), n, seed=n)
            script = (
                "import resource, sys, time; from extractor.cli import main; t = time.perf_counter()\n"
                "try:\n    main()\nexcept SystemExit:\n    pass\n"
                "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,\n"
                "      resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)"
            )
            argv = ["eval", "--predictions", str(predictions), "--gold", str(gold), "--docs", str(docs),
                    "--out", str(Path(tmp) / "out"), "--db", f"sqlite:///{Path(tmp) / 'runs.db'}"]
            done = subprocess.run([sys.executable, "-c", script, *argv], cwd=ROOT, capture_output=True, text=True,
                                  env={**os.environ, "COLUMNS": "150"}, check=False)
            seconds, rss_kb, worker_kb = (float(x) for x in done.stderr.strip().splitlines()[-1].split())
        measured.append((n, seconds, rss_kb / 1024))
        workers = f", each scoring worker ≤ {worker_kb / 1024:.0f} MiB" if worker_kb else ""
        rows.append(_row(f"extractor eval, {n} documents", "documents/s", n / seconds,
                         f"{seconds:.1f} s wall, peak RSS {rss_kb / 1024:.0f} MiB{workers}", "100,000 in < 60 s"))
    if len(measured) >= 2:
        (n1, _, r1), (n2, _, r2) = measured[0], measured[-1]
        rows.append(_row(f"eval peak RSS, {n2} / {n1} documents", "ratio", r2 / r1,
                         f"{r2:.0f} MiB vs {r1:.0f} MiB", "≈ 1 (no growth beyond per-document scores)"))
    return rows


def _row(what: str, unit: str, value: float, detail: str, goal: str) -> dict[str, Any]:
    return {"what": what, "unit": unit, "value": round(value, 3), "detail": detail, "goal": goal}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", choices=SECTIONS, help="run only this section (repeatable)")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a quick look")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"JSON output (default {DEFAULT_OUT}; {SOAK_OUT} for the soak alone)")
    parser.add_argument("--eval-sizes", type=_sizes, default=None,
                        help="corpus sizes of the eval rows, comma-separated (default 2000,20000; "
                             "2000,20000,100000 checks the 100,000-document goal, about 3 minutes more)")
    parser.add_argument("--minutes", type=float, default=10.0, help="service-soak: how long (default 10)")
    parser.add_argument("--clients", type=int, default=100, help="service-soak: concurrent clients (default 100)")
    parser.add_argument("--soak-db", default=None, help="service-soak: database URL (default: a temporary SQLite)")
    args = parser.parse_args(argv)
    cpu_check = _cpu_check()  # before the sections, as the machine stands when they start
    sections = args.only or list(DEFAULT_SECTIONS)
    quick = args.quick
    rows: list[dict[str, Any]] = []
    if {"raw", "cache", "concurrency"} & set(sections):
        from benchmarks.delay_server import ProcessDelayServer

        with ProcessDelayServer() as server:
            if "raw" in sections:
                rows += raw_vs_pipeline(server, 10 if quick else 30)
            if "cache" in sections:
                rows += cache_miss_vs_hit(server, 5 if quick else 20)
            if "concurrency" in sections:
                rows += concurrency(server, 200, [8, 32] if quick else [8, 32, 128])
    if "scoring" in sections:
        rows += scoring(300 if quick else 2000)
    if "eval" in sections:
        rows += whole_eval(args.eval_sizes or ([200, 2000] if quick else [2000, 20000]))
    if "history" in sections:
        from benchmarks.history import history

        rows += history([30, 300, *(args.eval_sizes or ([2000] if quick else [2000, 20000]))])
    if "watch" in sections:
        from benchmarks.watch import watch_rows

        rows += watch_rows(quick)
    if "service-soak" in sections:
        from benchmarks.soak import soak

        rows += soak(minutes=args.minutes, clients=args.clients, db_url=args.soak_db)
    result = {
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "cpu_check_s": cpu_check,
        "load_average_1m": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "quick": quick,
        "rows": rows,
    }
    _print(result)
    out = args.out or (SOAK_OUT if sections == ["service-soak"] else DEFAULT_OUT)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {out}")


def _cpu_check() -> float:
    """Seconds for a fixed pure-Python loop (best of 3): how fast this machine is right now.

    Shared machines drift from hour to hour; comparing runs across commits means comparing
    their figures relative to this one.
    """
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        sum(i * i for i in range(2_000_000))
        best = min(best, time.perf_counter() - started)
    return round(best, 3)


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected sizes like 2000,20000") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: sizes must be positive")
    return sizes


def _print(result: dict[str, Any]) -> None:
    print(f"{result['cores']} cores, load {result['load_average_1m']}, Python {result['python']}, "
          f"CPU check {result['cpu_check_s']} s, {result['measured_at']}{' (quick)' if result['quick'] else ''}")
    print("| what | value | unit | measured | goal |")
    print("|---|--:|---|---|---|")
    for row in result["rows"]:
        print(f"| {row['what']} | {row['value']:g} | {row['unit']} | {row['detail']} | {row['goal']} |")
