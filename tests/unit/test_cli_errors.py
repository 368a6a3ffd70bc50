"""User mistakes through the CLI: one `error: ...` line, exit 2 for usage and 1 for failures, never a traceback."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from typer.testing import CliRunner

from extractor.cli import app
from extractor.core.cache import disk as cache_module
from tests.support import ROOT

runner = CliRunner()

GOOD = "Treasury sanctioned Acme Shipping."


@pytest.fixture
def endpoint(fake, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
    monkeypatch.setenv("EXTRACTOR_MODEL", "fake-model")
    return fake


def run(*args: str, **kwargs):
    result = runner.invoke(app, list(args), **kwargs)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    return result


def doc(tmp_path: Path, name: str = "a.txt", text: str = GOOD) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_out_naming_a_directory(endpoint, tmp_path):
    result = run("extract", str(doc(tmp_path)), "--out", str(tmp_path))
    assert result.exit_code == 2 and "is a directory" in result.stderr and result.stderr.startswith("error:")


def test_out_in_a_missing_folder_is_created(endpoint, tmp_path):
    out = tmp_path / "new" / "deeper" / "o.jsonl"
    assert run("extract", str(doc(tmp_path)), "--out", str(out)).exit_code == 0
    assert json.loads(out.read_text())["article_id"] == "a"


def test_out_being_an_input_is_refused(endpoint, tmp_path):
    source = doc(tmp_path, "in.jsonl", json.dumps({"id": "x", "text": GOOD}) + "\n")
    before = source.read_text()
    result = run("extract", str(source), "--out", str(source))
    assert result.exit_code == 2 and "is also an input" in result.stderr
    assert source.read_text() == before
    assert not endpoint.chat_requests()


@pytest.mark.parametrize("given", ["file", "folder"])
def test_out_hard_linked_to_an_input_is_refused(endpoint, tmp_path, given):
    source = doc(tmp_path / "docs", "in.jsonl", json.dumps({"id": "x", "text": GOOD}) + "\n")
    before = source.read_text()
    out = tmp_path / "results.jsonl"
    out.hardlink_to(source)
    result = run("extract", str(source if given == "file" else source.parent), "--out", str(out))
    assert result.exit_code == 2 and "is also an input" in result.stderr
    assert source.read_text() == before
    assert not endpoint.chat_requests()


def test_resume_with_another_model_or_prompt_is_refused(endpoint, tmp_path):
    out = tmp_path / "o.jsonl"
    assert run("extract", str(doc(tmp_path)), "--out", str(out)).exit_code == 0
    before = out.read_text()
    for extra in (["--model", "other-model"], ["--prompt", "sanctions@v1"]):
        result = run("extract", str(doc(tmp_path)), str(doc(tmp_path, "b.txt")), "--out", str(out), *extra)
        assert result.exit_code == 2, result.output
        assert "use another --out" in result.stderr and "another setup" in result.stderr
    assert out.read_text() == before
    # the same setup resumes: a is skipped, b is done
    assert run("extract", str(doc(tmp_path)), str(doc(tmp_path, "b.txt")), "--out", str(out)).exit_code == 0
    assert [json.loads(line)["article_id"] for line in out.read_text().splitlines()] == ["a", "b"]


def test_eval_into_a_run_directory_of_another_prompt_is_refused(endpoint, tmp_path):
    out = tmp_path / "run"
    assert run("eval", "--out", str(out), "--n-boot", "100").exit_code == 0
    result = run("eval", "--out", str(out), "--prompt", "sanctions@v1", "--n-boot", "100")
    assert result.exit_code == 2 and "use another --out" in result.stderr


def test_failure_lines_name_the_document(endpoint, tmp_path):
    bad = tmp_path / "colon"
    doc(bad, "c:d.txt", "")
    doc(tmp_path, "b.jsonl", '{"id": "with-id", "text": 5}\n{broken\n')
    out = tmp_path / "o.jsonl"
    assert run("extract", str(bad), str(tmp_path / "b.jsonl"), "--out", str(out)).exit_code == 1
    ids = sorted(json.loads(line)["article_id"] for line in out.read_text().splitlines())
    assert ids == ["b-2", "c:d", "with-id"]


def test_show_mistakes(endpoint, tmp_path):
    out = tmp_path / "o.jsonl"
    run("extract", str(doc(tmp_path)), "--out", str(out))
    missing = run("show", str(out), "--doc", "a", "--text", str(tmp_path / "nope.txt"))
    assert missing.exit_code == 2 and "nope.txt: no such file" in missing.stderr
    latin = tmp_path / "latin.txt"
    latin.write_bytes("Société sanctionnée".encode("latin-1"))
    bad = run("show", str(out), "--doc", "a", "--text", str(latin))
    assert bad.exit_code == 2 and "not UTF-8" in bad.stderr
    page = tmp_path / "new" / "folder" / "a.html"
    made = run("show", str(out), "--doc", "a", "--text", str(tmp_path / "a.txt"), "--out", str(page))
    assert made.exit_code == 0 and "Acme Shipping" in page.read_text()
    assert run("show", str(tmp_path), "--doc", "a").exit_code == 2  # a directory, not a result file
    assert run("show", str(out), "--doc", "a", "--out", str(tmp_path)).exit_code == 2


def test_eval_predictions_matching_no_gold_fails(tmp_path):
    preds = tmp_path / "p.jsonl"
    preds.write_text(json.dumps({"article_id": "not-gold", "error": {"type": "X", "message": "m"}, "meta": {}}) + "\n")
    result = run("eval", "--predictions", str(preds), "--n-boot", "100")
    assert result.exit_code == 1 and "none of its 1 document id(s)" in result.stderr


def test_eval_predictions_out_is_comparable(endpoint, tmp_path):
    out = tmp_path / "o.jsonl"
    assert run("extract", str(ROOT / "evals" / "docs"), "--out", str(out), "-j", "4").exit_code in (0, 1)
    report_dir = tmp_path / "scored"
    assert run("eval", "--predictions", str(out), "--out", str(report_dir), "--n-boot", "100").exit_code == 0
    assert {"predictions.jsonl", "run.json", "report.json", "report.html"} <= {p.name for p in report_dir.iterdir()}
    compared = run("compare", str(report_dir), str(report_dir), "--out", str(tmp_path / "cmp"), "--n-boot", "100")
    assert compared.exit_code == 0, compared.output
    assert (tmp_path / "cmp" / "compare.html").exists()


@pytest.mark.parametrize("args,message", [
    (["eval", "--gold", "/nonexistent/gold"], "--gold /nonexistent/gold: no such directory"),
    (["eval", "--docs", "/nonexistent/docs"], "--docs /nonexistent/docs: no such directory"),
    (["eval", "--prompt", "nosuch@v1"], "unknown prompt 'nosuch'"),
    (["compare", "runs/does-not-exist", "sanctions@v1"], "no such run directory or predictions file"),
    (["prompts", "render", "nosuch", "-"], "unknown prompt 'nosuch'"),
])
def test_usage_mistakes_are_one_line(args, message):
    result = run(*args)
    assert result.exit_code == 2 and result.stderr.startswith("error:") and message in result.stderr, result.stderr


def test_malformed_run_directory(tmp_path):
    broken = tmp_path / "run"
    broken.mkdir()
    (broken / "predictions.jsonl").write_text("")
    (broken / "run.json").write_text("{half")
    result = run("compare", str(broken), str(broken))
    assert result.exit_code == 2 and "malformed run file" in result.stderr
    assert run("compare", str(tmp_path), str(broken)).stderr.count("not a run directory") == 1


def test_unreadable_gold_file(tmp_path):
    gold, docs = tmp_path / "gold", tmp_path / "docs"
    gold.mkdir()
    docs.mkdir()
    (gold / "g.json").write_bytes(b"\xff\xfe\x00garbage")
    result = run("eval", "--gold", str(gold), "--docs", str(docs))
    assert result.exit_code == 2 and "g.json" in result.stderr


def test_cache_dir_pointing_at_a_file_goes_on_uncached_with_one_warning(endpoint, tmp_path, monkeypatch, caplog):
    not_a_dir = tmp_path / "cache-file"
    not_a_dir.write_text("x")
    monkeypatch.setenv("EXTRACTOR_CACHE_DIR", str(not_a_dir))
    monkeypatch.setattr(cache_module, "_warned", set())
    out = tmp_path / "o.jsonl"
    with caplog.at_level(logging.WARNING, logger="extractor.cache"):
        result = run("extract", str(doc(tmp_path)), str(doc(tmp_path, "b.txt")), "--out", str(out), "-j", "2")
    assert result.exit_code == 0, result.output
    assert len(out.read_text().splitlines()) == 2
    warnings = [r for r in caplog.records if r.name == "extractor.cache"]
    assert len(warnings) == 1 and "it is a file, not a directory" in warnings[0].getMessage()
    stats = run("cache", "stats")
    assert stats.exit_code == 1 and "is not usable" in stats.stderr
