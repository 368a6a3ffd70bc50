"""Per-item scoring and aggregation (extractor.eval.scoring): exact counts on small constructed documents.

The base gold document has two actions; counted by hand, gold against itself gives 28 headline
true positives:

- us action: actions 1, authority 1, issuer 1, action 1, measures 2, target names 2,
  entity_type 2, country 2, role 2, target_countries 1, target_count 1, legal_basis 1,
  reasons 1, date 1, coordinated_with 1 = 20 (is_countermeasure False: an abstention);
- eu action: actions 1, authority 1, action 1, measures 1, target name 1, entity_type 1,
  country 1, coordinated_with 1 = 8 (issuer, role, lists and scalars left empty: abstentions).
"""

from __future__ import annotations

from typing import Any

import pytest

from extractor.core.errors import ExtractionFailed
from extractor.core.schema import ArticleExtraction, SanctionAction, Target
from extractor.eval.scoring import HEADLINE_FIELDS, score_corpus, score_document
from extractor.eval.scoring.align import action_similarity
from extractor.eval.scoring.match import lenient_name_score, strict_name_score, token_f1, token_keys
from extractor.eval.scoring.normalize import date_matches, token_key
from extractor.eval.scoring.paths import (
    ACTIONS,
    COUNTERMEASURE,
    DATE,
    ENTITY_TYPE,
    IS_NEWS,
    ISSUER,
    REASONS,
    ROLE,
    TARGET_COUNT,
    TARGET_COUNTRY,
    TARGET_NAME,
    TARGET_NAME_STRICT,
    VIEW_TARGET_NAMES,
    VIEW_TUPLES,
)

BASE_TP = 28

TEXT = (
    "The Treasury's Office of Foreign Assets Control sanctioned Wang Junzheng, Secretary of the "
    "Party Committee, and Chen Mingguo, Director of the Xinjiang Public Security Bureau, for serious "
    "human rights abuse. The European Union designated the Xinjiang Public Security Bureau (XPSB)."
)


def target(name: str, entity_type: str = "person", **kw: Any) -> Target:
    return Target(name=name, entity_type=entity_type, **kw)


def us_action(**changes: Any) -> SanctionAction:
    fields: dict[str, Any] = {
        "authority": "us",
        "issuer": "Office of Foreign Assets Control",
        "action": "impose",
        "measures": ["asset_freeze", "travel_ban"],
        "targets": [
            target("Wang Junzheng", country="cn", role="Secretary of the Party Committee"),
            target("Chen Mingguo", country="cn", role="Director of the Xinjiang Public Security Bureau"),
        ],
        "target_countries": ["cn"],
        "target_count": 2,
        "legal_basis": ["Global Magnitsky Act"],
        "reasons": ["serious human rights abuse"],
        "date": "2021-03-22",
        "coordinated_with": ["eu"],
    }
    fields.update(changes)
    return SanctionAction(**fields)


def eu_action(**changes: Any) -> SanctionAction:
    fields: dict[str, Any] = {
        "authority": "eu",
        "action": "impose",
        "measures": ["asset_freeze"],
        "targets": [
            target("Xinjiang Public Security Bureau", "government_body", country="cn", aliases=["XPSB"])
        ],
        "coordinated_with": ["us"],
    }
    fields.update(changes)
    return SanctionAction(**fields)


def doc(*actions: SanctionAction, news: bool = True, article_id: str = "d1") -> ArticleExtraction:
    return ArticleExtraction(article_id=article_id, is_sanctions_news=news, actions=list(actions))


def gold() -> ArticleExtraction:
    return doc(us_action(), eu_action())


def with_targets(*targets: Target) -> ArticleExtraction:
    """The base document with the us action's targets replaced."""
    return doc(us_action(targets=list(targets)), eu_action())


WANG = target("Wang Junzheng", country="cn", role="Secretary of the Party Committee")


def chen(name: str = "Chen Mingguo") -> Target:
    return target(name, country="cn", role="Director of the Xinjiang Public Security Bureau")


def counts(score: Any, path: str) -> tuple[float, float, float]:
    c = score.fields[path]
    return (c.tp, c.fp, c.fn)


# --- normalisation -----------------------------------------------------------------------


def test_token_key_folds_case_diacritics_honorifics_and_inversion() -> None:
    assert token_key("Wang Junzheng") == "junzheng wang"
    assert token_key("WANG, Junzheng") == token_key("Wang Junzheng")
    assert token_key("Dr. José Müller") == token_key("Jose MULLER") == "jose muller"
    assert token_key("MÜLLER, Dr. José") == "jose muller"
    assert token_key("President Xi Jinping") == token_key("Xi Jinping")
    assert token_key("General Min Aung Hlaing") == token_key("Min Aung Hlaing")
    assert token_key("SenseTime Group Limited") == token_key("SenseTime Group Ltd.")
    assert token_key("Ｗａｎｇ Junzheng") == token_key("Wang Junzheng")  # NFKC folds full-width letters


def test_strict_and_lenient_name_scores() -> None:
    keys = token_keys(["Chen Mingguo"])
    assert strict_name_score("Chen Minguo", keys) == 0.0
    assert lenient_name_score("Chen Minguo", keys) == pytest.approx(0.9565217, abs=1e-6)
    assert lenient_name_score("Chan Minggou", keys) == pytest.approx(0.8333333, abs=1e-6)
    # token_set_ratio would score a bare surname 1.0 against the full name; token_sort does not.
    assert lenient_name_score("Chen", keys) < 0.9
    # Gold aliases are acceptable forms.
    assert strict_name_score("XPSB", token_keys(["Xinjiang Public Security Bureau", "XPSB"])) == 1.0


def test_date_precision_follows_the_gold() -> None:
    assert date_matches("2021-12", "2021-12-10")
    assert date_matches("2021", "2021-12")
    assert date_matches("2021-12-10", "2021-12-10")
    assert not date_matches("2021-12-10", "2021-12")
    assert not date_matches("2021-12", "2021-11-30")


def test_token_f1() -> None:
    # 3 of 5 gold tokens, all 3 predicted tokens: P 1, R 0.6, F1 0.75.
    assert token_f1("Office of Foreign Assets Control", "Foreign Assets Control") == pytest.approx(0.75)
    # Articles, case and punctuation do not count.
    assert token_f1("the U.S. Treasury", "US TREASURY") == 1.0
    assert token_f1("corruption", "human rights abuse") == 0.0


# --- documents ---------------------------------------------------------------------------


def test_gold_against_itself_is_perfect() -> None:
    score = score_document(gold(), gold(), TEXT)
    assert not score.failed
    assert score.headline.tp == BASE_TP
    assert (score.headline.fp, score.headline.fn) == (0, 0)
    assert score.f1 == 1.0
    for path, c in score.fields.items():
        assert c.f1 in (1.0, None), path
        assert (c.fp, c.fn, c.missing, c.hallucinated, c.wrong_value) == (0, 0, 0, 0, 0), path
    assert score.fields[TARGET_COUNT].f1 == 1.0
    assert all(c.f1 == 1.0 for c in score.views.values())
    assert score.errors == []
    assert [(g, p) for g, p, _ in score.actions.pairs] == [(0, 0), (1, 1)]


def test_one_target_dropped() -> None:
    score = score_document(gold(), with_targets(WANG), TEXT)
    # Names: 3 gold, 2 found: P 1, R 2/3, F1 0.8.
    names = score.fields[TARGET_NAME]
    assert (names.tp, names.fp, names.fn) == (2, 0, 1)
    assert names.precision == 1.0
    assert names.recall == pytest.approx(2 / 3)
    assert names.f1 == pytest.approx(0.8)
    assert names.missing == 1
    # Chen's name, entity type, country and role are missing: 24 TP, 4 FN.
    assert (score.headline.tp, score.headline.fp, score.headline.fn) == (BASE_TP - 4, 0, 4)
    assert score.precision == 1.0
    assert score.recall == pytest.approx(24 / 28)
    assert score.f1 == pytest.approx(12 / 13)
    for path in (ENTITY_TYPE, TARGET_COUNTRY, ROLE):
        assert score.fields[path].missing == 1
    missing = {(e.path, e.gold) for e in score.errors}
    assert (TARGET_NAME, "Chen Mingguo") in missing
    assert (ENTITY_TYPE, "person") in missing
    # Views: 3 gold names, 2 found; 5 gold tuples (2 targets x 2 measures + 1), 2 lost.
    assert (score.views[VIEW_TARGET_NAMES].tp, score.views[VIEW_TARGET_NAMES].fn) == (2, 1)
    assert (score.views[VIEW_TUPLES].tp, score.views[VIEW_TUPLES].fn) == (3, 2)


def test_misspelling_within_fuzzy_threshold() -> None:
    score = score_document(gold(), with_targets(WANG, chen("Chen Minguo")), TEXT)
    assert counts(score, TARGET_NAME) == (3, 0, 0)
    assert counts(score, TARGET_NAME_STRICT) == (2, 1, 1)
    assert score.fields[TARGET_NAME_STRICT].wrong_value == 1
    assert score.fields[TARGET_NAME_STRICT].f1 == pytest.approx(2 / 3)
    # The headline uses the lenient match: unchanged.
    assert score.f1 == 1.0


def test_misspelling_beyond_fuzzy_threshold() -> None:
    score = score_document(gold(), with_targets(WANG, chen("Chan Minggou")))
    assert counts(score, TARGET_NAME) == (2, 1, 1)
    assert counts(score, TARGET_NAME_STRICT) == (2, 1, 1)
    assert score.fields[TARGET_NAME].wrong_value == 1
    # The target is unmatched: its entity type, country and role count FN on the gold side, FP on the other.
    assert (score.headline.tp, score.headline.fp, score.headline.fn) == (24, 4, 4)
    assert score.f1 == pytest.approx(6 / 7)
    wrong = [e for e in score.errors if e.path == TARGET_NAME]
    assert [(e.category, e.gold, e.pred) for e in wrong] == [("wrong_value", "Chen Mingguo", "Chan Minggou")]


def test_invented_name_absent_from_text_is_hallucinated() -> None:
    score = score_document(gold(), with_targets(WANG, chen("Chan Minggou")), TEXT)
    names = score.fields[TARGET_NAME]
    assert (names.tp, names.fp, names.fn) == (2, 1, 1)
    assert (names.hallucinated, names.missing, names.wrong_value) == (1, 1, 0)
    [item] = [e for e in score.errors if e.path == TARGET_NAME and e.category == "hallucinated"]
    assert item.pred == "Chan Minggou"
    assert item.note == "not in document text"


def test_extra_invented_action() -> None:
    extra = SanctionAction(
        authority="gb",
        issuer="Foreign Office",
        action="lift",
        targets=[target("Invented Person")],
    )
    score = score_document(gold(), doc(us_action(), eu_action(), extra))
    assert score.actions.pred_only == [2]
    # actions, authority, issuer, action, target name, entity type: 6 FP.
    assert (score.headline.tp, score.headline.fp, score.headline.fn) == (BASE_TP, 6, 0)
    assert score.precision == pytest.approx(28 / 34)
    assert score.f1 == pytest.approx(28 / 31)
    assert counts(score, ACTIONS) == (2, 1, 0)
    assert score.fields[ACTIONS].hallucinated == 1
    assert score.fields[ACTIONS].f1 == pytest.approx(0.8)
    hallucinated = {e.path for e in score.errors if e.category == "hallucinated"}
    assert ENTITY_TYPE in hallucinated and ISSUER in hallucinated


def test_action_and_target_order_does_not_matter() -> None:
    reordered = doc(eu_action(), us_action(targets=[chen(), WANG]))
    assert score_document(gold(), reordered).f1 == 1.0
    dropped = doc(eu_action(), us_action(targets=[WANG]))
    a = score_corpus({"d1": gold()}, {"d1": with_targets(WANG)}, n_boot=10).to_dict()
    b = score_corpus({"d1": gold()}, {"d1": dropped}, n_boot=10).to_dict()
    assert a["fields"] == b["fields"]
    assert a["micro"] == b["micro"]


def test_split_grouping_only_hurts_action_fields_not_tuples() -> None:
    split = doc(us_action(measures=["asset_freeze"]), us_action(measures=["travel_ban"]), eu_action())
    score = score_document(gold(), split)
    assert score.views[VIEW_TUPLES].f1 == 1.0
    assert score.views[VIEW_TARGET_NAMES].f1 == 1.0
    assert counts(score, ACTIONS) == (2, 1, 0)


def test_failed_document_counts_every_gold_item_missing() -> None:
    for failure in (
        None,
        ExtractionFailed(article_id="d1", prompt_id="p", attempts=2, reason="bad", last_output=None),
    ):
        score = score_document(gold(), failure)
        assert score.failed
        assert (score.headline.tp, score.headline.fp, score.headline.fn) == (0, 0, BASE_TP)
        assert score.headline.missing == BASE_TP
        assert counts(score, IS_NEWS) == (0, 0, 1)
        assert score.f1 == 0.0
    corpus = score_corpus({"d1": gold(), "d2": gold()}, {"d1": gold()}, n_boot=10)
    out = corpus.to_dict()
    assert out["failures"] == {"count": 1, "rate": 0.5, "ids": ["d2"]}
    assert out["documents"]["d2"]["failed"] is True
    assert out["micro"]["recall"] == 0.5
    assert out["micro"]["precision"] == 1.0


def test_empty_gold_and_empty_prediction_is_a_correct_abstention() -> None:
    empty = doc(news=False)
    score = score_document(empty, doc(news=False))
    assert score.fields[IS_NEWS].correct_abstention == 1
    assert score.fields[ACTIONS].correct_abstention == 1
    assert all(c.tp == c.fp == c.fn == 0 for c in score.fields.values())
    assert score.f1 is None and score.precision is None and score.recall is None
    # In a corpus the abstention adds nothing: micro equals the other document's alone.
    corpus = score_corpus(
        {"d1": gold(), "d2": empty}, {"d1": with_targets(WANG), "d2": doc(news=False)}, n_boot=10
    )
    assert (corpus.micro.tp, corpus.micro.fn) == (24, 4)
    assert corpus.fields[ACTIONS].correct_abstention == 1


def test_prediction_on_empty_gold_is_hallucinated() -> None:
    score = score_document(doc(news=False), doc(eu_action()))
    assert counts(score, IS_NEWS) == (0, 1, 0)
    assert score.fields[IS_NEWS].hallucinated == 1
    # actions, authority, action, measure, name, entity type, country, coordinated_with.
    assert (score.headline.tp, score.headline.fp, score.headline.fn) == (0, 8, 0)


def test_name_normalisation_in_documents() -> None:
    g = doc(eu_action(targets=[target("José Müller"), target("Wang Junzheng")]))
    p = doc(eu_action(targets=[target("Dr. Jose MULLER"), target("WANG, Junzheng")]))
    score = score_document(g, p)
    assert counts(score, TARGET_NAME_STRICT) == (2, 0, 0)
    assert counts(score, TARGET_NAME) == (2, 0, 0)
    alias = score_document(
        gold(), doc(us_action(), eu_action(targets=[target("XPSB", "government_body", country="cn")]))
    )
    assert alias.f1 == 1.0


def test_date_precision_in_documents() -> None:
    coarse_gold = score_document(doc(us_action(date="2021-03")), doc(us_action(date="2021-03-22")))
    assert counts(coarse_gold, DATE) == (1, 0, 0)
    coarse_pred = score_document(doc(us_action()), doc(us_action(date="2021-03")))
    assert counts(coarse_pred, DATE) == (0, 1, 1)
    assert coarse_pred.fields[DATE].wrong_value == 1
    invented = score_document(doc(us_action(date=None)), doc(us_action()))
    assert counts(invented, DATE) == (0, 1, 0)
    assert invented.fields[DATE].hallucinated == 1


def test_free_text_fractional_credit() -> None:
    # Issuers the registry does not know are free text: token F1 of "assets control office" in the gold's five words.
    score = score_document(
        doc(us_action(issuer="Office of Ruritanian Assets Control")),
        doc(us_action(issuer="Ruritanian Assets Control", reasons=["human rights abuse", "corruption"])),
    )
    issuer = score.fields[ISSUER]
    assert (issuer.tp, issuer.fp, issuer.fn) == pytest.approx((0.75, 0.25, 0.25))
    assert issuer.f1 == pytest.approx(0.75)
    assert issuer.wrong_value == 1
    [item] = [e for e in score.errors if e.path == ISSUER]
    assert item.credit == pytest.approx(0.75)
    # "serious human rights abuse" against "human rights abuse": F1 6/7; "corruption" unpaired.
    reasons = score.fields[REASONS]
    assert (reasons.tp, reasons.fp, reasons.fn) == pytest.approx((6 / 7, 8 / 7, 1 / 7))
    assert reasons.precision == pytest.approx(3 / 7)  # TP / number of predicted items
    assert reasons.recall == pytest.approx(6 / 7)  # TP / number of gold items
    assert reasons.f1 == pytest.approx(4 / 7)
    assert (reasons.wrong_value, reasons.hallucinated) == (1, 1)


def test_countermeasure_flag_false_is_empty() -> None:
    score = score_document(doc(us_action()), doc(us_action(is_countermeasure=True)))
    assert counts(score, COUNTERMEASURE) == (0, 1, 0)
    assert score.fields[COUNTERMEASURE].hallucinated == 1
    same = score_document(doc(us_action(is_countermeasure=True)), doc(us_action(is_countermeasure=True)))
    assert counts(same, COUNTERMEASURE) == (1, 0, 0)


def test_actions_below_minimum_similarity_stay_unmatched() -> None:
    g = doc(SanctionAction(authority="eu", action="impose"))
    p = doc(SanctionAction(authority="gb", action="impose"))
    # authority 0 x 0.35, action 1 x 0.15, countermeasure 1 x 0.05 over 0.55.
    assert action_similarity(g.actions[0], p.actions[0]) == pytest.approx(0.2 / 0.55)
    score = score_document(g, p)
    assert counts(score, ACTIONS) == (0, 1, 1)
    assert (score.fields[ACTIONS].missing, score.fields[ACTIONS].hallucinated) == (1, 1)


def test_corpus_report_shape() -> None:
    out = score_corpus({"d1": gold()}, {"d1": gold(), "x": gold()}, n_boot=50, seed=3).to_dict()
    assert set(out["micro"]) >= {"precision", "recall", "f1", "ci_low", "ci_high"}
    assert out["micro"]["f1"] == out["micro"]["ci_low"] == out["micro"]["ci_high"] == 1.0
    assert out["macro_f1"] == 1.0
    assert out["headline_fields"] == list(HEADLINE_FIELDS)
    assert len(HEADLINE_FIELDS) == 16
    keys = {
        "tp",
        "fp",
        "fn",
        "precision",
        "recall",
        "f1",
        "missing",
        "hallucinated",
        "wrong_value",
        "correct_abstention",
    }
    assert all(set(v) >= keys for v in out["fields"].values())
    assert set(out["documents"]["d1"]) >= {"precision", "recall", "f1", "failed", "errors", "alignment"}
    assert set(out["document_views"]) == {"doc.target_names", "doc.authorities", "doc.tuples"}
    assert out["unscored"] == ["x"]


def test_macro_f1_is_the_mean_over_defined_headline_fields() -> None:
    corpus = score_corpus({"d1": gold()}, {"d1": with_targets(WANG)}, n_boot=10)
    # 15 headline fields have a defined F1 (is_countermeasure never has a value): 11 at 1.0, and
    # name 0.8, entity_type 0.8 (2 of 3), country 0.8; role: 1 of 2 found, F1 2/3.
    expected = (11 * 1.0 + 0.8 + 0.8 + 0.8 + 2 / 3) / 15
    assert corpus.macro_f1 == pytest.approx(expected)


def test_equality_matching_equals_the_assignment():
    """`match_equal` gives what the solver gives on the equality matrix, leftovers included."""
    import random

    from extractor.eval.scoring.align import match_equal, match_items, score_matrix

    rng = random.Random(5)
    for _ in range(500):
        pool = list("abcdefghij")
        gold = rng.sample(pool, rng.randint(0, 7))
        pred = rng.sample(pool, rng.randint(0, 7))
        matrix = score_matrix(gold, pred, lambda g, p: float(g == p))
        for leftovers in (True, False):
            assert match_equal(gold, pred, pair_leftovers=leftovers) == match_items(
                matrix, 1.0, pair_leftovers=leftovers
            ), (gold, pred, leftovers)


@pytest.mark.parametrize(("gold_issuer", "pred_issuer"), [
    ("U.S. Department of the Treasury’s Office of Foreign Assets Control (OFAC)", "OFAC"),
    ("Office of Foreign Assets Control", "Treasury"),
    ("Department of the Treasury", "U.S. Department of the Treasury's Office of Foreign Assets Control"),
    ("United States", "Department of State"),
])
def test_an_issuer_naming_the_same_body_is_a_hit(gold_issuer: str, pred_issuer: str) -> None:
    score = score_document(doc(us_action(issuer=gold_issuer)), doc(us_action(issuer=pred_issuer)))
    assert counts(score, ISSUER) == (1, 0, 0)


def test_issuers_naming_different_bodies_earn_no_credit_for_shared_words() -> None:
    score = score_document(doc(us_action(issuer="Department of State")),
                           doc(us_action(issuer="Department of the Treasury")))
    assert counts(score, ISSUER) == (0, 1, 1)
    assert score.fields[ISSUER].wrong_value == 1
