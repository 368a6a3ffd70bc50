"""Terminal progress and the end-of-run accounting table (rich), the same for every engine."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table


class BatchProgress:
    """A progress bar with rate and ETA on stderr, shown once the count is known (not for a single document).

    `start(total)` shows it (an engine calls it when it knows how many documents are to do),
    `advance(outcome)` counts one finished document and prints its error, `note(line)` prints
    a line about the run above the bar. With `total` given the bar shows at once.
    """

    def __init__(self, total: int | None = None, *, engine: str | None = None, errors: bool = True) -> None:
        self.console = Console(stderr=True, highlight=False)
        label = "extract" if engine in (None, "local") else f"extract ({engine})"
        self._progress = Progress(
            TextColumn(f"[bold]{label}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[failed]}"),
            console=self.console,
        )
        self._task = self._progress.add_task("extract", total=total, rate="", failed="")
        self._failed = 0
        self._errors = errors
        self._live = total is not None

    def __enter__(self) -> BatchProgress:
        if self._live:
            self._progress.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._live:
            self._progress.stop()

    def start(self, total: int | None) -> None:
        """Show the bar for `total` documents (unknown: None); a run of one document shows none."""
        self._progress.update(self._task, total=total)
        if not self._live and (total is None or total > 1):
            self._live = True
            self._progress.start()

    def advance(self, outcome: Any) -> None:
        """Count one finished document (its error printed above the bar)."""
        if outcome.result is None:
            self._failed += 1
            if self._errors:
                self.note(f"[red]error:[/red] {escape(str(outcome.error))}", markup=True)
        task = self._progress.tasks[0]
        elapsed = task.elapsed or 0.0
        rate = f"{(task.completed + 1) / elapsed:.2f} doc/s" if elapsed > 0 else ""
        failed = f"[red]{self._failed} failed" if self._failed else ""
        self._progress.update(self._task, advance=1, rate=rate, failed=failed)

    def note(self, line: str, *, markup: bool = False) -> None:
        """Print a line about the run above the bar (plain text unless `markup`)."""
        self.console.print(line if markup else escape(line), soft_wrap=True, highlight=False)


def print_summary(console: Console, summary: Any) -> None:
    """The run's accounting as a small table."""
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
