"""The command line, driven in-process against the local fake server."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from extractor.cli import app
from extractor.testing.fake_openai import completion

runner = CliRunner()


@pytest.fixture
def endpoint(fake, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
    monkeypatch.setenv("EXTRACTOR_MODEL", "fake-model")
    return fake


def test_help_lists_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("extract", "cache", "prompts"):
        assert command in result.output


def test_extract_writes_lines_and_reports_bad_inputs(endpoint, tmp_path):
    (tmp_path / "one.txt").write_text("Treasury sanctioned Acme Shipping.", encoding="utf-8")
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    (tmp_path / "two.md").write_text("The EU sanctioned Beta Bank.", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["extract", str(tmp_path / "one.txt"), str(tmp_path / "empty.txt"),
                                 str(tmp_path / "nope.txt"), str(tmp_path / "two.md"), "--out", str(out)])
    assert result.exit_code == 1
    assert "empty.txt" in result.stderr and "nope.txt" in result.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    good = [line for line in lines if "error" not in line]
    assert sorted(line["article_id"] for line in good) == ["one", "two"]
    assert all(line["meta"]["prompt_id"].startswith("sanctions@v") for line in good)
    assert all(line["meta"]["usage"]["total_tokens"] == 120 for line in good)


def test_resume_skips_done_documents(endpoint, tmp_path):
    for name in ("a", "b", "c"):
        (tmp_path / f"{name}.txt").write_text(f"Treasury sanctioned {name}.", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    runner.invoke(app, ["extract", str(tmp_path / "a.txt"), "--out", str(out), "--no-cache"])
    with out.open("a") as handle:
        handle.write('{"article_id": "b", "is_sanc')  # a line cut short by a crash
    result = runner.invoke(app, ["extract", str(tmp_path), "--out", str(out), "--no-cache"])
    assert result.exit_code == 0, result.output
    ids = [json.loads(line)["article_id"] for line in out.read_text().splitlines()]
    assert sorted(ids) == ["a", "b", "c"]
    assert len(endpoint.chat_requests()) == 3


def test_unknown_prompt_version_is_one_line_error(endpoint, tmp_path):
    (tmp_path / "a.txt").write_text("text", encoding="utf-8")
    result = runner.invoke(app, ["extract", str(tmp_path / "a.txt"), "--prompt", "sanctions@v99"])
    assert result.exit_code == 2
    assert "sanctions@v99" in result.stderr


def test_unreachable_endpoint_fails_each_document_and_continues(monkeypatch, tmp_path):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("EXTRACTOR_MODEL", "m")
    for name in ("a", "b"):
        (tmp_path / f"{name}.txt").write_text("text", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["extract", str(tmp_path), "--out", str(out), "--no-cache"],
                           env={"EXTRACTOR_TIMEOUT": "2", "EXTRACTOR_RETRY_BUDGET": "1"})
    assert result.exit_code == 1
    assert "OPENAI_BASE_URL" in result.stderr
    assert len(out.read_text().splitlines()) == 2


def test_jsonl_input_and_stdin(endpoint, tmp_path):
    batch = tmp_path / "docs.jsonl"
    batch.write_text(json.dumps({"id": "x1", "text": "Treasury acted today.", "published": "2021-12-10"}) + "\n")
    result = runner.invoke(app, ["extract", str(batch)])
    assert result.exit_code == 0
    assert json.loads(result.stdout.splitlines()[0])["article_id"] == "x1"
    assert "published: 2021-12-10" in endpoint.chat_requests()[0]["messages"][-1]["content"]
    result = runner.invoke(app, ["extract", "-"], input="The UK sanctioned Z.")
    assert json.loads(result.stdout)["article_id"] == "stdin"


def test_failure_line_carries_last_output(endpoint, tmp_path):
    endpoint.default = completion('{"is_sanctions_news": "maybe"}')
    (tmp_path / "a.txt").write_text("text", encoding="utf-8")
    out = tmp_path / "o.jsonl"
    result = runner.invoke(app, ["extract", str(tmp_path / "a.txt"), "--out", str(out)])
    assert result.exit_code == 1
    line = json.loads(out.read_text())
    assert line["error"]["type"] == "ExtractionFailed"
    assert line["error"]["last_output"] == '{"is_sanctions_news": "maybe"}'


def test_cache_stats_and_clear(endpoint, tmp_path):
    (tmp_path / "a.txt").write_text("text", encoding="utf-8")
    runner.invoke(app, ["extract", str(tmp_path / "a.txt")])
    stats = json.loads(runner.invoke(app, ["cache", "stats"]).stdout)
    assert stats["entries"] == 1
    assert "removed 1" in runner.invoke(app, ["cache", "clear"]).stdout


def test_prompts_list_show_diff():
    listed = runner.invoke(app, ["prompts", "list"]).stdout
    assert "sanctions@v1" in listed
    assert "system:" in runner.invoke(app, ["prompts", "show", "sanctions@v1"]).stdout
    assert "identical" in runner.invoke(app, ["prompts", "diff", "sanctions@v1", "sanctions@v1"]).stdout


def test_prompts_list_names_a_broken_prompt_file_and_lists_the_others(tmp_path, monkeypatch):
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "v1.yaml").write_text("system: [unclosed\n", encoding="utf-8")
    monkeypatch.setenv("EXTRACTOR_PROMPTS_DIR", str(tmp_path))
    listed = runner.invoke(app, ["prompts", "list"])
    assert listed.exit_code == 1 and "Traceback" not in listed.output
    assert listed.stderr.count("\n") == 1 and "broken@v1" in listed.stderr and "not valid YAML" in listed.stderr
    assert "sanctions@v1 " in listed.stdout


def test_extract_stores_results_in_a_service_database(endpoint, tmp_path):
    from extractor.store import Store
    from extractor.store.models import DocumentRow, ExtractionRow

    for name in ("a", "b", "c"):
        (tmp_path / f"{name}.txt").write_text(f"Treasury sanctioned firm {name}.", encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'service.db'}"
    result = runner.invoke(app, ["extract", str(tmp_path / "a.txt"), str(tmp_path / "b.txt"), str(tmp_path / "c.txt"),
                                 "--db", db, "-j", "2", "--out", str(tmp_path / "o.jsonl")])
    assert result.exit_code == 0, result.output
    with Store(db).read() as session:
        assert sorted(row.id for row in session.query(DocumentRow)) == ["a", "b", "c"]
        assert session.query(ExtractionRow).count() == 3
    bad = runner.invoke(app, ["extract", str(tmp_path / "a.txt"), "--db", "nosuchdb://x"])
    assert bad.exit_code == 2 and "Traceback" not in bad.output
