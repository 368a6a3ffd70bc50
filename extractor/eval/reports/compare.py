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


def _f(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value:+.3f}" if signed else f"{value:.3f}"


def _p(value: float | None) -> str:
    if value is None:
        return "–"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def headline(report: dict[str, Any]) -> str:
    """One line: ΔF1 with its paired interval, wins/ties/losses and the sign test."""
    return (
        f"ΔF1 (B − A) {_f(report['delta_f1'], True)} [95% CI {_f(report['ci_low'], True)} to "
        f"{_f(report['ci_high'], True)}] · A {_f(report['a_f1'])} → B {_f(report['b_f1'])} · "
        f"B wins {report['wins']}, ties {report['ties']}, loses {report['losses']} "
        f"(sign test p {_p(report['sign_test_p'])})"
    )


def power_line(report: dict[str, Any]) -> str:
    """How many documents, and the smallest difference this gold set can detect."""
    return (
        f"{report['n_documents']} documents; smallest ΔF1 this gold set can detect ≈ "
        f"{_f(report['min_detectable_delta'])} (80% power, α 0.05, from the bootstrap SE)"
    )


def _setup_rows(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    a, b = report["setup"]["a"], report["setup"]["b"]
    acc_a, acc_b = a.get("accounting") or {}, b.get("accounting") or {}

    def acc(d: dict[str, Any], key: str) -> str:
        value = d.get(key)
        return "–" if value is None else (f"{value:.3f}" if isinstance(value, float) else str(value))

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


def print_compare(console: Console, report: dict[str, Any]) -> None:
    """Terminal summary: setup, headline, per-field deltas."""
    setup = Table(title="setup", title_justify="left")
    for column in ("", "A", "B"):
        setup.add_column(column)
    for row in _setup_rows(report):
        setup.add_row(*row)
    console.print(setup)
    console.print(headline(report))
    console.print(power_line(report))
    table = Table(title="per field", title_justify="left")
    table.add_column("field", no_wrap=True)
    for column in ("A F1", "B F1", "Δ", "95% CI", "p (Holm)", ""):
        table.add_column(column, justify="right")
    for path, f in report["fields"].items():
        flag = "[red]worse[/red]" if f["significant"] and (f["delta"] or 0) < 0 else (
            "[green]better[/green]" if f["significant"] else "")
        table.add_row(path, _f(f["a_f1"]), _f(f["b_f1"]), _f(f["delta"], True),
                      f"{_f(f['ci_low'], True)} to {_f(f['ci_high'], True)}", _p(f["p_holm"]), flag)
    console.print(table)


def compare_markdown(report: dict[str, Any]) -> str:
    """compare.md."""
    a, b = report["setup"]["a"], report["setup"]["b"]
    lines = [f"# Comparison: {md(a.get('prompt_id'))} (A) vs {md(b.get('prompt_id'))} (B)", "",
             f"Gold set `{report['gold_hash']}` · {report['n_boot']} paired bootstrap resamples", "",
             "## Setup", "", "| | A | B |", "|---|---|---|"]
    lines += [f"| {k} | {md(va)} | {md(vb)} |" for k, va, vb in _setup_rows(report)]
    lines += ["", "## Headline", "", f"**{headline(report)}**", "", power_line(report), "", "## Per field", "",
              "| field | A F1 | B F1 | Δ | 95% CI | p (Holm) | significant |", "|---|--:|--:|--:|---|--:|---|"]
    for path, f in report["fields"].items():
        lines.append(f"| `{path}` | {_f(f['a_f1'])} | {_f(f['b_f1'])} | {_f(f['delta'], True)} | "
                     f"{_f(f['ci_low'], True)} to {_f(f['ci_high'], True)} | {_p(f['p_holm'])} | "
                     f"{'yes' if f['significant'] else ''} |")
    lines += ["", "## Documents by change (B − A)", "", "| document | A F1 | B F1 | Δ |", "|---|--:|--:|--:|"]
    for d in report["documents"]:
        lines.append(f"| {md(d['id'])} | {_f(d['a_f1'])} | {_f(d['b_f1'])} | {_f(d['delta'], True)} |")
    if report["setup"]["prompt_diff"]:
        lines += ["", "## Prompt diff", "", "```diff", report["setup"]["prompt_diff"].rstrip(), "```"]
    return "\n".join(lines) + "\n"


def compare_html(report: dict[str, Any], gold_set: GoldSet, a: StoredRun, b: StoredRun) -> str:
    """compare.html: setup with the prompt diff, headline, fields, documents with gold vs A vs B."""
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
        })
    groups = [
        ("Regressions (B worse), largest loss first", sorted((d for d in docs if d["delta"] < 0), key=_delta), True),
        ("Improvements (B better), largest gain first", sorted((d for d in docs if d["delta"] > 0), key=_delta,
                                                               reverse=True), True),
        ("Unchanged", [d for d in docs if d["delta"] == 0], False),
    ]
    return _env.get_template("compare.html.j2").render(
        report=report, setup_rows=_setup_rows(report), headline=headline(report), power=power_line(report),
        groups=groups,
    )


def _delta(doc: dict[str, Any]) -> float:
    return float(doc["delta"])
