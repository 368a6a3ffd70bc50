"""Render the committed eval and comparison reports again from their data, without a model.

`extractor eval --predictions` would also rewrite run.json (it records where the predictions
came from); this re-runs only the scoring pass and the comparison, so report.json and
compare.json come out byte for byte as committed (the script checks) while report.md,
report.html, compare.md and compare.html take up any change in how reports are written.

    .venv/bin/python scripts/render_reports.py            # evals/runs/*
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=Path, default=Path("evals/runs"), help="the directory of committed runs")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from extractor.eval.compare_runs import build_compare_report, compare, write_compare_reports
    from extractor.eval.goldset import load_gold_set
    from extractor.eval.runs import load_run
    from extractor.eval.score_run import score_run

    gold_set = load_gold_set()
    changed = []
    for run_dir in sorted(p for p in args.runs.iterdir() if (p / "predictions.jsonl").exists()):
        before = (run_dir / "report.json").read_bytes()
        n_boot = json.loads(before)["micro"]["n_boot"]
        score_run(load_run(run_dir), gold_set, run_dir, n_boot=n_boot)
        if (run_dir / "report.json").read_bytes() != before:
            changed.append(run_dir / "report.json")
        print(f"rendered {run_dir}/report.md, report.html")
    for compare_dir in sorted(p for p in args.runs.iterdir() if (p / "compare.json").exists()):
        before = (compare_dir / "compare.json").read_bytes()
        recorded = json.loads(before)
        a, b = (load_run(Path(recorded["setup"][side]["path"])) for side in ("a", "b"))
        report = build_compare_report(compare(a, b, gold_set, n_boot=recorded["n_boot"]), a, b, gold_set)
        write_compare_reports(report, gold_set, a, b, compare_dir)
        if (compare_dir / "compare.json").read_bytes() != before:
            changed.append(compare_dir / "compare.json")
        print(f"rendered {compare_dir}/compare.md, compare.html")
    if changed:
        raise SystemExit(f"data changed (it should not): {', '.join(map(str, changed))}")


if __name__ == "__main__":
    main()
