"""One Engine interface: each engine returns a RunSummary; Ray's work units read what the local readers read."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import pytest

from extractor import Document, Extractor, Settings
from extractor.batch.engine import Events, Job, LocalEngine
from extractor.batch.openai_batch import BatchApiEngine
from extractor.batch.ray_inputs import Inputs, plan_units, read_unit
from extractor.batch.remote import ServerEngine
from extractor.batch.run import Outcome, RunSummary
from extractor.core.documents import read_file
from extractor.core.errors import ConfigError, DocumentError
from extractor.core.meta import RunMeta, Usage
from extractor.core.schema import ArticleExtraction


def as_seen(items) -> list[tuple[str, str]]:
    """Documents and reader errors, comparable: (id, text) or (article id, message)."""
    return [(i.article_id or "", str(i)) if isinstance(i, DocumentError) else (i.id, i.text) for i in items]


def test_jsonl_units_read_what_the_local_reader_reads(tmp_path):
    lines = [json.dumps({"id": f"d{i}", "text": f"Text {i}."}) for i in range(23)]
    lines[4] = "{not json"
    lines[9] = ""  # blank lines are skipped and still counted
    lines[15] = json.dumps({"text": "no id: the line number names it"})
    path = tmp_path / "news.jsonl"
    path.write_bytes(codecs.BOM_UTF8 + "\r\n".join(lines).encode() + b"\r\n")
    units = list(plan_units(Inputs(files=[(str(path), "news")]), 5))
    assert len(units) > 3 and all("jsonl" in unit for unit in units)
    read = [item for unit in units for item in read_unit(json.loads(json.dumps(unit)), {})]
    assert as_seen(read) == as_seen(read_file(path))
    assert ("news-16", "no id: the line number names it") in as_seen(read)


def test_a_file_that_is_not_plain_utf8_stays_one_unit(tmp_path):
    utf16 = tmp_path / "wide.jsonl"
    utf16.write_bytes("\n".join(json.dumps({"id": f"w{i}", "text": "x"}) for i in range(30)).encode("utf-16"))
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes(b'{"id": "l1", "text": "caf\xe9"}\n' * 30)
    units = list(plan_units(Inputs(files=[(str(utf16), "wide"), (str(latin), "latin")]), 4))
    assert units == [{"files": [(str(utf16), "wide")]}, {"files": [(str(latin), "latin")]}]
    assert as_seen(read_unit(units[1], {})) == as_seen(read_file(latin))  # the local reader's own error


def test_parquet_row_groups_are_cut_into_slices(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "t.parquet"
    table = pa.table({"id": [f"p{i}" for i in range(25)], "text": [f"Row {i}." if i != 7 else None for i in range(25)]})
    pq.write_table(table, path, row_group_size=10)
    units = list(plan_units(Inputs(parquet=[str(path)]), 4))
    assert [(u["group"], u["offset"], u["count"]) for u in units] == [
        (0, 0, 4), (0, 4, 4), (0, 8, 2), (1, 0, 4), (1, 4, 4), (1, 8, 2), (2, 0, 4), (2, 4, 1)]
    groups: dict = {}
    read = [item for unit in units for item in read_unit(unit, groups)]
    assert [i.id for i in read if isinstance(i, Document)] == [f"p{i}" for i in range(25) if i != 7]
    errors = [str(i) for i in read if isinstance(i, DocumentError)]
    assert errors == [f"{path}: row 8 of row group 0 has no 'id' or 'text'"]


def outcome(article_id: str, *, tokens: int = 10, hit: bool = False, failed: bool = False) -> Outcome:
    if failed:
        return Outcome(article_id=article_id, error=DocumentError("bad"))
    result = ArticleExtraction(article_id=article_id, is_sanctions_news=False, actions=[])
    result._meta = RunMeta(prompt_id="p", prompt_hash="h", schema_hash="s", backend="b", model="m", endpoint="e",
                           cache_hit=hit, cache_key="k", attempts=1, transport_retries=0,
                           usage=Usage(prompt_tokens=tokens, completion_tokens=1, total_tokens=tokens + 1),
                           cost=0.5, latency_s=0.1 * tokens, created_at="2024-01-01", chunks=1, grounding={})
    return Outcome(article_id=article_id, result=result)


def test_summaries_merge_into_what_one_summary_of_everything_says():
    outcomes = [outcome("a", tokens=3), outcome("b", hit=True), outcome("c", failed=True), outcome("d", tokens=7)]
    whole = RunSummary()
    for item in outcomes:
        whole.add(item)
    merged = RunSummary(skipped=2)
    for item in outcomes:
        part = RunSummary()
        part.add(item)
        merged.merge(RunSummary.from_state(json.loads(json.dumps(part.state()))))  # as a Ray row carries it
    whole.skipped = 2
    assert merged.to_dict() == whole.to_dict()
    assert merged.to_dict()["cost"] == 1.5 and merged.cache_hits == 1 and merged.failed == 1


def test_every_engine_answers_with_a_run_summary(fake, tmp_path):
    (tmp_path / "a.txt").write_text("Treasury sanctioned Acme Shipping.", encoding="utf-8")
    extractor = Extractor(Settings.from_env(model="m", base_url=fake.base_url, api_key="k", cache=False))
    seen: list[Outcome] = []
    summary = LocalEngine(extractor).run(Job([str(tmp_path / "a.txt")], out=tmp_path / "out.jsonl"),
                                         Events(outcome=seen.append))
    assert isinstance(summary, RunSummary) and summary.succeeded == 1 and [o.article_id for o in seen] == ["a"]
    again = LocalEngine(extractor).run(Job([str(tmp_path / "a.txt")], out=tmp_path / "out.jsonl"))
    assert (again.documents, again.skipped) == (0, 1)
    with pytest.raises(ConfigError, match="--batch-api needs --out"):
        BatchApiEngine(extractor).run(Job([str(tmp_path / "a.txt")]))
    with pytest.raises(ConfigError, match="--server needs an API key"):
        ServerEngine("http://127.0.0.1:9").run(Job([str(tmp_path / "a.txt")]))


def test_out_that_is_an_input_or_a_directory_is_refused_by_the_engine(fake, tmp_path):
    source = tmp_path / "a.txt"
    source.write_text("Treasury sanctioned Acme Shipping.", encoding="utf-8")
    engine = LocalEngine(Extractor(Settings.from_env(model="m", base_url=fake.base_url, api_key="k")))
    with pytest.raises(ConfigError, match="is also an input"):
        engine.run(Job([str(source)], out=source))
    with pytest.raises(ConfigError, match="is a directory"):
        engine.run(Job([str(source)], out=Path(tmp_path)))


def test_every_engine_that_calls_a_model_checks_the_endpoint_before_any_document(monkeypatch, tmp_path):
    from extractor.batch.ray_engine import RayEngine
    from extractor.testing.service import free_port

    monkeypatch.setenv("EXTRACTOR_PROBE", "on")
    (tmp_path / "a.txt").write_text("Treasury sanctioned Acme Shipping.", encoding="utf-8")
    down = f"http://127.0.0.1:{free_port()}/v1"
    extractor = Extractor(Settings.from_env(model="m", base_url=down, api_key="k", cache=False))
    engines = [(LocalEngine(extractor), tmp_path / "local.jsonl"),
               (BatchApiEngine(extractor), tmp_path / "batch.jsonl"), (RayEngine(extractor), tmp_path / "ray")]
    for engine, out in engines:
        with pytest.raises(ConfigError, match=f"cannot reach {down}"):
            engine.run(Job([str(tmp_path / "a.txt")], out=out))
        assert not out.exists() or not out.stat().st_size, engine.name  # nothing sent, nothing written
