"""`extractor extract --engine ray`: the Ray engine with one progress bar and the run's account."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from extractor.core.errors import ConfigError, DocumentError, ExtractorError

from .common import err, fail
from .progress import print_summary

DEFAULT_ACTORS = 2


def extract_with_ray(
    extractor: Any, paths: list[str], out: Path | None, *, engine: str, address: str | None, actors: int | None,
    concurrency: int, db: str | None = None,
) -> None:
    """Run `paths` through `run_ray` into the directory `out` (and the database `db`); exit 1 when one failed."""
    if engine != "ray":
        if engine != "local":
            fail(f"--engine {engine!r} is not one of local, ray")
        fail("--ray-address and --actors need --engine ray")
    if out is None:
        fail("--engine ray needs --out DIR: results are written there as JSONL shards")
    assert out is not None
    from extractor.batch.ray_engine import run_ray

    progress = Progress(
        TextColumn("[bold]extract (ray)"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[counts]}"), TimeElapsedColumn(), console=err, transient=False,
    )
    task = progress.add_task("extract", total=None, counts="")

    def start(total: int) -> None:
        # Shown once the inputs are known, so a setup error is one line without an empty bar.
        progress.update(task, total=total)
        progress.start()

    first: list[float] = []  # when the first document came back: the rate leaves out Ray's start-up

    def row(event: Any, summary: Any) -> None:
        now = time.perf_counter()
        if not first:
            first.append(now)
        elapsed = now - first[0]
        rate = f"{summary.documents / elapsed:.2f} doc/s · " if elapsed > 0 and summary.documents else ""
        failed = f" · [red]{summary.failed} failed[/red]" if summary.failed else ""
        tokens = summary.prompt_tokens + summary.completion_tokens
        counts = f"{rate}{summary.succeeded} done{failed} · {summary.skipped} skipped · {tokens} tokens"
        if event.status == "failed":
            progress.console.print(f"[red]error:[/red] {escape(event.message)}", soft_wrap=True, highlight=False)
        progress.update(task, advance=1, counts=counts)

    try:
        try:
            sink = None
            if db is not None:
                from extractor.store.sink import StoreSink

                sink = StoreSink(db)
                sink.store  # noqa: B018  (opens and migrates once here, so a bad URL fails before Ray starts)
            summary = run_ray(extractor, paths, out, actors=actors or DEFAULT_ACTORS, concurrency=concurrency,
                              address=address, on_start=start, on_row=row, sink=sink)
        finally:
            progress.stop()
    except KeyboardInterrupt:
        err.print("interrupted: finished documents are saved; run again with the same --out to resume")
        raise typer.Exit(130) from None
    except (ConfigError, DocumentError) as exc:
        fail(str(exc))  # the command line or setup is wrong: nothing ran
    except ExtractorError as exc:
        fail(str(exc), code=1)
    if summary.skipped:
        err.print(f"{summary.skipped} document(s) already in {out}: skipped")
    print_summary(err, summary)
    if summary.failed:
        raise typer.Exit(1)
