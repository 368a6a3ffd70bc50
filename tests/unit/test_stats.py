"""Statistics (extractor.eval.scoring.stats, extractor.eval.scoring.compare): bootstrap, paired comparison, gate."""

from __future__ import annotations

import numpy as np
import pytest

from extractor.eval.scoring import compare_runs, is_regression, regression, score_corpus
from extractor.eval.scoring.paths import ACTIONS, FIELD_PATHS, TARGET_NAME
from extractor.eval.scoring.stats import (
    bootstrap_f1,
    bootstrap_p,
    f1_of,
    holm,
    min_detectable_delta,
    paired_bootstrap,
    resample_weights,
    sign_test,
)
from tests.unit.test_scoring import WANG, gold, with_targets

N_DOCS = 5


def golds() -> dict:
    return {f"d{i}": gold() for i in range(N_DOCS)}


def perfect() -> dict:
    return {f"d{i}": gold() for i in range(N_DOCS)}


def one_target_dropped() -> dict:
    return {f"d{i}": with_targets(WANG) for i in range(N_DOCS)}


def test_f1_of_counts() -> None:
    out = f1_of(np.array([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 0.0]]))
    assert out[0] == 1.0
    assert out[1] == pytest.approx(2 / 3)
    assert np.isnan(out[2])


def test_resample_weights_are_draw_counts() -> None:
    weights = resample_weights(7, 100, seed=1)
    assert weights.shape == (100, 7)
    assert (weights.sum(axis=1) == 7).all()


def test_bootstrap_interval_on_two_documents() -> None:
    # Resamples: {d1, d1} F1 1, {d2, d2} F1 0, {d1, d2} F1 2/3; each extreme has probability 1/4.
    interval = bootstrap_f1(np.array([[1, 0, 0], [0, 1, 0]]), n_boot=2000, seed=0)
    assert interval.estimate == pytest.approx(2 / 3)
    assert (interval.low, interval.high) == (0.0, 1.0)


def test_bootstrap_is_deterministic_with_a_seed() -> None:
    rng = np.random.default_rng(42)
    counts = rng.integers(0, 10, size=(30, 3))
    first = bootstrap_f1(counts, n_boot=500, seed=7)
    assert bootstrap_f1(counts, n_boot=500, seed=7) == first
    assert bootstrap_f1(counts, n_boot=500, seed=8) != first
    assert first.low is not None and first.high is not None
    assert first.low <= first.estimate <= first.high
    preds = {"d0": with_targets(WANG), "d1": gold(), "d2": with_targets()}
    gold3 = {k: gold() for k in preds}
    a = score_corpus(gold3, preds, n_boot=300, seed=5).to_dict()["micro"]
    b = score_corpus(gold3, preds, n_boot=300, seed=5).to_dict()["micro"]
    assert a == b


def test_bootstrap_p_value() -> None:
    assert bootstrap_p(np.zeros(100)) == 1.0
    assert bootstrap_p(-np.ones(100)) == 0.0
    # P(delta <= 0) = 0.25, P(delta >= 0) = 0.75.
    assert bootstrap_p(np.array([-1.0, 1.0, 1.0, 1.0])) == 0.5


def test_holm_adjustment() -> None:
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    assert holm([]) == []


def test_sign_test_exact() -> None:
    result = sign_test([1.0] * 6, [0.5] * 6)
    assert (result.wins, result.ties, result.losses) == (0, 0, 6)
    assert result.p == pytest.approx(2 * 0.5**6)
    mixed = sign_test([0.5, 0.5, 0.5], [1.0, 0.5, 0.0])
    assert (mixed.wins, mixed.ties, mixed.losses, mixed.p) == (1, 1, 1, 1.0)
    assert sign_test([1.0], [1.0]).p == 1.0


def test_paired_bootstrap_of_identical_counts_is_zero() -> None:
    counts = np.random.default_rng(0).integers(0, 5, size=(20, 2, 3))
    for result in paired_bootstrap(counts, counts, n_boot=200, seed=0):
        assert result.delta == 0.0
        assert (result.low, result.high, result.p) == (0.0, 0.0, 1.0)


def test_identical_runs() -> None:
    comparison = compare_runs(golds(), perfect(), perfect(), n_boot=500, seed=0)
    out = comparison.to_dict()
    assert out["n_documents"] == N_DOCS
    assert out["delta_f1"] == 0.0
    assert out["ci_low"] <= 0.0 <= out["ci_high"]
    assert (out["wins"], out["ties"], out["losses"]) == (0, N_DOCS, 0)
    assert out["sign_test_p"] == 1.0
    assert out["min_detectable_delta"] == 0.0
    assert not is_regression(comparison, 0.0)
    assert not is_regression(comparison, 0.01)
    assert set(out["fields"]) == set(FIELD_PATHS)
    assert out["fields"][ACTIONS] == {
        "a_f1": 1.0,
        "b_f1": 1.0,
        "delta": 0.0,
        "ci_low": 0.0,
        "ci_high": 0.0,
        "p": 1.0,
        "p_holm": 1.0,
        "significant": False,
    }
    assert [d["delta"] for d in out["documents"]] == [0.0] * N_DOCS


def test_b_worse_on_every_document() -> None:
    comparison = compare_runs(golds(), perfect(), one_target_dropped(), n_boot=500, seed=0)
    # Every document drops from F1 1 to 12/13 (see test_scoring), so every resample gives -1/13.
    assert comparison.delta_f1 == pytest.approx(-1 / 13)
    assert comparison.ci_low == pytest.approx(-1 / 13)
    assert comparison.ci_high == pytest.approx(-1 / 13)
    assert (comparison.sign.wins, comparison.sign.ties, comparison.sign.losses) == (0, 0, N_DOCS)
    assert comparison.sign.p == pytest.approx(2 * 0.5**N_DOCS)
    assert is_regression(comparison, 0.01)
    assert regression(comparison, 0.01)
    assert not is_regression(comparison, 0.1)  # -1/13 = -0.077 does not clear a 0.1 margin
    names = comparison.fields[TARGET_NAME]
    assert (names.stats.a, names.stats.b) == (1.0, pytest.approx(0.8))
    assert names.stats.p == 0.0 and names.p_holm == 0.0 and names.significant
    assert not comparison.fields[ACTIONS].significant
    assert comparison.documents[0].delta == pytest.approx(-1 / 13)


def test_documents_sorted_by_delta_and_min_detectable_delta() -> None:
    preds_b = perfect()
    preds_b["d3"] = with_targets(WANG)
    preds_b["d1"] = None  # failed
    comparison = compare_runs(golds(), perfect(), preds_b, n_boot=400, seed=1)
    out = comparison.to_dict()
    assert [d["id"] for d in out["documents"]] == ["d1", "d3", "d0", "d2", "d4"]
    assert out["documents"][0]["delta"] == -1.0
    assert out["failures"] == {"a": 0, "b": 1}
    assert comparison.micro.se is not None and comparison.micro.se > 0
    assert comparison.min_detectable_delta == pytest.approx(2.8 * comparison.micro.se)
    assert min_detectable_delta(0.01) == pytest.approx(0.028)
    assert out["sign_test_p"] == pytest.approx(0.5)  # 0 wins, 2 losses: 2 * 0.5**2
