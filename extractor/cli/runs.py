"""`extractor runs list|show|rm|import|compare`: the run history, and how `eval` records into it."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from extractor.core.errors import ExtractorError

from .common import app, err, fail, open_store
from .serve import DbOpt

runs_app = typer.Typer(help="The run history: every scored `extractor eval`, for comparing prompts and models.",
                       no_args_is_help=True)
app.add_typer(runs_app, name="runs")


def record_run(
    evaluation: Any, run: Any, gold_set: Any, *, db: str | None, server: str | None, api_key: str | None,
    name: str | None,
) -> None:
    """Record a scored eval run in the history: the service's (`--server`) or the database's.

    A failure to record is an error when the user named the place (`--db`, `--server`) and a
    warning otherwise: the reports are written either way.
    """
    from extractor.eval.history.record import record_of

    source = "service" if server else "eval"
    record = record_of(evaluation, run, gold_set, name=name, source=source)
    try:
        if server is not None:
            from extractor.client import Client

            from .remote import api_key_or_fail

            with Client(server, api_key_or_fail(api_key)) as client:
                client.record_run(record.to_payload())
            where = server
        else:
            from extractor.eval.history.book import save
            from extractor.store import Store

            store = Store(db)
            try:
                save(store, record)
            finally:
                store.close()
            where = store.display_url
    except (ExtractorError, SQLAlchemyError, OSError) as exc:  # the reports are written: one line says what failed
        message = f"the run was not recorded in the history: {type(exc).__name__}: {str(exc).splitlines()[0]}"
        if db is not None or server is not None:
            fail(message, 1)
        err.print(f"warning: {message} (set --db, or --no-record)")
        return
    err.print(f"recorded as run {record.id} in {where} (extractor runs show {record.id})")


def eval_through_server(
    gold_set: Any, out_dir: Path, server: str, api_key: str | None, *, prompt: str | None, model: str | None,
    concurrency: int,
) -> Any:
    """Extract the gold documents through a running service into `out_dir` (resuming), as `eval` does locally."""
    from extractor.batch.results import setups
    from extractor.eval.predict import collect_run

    from .progress import BatchProgress
    from .remote import extract_via_server

    with BatchProgress(len(gold_set.ids)) as progress:
        run = collect_run(
            gold_set, out_dir, {"backend": "service", "endpoint": server},
            lambda sink, todo: extract_via_server(sink, server, api_key, todo, prompt=prompt, model=model,
                                                  concurrency=concurrency, on_outcome=progress.advance),
        )
    mixed = setups(out_dir / "predictions.jsonl")
    if len(mixed) > 1:
        fail(f"{out_dir} holds results of {len(mixed)} setups (prompt hash, model): {sorted(mixed)[:3]}; "
             "use another --out for another prompt or model")
    return run


def _when(value: dt.datetime) -> str:
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).strftime("%Y-%m-%d %H:%M")


def _date(value: str | None, flag: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        fail(f"{flag} {value!r}: a date is YYYY-MM-DD")


@runs_app.command("list")
def list_cmd(
    prompt: Annotated[str | None, typer.Option("--prompt", "-p", help="A prompt id, or a name for every version.")]
    = None,
    model: Annotated[str | None, typer.Option("--model", "-m", help="Only runs of this model.")] = None,
    gold: Annotated[str | None, typer.Option("--gold-hash", help="Only runs on this gold set.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Finished on or after (YYYY-MM-DD).")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Finished on or before (YYYY-MM-DD).")] = None,
    sort: Annotated[str, typer.Option("--sort", help="finished_at, prompt, model, f1, failures, cost, tokens, name.")]
    = "finished_at",
    limit: Annotated[int, typer.Option("--limit", min=1)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per run.")] = False,
    db: DbOpt = None,
) -> None:
    """Recorded runs, newest first: prompt, model, micro-F1 with its interval, failures, tokens, cost."""
    from extractor.eval.history.book import summary
    from extractor.store.runs import SORT_KEYS, RunFilter, list_runs

    if sort not in SORT_KEYS:
        fail(f"--sort {sort!r}: choose one of {', '.join(SORT_KEYS)}")
    filters = RunFilter(prompt=prompt, model=model, gold_hash=gold, since=_date(since, "--since"),
                        until=_date(until, "--until"))
    store = open_store(db)
    try:
        with store.read() as session:
            rows, total = list_runs(session, filters, sort=sort, descending=sort in ("finished_at", "f1", "cost",
                                                                                      "tokens"), limit=limit)
            items = [summary(row) for row in rows]
    finally:
        store.close()
    if as_json:
        for item in items:
            print(json.dumps(item, ensure_ascii=False))
        return
    if not items:
        err.print("no runs recorded yet: `extractor eval` records each run; `extractor runs import DIR` adds old ones")
        return
    from extractor.eval.reports.values import interval, number, score

    table = Table("id", "name", "prompt", "model", "finished", "micro-F1 [95% CI]", "failed", "tokens", "cost",
                  "gold", title=f"{len(items)} of {total} run(s)", title_justify="left")
    for item in items:
        table.add_row(item["id"], item["name"], item["prompt_id"], item["model"], item["finished_at"][:16],
                      f"{score(item['micro_f1'])} {interval(item['ci_low'], item['ci_high'])}",
                      f"{item['failures']}/{item['n_documents']}", number(item["tokens"]),
                      "—" if item["cost"] is None else f"{item['cost']:.4f}", item["gold_hash"])
    Console(width=max(Console().width, 160)).print(table)


@runs_app.command("show")
def show_cmd(run_id: Annotated[str, typer.Argument(help="A run id (or its first characters).")],
             db: DbOpt = None) -> None:
    """One run: its setup, headline, per-field table and where its predictions are."""
    from extractor.eval.history.book import summary
    from extractor.eval.reports.text import print_eval
    from extractor.store.runs import get_run

    store = open_store(db)
    try:
        with store.read() as session:
            row = get_run(session, run_id)
            item, metrics, info = summary(row), dict(row.metrics), dict(row.info)
    except ExtractorError as exc:
        fail(str(exc), 1)
    finally:
        store.close()
    console = Console(width=max(Console().width, 150))
    console.print(f"run [bold]{item['id']}[/bold] · {item['name']} · {item['source']} · finished "
                  f"{item['finished_at']} · predictions {item['predictions']}", highlight=False)
    print_eval(console, {**metrics, "gold_hash": item["gold_hash"]}, info)


@runs_app.command("rm")
def rm_cmd(run_ids: Annotated[list[str], typer.Argument(help="Run ids (or their first characters).")],
           db: DbOpt = None) -> None:
    """Remove runs from the history; their run directories are left as they are."""
    from extractor.store.runs import delete_run

    store = open_store(db)
    try:
        for run_id in run_ids:
            with store.write() as session:
                removed = delete_run(session, run_id)
            err.print(f"removed run {removed}")
    except ExtractorError as exc:
        fail(str(exc), 1)
    finally:
        store.close()


@runs_app.command("import")
def import_cmd(
    paths: Annotated[list[Path], typer.Argument(help="Run directories (from `extractor eval`) or predictions files.")],
    gold: Annotated[Path | None, typer.Option("--gold", help="Gold directory (default evals/gold).")] = None,
    docs: Annotated[Path | None, typer.Option("--docs", help="Documents directory (default evals/docs).")] = None,
    db: DbOpt = None,
) -> None:
    """Score committed or older runs on the gold set and record them (nothing in their directories is written).

    Directories without predictions (comparison reports, say) are skipped with a note.
    """
    from extractor.eval.goldset import load_gold_set
    from extractor.eval.history.book import import_run
    from extractor.eval.runs import PREDICTIONS

    try:
        gold_set = load_gold_set(gold, docs)
    except ExtractorError as exc:
        fail(str(exc))
    store = open_store(db)
    failed = 0
    try:
        for path in paths:
            if path.is_dir() and not (path / PREDICTIONS).exists():
                err.print(f"skipped {path}: not a run directory (no {PREDICTIONS})")
                continue
            try:
                record = import_run(store, path, gold_set)
            except ExtractorError as exc:
                err.print(f"[red]error:[/red] {exc}", soft_wrap=True, highlight=False)
                failed += 1
                continue
            f1 = record.metrics["micro"]["f1"]
            err.print(f"imported {path} as run {record.id} ({record.info.get('prompt_id')} on "
                      f"{record.info.get('model')}, micro-F1 {'—' if f1 is None else f'{f1:.3f}'})")
    finally:
        store.close()
    if failed:
        raise typer.Exit(1)


@runs_app.command("compare")
def compare_cmd(
    a: Annotated[str, typer.Argument(help="Run A's id (the baseline).")],
    b: Annotated[str, typer.Argument(help="Run B's id.")],
    db: DbOpt = None,
) -> None:
    """The paired comparison of two recorded runs, from their stored per-document scores (no files read)."""
    from extractor.eval.history.book import runs_by_ids
    from extractor.eval.history.compare import compare_rows, rows_report
    from extractor.eval.reports.compare import print_compare

    store = open_store(db)
    try:
        row_a, row_b = runs_by_ids(store, [a, b])
        report = rows_report(row_a, row_b, compare_rows(row_a, row_b))
    except ExtractorError as exc:
        fail(str(exc), 1)
    finally:
        store.close()
    print_compare(Console(width=max(Console().width, 150)), report)
