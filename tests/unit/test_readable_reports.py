"""Reports read as people write: counts, values, comparison headlines, grouped errors, CJK fonts.

Each test scores or compares the committed runs afresh, through the functions `extractor eval`
and `extractor compare` use, and reads the pages they write.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from extractor.eval.compare_runs import build_compare_report, compare, write_compare_reports
from extractor.eval.goldset import load_gold_set
from extractor.eval.runs import load_run
from extractor.eval.score_run import score_run
from tests.support import ROOT

RUNS = ROOT / "evals" / "runs"


@pytest.fixture(scope="module")
def gold_set():
    return load_gold_set(ROOT / "evals" / "gold", ROOT / "evals" / "docs")


@pytest.fixture(scope="module")
def v3_report(gold_set, tmp_path_factory) -> Path:
    """smollm2-v3 scored again into a fresh directory: report.md and report.html."""
    out = tmp_path_factory.mktemp("v3")
    for name in ("predictions.jsonl", "run.json"):
        shutil.copy(RUNS / "smollm2-v3" / name, out / name)
    score_run(load_run(out), gold_set, out, n_boot=200)
    return out


@pytest.fixture(scope="module")
def v1_v3_compare(gold_set, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cmp")
    a, b = load_run(RUNS / "smollm2-v1"), load_run(RUNS / "smollm2-v3")
    write_compare_reports(build_compare_report(compare(a, b, gold_set, n_boot=2000), a, b, gold_set), gold_set, a,
                          b, out)
    return out


def test_fractional_counts_show_two_decimals_and_whole_counts_stay_whole(v3_report):
    markdown = (v3_report / "report.md").read_text(encoding="utf-8")
    legal_basis = next(line for line in markdown.splitlines() if line.startswith("| `actions[].legal_basis[]`"))
    assert "| 0.86 | 2.14 | 37.14 |" in legal_basis  # TP 6/7, FP 15/7, FN 260/7 under partial credit
    assert "0.857143" not in markdown and "37.1429" not in markdown
    assert "| `actions` (headline) | 18 | 23 | 39 |" in markdown
    assert "partial credit" in markdown  # the legend says why some counts have decimals
    html = (v3_report / "report.html").read_text(encoding="utf-8")
    assert "37.1429" not in html and ">37.14<" in html and "partial credit" in html


def test_error_tables_show_values_not_python_reprs(v3_report):
    html = (v3_report / "report.html").read_text(encoding="utf-8")
    errors = "".join(re.findall(r'<table class="errors">.*?</table>', html, flags=re.S))
    assert errors, "no error tables"
    for python in (">None<", ">True<", ">False<", "{&#39;", "[&#39;"):
        assert python not in errors, python
    assert ">—<" in errors and ">yes<" in errors
    # A missed action is one line: authority, kind, issuer, measures, the first targets.
    assert ("us · lift · Department of State · targets: Basque Fatherland and Liberty, Aum Shinrikyo, Mujahidin "
            "Shura Council in the Environs of Jerusalem, Kahane Chai, Gama’a al-Islamiyya (+6 more)") in errors


def test_error_tables_are_grouped_by_field_and_capped(v3_report):
    html = (v3_report / "report.html").read_text(encoding="utf-8")
    section = html[html.index('id="doc-tr-2017-09-26-sm0165"'):]
    section = section[: section.index("<h3>Text</h3>")]
    groups = re.findall(r'<tr class="group"><th colspan="4"><code>([^<]+)</code> <span class="muted">· ([^<]+)</span>',
                        section)
    paths = [path for path, _ in groups]
    assert len(paths) == len(set(paths)) and "actions[].targets[].name" in paths
    summary = dict(groups)["actions[].targets[].name"]
    assert re.fullmatch(r"\d+ missing(, \d+ not in gold)?", summary), summary
    total = section.count('<td class="cat">')
    shown = re.sub(r'<details class="more">.*?</details>', "", section, flags=re.S).count('<td class="cat">')
    assert shown <= 5 * len(groups) < total  # at most five per field; the rest behind <details>, no script needed
    names = sum(int(n) for n in re.findall(r"\d+", summary))
    assert names > 5 and f"<summary>show all {names} ({names - 5} more)</summary>" in section


def test_comparison_headline_names_both_runs_with_the_interval(v1_v3_compare):
    markdown = (v1_v3_compare / "compare.md").read_text(encoding="utf-8")
    assert markdown.splitlines()[0] == "# Comparison: v1 0.000 → v3 0.086 (+0.086 [0.052, 0.144])"
    html = (v1_v3_compare / "compare.html").read_text(encoding="utf-8")
    assert "<h1>v1 0.000 → v3 0.086 (+0.086 [0.052, 0.144])</h1>" in html
    summaries = re.findall(r"<summary>([^<]*)", html)
    assert not [s for s in summaries if "A – →" in s or "Δ -1.000" in s]
    assert "tr-2021-04-01-jy0098 · v1 failed (nothing to find) → v3 0.000 (−1.000) · " in summaries
    assert "wn-2019-10-13-kipchoge · v1 — (nothing to find, nothing predicted) → v3 0.000 (−1.000) · " in summaries


def test_pages_name_cjk_fonts_and_check_that_one_renders(v3_report, v1_v3_compare):
    from extractor.service.review.views import STATIC_DIR

    for page in (v3_report / "report.html", v1_v3_compare / "compare.html"):
        html = page.read_text(encoding="utf-8")
        assert '"Noto Sans CJK JP"' in html and "Hiragino" in html and "Microsoft YaHei" in html
        assert "getImageData" in html and "font-note" in html  # the inline check that says where fonts are missing
        assert not re.search(r"""<(script|link)[^>]+(src|href)=["']https?:""", html)  # self-contained, offline
    assert '"Noto Sans CJK JP"' in (STATIC_DIR / "review.css").read_text(encoding="utf-8")


def test_show_renders_several_documents_on_one_page(tmp_path):
    from typer.testing import CliRunner

    from extractor.cli import app

    runner = CliRunner()
    predictions = RUNS / "smollm2-v2" / "predictions.jsonl"  # 17 of its 30 documents failed
    page = tmp_path / "all.html"
    made = runner.invoke(app, ["show", str(predictions), "--docs", str(ROOT / "evals" / "docs"), "--out", str(page)])
    assert made.exit_code == 0, made.output
    html = page.read_text(encoding="utf-8")
    assert html.count('<section class="document">') == 30 and html.count(">failed</span>") == 17
    anchors = re.findall(r'id="([^"]+)"', html)
    assert len(anchors) == len(set(anchors))  # every document's cards and marks have their own anchors
    for href in set(re.findall(r'href="#([^"]+)"', html)):
        assert href in anchors, href
    two = tmp_path / "two.html"
    picked = runner.invoke(app, ["show", str(predictions), "--doc", "tr-2018-08-01-sm453", "--doc",
                                 "wn-2019-01-23-mahan-air", "--docs", str(ROOT / "evals" / "docs"), "--limit", "1",
                                 "--out", str(two)])
    assert picked.exit_code == 0, picked.output
    assert two.read_text(encoding="utf-8").count('<section class="document">') == 2
    capped = runner.invoke(app, ["show", str(predictions), "--docs", str(ROOT / "evals" / "docs"), "--limit", "3",
                                 "--out", str(tmp_path / "three.html")])
    assert capped.exit_code == 0 and "27 more are in the file" in (tmp_path / "three.html").read_text(encoding="utf-8")
