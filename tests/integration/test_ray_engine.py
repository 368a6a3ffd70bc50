"""`extract --engine ray`: local Ray with 2 CPUs, the fake server on 127.0.0.1, results as shards."""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from extractor import Extractor, Settings, extract_many
from extractor.batch.ray_inputs import ShardWriter, done_in, list_inputs
from extractor.batch.results import iter_results
from extractor.cli import app
from extractor.core.documents import Document, iter_documents
from tests.support.redisserver import redis_server

runner = CliRunner()
JSONL_DOCS, TEXT_DOCS, PARQUET_DOCS = 60, 30, 10
TOTAL = JSONL_DOCS + TEXT_DOCS + PARQUET_DOCS


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    """One in-process Ray for the module (starting Ray takes seconds), shut down after."""
    ray = pytest.importorskip("ray", reason="ray is not installed (pip install -e '.[ray]')")
    pytest.importorskip("pyarrow", reason="Ray Data needs pyarrow (pip install -e '.[ray]')")
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def make_inputs(root: Path, *, bad_line: bool = False) -> Path:
    """100 documents in three kinds of input: JSONL lines, text files and a Parquet file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = root / "in"
    (folder / "texts").mkdir(parents=True)
    lines = [json.dumps({"id": f"j{i}", "text": f"Treasury sanctioned Acme Shipping {i}.", "published": "2024-05-01"})
             for i in range(JSONL_DOCS)]
    if bad_line:
        lines.insert(7, "{not json")
        # The same id again in another file: workers read files apart, the driver refuses the repeat.
        (folder / "again.jsonl").write_text(json.dumps({"id": "j3", "text": "Repeated."}) + "\n", encoding="utf-8")
    (folder / "news.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for i in range(TEXT_DOCS):
        (folder / "texts" / f"t{i}.txt").write_text(f"The UK sanctioned Beta Trading {i}.", encoding="utf-8")
    table = pa.table({"id": [f"p{i}" for i in range(PARQUET_DOCS)],
                      "text": [f"The EU sanctioned Gamma Bank {i}." for i in range(PARQUET_DOCS)],
                      "title": [f"Gamma {i}" for i in range(PARQUET_DOCS)]})
    pq.write_table(table, folder / "more.parquet")
    return folder


def expected_ids() -> set[str]:
    return ({f"j{i}" for i in range(JSONL_DOCS)} | {f"t{i}" for i in range(TEXT_DOCS)}
            | {f"p{i}" for i in range(PARQUET_DOCS)})


def lines_in(out: Path) -> list[dict]:
    return [json.loads(line) for shard in sorted(out.glob("*.jsonl")) for line in shard.read_text().splitlines()]


def ray_args(inputs: Path, out: Path, fake) -> list[str]:
    return ["extract", str(inputs), "--engine", "ray", "--actors", "2", "-j", "4", "--out", str(out),
            "--model", "fake-model", "--base-url", fake.base_url]


def test_every_document_exactly_once_then_a_rerun_skips_all(local_ray, fake, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "test")
    inputs = make_inputs(tmp_path, bad_line=True)
    out = tmp_path / "out"
    first = runner.invoke(app, ray_args(inputs, out, fake))
    assert first.exit_code == 1, first.output  # the bad JSONL line is a failure, reported and recorded
    assert "news.jsonl:8: invalid JSON" in first.output and "Traceback" not in first.output
    lines = lines_in(out)
    ok = Counter(line["article_id"] for line in lines if "error" not in line)
    assert set(ok) == expected_ids() and set(ok.values()) == {1}
    failures = sorted((line for line in lines if "error" in line), key=lambda line: line["error"]["message"])
    assert [f["error"]["type"] for f in failures] == ["DocumentError", "DocumentError"]
    assert any("duplicate id 'j3'" in f["error"]["message"] for f in failures)
    assert any("news.jsonl:8: invalid JSON" in f["error"]["message"] for f in failures)
    assert len(fake.chat_requests()) == TOTAL + 1  # the repeat was asked (on another worker) before it was refused
    # Lines are the local path's format: they read back as results with their run metadata.
    results = [r for shard in out.glob("*.jsonl") for r in iter_results(shard) if hasattr(r, "actions")]
    assert len(results) == TOTAL and results[0].meta["usage"]["total_tokens"] == 120
    assert {r.article_id for r in results if r.meta["cache_hit"]} == set()
    assert "prompt tokens" in first.output and str((TOTAL + 1) * 100) in first.output  # the run's account

    again = runner.invoke(app, ray_args(inputs, out, fake))
    assert f"{TOTAL + 1} document(s) already in" in again.output, again.output
    assert len(fake.chat_requests()) == TOTAL + 1  # nothing asked again (the repeated j3 is done: skipped)
    relines = lines_in(out)
    assert Counter(line["article_id"] for line in relines if "error" not in line) == ok
    assert len([line for line in relines if "error" in line]) == 3  # the bad line is retried (and fails again)


def test_redis_cache_serves_every_answer_to_the_workers(local_ray, fake, tmp_path, tmp_path_factory, monkeypatch):
    pytest.importorskip("redis", reason="the redis client is not installed (pip install -e '.[redis]')")
    import pyarrow.parquet as pq
    monkeypatch.setenv("OPENAI_API_KEY", "test")
    inputs = make_inputs(tmp_path)
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        monkeypatch.setenv("EXTRACTOR_CACHE_URL", url)
        # Fill the shared cache from this process on the local path (Parquet rows read with pyarrow)…
        settings = Settings.from_env(model="fake-model", base_url=fake.base_url)
        docs = [*iter_documents([inputs])]
        docs += [Document(**row) for row in pq.read_table(inputs / "more.parquet").to_pylist()]
        filled = extract_many(docs, extractor=Extractor(settings), concurrency=4)
        assert len(filled) == TOTAL and all(o.ok for o in filled)
        asked = len(fake.chat_requests())
        assert asked == TOTAL
        # …then the Ray workers find every answer there: no model call at all.
        out = tmp_path / "out"
        result = runner.invoke(app, ray_args(inputs, out, fake))
        assert result.exit_code == 0, result.output
    assert len(fake.chat_requests()) == asked
    lines = lines_in(out)
    assert len(lines) == TOTAL and {line["article_id"] for line in lines} == expected_ids()
    assert all(line["meta"]["cache_hit"] for line in lines)


def test_without_ray_the_flag_names_the_extra(monkeypatch, tmp_path):
    (tmp_path / "a.txt").write_text("Treasury sanctioned Acme Shipping.")
    monkeypatch.setitem(sys.modules, "ray", None)
    result = runner.invoke(app, ["extract", str(tmp_path / "a.txt"), "--engine", "ray", "--out", str(tmp_path / "o"),
                                 "--model", "m", "--base-url", "http://127.0.0.1:9/v1"])
    assert result.exit_code == 2
    assert result.output.strip() == "error: --engine ray needs Ray: pip install 'sanctions-extractor[ray]'"


@pytest.mark.parametrize("extra,message", [
    (["--engine", "ray"], "--engine ray needs --out DIR"),
    (["--actors", "3"], "--actors goes with --engine ray, not the local engine"),
    (["--engine", "ray", "--batch-api", "--out", "o"], "--engine ray and --batch-api do not go together"),
    (["--server", "http://127.0.0.1:9", "--db", "sqlite:///x.db"], "--db goes with the local engine or --engine ray"),
    (["--engine", "spark", "--out", "o"], "--engine 'spark' is not one of local, ray"),
])
def test_usage_mistakes_are_one_line(tmp_path, extra, message):
    (tmp_path / "a.txt").write_text("Treasury sanctioned Acme Shipping.")
    result = runner.invoke(app, ["extract", str(tmp_path / "a.txt"), "--model", "m",
                                 "--base-url", "http://127.0.0.1:9/v1", *extra])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


def test_out_must_be_a_directory_and_stdin_is_local_only(tmp_path):
    (tmp_path / "a.txt").write_text("Treasury sanctioned Acme Shipping.")
    (tmp_path / "file.jsonl").write_text("")
    base = ["extract", "--engine", "ray", "--model", "m", "--base-url", "http://127.0.0.1:9/v1"]
    result = runner.invoke(app, [*base, str(tmp_path / "a.txt"), "--out", str(tmp_path / "file.jsonl")])
    assert result.exit_code == 2 and "is a file: --engine ray writes a directory" in result.output
    result = runner.invoke(app, [*base, "-", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "not stdin (-): use --engine local" in result.output


def test_inputs_skip_the_output_directory(tmp_path):
    (tmp_path / "a.txt").write_text("x")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "part-1.jsonl").write_text("{}\n")
    pq = pytest.importorskip("pyarrow.parquet", reason="Ray Data needs pyarrow (pip install -e '.[ray]')")
    import pyarrow as pa

    pq.write_table(pa.table({"id": ["x", "y"], "text": ["a", "b"]}), tmp_path / "t.parquet")
    (tmp_path / "broken.parquet").write_bytes(b"not parquet")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.txt").write_text("y")
    inputs = list_inputs([str(tmp_path), str(tmp_path / "missing.txt")], exclude=tmp_path / "out")
    # Ids as the local readers give them: colliding stems get path-derived ids.
    assert [(Path(f).name, i) for f, i in inputs.files] == [
        ("a.txt", f"{tmp_path.name}/a"), ("a.txt", "sub/a"), ("missing.txt", "missing")]
    assert [Path(f).name for f in inputs.parquet] == ["t.parquet"]
    assert len(inputs.errors) == 1 and "broken.parquet: not a readable Parquet file" in inputs.errors[0]
    assert inputs.estimated_documents() == 3 + 2 + 1  # three text files, two rows, one unreadable input
    assert list_inputs([str(tmp_path / "out")], exclude=tmp_path / "out").errors


def test_shards_rotate_and_resume_drops_a_cut_last_line(tmp_path):
    writer = ShardWriter(tmp_path, lines_per_shard=2)
    for i in range(5):
        writer.write(json.dumps({"article_id": f"d{i}", "actions": []}))
    writer.close()
    assert [len(p.read_text().splitlines()) for p in writer.shards] == [2, 2, 1]
    with writer.shards[-1].open("a") as handle:
        handle.write('{"article_id": "d9", "acti')  # a crash in the middle of a line
    assert done_in(tmp_path) == {"d0", "d1", "d2", "d3", "d4"}
    assert writer.shards[-1].read_text().endswith("}\n")


def test_a_failing_worker_is_one_error_naming_its_cause(local_ray, fake, tmp_path):
    from extractor.batch.ray_engine import run_ray
    from extractor.core.errors import ExtractorError

    (tmp_path / "a.txt").write_text("Treasury sanctioned Acme Shipping.")
    extractor = Extractor(Settings.from_env(model="fake-model", base_url=fake.base_url, api_key="t"))
    extractor.prompt.__dict__["hash"] = "edited-on-the-driver"  # the actors load the files: another hash
    with pytest.raises(ExtractorError) as info:
        run_ray(extractor, [str(tmp_path / "a.txt")], tmp_path / "out", actors=1, concurrency=1)
    message = str(info.value)
    assert message.startswith("a Ray worker failed: ConfigError: prompt sanctions@v3 differs on this node")
    assert "run again with the same --out to resume" in message and "\n" not in message
    assert fake.chat_requests() == []


def test_results_go_straight_into_the_service_database(local_ray, fake, tmp_path, monkeypatch):
    from extractor.store import Store
    from extractor.store.models import DocumentRow, ExtractionRow

    monkeypatch.setenv("OPENAI_API_KEY", "test")
    inputs = make_inputs(tmp_path)
    db = f"sqlite:///{tmp_path / 'service.db'}"
    result = runner.invoke(app, [*ray_args(inputs, tmp_path / "out", fake), "--db", db])
    assert result.exit_code == 0, result.output
    with Store(db).read() as session:
        documents = {row.id: (row.text, row.doc_meta) for row in session.query(DocumentRow)}
        extracted = [e.document_id for e in session.query(ExtractionRow)]
    assert set(documents) == expected_ids()
    assert len(extracted) == TOTAL and set(extracted) == expected_ids()
    assert documents["p3"] == ("The EU sanctioned Gamma Bank 3.", {"title": "Gamma 3"})
