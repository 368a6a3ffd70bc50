"""The prompts × models grid: the latest run of each pair on one gold set, against a baseline run.

Each cell holds micro-F1 with its bootstrap interval and the paired difference from the
baseline (`compare.compare_rows`): the interval of that difference decides the colour, grey
when it includes zero. Prompts are ordered by name and version number (v2 before v10).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from extractor.core.errors import ExtractorError
from extractor.core.prompts import parse_prompt_id
from extractor.store.models import RunRow

from ..scoring import PairedDelta
from .compare import compare_headlines_with

STEPS = (0.02, 0.05, 0.10)
"""|ΔF1| from which a clear difference is drawn one shade stronger."""


@dataclass
class Cell:
    """One prompt × model pair: its latest run and how it differs from the baseline."""

    run: RunRow
    runs: int
    """Runs of this pair on the gold set (the latest is shown)."""
    comparison: PairedDelta | None = None
    """ΔF1 against the baseline with its paired interval (`compare.compare_headlines_with`)."""
    problem: str | None = None
    """Why there is no comparison (the baseline itself has none)."""

    @property
    def delta(self) -> float | None:
        return self.comparison.delta if self.comparison else None

    @property
    def clear(self) -> bool:
        """The interval of the difference excludes zero."""
        c = self.comparison
        return bool(c and c.low is not None and c.high is not None and (c.low > 0 or c.high < 0))

    @property
    def shade(self) -> str:
        """A CSS class: `same` (grey: the interval includes zero), `up1`..`up3` or `down1`..`down3`."""
        delta = self.delta
        if not self.clear or delta is None:
            return "same"
        strength = 1 + sum(abs(delta) >= step for step in STEPS[1:])
        return f"{'up' if delta > 0 else 'down'}{strength}"


@dataclass
class Grid:
    """Prompts (rows) × models (columns) on one gold set."""

    gold_hash: str
    prompts: list[str]
    models: list[str]
    cells: dict[tuple[str, str], Cell] = field(default_factory=dict)
    baseline: RunRow | None = None

    def cell(self, prompt: str, model: str) -> Cell | None:
        return self.cells.get((prompt, model))


def prompt_order(prompt_id: str) -> tuple[str, int, str]:
    """Sort key: name, then version number (an unparsable id sorts by its text)."""
    try:
        name, version = parse_prompt_id(prompt_id)
    except ExtractorError:
        return prompt_id, -1, prompt_id
    return name, version if version is not None else -1, prompt_id


def build_grid(runs: Sequence[RunRow], gold_hash: str, baseline_id: str | None = None) -> Grid:
    """The grid of `runs` on gold set `gold_hash`; the baseline is `baseline_id` or the oldest prompt's first model."""
    latest: dict[tuple[str, str], RunRow] = {}
    counts: dict[tuple[str, str], int] = {}
    for run in runs:
        if run.gold_hash != gold_hash:
            continue
        key = (run.prompt_id, run.model)
        counts[key] = counts.get(key, 0) + 1
        if key not in latest or (run.finished_at, run.id) > (latest[key].finished_at, latest[key].id):
            latest[key] = run
    prompts = sorted({p for p, _ in latest}, key=prompt_order)
    models = sorted({m for _, m in latest})
    grid = Grid(gold_hash, prompts, models)
    chosen = [r for r in runs if baseline_id and r.id.startswith(baseline_id) and r.gold_hash == gold_hash]
    if len(chosen) == 1:
        grid.baseline = chosen[0]
    elif prompts:
        first = prompts[0]
        grid.baseline = next(latest[(first, m)] for m in models if (first, m) in latest)
    cells = {key: Cell(run, counts[key]) for key, run in latest.items()}
    others = [key for key, cell in cells.items() if grid.baseline is not None and cell.run.id != grid.baseline.id]
    if grid.baseline is not None:
        deltas = compare_headlines_with(grid.baseline, [cells[key].run for key in others])
        for key, delta in zip(others, deltas, strict=True):
            if isinstance(delta, ExtractorError):
                cells[key].problem = str(delta)
            else:
                cells[key].comparison = delta
    grid.cells = cells
    return grid
