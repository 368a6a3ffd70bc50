"""`extractor logs`: what the model was sent and what it really answered, call by call."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from extractor.core.errors import ExtractorError

from .common import app, err, fail


@app.command("logs")
def logs_cmd(
    doc: Annotated[str | None, typer.Option("--doc", help="Only the calls for this document id.")] = None,
    failed: Annotated[
        bool, typer.Option("--failed", help="Only answers that were rejected, cut off, or never came (errors).")
    ] = False,
    run: Annotated[str | None, typer.Option("--run", help="Only the calls of this run (its id is printed).")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="At most this many calls, newest first.")] = 20,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per call: the full request and raw response.")
    ] = False,
    db: Annotated[
        str | None, typer.Option("--db", help="The database (default: EXTRACTOR_DB_URL or the user data dir).")
    ] = None,
) -> None:
    """Model calls kept by `extract`, `eval` and the service: request, raw response, tokens, latency."""
    from extractor.store import Store
    from extractor.store.calls import call_dict, list_calls

    try:
        store = Store(db)
        with store.read() as session:
            rows = [call_dict(row) for row in list_calls(session, article_id=doc, failed=failed, run_id=run,
                                                         limit=limit)]
        store.close()
    except ExtractorError as exc:
        fail(str(exc))
    if as_json:
        for row in rows:
            typer.echo(json.dumps(row, ensure_ascii=False))
        return
    if not rows:
        err.print("no model calls logged" + (" for these filters" if doc or failed or run else
                                             " (EXTRACTOR_CALL_LOG=off turns logging off)"))
        return
    print_calls(Console(width=max(Console().width, 140)), rows)


def answer_text(call: dict[str, Any]) -> str:
    """What the model said in a call: its message text or tool arguments, or the error."""
    if call["response"] is None:
        return str(call["error"] or "")
    try:
        message = (call["response"] or {})["choices"][0]["message"]
    except (KeyError, IndexError, TypeError):
        return ""
    tools = message.get("tool_calls") or []
    if tools:
        return str(tools[0].get("function", {}).get("arguments", ""))
    return str(message.get("content") or "")


def print_calls(console: Console, rows: list[dict[str, Any]]) -> None:
    """A table, oldest of the page first: when, document, step, status, tokens, latency, and the answer."""
    table = Table(title="model calls (extractor logs --json for the full request and response)")
    for column in ("id", "time (UTC)", "document", "model", "status", "tokens in/out", "s", "answer"):
        table.add_column(column, overflow="fold")
    for row in reversed(rows):
        status = row["status"] if row["status"] == "ok" else f"[red]{row['status']}[/red]"
        step = f" ({row['step']})" if row["step"] else ""
        answer = escape(answer_text(row))
        if row["status"] == "rejected" and row["error"]:
            answer = f"{answer}\n[red]rejected:[/red] {escape(row['error'])}"
        table.add_row(
            str(row["id"]), (row["started_at"] or "").replace("T", " ")[:19], f"{row['article_id'] or ''}{step}",
            row["model"], status, f"{row['usage']['prompt_tokens']}/{row['usage']['completion_tokens']}",
            f"{row['latency_s']:.2f}", answer if len(answer) <= 400 else answer[:400] + "…",
        )
    console.print(table, soft_wrap=True)
