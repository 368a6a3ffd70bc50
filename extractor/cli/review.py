"""`extractor gold export` and `extractor review stats`: approved reviews as gold, and what reviewers fix."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from extractor.core.errors import ExtractorError

from .common import app, err, fail, open_store
from .serve import DbOpt

gold_app = typer.Typer(help="Gold files made from approved reviews.", no_args_is_help=True)
review_app = typer.Typer(help="Reviews made in the service's review pages.", no_args_is_help=True)
app.add_typer(gold_app, name="gold")
app.add_typer(review_app, name="review")


_store = open_store


@gold_app.command("export")
def export_cmd(
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory to write gold/ and docs/ into.")],
    db: DbOpt = None,
) -> None:
    """Write approved reviews as DIR/gold/<id>.json and DIR/docs/<id>.txt + manifest.json (for `eval --gold`)."""
    from extractor.store.gold import export_gold

    if out.exists() and not out.is_dir():
        fail(f"--out {out}: exists and is not a directory")
    store = _store(db)
    try:
        summary = export_gold(store, out)
    except ExtractorError as exc:
        fail(str(exc), 1)
    finally:
        store.close()
    for doc_id, reason in summary.skipped:
        err.print(f"warning: {doc_id!r} skipped: {reason}")
    if not summary.ids:
        err.print("no approved reviews yet: nothing exported")
        return
    err.print(f"wrote {len(summary.ids)} gold file(s) to {summary.gold_dir} and their documents to {summary.docs_dir}")
    err.print(f"score against them: extractor eval --gold {summary.gold_dir} --docs {summary.docs_dir}")


@review_app.command("stats")
def stats_cmd(
    db: DbOpt = None,
    top: Annotated[int, typer.Option("--top", min=1, help="Fields to show.")] = 20,
) -> None:
    """The fields reviewers corrected most, over every approved review."""
    from extractor.store.reviews import correction_stats

    store = _store(db)
    try:
        with store.read() as session:
            reviewed, stats = correction_stats(session)
    finally:
        store.close()
    if not reviewed:
        err.print("no approved reviews yet")
        return
    table = Table("field", "corrections", "documents", "added", "removed", "changed",
                  title=f"most corrected fields over {reviewed} approved review(s)", title_justify="left")
    for row in stats[:top]:
        table.add_row(row.field, str(row.changes), f"{row.documents} ({row.documents / reviewed:.0%})",
                      str(row.added), str(row.removed), str(row.changed))
    Console().print(table)
    if not stats:
        err.print("reviewers changed nothing: every approved answer is the model's")
