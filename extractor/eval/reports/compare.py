"""Comparison reports: terminal summary, compare.md and a self-contained compare.html."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from extractor.core.schema import ArticleExtraction
from extractor.eval.goldset import GoldSet
from extractor.eval.runs import StoredRun

from .html import _env
from .text import md
from .values import (
    UNDEFINED_LEGEND,
    compare_title,
    document_change,
    interval,
    number,
    p_value,
    run_labels,
    score,
    signed,
    value,
)


def labels_of(report: dict[str, Any]) -> tuple[str, str]:
    """The short names of run A and run B in this comparison."""
    return run_labels(report["setup"]["a"], report["setup"]["b"])


def headline(report: dict[str, Any]) -> str:
    """One line: both F1s and ΔF1 with its paired interval, wins/ties/losses and the sign test."""
    la, lb = labels_of(report)
    return (
        f"{compare_title(report, (la, lb))} · {lb} wins {report['wins']}, ties {report['ties']}, loses "
        f"{report['losses']} of {report['n_documents']} documents (sign test p {p_value(report['sign_test_p'])})"
    )


def power_line(report: dict[str, Any]) -> str:
    """How many documents, and the smallest difference this gold set can detect."""
    return (
        f"{report['n_documents']} documents; smallest ΔF1 this gold set can detect ≈ "
        f"{score(report['min_detectable_delta'])} (80% power, α 0.05, from the bootstrap SE)"
    )


def _setup_rows(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    a, b = report["setup"]["a"], report["setup"]["b"]
    acc_a, acc_b = a.get("accounting") or {}, b.get("accounting") or {}

    def acc(d: dict[str, Any], key: str) -> str:
        item = d.get(key)
        if isinstance(item, float) and not item.is_integer():
            return f"{item:.3f}"
        return number(item) if isinstance(item, int | float) and not isinstance(item, bool) else value(item)

    return [
        ("run", str(a.get("path")), str(b.get("path"))),
        ("prompt", f"{a.get('prompt_id')} ({a.get('prompt_hash')})", f"{b.get('prompt_id')} ({b.get('prompt_hash')})"),
        ("model", str(a.get("model")), str(b.get("model"))),
        ("failures", str(report["failures"]["a"]), str(report["failures"]["b"])),
        ("cache hits", acc(acc_a, "cache_hits"), acc(acc_b, "cache_hits")),
        ("tokens", acc(acc_a, "total_tokens"), acc(acc_b, "total_tokens")),
        ("cost", acc(acc_a, "cost"), acc(acc_b, "cost")),
        ("latency p50 s", acc(acc_a, "latency_p50_s"), acc(acc_b, "latency_p50_s")),
    ]


def _flag(field: dict[str, Any]) -> str:
    if not field["significant"]:
        return ""
    return "worse" if (field["delta"] or 0) < 0 else "better"


def print_compare(console: Console, report: dict[str, Any]) -> None:
    """Terminal summary: setup, headline, per-field deltas."""
    la, lb = labels_of(report)
    setup = Table(title="setup", title_justify="left")
    for column in ("", f"A: {la}", f"B: {lb}"):
        setup.add_column(column)
    for row in _setup_rows(report):
        setup.add_row(*row)
    console.print(setup)
    console.print(headline(report))
    console.print(power_line(report))
    table = Table(title="per field", title_justify="left")
    table.add_column("field", no_wrap=True)
    for column in (f"{la} F1", f"{lb} F1", "Δ", "95% CI", "p (Holm)", ""):
        table.add_column(column, justify="right")
    for path, f in report["fields"].items():
        flag = {"worse": "[red]worse[/red]", "better": "[green]better[/green]", "": ""}[_flag(f)]
        table.add_row(path, score(f["a_f1"]), score(f["b_f1"]), signed(f["delta"]), interval(f["ci_low"], f["ci_high"]),
                      p_value(f["p_holm"]), flag)
    console.print(table)


def compare_markdown(report: dict[str, Any]) -> str:
    """compare.md."""
    a, b = report["setup"]["a"], report["setup"]["b"]
    la, lb = labels_of(report)
    lines = [f"# Comparison: {md(compare_title(report, (la, lb)))}", "",
             f"A = {md(la)} ({md(a.get('prompt_id'))} on {md(a.get('model'))}) · B = {md(lb)} "
             f"({md(b.get('prompt_id'))} on {md(b.get('model'))}) · gold set `{report['gold_hash']}` · "
             f"{report['n_boot']} paired bootstrap resamples", "",
             "## Setup", "", f"| | A: {md(la)} | B: {md(lb)} |", "|---|---|---|"]
    lines += [f"| {k} | {md(va)} | {md(vb)} |" for k, va, vb in _setup_rows(report)]
    lines += ["", "## Headline", "", f"**{md(headline(report))}**", "", power_line(report), "", "## Per field", "",
              f"| field | {md(la)} F1 | {md(lb)} F1 | Δ | 95% CI | p (Holm) | significant |",
              "|---|--:|--:|--:|---|--:|---|"]
    for path, f in report["fields"].items():
        lines.append(f"| `{path}` | {score(f['a_f1'])} | {score(f['b_f1'])} | {signed(f['delta'])} | "
                     f"{interval(f['ci_low'], f['ci_high'])} | {p_value(f['p_holm'])} | {_flag(f)} |")
    lines += ["", f"## Documents by change ({md(lb)} − {md(la)})", "",
              f"| document | {md(la)} F1 | {md(lb)} F1 | Δ |", "|---|--:|--:|--:|"]
    for d in report["documents"]:
        lines.append(f"| {md(d['id'])} | {score(d['a_f1'])} | {score(d['b_f1'])} | {signed(d['delta'])} |")
    lines += ["", UNDEFINED_LEGEND]
    if report["setup"]["prompt_diff"]:
        lines += ["", "## Prompt diff", "", "```diff", report["setup"]["prompt_diff"].rstrip(), "```"]
    return "\n".join(lines) + "\n"


def compare_html(report: dict[str, Any], gold_set: GoldSet, a: StoredRun, b: StoredRun) -> str:
    """compare.html: setup with the prompt diff, headline, fields, documents with gold vs A vs B."""
    labels = labels_of(report)
    docs = []
    for d in report["documents"]:
        doc_id = d["id"]
        pa, pb = a.predictions.get(doc_id), b.predictions.get(doc_id)
        docs.append({
            **d,
            "title": gold_set.documents[doc_id].title,
            "gold": gold_set.gold[doc_id],
            "a": pa if isinstance(pa, ArticleExtraction) else None,
            "b": pb if isinstance(pb, ArticleExtraction) else None,
            "change": document_change(d, labels, (pa is not None and not isinstance(pa, ArticleExtraction),
                                                  pb is not None and not isinstance(pb, ArticleExtraction))),
        })
    groups = [
        (f"Regressions ({labels[1]} worse), largest loss first",
         sorted((d for d in docs if d["delta"] < 0), key=_delta), True),
        (f"Improvements ({labels[1]} better), largest gain first",
         sorted((d for d in docs if d["delta"] > 0), key=_delta, reverse=True), True),
        ("Unchanged", [d for d in docs if d["delta"] == 0], False),
    ]
    return _env.get_template("compare.html.j2").render(
        report=report, setup_rows=_setup_rows(report), headline=headline(report), power=power_line(report),
        groups=groups, labels=labels, title=compare_title(report, labels),
    )


def _delta(doc: dict[str, Any]) -> float:
    return float(doc["delta"])
