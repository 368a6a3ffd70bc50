"""Eval reports as text: a rich terminal summary and a Markdown file."""

from __future__ import annotations

import html
from typing import Any

from rich.console import Console
from rich.table import Table

from .values import COUNTS_LEGEND, UNDEFINED_LEGEND, count, interval, number
from .values import score as _f


def md(value: Any) -> str:
    """A value from a run or the data as Markdown text: no raw HTML, no table-breaking pipes or newlines."""
    return html.escape(" ".join(str(value).split()), quote=False).replace("|", "\\|")


def headline_line(report: dict[str, Any]) -> str:
    """One line: micro F1 with its interval, P, R, failures."""
    micro = report["micro"]
    return (
        f"micro F1 {_f(micro['f1'])} {interval(micro['ci_low'], micro['ci_high'])} (95% CI) · "
        f"P {_f(micro['precision'])} · R {_f(micro['recall'])} · macro F1 {_f(report['macro_f1'])} · "
        f"failed {report['failures']['count']}/{report['n_documents']} · "
        f"grounding {_f(report.get('grounding', {}).get('rate'))}"
    )


def print_eval(console: Console, report: dict[str, Any], run: dict[str, Any]) -> None:
    """The terminal summary: headline, per-field table, worst documents."""
    prompt, model = run.get("prompt_id") or "?", run.get("model") or "?"
    console.print(f"[bold]{prompt}[/bold] on [bold]{model}[/bold] · gold {report['gold_hash']}")
    console.print(headline_line(report))
    table = Table(title="per field", title_justify="left")
    for column in ("field", "TP", "FP", "FN", "P", "R", "F1", "miss", "halluc", "wrong", "abstain"):
        if column == "field":
            table.add_column(column, no_wrap=True)
        else:
            table.add_column(column, justify="right")
    for path, f in report["fields"].items():
        table.add_row(path, count(f["tp"]), count(f["fp"]), count(f["fn"]), _f(f["precision"]), _f(f["recall"]),
                      _f(f["f1"]), str(f["missing"]), str(f["hallucinated"]), str(f["wrong_value"]),
                      str(f["correct_abstention"]))
    console.print(table)
    views = Table(title="document views", title_justify="left")
    for column in ("view", "P", "R", "F1"):
        views.add_column(column, justify="left" if column == "view" else "right")
    for path, f in report["document_views"].items():
        views.add_row(path, _f(f["precision"]), _f(f["recall"]), _f(f["f1"]))
    console.print(views)


def eval_markdown(report: dict[str, Any], run: dict[str, Any], omitted: int = 0) -> str:
    """report.md: the same numbers as report.json, for reading in a repository.

    `omitted`: documents left out of the table (report.json has them).
    """
    lines = [
        f"# Evaluation: {md(run.get('prompt_id'))} on {md(run.get('model'))}",
        "",
        f"Prompt hash `{md(run.get('prompt_hash'))}` · schema `{md(run.get('schema_hash'))}` · gold set "
        f"`{report['gold_hash']}`"
        f" · {report['n_documents']} documents",
        "",
        f"**{headline_line(report)}**",
        "",
    ]
    accounting = run.get("accounting")
    if accounting:
        lines += [
            f"Tokens {number(accounting['total_tokens'])} (in {number(accounting['prompt_tokens'])}, out "
            f"{number(accounting['completion_tokens'])}) · cache hits {accounting['cache_hits']} · attempts "
            f"{accounting['attempts']} · transport retries {accounting['transport_retries']}",
            "",
        ]
    lines += [
        "## Per field",
        "",
        "| field | TP | FP | FN | P | R | F1 | missing | hallucinated | wrong value | correct abstention |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for path, f in report["fields"].items():
        mark = " (headline)" if path in report["headline_fields"] else ""
        lines.append(
            f"| `{path}`{mark} | {count(f['tp'])} | {count(f['fp'])} | {count(f['fn'])} | {_f(f['precision'])} | "
            f"{_f(f['recall'])} | {_f(f['f1'])} | {f['missing']} | {f['hallucinated']} | {f['wrong_value']} | "
            f"{f['correct_abstention']} |"
        )
    lines += ["", COUNTS_LEGEND, "", "## Document views", "", "| view | P | R | F1 |", "|---|--:|--:|--:|"]
    for path, f in report["document_views"].items():
        lines.append(f"| `{path}` | {_f(f['precision'])} | {_f(f['recall'])} | {_f(f['f1'])} |")
    lines += ["", "## Documents", "", "| document | F1 | P | R | errors | status |", "|---|--:|--:|--:|--:|---|"]
    for doc_id, d in report["documents"].items():
        status = "failed" if d["failed"] else "ok"
        lines.append(
            f"| {md(doc_id)} | {_f(d['f1'])} | {_f(d['precision'])} | {_f(d['recall'])} | {len(d['errors'])} "
            f"| {status} |"
        )
    lines += ["", UNDEFINED_LEGEND]
    if omitted:
        lines += ["", f"The {len(report['documents'])} lowest-scoring documents; {omitted} more are in report.json."]
    return "\n".join(lines) + "\n"
