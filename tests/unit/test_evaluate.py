"""`extractor eval --predictions` and `extractor compare`: stored runs scored into reports, no model calls."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from extractor.cli import app
from tests.support import ROOT

runner = CliRunner()

GOLD = {
    "d1": {"article_id": "d1", "is_sanctions_news": True, "actions": [{
        "authority": "us", "issuer": None, "action": "impose", "is_countermeasure": False,
        "measures": ["asset_freeze"],
        "targets": [{"name": "Ivan Petrov", "entity_type": "person"},
                    {"name": "Acme Shipping", "entity_type": "company"}],
        "evidence": ["Treasury blocked Ivan Petrov and Acme Shipping."]}]},
    "d2": {"article_id": "d2", "is_sanctions_news": True, "actions": [{
        "authority": "gb", "action": "impose", "measures": ["travel_ban"],
        "targets": [{"name": "Olga Smirnova", "entity_type": "person"},
                    {"name": "Beta Bank", "entity_type": "company"}],
        "evidence": ["The UK banned Olga Smirnova and Beta Bank."]}]},
}
TEXTS = {"d1": "Treasury blocked Ivan Petrov and Acme Shipping.", "d2": "The UK banned Olga Smirnova and Beta Bank."}


@pytest.fixture
def goldset(tmp_path: Path) -> tuple[Path, Path]:
    gold, docs = tmp_path / "gold", tmp_path / "docs"
    gold.mkdir()
    docs.mkdir()
    for doc_id, item in GOLD.items():
        (gold / f"{doc_id}.json").write_text(json.dumps(item))
        (docs / f"{doc_id}.txt").write_text(TEXTS[doc_id])
    (docs / "manifest.json").write_text(json.dumps([{"id": "d1", "title": "T1", "published": "2021-01-01"}]))
    return gold, docs


def drop_second_target(item: dict) -> dict:
    item = json.loads(json.dumps(item))
    item["actions"][0]["targets"] = item["actions"][0]["targets"][:1]
    return item


def write_preds(path: Path, lines: list[dict]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def run_eval(goldset, preds: Path, out: Path) -> dict:
    gold, docs = goldset
    result = runner.invoke(app, ["eval", "--predictions", str(preds), "--gold", str(gold), "--docs", str(docs),
                                 "--out", str(out), "--n-boot", "200"])
    assert result.exit_code == 0, result.output
    for name in ("report.json", "report.md", "report.html"):
        assert (out / name).exists()
    return json.loads((out / "report.json").read_text())


def test_gold_against_itself_scores_one(goldset, tmp_path):
    report = run_eval(goldset, write_preds(tmp_path / "p.jsonl", list(GOLD.values())), tmp_path / "r")
    assert report["micro"]["f1"] == 1.0
    assert report["micro"]["ci_low"] == 1.0 and report["micro"]["ci_high"] == 1.0
    assert all(f["f1"] in (1.0, None) for f in report["fields"].values())
    assert report["grounding"]["rate"] == 1.0


def test_dropped_target_gives_hand_computed_numbers(goldset, tmp_path):
    preds = write_preds(tmp_path / "p.jsonl", [drop_second_target(GOLD["d1"]), GOLD["d2"]])
    report = run_eval(goldset, preds, tmp_path / "r")
    # d1: actions, authority, action, measures, one name, one entity type = 6 TP; the dropped
    # target's name and entity type = 2 FN. d2: 8 TP. Micro: P 1, R 14/16, F1 28/30.
    assert report["micro"]["tp"] == 14 and report["micro"]["fn"] == 2 and report["micro"]["fp"] == 0
    assert report["micro"]["recall"] == pytest.approx(14 / 16)
    assert report["micro"]["f1"] == pytest.approx(28 / 30, abs=1e-6)
    assert report["fields"]["actions[].targets[].name"]["fn"] == 1
    assert report["documents"]["d1"]["f1"] == pytest.approx(12 / 14, abs=1e-6)


def test_failed_document_counts_every_gold_item_missing(goldset, tmp_path):
    failure = {"article_id": "d2", "error": {"type": "ExtractionFailed", "message": "d2: no valid answer"}, "meta": {}}
    report = run_eval(goldset, write_preds(tmp_path / "p.jsonl", [GOLD["d1"], failure]), tmp_path / "r")
    assert report["failures"] == {"count": 1, "rate": 0.5, "ids": ["d2"]}
    assert report["micro"]["tp"] == 8 and report["micro"]["fn"] == 8
    html = (tmp_path / "r" / "report.html").read_text()
    assert "no valid answer" in html


def test_html_escapes_model_output(goldset, tmp_path):
    evil = json.loads(json.dumps(GOLD["d1"]))
    evil["actions"][0]["targets"][0]["name"] = "<script>alert(1)</script>"
    run_eval(goldset, write_preds(tmp_path / "p.jsonl", [evil, GOLD["d2"]]), tmp_path / "r")
    html = (tmp_path / "r" / "report.html").read_text()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def compare(goldset, a: Path, b: Path, out: Path, *extra: str):
    gold, docs = goldset
    return runner.invoke(app, ["compare", str(a), str(b), "--gold", str(gold), "--docs", str(docs), "--out", str(out),
                               "--n-boot", "300", *extra])


def test_identical_runs_pass_the_gate(goldset, tmp_path):
    a = write_preds(tmp_path / "a.jsonl", list(GOLD.values()))
    result = compare(goldset, a, a, tmp_path / "c", "--fail-on-regression")
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "c" / "compare.json").read_text())
    assert report["delta_f1"] == 0.0 and report["ci_low"] <= 0.0 <= report["ci_high"]
    assert (report["wins"], report["ties"], report["losses"]) == (0, 2, 0)
    assert (tmp_path / "c" / "compare.html").exists() and (tmp_path / "c" / "compare.md").exists()


def test_worse_on_every_document_fails_the_gate(goldset, tmp_path):
    a = write_preds(tmp_path / "a.jsonl", list(GOLD.values()))
    b = write_preds(tmp_path / "b.jsonl", [drop_second_target(g) for g in GOLD.values()])
    result = compare(goldset, a, b, tmp_path / "c", "--fail-on-regression", "--margin", "0.01")
    assert result.exit_code == 1
    assert "regression" in result.stderr
    report = json.loads((tmp_path / "c" / "compare.json").read_text())
    assert report["losses"] == 2 and report["sign_test_p"] == pytest.approx(0.5)
    assert report["ci_high"] < -0.01
    # Without the flag the gate only reports.
    assert compare(goldset, a, b, tmp_path / "c2").exit_code == 0


def test_runs_on_a_different_gold_set_are_refused(goldset, tmp_path):
    a_dir = tmp_path / "runA"
    a_dir.mkdir()
    write_preds(a_dir / "predictions.jsonl", list(GOLD.values()))
    (a_dir / "run.json").write_text(json.dumps({"gold_hash": "0123456789ab", "prompt_id": "sanctions@v1"}))
    b = write_preds(tmp_path / "b.jsonl", list(GOLD.values()))
    result = compare(goldset, a_dir, b, tmp_path / "c")
    assert result.exit_code == 2
    assert "gold set" in result.stderr


def test_show_renders_marked_document(tmp_path):
    preds = write_preds(tmp_path / "p.jsonl", [GOLD["d1"]])
    (tmp_path / "d1.txt").write_text(TEXTS["d1"])
    out = tmp_path / "d1.html"
    result = runner.invoke(app, ["show", str(preds), "--doc", "d1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    html = out.read_text()
    assert '<mark class="evidence exact"' in html and "Ivan Petrov" in html


def test_eval_workers_option_gives_the_same_report(tmp_path):
    """`--workers 2` (worker processes) and `--workers 1` (this process) write the same numbers."""
    predictions = ROOT / "evals" / "runs" / "smollm2-v3" / "predictions.jsonl"
    reports = []
    for workers in ("1", "2"):
        out = tmp_path / f"w{workers}"
        result = runner.invoke(app, ["eval", "--predictions", str(predictions), "--out", str(out),
                                     "--workers", workers, "--n-boot", "200"])
        assert result.exit_code == 0, result.output
        report = json.loads((out / "report.json").read_text(encoding="utf-8"))
        report.pop("run")  # says where the predictions were copied to
        reports.append(report)
    assert reports[0] == reports[1]
    assert reports[0]["n_documents"] == 30
