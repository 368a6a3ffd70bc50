"""Bulk scoring gives the numbers the committed eval runs recorded, and stays bounded for big runs."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from rigour.names import tokenize_name
from rigour.text import ascii_text

from extractor.core.errors import DocumentError
from extractor.eval import score_run as scoring_pass
from extractor.eval.compare_runs import build_compare_report, compare
from extractor.eval.goldset import load_gold_set
from extractor.eval.runs import load_run
from extractor.eval.score_run import score_run
from extractor.eval.scoring import bootstrap_f1, score_corpus, stats
from extractor.eval.scoring.normalize import _fold, normalized_text
from tests.support import ROOT, assert_same

RUNS = ROOT / "evals" / "runs"
VERSIONS = ["smollm2-v1", "smollm2-v2", "smollm2-v3"]
# Answers written to the exact requests of sanctions@v3 and @v4 (evals/README.md), replayed.
STAND_IN = ["standin-v3", "standin-v4"]


@pytest.fixture(scope="module")
def gold_set():
    return load_gold_set(ROOT / "evals" / "gold", ROOT / "evals" / "docs")


@pytest.mark.parametrize("version", VERSIONS + STAND_IN)
def test_bulk_eval_reproduces_the_committed_report(version, gold_set, tmp_path):
    recorded = json.loads((RUNS / version / "report.json").read_text(encoding="utf-8"))
    for name in ("predictions.jsonl", "run.json"):
        shutil.copy(RUNS / version / name, tmp_path / name)
    evaluation = score_run(load_run(tmp_path), gold_set, tmp_path, n_boot=recorded["micro"]["n_boot"])
    written = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert_same(written, recorded, version)
    assert evaluation.omitted == 0 and evaluation.shown == recorded["n_documents"]


@pytest.mark.parametrize("version", VERSIONS)
def test_scoring_in_worker_processes_reproduces_the_committed_report(version, gold_set, tmp_path, monkeypatch):
    from extractor.eval import scored

    monkeypatch.setattr(scored, "CHUNK", 7)  # several chunks in flight, the last one short
    recorded = json.loads((RUNS / version / "report.json").read_text(encoding="utf-8"))
    for name in ("predictions.jsonl", "run.json"):
        shutil.copy(RUNS / version / name, tmp_path / name)
    parallel = scored.score_in_workers
    calls = []
    monkeypatch.setattr(scoring_pass, "score_in_workers",
                        lambda *a, **k: calls.append(k["workers"]) or parallel(*a, **k))
    score_run(load_run(tmp_path), gold_set, tmp_path, n_boot=recorded["micro"]["n_boot"], workers=2)
    assert calls == [2]  # the workers really scored it
    assert_same(json.loads((tmp_path / "report.json").read_text(encoding="utf-8")), recorded, version)


def test_a_bad_gold_file_in_a_worker_is_reported_by_name(tmp_path):
    gold_dir, docs_dir = tmp_path / "gold", tmp_path / "docs"
    shutil.copytree(ROOT / "evals" / "gold", gold_dir)
    shutil.copytree(ROOT / "evals" / "docs", docs_dir)
    broken = sorted(gold_dir.glob("*.json"))[-1]
    broken.write_text('{"article_id": 5}', encoding="utf-8")
    gold = load_gold_set(gold_dir, docs_dir, validate=False)
    run = load_run(RUNS / "smollm2-v3")
    with pytest.raises(DocumentError, match=broken.name):
        score_run(run, gold, tmp_path / "out", n_boot=100, workers=2)


@pytest.mark.parametrize("version", VERSIONS)
def test_in_memory_scoring_reproduces_the_committed_report(version, gold_set):
    recorded = json.loads((RUNS / version / "report.json").read_text(encoding="utf-8"))
    run = load_run(RUNS / version)
    golds = {doc_id: gold_set.gold[doc_id] for doc_id in gold_set.ids}
    score = score_corpus(golds, dict(run.predictions), dict(gold_set.texts)).to_dict()
    for key in ("micro", "macro_f1", "fields", "document_views", "documents", "failures", "unscored"):
        assert_same(json.loads(json.dumps(score[key])), recorded[key], key)


@pytest.mark.parametrize(("name", "a", "b"), [("compare-v1-v3", "smollm2-v1", "smollm2-v3"),
                                              ("compare-v3-v2", "smollm2-v3", "smollm2-v2"),
                                              ("compare-standin-v3-v4", "standin-v3", "standin-v4")])
def test_comparisons_reproduce_the_committed_ones(name, a, b, gold_set):
    recorded = json.loads((RUNS / name / "compare.json").read_text(encoding="utf-8"))
    run_a, run_b = load_run(RUNS / a), load_run(RUNS / b)
    report = build_compare_report(compare(run_a, run_b, gold_set), run_a, run_b, gold_set)
    for key in recorded:
        if key != "setup":
            assert_same(json.loads(json.dumps(report[key])), recorded[key], key)


def test_the_default_prompt_is_the_one_its_comparison_allows():
    """v4 would be the default only without a statistically clear regression on a headline field."""
    from extractor.core.prompts import DEFAULT_PROMPT
    from extractor.eval.scoring.paths import HEADLINE_FIELDS

    fields = json.loads((RUNS / "compare-standin-v3-v4" / "compare.json").read_text(encoding="utf-8"))["fields"]
    worse = sorted(f for f in HEADLINE_FIELDS if fields[f]["significant"] and fields[f]["delta"] < 0)
    assert worse == ["actions[].measures[]", "actions[].reasons[]"]
    assert DEFAULT_PROMPT == "sanctions@v3"


def test_large_run_reports_are_bounded(gold_set, tmp_path, monkeypatch):
    """Past the limits: one JSON line per document, and only the lowest-scoring documents in HTML/Markdown."""
    monkeypatch.setattr(scoring_pass, "INDENT_LIMIT", 0)
    recorded = json.loads((RUNS / "smollm2-v2" / "report.json").read_text(encoding="utf-8"))
    shutil.copy(RUNS / "smollm2-v2" / "predictions.jsonl", tmp_path / "predictions.jsonl")
    evaluation = score_run(load_run(tmp_path), gold_set, tmp_path, shown=5)
    written = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert_same(written["documents"], recorded["documents"])
    assert_same(written["micro"], recorded["micro"])
    assert (evaluation.shown, evaluation.omitted) == (5, 25)
    worst = sorted(recorded["documents"], key=lambda d: (recorded["documents"][d]["f1"] is not None,
                                                          recorded["documents"][d]["f1"] or 0.0))[:5]
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert html.count('<details id="doc-') == 5
    assert all(f'id="doc-{doc_id}"' in html for doc_id in worst)
    assert "25 more are in report.json" in html
    assert "25 more are in report.json" in (tmp_path / "report.md").read_text(encoding="utf-8")
    assert not (tmp_path / "report.json.part").exists()


def test_chunked_bootstrap_draws_the_same_resamples(monkeypatch):
    counts = np.random.default_rng(1).integers(0, 5, size=(37, 3)).astype(float)
    whole = bootstrap_f1(counts, n_boot=500, seed=4)
    monkeypatch.setattr(stats, "CHUNK_CELLS", 50)  # one or two resamples per chunk
    chunked = bootstrap_f1(counts, n_boot=500, seed=4)
    assert chunked.low == pytest.approx(whole.low, abs=1e-12)
    assert chunked.high == pytest.approx(whole.high, abs=1e-12)
    assert chunked.se == pytest.approx(whole.se, abs=1e-12)


def test_word_wise_transliteration_equals_whole_text(gold_set):
    samples = [gold_set.documents[doc_id].text for doc_id in gold_set.ids]
    samples += ["Müller  Лавров\u00a0東京 Ærø — “quoted” İstanbul ﬁnance", "Сергей Викторович Лавров", "金正恩 김정은"]
    for text in samples:
        assert normalized_text(text) == " ".join(tokenize_name(ascii_text(_fold(text)).casefold()))


def test_fast_text_reduction_equals_the_rigour_reference():
    """The translate-table and punctuation fast paths give what rigour gives, on random texts.

    The alphabet mixes ASCII, the punctuation the fast path folds, non-ASCII the reference
    handles word by word, and characters that send a word to normality whole (which treats
    its ASCII punctuation differently): a fast path that got any of these wrong differs here.
    """
    import random

    from extractor.eval.scoring.normalize import _PUNCTUATION, _normalized_slow

    punctuation = "".join(_PUNCTUATION)
    ascii_chars = "".join(chr(i) for i in range(128))
    others = "éüßŞİıΣσçñ語Лав·…«»§•‧⁚\u200b\u200d\u2028¨´ﬁＡ"
    rng = random.Random(11)
    for _ in range(20_000):
        pools = [rng.choice((punctuation, ascii_chars, others)) for _ in range(rng.randint(1, 30))]
        text = "".join(rng.choice(pool) for pool in pools)
        assert normalized_text(text) == _normalized_slow(text), repr(text)
    assert len(_PUNCTUATION) > 20 and {"’", "“", "”", "—", "\u00a0"} <= set(_PUNCTUATION)


def test_a_large_gold_set_is_read_on_demand(tmp_path):
    """Bad gold in a set past the eager limit is reported, naming the file, when it is read."""
    gold, docs = tmp_path / "gold", tmp_path / "docs"
    gold.mkdir()
    docs.mkdir()
    (gold / "a.json").write_text('{"article_id": "a", "is_sanctions_news": "maybe"}', encoding="utf-8")
    (docs / "a.txt").write_text("text", encoding="utf-8")
    with pytest.raises(Exception, match=r"a\.json: not a valid gold file"):
        load_gold_set(gold, docs)
    lazy = load_gold_set(gold, docs, validate=False)
    assert lazy.ids == ["a"]
    with pytest.raises(Exception, match=r"a\.json: not a valid gold file"):
        lazy.gold["a"]
