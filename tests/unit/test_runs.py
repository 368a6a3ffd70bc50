"""The run history: runs recorded by `extractor eval`, imported, listed, compared from stored scores, gridded."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from alembic.command import downgrade
from alembic.script import ScriptDirectory
from typer.testing import CliRunner

from extractor.cli import app
from extractor.core.errors import DocumentError, ExtractorError
from extractor.eval.compare_runs import IncomparableRuns
from extractor.eval.goldset import load_gold_set
from extractor.eval.history.book import grid_runs, import_run, runs_by_ids
from extractor.eval.history.compare import compare_rows, rows_report
from extractor.eval.history.documents import SourceMissing, Sources, document_lines, document_view
from extractor.eval.history.grid import build_grid
from extractor.eval.history.record import RunRecord
from extractor.store import Store
from extractor.store.migrate import alembic_config, current, upgrade
from extractor.store.runs import RunFilter, RunNotFound, get_run, list_runs
from tests.support import ROOT, assert_same
from tests.support.runs import make_run

RUNS = ROOT / "evals" / "runs"
runner = CliRunner()


@pytest.fixture(scope="module")
def gold_set():
    return load_gold_set(ROOT / "evals" / "gold", ROOT / "evals" / "docs")


@pytest.fixture(scope="module")
def history(gold_set, tmp_path_factory):
    """A store holding the three committed runs, imported."""
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('history') / 'runs.db'}")
    ids = {name: import_run(store, RUNS / name, gold_set).id for name in ("smollm2-v1", "smollm2-v2", "smollm2-v3")}
    yield store, ids
    store.close()


@pytest.mark.parametrize(("name", "a", "b"), [("compare-v1-v3", "smollm2-v1", "smollm2-v3"),
                                              ("compare-v3-v2", "smollm2-v3", "smollm2-v2")])
def test_stored_scores_compare_exactly_as_the_predictions_do(history, name, a, b):
    """A paired comparison from the store's per-document counts is the committed compare.json, number for number."""
    store, ids = history
    recorded = json.loads((RUNS / name / "compare.json").read_text(encoding="utf-8"))
    row_a, row_b = runs_by_ids(store, [ids[a], ids[b]])
    report = rows_report(row_a, row_b, compare_rows(row_a, row_b))
    for key in recorded:
        if key != "setup":
            assert_same(json.loads(json.dumps(report[key])), recorded[key], key)
    assert report["setup"]["a"]["run"] == ids[a] and report["setup"]["b"]["prompt_id"] == recorded["setup"]["b"][
        "prompt_id"]


def test_import_records_the_report_headline_and_is_idempotent(history, gold_set):
    store, ids = history
    report = json.loads((RUNS / "smollm2-v3" / "report.json").read_text(encoding="utf-8"))
    with store.read() as session:
        row = get_run(session, ids["smollm2-v3"][:6])  # a unique prefix names a run
        assert (row.micro_f1, row.ci_low, row.ci_high) == (report["micro"]["f1"], report["micro"]["ci_low"],
                                                           report["micro"]["ci_high"])
        assert row.metrics["fields"] == report["fields"] and row.failures == 0 and row.n_documents == 30
        assert row.prompt_tokens == 74471 and row.completion_tokens == 6043 and row.source == "import"
        assert Path(row.predictions) == (RUNS / "smollm2-v3").resolve() and row.gold_hash == report["gold_hash"]
    again = import_run(store, RUNS / "smollm2-v3", gold_set)
    assert again.id == ids["smollm2-v3"]
    with store.read() as session:
        assert list_runs(session)[1] == 3
        with pytest.raises(RunNotFound):
            get_run(session, "ffffffffffff")


def test_list_filters_by_prompt_model_gold_and_date(history):
    store, _ = history
    with store.read() as session:
        assert list_runs(session, RunFilter(prompt="sanctions"))[1] == 3
        assert [r.prompt_id for r in list_runs(session, RunFilter(prompt="sanctions@v2"))[0]] == ["sanctions@v2"]
        assert list_runs(session, RunFilter(model="gpt-4o"))[1] == 0
        assert list_runs(session, RunFilter(gold_hash="d825f8cbd0f4"))[1] == 3
        late = list_runs(session, RunFilter(since=dt.date(2026, 12, 1)))[0]
        assert [r.prompt_id for r in late] == ["sanctions@v3"]  # finished 2026-12-02; v1 and v2 on 2026-11-25
        assert list_runs(session, RunFilter(until=dt.date(2026, 11, 25)))[1] == 2
        by_f1 = list_runs(session, sort="f1", descending=True)[0]
        assert by_f1[0].prompt_id == "sanctions@v3"


def test_import_refuses_a_run_of_another_gold_set(tmp_path, gold_set):
    gold, docs = tmp_path / "gold", tmp_path / "docs"
    shutil.copytree(ROOT / "evals" / "gold", gold)
    shutil.copytree(ROOT / "evals" / "docs", docs)
    (gold / "wn-2019-10-13-kipchoge.json").unlink()
    (docs / "wn-2019-10-13-kipchoge.txt").unlink()
    store = Store(f"sqlite:///{tmp_path / 'r.db'}")
    with pytest.raises(IncomparableRuns, match="scored on gold set d825f8cbd0f4"):
        import_run(store, RUNS / "smollm2-v3", load_gold_set(gold, docs))


def test_eval_records_the_run_and_runs_commands_show_it(tmp_path, gold_set, monkeypatch):
    db = f"sqlite:///{tmp_path / 'history.db'}"
    monkeypatch.setenv("EXTRACTOR_DB_URL", db)
    run_dir = make_run(gold_set, tmp_path / "qwen-v3", "sanctions@v3", "qwen2.5-7b", seed=1)
    scored = runner.invoke(app, ["eval", "--predictions", str(run_dir), "--n-boot", "200", "--name", "qwen v3"])
    assert scored.exit_code == 0, scored.output
    assert "recorded as run " in scored.output
    listed = runner.invoke(app, ["runs", "list", "--json"])
    (item,) = [json.loads(line) for line in listed.output.splitlines()]
    report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    assert item["name"] == "qwen v3" and item["model"] == "qwen2.5-7b" and item["source"] == "eval"
    assert item["micro_f1"] == report["micro"]["f1"] and item["failures"] == report["failures"]["count"]
    assert item["predictions"] == str(run_dir.resolve())
    shown = runner.invoke(app, ["runs", "show", item["id"][:5]])
    assert shown.exit_code == 0 and "qwen2.5-7b" in shown.output and "actions[].targets[].name" in shown.output
    again = runner.invoke(app, ["eval", "--predictions", str(run_dir), "--n-boot", "200", "--no-record"])
    assert again.exit_code == 0 and "recorded" not in again.output
    removed = runner.invoke(app, ["runs", "rm", item["id"]])
    assert removed.exit_code == 0 and f"removed run {item['id']}" in removed.output
    assert runner.invoke(app, ["runs", "list", "--json"]).output.strip() == ""
    missing = runner.invoke(app, ["runs", "show", item["id"]])
    assert missing.exit_code == 1 and "no run" in missing.output


def test_an_unreachable_history_warns_unless_it_was_asked_for(tmp_path, gold_set, monkeypatch):
    run_dir = make_run(gold_set, tmp_path / "run", "sanctions@v1", "qwen2.5-7b", seed=2)
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    monkeypatch.setenv("EXTRACTOR_DB_URL", f"sqlite:///{blocked / 'x.db'}")
    scored = runner.invoke(app, ["eval", "--predictions", str(run_dir), "--n-boot", "100"])
    assert scored.exit_code == 0, scored.output
    assert "warning: the run was not recorded" in scored.output and (run_dir / "report.html").exists()
    asked = runner.invoke(app, ["eval", "--predictions", str(run_dir), "--n-boot", "100", "--db",
                                f"sqlite:///{blocked / 'y.db'}"])
    assert asked.exit_code == 1 and "error: the run was not recorded" in asked.output


def test_runs_import_skips_comparison_folders_and_compares(tmp_path, monkeypatch):
    monkeypatch.setenv("EXTRACTOR_DB_URL", f"sqlite:///{tmp_path / 'h.db'}")
    folders = sorted(p for p in RUNS.iterdir() if p.is_dir())
    runs = [p for p in folders if (p / "predictions.jsonl").exists()]
    imported = runner.invoke(app, ["runs", "import", *map(str, folders)])
    assert imported.exit_code == 0, imported.output
    assert imported.output.count("imported ") == len(runs)
    assert imported.output.count("skipped ") == len(folders) - len(runs)
    listed = [json.loads(line) for line in runner.invoke(app, ["runs", "list", "--json"]).output.splitlines()]
    by_source = {Path(run["predictions"]).name: run["id"] for run in listed}
    compared = runner.invoke(app, ["runs", "compare", by_source["smollm2-v3"], by_source["smollm2-v1"]],
                             env={"COLUMNS": "200"})
    assert compared.exit_code == 0, compared.output
    assert "v3 0.086 → v1 0.000 (−0.086 [−0.144, −0.052])" in compared.output


def test_grid_colours_by_the_paired_interval(tmp_path, gold_set):
    store = Store(f"sqlite:///{tmp_path / 'g.db'}")
    for n, (prompt, model) in enumerate([(p, m) for p in ("sanctions@v1", "sanctions@v2", "sanctions@v3")
                                         for m in ("gpt-4o-mini", "qwen2.5-7b")]):
        import_run(store, make_run(gold_set, tmp_path / f"r{n}", prompt, model, seed=1), gold_set)
    _, runs = grid_runs(store)
    baseline = next(r for r in runs if (r.prompt_id, r.model) == ("sanctions@v1", "qwen2.5-7b"))
    grid = build_grid(runs, baseline.gold_hash, baseline.id[:6])
    assert grid.prompts == ["sanctions@v1", "sanctions@v2", "sanctions@v3"]
    assert grid.models == ["gpt-4o-mini", "qwen2.5-7b"] and grid.baseline is not None
    assert grid.baseline.id == baseline.id and grid.cell("sanctions@v1", "qwen2.5-7b").comparison is None
    for cell in grid.cells.values():
        c = cell.comparison
        if c is None:
            continue
        page = compare_rows(baseline, cell.run).micro  # the interval the comparison page shows
        assert (c.delta, c.low, c.high) == pytest.approx((page.delta, page.low, page.high), abs=1e-12)
        excludes_zero = c.low > 0 or c.high < 0
        assert cell.shade == "same" if not excludes_zero else cell.shade[:-1] in ("up", "down")
        assert not excludes_zero or cell.shade.startswith("up" if c.delta > 0 else "down")
    shades = {cell.shade for cell in grid.cells.values() if cell.comparison}
    assert "same" in shades and any(s.startswith("up") for s in shades)  # both kinds occur in this grid
    default = build_grid(runs, baseline.gold_hash)
    assert (default.baseline.prompt_id, default.baseline.model) == ("sanctions@v1", "gpt-4o-mini")
    store.close()


def test_documents_where_runs_disagree_or_fail_and_one_side_by_side(history, tmp_path):
    store, ids = history
    rows = runs_by_ids(store, [ids["smollm2-v1"], ids["smollm2-v3"]])
    every = document_lines(rows, "all")
    disagree = document_lines(rows, "disagree")
    failed = document_lines(rows, "failed")
    assert len(every) == 30 and {line.id for line in disagree} < {line.id for line in every}
    assert all(any(line.failed) for line in failed) and len(failed) == 4  # v1 failed 4 documents, v3 none
    assert all(line.disagree for line in disagree) and not any(line.disagree for line in every if line not in disagree)
    with pytest.raises(DocumentError):
        document_lines(rows, "sometimes")
    view = document_view("tr-2021-07-22-jy0288", rows, Sources(), ["v1", "v3"])
    assert view.title and len(view.columns) == 2 and view.columns[1].answer is not None
    assert view.columns[1].f1 == pytest.approx(next(line.f1[1] for line in every if line.id == view.id))
    assert len(view.rows[0]) == 3 and view.rows[0][0] is not None  # gold action, then each run's match
    assert any("pred" in m.kind for m in view.columns[1].marks) and view.gold_marks
    moved = shutil.copytree(RUNS / "smollm2-v3", tmp_path / "moved")
    row = runs_by_ids(store, [ids["smollm2-v3"]])[0]
    row.predictions = str(moved / "gone")
    assert document_view(view.id, [row], Sources(), ["v3"]).columns[0].problem  # named, not a crash
    row.gold_dir = str(tmp_path / "no-gold")
    with pytest.raises(SourceMissing):
        document_view(view.id, [row], Sources(), ["v3"])


def test_a_run_posted_as_json_is_checked(history):
    store, ids = history
    row = runs_by_ids(store, [ids["smollm2-v3"]])[0]
    from extractor.eval.history.compare import scores_of

    scores = scores_of(row)
    payload = RunRecord(row.id, row.name, "eval", dict(row.info), dict(row.metrics), row.predictions, scores,
                        row.gold_dir, row.docs_dir).to_payload()
    back = RunRecord.from_payload(json.loads(json.dumps(payload)), source="service")
    assert back.id == row.id and back.scores.ids == scores.ids and np.array_equal(back.scores.counts, scores.counts)
    broken = json.loads(json.dumps(payload))
    broken["documents"]["counts"] = broken["documents"]["counts"][:-1]
    with pytest.raises(ExtractorError, match="counts must be"):
        RunRecord.from_payload(broken, source="service")
    for key, value, message in [("groups", ["headline"], "groups"), ("ids", ["a"] * 30, "unique")]:
        bad = json.loads(json.dumps(payload))
        bad["documents"][key] = value
        with pytest.raises(ExtractorError, match=message):
            RunRecord.from_payload(bad, source="service")
    with pytest.raises(ExtractorError, match="12 lowercase"):
        RunRecord.from_payload({**payload, "id": "../x"}, source="service")


def test_the_runs_migration_goes_down_and_up(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'm.db'}")
    config = alembic_config()
    script = ScriptDirectory.from_config(config)
    head = script.get_current_head()
    assert current(store.engine) == head
    before = script.get_revision("0004_runs").down_revision
    with store.engine.begin() as connection:
        config.attributes["connection"] = connection
        downgrade(config, str(before))
    assert current(store.engine) == before
    with store.engine.connect() as connection:
        assert "runs" not in connection.dialect.get_table_names(connection)
    upgrade(store.engine)
    assert current(store.engine) == head
    store.close()


def test_compare_of_stored_runs_refuses_other_gold_sets(history):
    store, ids = history
    a, b = runs_by_ids(store, [ids["smollm2-v1"], ids["smollm2-v3"]])
    b.info = {**b.info, "gold_hash": "000000000000"}
    b.gold_hash = "000000000000"
    with pytest.raises(IncomparableRuns, match="different gold sets"):
        compare_rows(a, b)
