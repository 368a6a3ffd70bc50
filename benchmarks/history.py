"""The run history's costs: recording a run's per-document scores, a paired comparison and a grid from them.

Runs of n documents are made of synthetic per-document counts (the shapes `extractor eval`
records); each size gets a fresh SQLite store in a temporary directory. Rows:

- recording one run: encoding its scores and the insert, seconds, and stored bytes per document;
- the paired comparison of two stored runs (every field path, 2,000 resamples), seconds;
- a 3 × 2 grid against a baseline (five headline comparisons in one pass, 2,000 resamples),
  seconds, first view (the page memoises the comparisons, so a second view costs only the
  queries).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

PROMPTS = ("sanctions@v1", "sanctions@v2", "sanctions@v3")
MODELS = ("model-a", "model-b")


def _record(n: int, prompt: str, model: str, rng: np.random.Generator) -> Any:
    from extractor.eval.history.record import RunRecord
    from extractor.eval.scoring.aggregate import GROUP_NAMES
    from extractor.store.runs import DocScores

    counts = rng.integers(0, 6, size=(n, len(GROUP_NAMES), 3)).astype(float)
    counts[:, :, 0] += np.round(rng.random((n, len(GROUP_NAMES))), 6) * (rng.random((n, len(GROUP_NAMES))) < 0.1)
    scores = DocScores([f"doc-{i:07d}" for i in range(n)], np.zeros(n, dtype=bool), counts, list(GROUP_NAMES))
    info = {"prompt_id": prompt, "prompt_hash": prompt[-2:], "model": model, "schema_hash": "s", "gold_hash": "g"}
    metrics = {"n_documents": n, "micro": {"f1": 0.5}, "failures": {"count": 0}}
    return RunRecord(f"{abs(hash((n, prompt, model))) % 16**12:012x}", f"{prompt} {model}", "eval", info, metrics,
                     "/nowhere", scores)


def history(sizes: list[int]) -> list[dict[str, Any]]:
    """Rows for the benchmark table (see the module docstring)."""
    from scipy.stats import binomtest  # noqa: F401  (imported once here, not inside the first comparison timed)

    from extractor.eval.history.book import grid_runs, runs_by_ids, save
    from extractor.eval.history.compare import compare_rows
    from extractor.eval.history.grid import build_grid
    from extractor.store import Store

    rows = []
    for n in sizes:
        rng = np.random.default_rng(n)
        with tempfile.TemporaryDirectory() as tmp:
            store = Store(f"sqlite:///{Path(tmp) / 'runs.db'}")
            records = [_record(n, p, m, rng) for p in PROMPTS for m in MODELS]
            save(store, records[0])  # the first insert also warms the session machinery
            started = time.perf_counter()
            save(store, records[1])
            record_s = time.perf_counter() - started
            size = len(records[1].scores.encode())
            for record in records[2:]:
                save(store, record)
            a, b = runs_by_ids(store, [records[0].id, records[-1].id])
            started = time.perf_counter()
            compare_rows(a, b)
            compare_s = time.perf_counter() - started
            _, runs = grid_runs(store, baseline=records[1].id)
            started = time.perf_counter()
            build_grid(runs, "g", records[1].id)
            grid_s = time.perf_counter() - started
            store.close()
        rows += [
            _row(f"record a run, {n} documents", "s", record_s, f"{size / n:.0f} bytes per document stored "
                 f"({size / 1e6:.2f} MB)", "small next to the eval itself"),
            _row(f"paired comparison of two stored runs, {n} documents", "s", compare_s,
                 "every field path, 2,000 resamples", "as `extractor compare`"),
            _row(f"prompts × models grid (3 × 2), {n} documents", "s", grid_s,
                 "5 headline comparisons in one pass, first view", "< 1 s for a gold set of hundreds"),
        ]
    return rows


def _row(what: str, unit: str, value: float, detail: str, goal: str) -> dict[str, Any]:
    return {"what": what, "unit": unit, "value": round(value, 3), "detail": detail, "goal": goal}
