"""Terminal progress and the end-of-batch accounting table (rich)."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table


class BatchProgress:
    """A progress bar with rate and ETA on stderr; a no-op for a single document."""

    def __init__(self, total: int | None, *, enabled: bool = True) -> None:
        self.console = Console(stderr=True, highlight=False)
        self._progress = Progress(
            TextColumn("[bold]extract"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[failed]}"),
            console=self.console,
            disable=not enabled,
        )
        self._task = self._progress.add_task("extract", total=total, rate="", failed="")
        self._failed = 0

    def __enter__(self) -> BatchProgress:
        self._progress.__enter__()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._progress.__exit__(exc_type, exc, tb)

    def advance(self, outcome: Any) -> None:
        """Count one finished document."""
        if outcome.result is None:
            self._failed += 1
        task = self._progress.tasks[0]
        elapsed = task.elapsed or 0.0
        rate = f"{(task.completed + 1) / elapsed:.2f} doc/s" if elapsed > 0 else ""
        failed = f"[red]{self._failed} failed" if self._failed else ""
        self._progress.update(self._task, advance=1, rate=rate, failed=failed)


def print_summary(console: Console, summary: Any) -> None:
    """The batch accounting as a small table."""
    data = summary.to_dict()
    table = Table(title="run summary", show_header=False, title_justify="left")
    table.add_column("what")
    table.add_column("value", justify="right")
    for key, value in data.items():
        if value is None:
            continue
        shown = f"{value:.3f}" if isinstance(value, float) else str(value)
        table.add_row(key.replace("_", " "), shown)
    console.print(table)
