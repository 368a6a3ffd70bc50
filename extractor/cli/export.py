"""`extractor export`: result files as FollowTheMoney entities."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from extractor.core.errors import ExtractorError

from .common import app, err, fail
from .match import load_matcher

FORMATS = ("ftm",)


@app.command("export")
def export_cmd(
    results: Annotated[Path, typer.Argument(help="A results JSONL file (from `extract --out`).")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="Output format: ftm (FollowTheMoney JSON lines).")] = "ftm",
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write here (default: standard output).")] = None,
    docs: Annotated[
        Path | None,
        typer.Option("--docs", help="Directory of <id>.txt texts and manifest.json metadata for the Article entities."),
    ] = None,
    list_path: Annotated[
        Path | None,
        typer.Option("--list", help="A sanctions list (sdn.csv, FtM entities): listed targets get their entry's "
                                    "programmes."),
    ] = None,
) -> None:
    """Export extraction results as FollowTheMoney entities (JSON lines); failed documents are skipped.

    Each Sanction carries the programmes tied to its target: named where the text (--docs) names
    the target, carried by the target's entry on --list, or the action's only programme.
    """
    from extractor.batch.results import Failure, load_results
    from extractor.export.ftm import iter_ftm, write_ftm
    from extractor.export.sources import load_sources

    if fmt not in FORMATS:
        fail(f"unknown format {fmt!r}: use {', '.join(FORMATS)}")
    try:
        loaded = load_results(results)
        good = [item for item in loaded.values() if not isinstance(item, Failure)]
        failed = len(loaded) - len(good)
        documents = load_sources(docs, [r.article_id for r in good]) if docs else {}
        listed = load_matcher(list_path, None, 0.8, None).listed_programs if list_path else None
        entities = list(iter_ftm(good, documents, listed=listed))
    except ExtractorError as exc:
        fail(str(exc))
    if out is None:
        count = write_ftm(entities, sys.stdout.buffer)
        sys.stdout.buffer.flush()
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("wb") as handle:
            count = write_ftm(entities, handle)
    where = f" to {out}" if out else ""
    skipped = f"; {failed} failed document(s) skipped" if failed else ""
    err.print(f"exported {count} entities from {len(good)} document(s){where}{skipped}")
