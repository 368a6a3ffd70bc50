"""Comparing two runs on the same gold documents: setup checks, paired statistics, reports, gate.

A and B are stored runs (directories from `extractor eval`, or predictions JSONL files) or
prompt ids, which are then evaluated on the same gold set with the same model (cache on).
Runs scored against different gold sets or schema versions are refused: their numbers do
not measure the same thing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from extractor.core.errors import ExtractorError
from extractor.core.files import write_atomic
from extractor.core.prompts import diff_prompts, load_prompt

from .goldset import GoldSet
from .runs import StoredRun
from .scoring import Comparison, compare_runs, is_regression


class IncomparableRuns(ExtractorError):
    """The two runs were not made on the same gold set or schema."""


def check_comparable(a: StoredRun, b: StoredRun, gold_set: GoldSet) -> None:
    """Refuse runs over different gold sets or schema versions, with the reason."""
    current = gold_set.hash()
    for name, run in (("A", a), ("B", b)):
        recorded = run.info.get("gold_hash")
        if recorded and recorded != current:
            raise IncomparableRuns(
                f"run {name} ({run.path}) was scored on gold set {recorded}, not on {current} ({gold_set.gold_dir}): "
                "re-run it on this gold set"
            )
    check_same_setup(a.info, b.info)


def check_same_setup(a: Mapping[str, Any], b: Mapping[str, Any]) -> None:
    """Refuse two runs (their run.json setups) scored on different schemas or gold sets."""
    for key in ("schema_version", "schema_hash"):
        va, vb = a.get(key), b.get(key)
        if va and vb and va != vb:
            raise IncomparableRuns(f"runs use different schemas ({key} {va} vs {vb}): their scores do not compare")
    if a.get("gold_hash") and b.get("gold_hash") and a["gold_hash"] != b["gold_hash"]:
        raise IncomparableRuns(f"runs use different gold sets ({a['gold_hash']} vs {b['gold_hash']})")


def prompt_diff(a: Mapping[str, Any], b: Mapping[str, Any]) -> str:
    """Unified diff of the two runs' prompt files (from their setups), when both prompts are still available."""
    ids = a.get("prompt_id"), b.get("prompt_id")
    if not all(ids):
        return ""
    try:
        pa, pb = load_prompt(str(ids[0])), load_prompt(str(ids[1]))
    except ExtractorError:
        return ""
    if pa.hash != a.get("prompt_hash") or pb.hash != b.get("prompt_hash"):
        note = "(a prompt file changed since the run: the diff shows the current files)\n"
    else:
        note = ""
    return note + diff_prompts(pa, pb, ("A ", "B "))


def compare(a: StoredRun, b: StoredRun, gold_set: GoldSet, *, n_boot: int = 2000, seed: int = 0) -> Comparison:
    """Paired comparison of run B against run A on the gold set."""
    check_comparable(a, b, gold_set)
    return compare_runs(gold_set.gold, a.predictions, b.predictions, gold_set.texts, n_boot=n_boot, seed=seed)


def build_compare_report(comparison: Comparison, a: StoredRun, b: StoredRun, gold_set: GoldSet) -> dict[str, Any]:
    """compare.json: the statistics plus the setup of both runs."""
    return compare_report(comparison, {"path": str(a.path), **a.info}, {"path": str(b.path), **b.info},
                          gold_set.hash())


def compare_report(
    comparison: Comparison, a: Mapping[str, Any], b: Mapping[str, Any], gold_hash: str
) -> dict[str, Any]:
    """The comparison with the gold-set hash and both runs' setups (`a`, `b`: where each run is, and its run.json)."""
    report = comparison.to_dict()
    report["gold_hash"] = gold_hash
    report["setup"] = {"a": dict(a), "b": dict(b), "prompt_diff": prompt_diff(a, b)}
    return report


def gate(comparison: Comparison, margin: float) -> str | None:
    """The one-line reason B fails the regression gate, or None when it passes."""
    if not is_regression(comparison, margin):
        return None
    return (
        f"regression: micro-F1 changed by {comparison.delta_f1:+.3f} (95% CI {comparison.ci_low:+.3f} to "
        f"{comparison.ci_high:+.3f}), entirely below -{margin:g}"
    )


def write_compare_reports(
    report: dict[str, Any], gold_set: GoldSet, a: StoredRun, b: StoredRun, out: Path
) -> list[Path]:
    """Write compare.json, compare.md and compare.html into `out`."""
    from .reports.compare import compare_html, compare_markdown

    if out.exists() and not out.is_dir():
        raise ExtractorError(f"--out {out} is a file: compare reports go into a directory")
    paths = [out / "compare.json", out / "compare.md", out / "compare.html"]
    write_atomic(paths[0], json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    write_atomic(paths[1], compare_markdown(report))
    write_atomic(paths[2], compare_html(report, gold_set, a, b))
    return paths
