"""Documents per second: the local asyncio path against Ray with 1 and 2 actors.

A fake OpenAI-compatible server on 127.0.0.1 answers every request after a fixed delay,
standing in for a model server whose latency dominates. Caching is off, so every document
is a model call. Each engine keeps `-j` documents in flight per worker (local: one worker;
Ray: per actor). Two rates are shown: over the whole run (Ray's start-up included) and in
steady state (first to last finished document).

Run: `.venv/bin/python benchmarks/ray_engine.py [--docs 400] [--delay 0.2] [-j 8]`.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from extractor import Extractor, Settings  # noqa: E402
from extractor.batch.ray_engine import run_ray  # noqa: E402
from extractor.batch.run import aextract_many  # noqa: E402
from extractor.core.documents import iter_documents  # noqa: E402
from extractor.testing.fake_openai import FakeOpenAI  # noqa: E402


def make_inputs(folder: Path, docs: int) -> Path:
    path = folder / "news.jsonl"
    with path.open("w", encoding="utf-8") as handle:
        for i in range(docs):
            handle.write(json.dumps({"id": f"d{i}", "text": f"Treasury sanctioned Acme Shipping {i}."}) + "\n")
    return path


def local(extractor: Extractor, inputs: Path, concurrency: int) -> tuple[float, float, int]:
    import asyncio

    marks: list[float] = []
    started = time.perf_counter()
    summary = asyncio.run(aextract_many(extractor, iter_documents([inputs]), concurrency=concurrency,
                                        on_outcome=lambda _: marks.append(time.perf_counter())))
    return time.perf_counter() - started, marks[-1] - marks[0], summary.succeeded


def on_ray(extractor: Extractor, inputs: Path, out: Path, actors: int, concurrency: int) -> tuple[float, float, int]:
    marks: list[float] = []
    started = time.perf_counter()
    summary = run_ray(extractor, [str(inputs)], out, actors=actors, concurrency=concurrency,
                      on_outcome=lambda _: marks.append(time.perf_counter()))
    return time.perf_counter() - started, marks[-1] - marks[0], summary.succeeded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=400)
    parser.add_argument("--delay", type=float, default=0.2, help="seconds the fake server takes per request")
    parser.add_argument("-j", "--concurrency", type=int, default=8, help="documents in flight per worker")
    args = parser.parse_args()
    import ray

    rows = []
    with tempfile.TemporaryDirectory() as tmp, FakeOpenAI(delay=args.delay) as fake:
        inputs = make_inputs(Path(tmp), args.docs)
        settings = Settings.from_env(model="fake-model", base_url=fake.base_url, api_key="bench", cache=False)
        extractor = Extractor(settings, prompt="sanctions@v3")
        for flight in (args.concurrency, 2 * args.concurrency):
            rows.append(("local asyncio", flight, *local(extractor, inputs, flight)))
        ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
        try:
            for actors in (1, 2):
                out = Path(tmp) / f"out-{actors}"
                total, steady, done = on_ray(extractor, inputs, out, actors, args.concurrency)
                rows.append((f"ray, {actors} actor(s)", actors * args.concurrency, total, steady, done))
        finally:
            ray.shutdown()
    print(f"{args.docs} documents, fake server delay {args.delay}s, -j {args.concurrency} per worker, cache off")
    print(f"{'engine':<18} {'in flight':>9} {'wall s':>8} {'doc/s':>8} {'steady doc/s':>13} {'ok':>5}")
    for name, flight, total, steady, done in rows:
        steady_rate = (done - 1) / steady if steady > 0 else float("nan")
        print(f"{name:<18} {flight:>9} {total:>8.2f} {done / total:>8.1f} {steady_rate:>13.1f} {done:>5}")
    if args.delay > 0:
        print(f"ceiling per worker at this delay: {args.concurrency / args.delay:.0f} doc/s")


if __name__ == "__main__":
    main()
