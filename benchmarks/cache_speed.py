"""Cold against warm: `extractor extract seeds/*.txt` with an empty cache, then again.

Prints a table of wall-clock times (whole CLI process, model load included) and the
ratio. The model answers (`EXTRACTOR_GUIDED_READING=off`): the default's rules need no cache.
Run: `.venv/bin/python benchmarks/cache_speed.py [--runs 3]`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from extractor.core.prompts import DEFAULT_PROMPT

ROOT = Path(__file__).resolve().parent.parent


def timed(cmd: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--prompt", default=DEFAULT_PROMPT)
    args = parser.parse_args()
    seeds = sorted(str(p) for p in (ROOT / "seeds").glob("*.txt"))
    cmd = [sys.executable, "-m", "extractor", "extract", *seeds, "--prompt", args.prompt]
    rows = []
    for run in range(args.runs):
        with tempfile.TemporaryDirectory() as cache:
            env = {**os.environ, "EXTRACTOR_CACHE_DIR": cache, "EXTRACTOR_GUIDED_READING": "off"}
            for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "EXTRACTOR_MODEL"):
                env.pop(name, None)
            cold = timed(cmd, env)
            warm = timed(cmd, env)
            rows.append((run + 1, cold, warm))
    print(f"extractor extract {len(seeds)} seeds, embedded model, prompt {args.prompt}")
    print(f"{'run':>4} {'cold s':>8} {'warm s':>8} {'cold/warm':>10}")
    for run, cold, warm in rows:
        print(f"{run:>4} {cold:>8.2f} {warm:>8.2f} {cold / warm:>10.1f}")
    cold = sorted(r[1] for r in rows)[len(rows) // 2]
    warm = sorted(r[2] for r in rows)[len(rows) // 2]
    print(f"{'med':>4} {cold:>8.2f} {warm:>8.2f} {cold / warm:>10.1f}")


if __name__ == "__main__":
    main()
