"""`extractor match`: are the extracted targets already on a sanctions list?"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from extractor.core.errors import ExtractorError

from .common import app, err, fail

ListOpt = Annotated[
    Path,
    typer.Option("--list", "-l", help="Sanctions list: OFAC sdn.csv or an FtM entity file (entities.ftm.json)."),
]
AltOpt = Annotated[
    Path | None, typer.Option("--alt", help="OFAC alt.csv with aliases (default: alt.csv beside sdn.csv).")
]
ThresholdOpt = Annotated[
    float, typer.Option("--threshold", "-t", min=0.01, max=1.0, help="Score from which a target counts as listed.")
]
IndexDirOpt = Annotated[
    Path | None, typer.Option("--index-dir", help="Where list indexes are saved (default: beside the cache).")
]


def load_matcher(list_path: Path, alt: Path | None, threshold: float, index_dir: Path | None) -> Any:
    """A `Matcher` for the list, or a one-line error."""
    from extractor.export.matching import Matcher

    try:
        return Matcher.load(list_path, alt=alt, index_dir=index_dir, threshold=threshold)
    except (ExtractorError, OSError) as exc:
        fail(str(exc))


@app.command("match")
def match_cmd(
    results: Annotated[Path, typer.Argument(help="A results JSONL file (from `extract --out`).")],
    list_path: ListOpt,
    alt: AltOpt = None,
    threshold: ThresholdOpt = 0.8,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write one JSON line per target here.")] = None,
    new_only: Annotated[
        bool, typer.Option("--new-only", help="Only targets not on the list: what the documents newly add.")
    ] = False,
    index_dir: IndexDirOpt = None,
) -> None:
    """Match every extracted target against a sanctions list: listed, possible or not_listed."""
    from extractor.batch.results import Failure, load_results
    from extractor.export.screening import screen

    try:
        loaded = load_results(results)
    except ExtractorError as exc:
        fail(str(exc))
    good = [item for item in loaded.values() if not isinstance(item, Failure)]
    matcher = load_matcher(list_path, alt, threshold, index_dir)
    rows = [row for match, row in screen(matcher, good) if not (new_only and match.listed)]
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    print_matches(Console(width=max(Console().width, 140)), rows, matcher.list_name)
    counts = {status: sum(1 for r in rows if r["status"] == status) for status in ("listed", "possible", "not_listed")}
    summary = ", ".join(f"{n} {status}" for status, n in counts.items())
    skipped = len(loaded) - len(good)
    err.print(f"{len(rows)} target(s) from {len(good)} document(s): {summary}"
              + (f"; {skipped} failed document(s) skipped" if skipped else "") + (f"; wrote {out}" if out else ""))


def print_matches(console: Console, rows: list[dict[str, Any]], list_name: str) -> None:
    """A table: document, target, status, the listed entry or best candidate, and why (each feature compared)."""
    table = Table(title=f"targets against {list_name}", show_lines=True)
    for column in ("document", "target", "type", "status", "score", "entry", "programs", "why"):
        table.add_column(column, overflow="fold")
    style = {"listed": "red", "possible": "yellow", "not_listed": "green"}
    for row in rows:
        best = row["entry"] or (row["candidates"][0] if row["candidates"] else None)
        table.add_row(
            row["article_id"], row["name"], row["entity_type"], f"[{style[row['status']]}]{row['status']}[/]",
            f"{best['score']:.2f}" if best else "",
            f"{best['name']} ({best['entry_id']})" if best else "",
            " ".join(best["programs"]) if best else "",
            escape("\n".join([row["reason"], *(best["explanation"] if best else [])])),
        )
    console.print(table)


def list_recall_view(list_path: Path, gold_set: Any, run: Any, out_dir: Path) -> Path:
    """`eval --list`: compute list recall, write list_recall.json into the run directory, print a table."""
    from extractor.export.list_recall import list_recall, write_list_recall

    matcher = load_matcher(list_path, None, 0.8, None)
    try:
        report = list_recall(matcher, gold_set.gold, run.predictions)
        path = write_list_recall(report, out_dir)
    except (ExtractorError, OSError) as exc:
        fail(str(exc))
    print_list_recall(Console(width=max(Console().width, 140)), report)
    return path


def print_list_recall(console: Console, report: dict[str, Any]) -> None:
    """Per document: gold targets, how many are listed, how many predicted listed, how many recalled."""
    table = Table(title=f"listed targets ({report['list']}, threshold {report['threshold']})")
    for column in ("document", "gold targets", "gold listed", "predicted listed", "recalled", "missed"):
        table.add_column(column, overflow="fold")
    for row in report["documents"]:
        table.add_row(row["article_id"] + (" (failed)" if row["failed"] else ""), str(row["gold_targets"]),
                      str(row["gold_listed"]), str(row["predicted_listed"]), str(row["recalled"]),
                      _names(row["missed"]))
    totals = report["totals"]
    table.add_row("all", str(totals["gold_targets"]), str(totals["gold_listed"]), str(totals["predicted_listed"]),
                  str(totals["recalled"]), "", style="bold")
    console.print(table)
    recall, precision = report["recall_listed"], report["precision_listed"]
    console.print(f"recall of listed targets: {_pct(recall)} · "
                  f"share of predicted listed targets in gold: {_pct(precision)}")


def _names(names: list[str], shown: int = 4) -> str:
    more = f" (+{len(names) - shown} more)" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"
