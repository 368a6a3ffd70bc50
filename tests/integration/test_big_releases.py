"""Big releases: no list bound or token budget cuts a capable model's answer; cut-off answers are continued."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from extractor import Extractor, Settings
from extractor.cli import app
from extractor.testing.fake_openai import completion

runner = CliRunner()
NAMES = [f"Vessel Owner {i:03d} Holdings LLC" for i in range(70)]
TEXT = "Treasury designated " + ", ".join(NAMES) + " today for shipping Iranian oil."


def _answer(names: list[str], *, authority: str = "us") -> dict:
    return {"is_sanctions_news": True, "actions": [{
        "authority": authority, "action": "impose", "measures": ["asset_freeze"],
        "targets": [{"name": n, "entity_type": "company"} for n in names],
        "evidence": ["Treasury designated " + names[0]] if names else []}]}


def _names(result) -> list[str]:
    return [t.name for a in result.actions for t in a.targets]


def _settings(fake, tmp_path: Path, **extra) -> Settings:
    return Settings.from_env(model="fake-model", base_url=fake.base_url, api_key="k", cache_dir=tmp_path / "c",
                             transport_budget=20.0, **extra)


def test_endpoint_schema_has_no_list_bounds_and_a_large_budget(fake, tmp_path):
    extractor = Extractor(_settings(fake, tmp_path))
    assert "maxItems" not in json.dumps(extractor.json_schema)
    assert extractor.max_tokens >= 8192
    embedded = Extractor(Settings(model="embedded", cache_dir=tmp_path / "e"))
    assert '"maxItems"' in json.dumps(embedded.json_schema)  # the tiny model keeps its bounds
    assert embedded.max_tokens == 2048
    assert Extractor(_settings(fake, tmp_path, max_tokens=1000)).max_tokens == 1000


def test_seventy_targets_reach_the_result(fake, tmp_path):
    fake.default = completion(json.dumps(_answer(NAMES)))
    result = Extractor(_settings(fake, tmp_path)).extract(TEXT, article_id="big")
    assert _names(result) == NAMES
    sent = fake.chat_requests()[0]
    assert "maxItems" not in json.dumps(sent["response_format"])


def test_seventy_targets_through_extract_out_and_eval(fake, tmp_path, monkeypatch):
    fake.default = completion(json.dumps(_answer(NAMES)))
    monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
    monkeypatch.setenv("EXTRACTOR_MODEL", "fake-model")
    docs, gold = tmp_path / "docs", tmp_path / "gold"
    docs.mkdir()
    gold.mkdir()
    (docs / "big.txt").write_text(TEXT, encoding="utf-8")
    (gold / "big.json").write_text(json.dumps({"article_id": "big", **_answer(NAMES)}), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["extract", str(docs / "big.txt"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    line = json.loads(out.read_text().splitlines()[0])
    assert [t["name"] for t in line["actions"][0]["targets"]] == NAMES
    result = runner.invoke(app, ["eval", "--gold", str(gold), "--docs", str(docs), "--out", str(tmp_path / "run"),
                                 "--n-boot", "200"])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["n_documents"] == 1 and report["micro"]["f1"] == 1.0
    predicted = json.loads((tmp_path / "run" / "predictions.jsonl").read_text().splitlines()[0])
    assert len(predicted["actions"][0]["targets"]) == 70


def _cut(answer: dict, at: int) -> str:
    """The JSON of `answer` cut off after `at` characters (as a model stopped by max_tokens)."""
    return json.dumps(answer)[:at]


def test_cut_off_answer_is_continued_and_merged(fake, tmp_path):
    full = json.dumps(_answer(NAMES))
    cut_at = full.index(NAMES[40]) + 5  # inside target 40's name
    received: list[dict] = []

    def continuation(body: dict) -> dict:
        received.append(body)
        asked = body["messages"][-1]["content"]
        got = [n for n in NAMES if n in asked]
        # Repeats two targets it already sent, to check de-duplication by name.
        rest = [n for n in NAMES if n not in got] + got[:2]
        return completion(json.dumps(_answer(rest)), prompt_tokens=300, completion_tokens=900)

    fake.script = [completion(_cut(_answer(NAMES), cut_at), finish_reason="length", prompt_tokens=200,
                              completion_tokens=1000), continuation]
    result = Extractor(_settings(fake, tmp_path)).extract(TEXT, article_id="big")
    names = _names(result)
    assert sorted(names) == sorted(NAMES) and len(names) == len(set(names)) == 70
    assert result.meta.continuations == 1
    assert result.meta.incomplete is False
    assert result.meta.attempts == 2
    assert result.meta.usage.prompt_tokens == 500 and result.meta.usage.completion_tokens == 1900
    # The continuation request names what arrived, so the model sends only the rest.
    assert NAMES[0] in received[0]["messages"][-1]["content"]
    assert NAMES[45] not in received[0]["messages"][-1]["content"]


def test_call_bound_marks_the_result_incomplete(fake, tmp_path):
    full = json.dumps(_answer(NAMES))
    fake.default = completion(full[: full.index(NAMES[30])], finish_reason="length")
    result = Extractor(_settings(fake, tmp_path, max_calls=1)).extract(TEXT, article_id="big")
    assert result.meta.incomplete is True
    assert "EXTRACTOR_MAX_CALLS" in result.meta.incomplete_reason
    assert 25 <= len(_names(result)) <= 30  # the complete targets that arrived, nothing invented
    assert set(_names(result)) <= set(NAMES)
    assert len(fake.chat_requests()) == 1


def test_model_repeating_itself_stops_the_continuation(fake, tmp_path):
    full = json.dumps(_answer(NAMES))
    fake.default = completion(full[: full.index(NAMES[20])], finish_reason="length")
    result = Extractor(_settings(fake, tmp_path, max_calls=6)).extract(TEXT, article_id="big")
    assert result.meta.incomplete is True
    assert "repeated" in result.meta.incomplete_reason
    assert len(fake.chat_requests()) == 2  # the cut answer and one continuation that added nothing


def test_chunked_release_of_300_targets_keeps_every_target(fake, tmp_path):
    names = [f"Trading Company Number {i:03d} Limited" for i in range(300)]
    text = "\n\n".join(f"OFAC today designated {n}, a front company based in Dubai." for n in names)

    def per_chunk(body: dict) -> dict:
        article = body["messages"][-1]["content"]
        found = re.findall(r"Trading Company Number \d{3} Limited", article)
        return completion(json.dumps(_answer(list(dict.fromkeys(found)))))

    fake.default = per_chunk
    fake.script = []
    settings = _settings(fake, tmp_path, context_tokens=4096, max_tokens=1024)
    result = Extractor(settings).extract(text, article_id="chunked")
    assert result.meta.chunks > 3
    assert sorted(_names(result)) == sorted(names)


@pytest.mark.parametrize("jobs", [1, 16])
def test_concurrency_is_exactly_j(fake, tmp_path, monkeypatch, jobs):
    fake.delay = 0.3
    monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
    monkeypatch.setenv("EXTRACTOR_MODEL", "fake-model")
    inputs = tmp_path / "in.jsonl"
    inputs.write_text("".join(json.dumps({"id": f"d{i}", "text": f"Treasury sanctioned firm {i}."}) + "\n"
                              for i in range(40 if jobs > 1 else 6)))
    result = runner.invoke(app, ["extract", str(inputs), "--out", str(tmp_path / "o.jsonl"), "-j", str(jobs),
                                 "--no-cache"])
    assert result.exit_code == 0, result.output
    assert fake.max_in_flight == jobs
