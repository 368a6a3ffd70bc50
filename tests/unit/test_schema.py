"""The pydantic models implement the schema contract; gold files validate against them."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from extractor import ArticleExtraction, SanctionAction, Target
from extractor.core.schema import GoldFile, answer_model
from tests.support import ROOT

GOLD = sorted((ROOT / "evals" / "gold").glob("*.json"))


def action(**fields):
    return SanctionAction.model_validate({"authority": "us", "action": "impose", **fields})


def test_import_surface():
    from extractor import ArticleExtraction as A
    from extractor import extract

    assert A is ArticleExtraction and callable(extract)


@pytest.mark.parametrize("path", GOLD, ids=[p.stem for p in GOLD])
def test_gold_files_validate_and_quotes_are_verbatim(path):
    gold = GoldFile.model_validate_json(path.read_text(encoding="utf-8"))
    assert gold.article_id == path.stem
    text = (ROOT / "evals" / "docs" / f"{path.stem}.txt").read_text(encoding="utf-8")
    for act in gold.actions:
        for quote in act.evidence:
            assert quote in text, f"evidence not verbatim in {path.stem}: {quote[:80]}"
    assert gold.is_sanctions_news == bool(gold.actions)


def test_every_document_has_gold():
    docs = {p.stem for p in (ROOT / "evals" / "docs").glob("*.txt")}
    assert docs == {p.stem for p in GOLD}
    assert len(docs) == 30


@pytest.mark.parametrize("code,expected", [("us", "us"), ("GB", "gb"), (" eu ", "eu"), ("un", "un"),
                                           ("USA", "us"), ("United Kingdom", "gb")])
def test_jurisdiction_codes_normalise(code, expected):
    assert action(authority=code).authority == expected


@pytest.mark.parametrize("code", ["xx", "zz", "usa-ish", "", "Atlantis", "u"])
def test_bad_jurisdiction_codes_are_rejected(code):
    with pytest.raises(ValidationError, match="jurisdiction code"):
        action(authority=code)


@pytest.mark.parametrize("value", ["2021", "2021-12", "2021-12-10", None])
def test_dates_at_year_month_day_precision(value):
    assert action(date=value).date == value


@pytest.mark.parametrize("value", ["2021-13", "2021-02-30", "10 December 2021", "2021/12/10", "21-12-10"])
def test_bad_dates_are_rejected(value):
    with pytest.raises(ValidationError):
        action(date=value)


def test_measure_values_are_closed():
    assert action(measures=["asset_freeze", "price_cap"]).measures == ["asset_freeze", "price_cap"]
    with pytest.raises(ValidationError):
        action(measures=["blocking"])


def test_target_entity_types_and_extra_fields():
    Target(name="SenseTime Group", entity_type="company")
    with pytest.raises(ValidationError):
        Target(name="X", entity_type="bank")
    with pytest.raises(ValidationError):
        Target.model_validate({"name": "X", "entity_type": "person", "nickname": "y"})
    with pytest.raises(ValidationError):
        Target(name="", entity_type="person")


def test_article_requires_id_and_meta_is_not_a_field():
    with pytest.raises(ValidationError):
        ArticleExtraction.model_validate({"is_sanctions_news": False, "actions": []})
    article = ArticleExtraction(article_id="a", is_sanctions_news=False)
    assert article.meta is None
    assert set(article.model_dump()) == {"article_id", "is_sanctions_news", "actions"}


def test_answer_model_bounds_lists_and_hides_article_id():
    model = answer_model(max_actions=3, max_targets=4, max_items=2)
    schema = json.dumps(model.model_json_schema())
    assert '"maxItems": 3' in schema and '"maxItems": 4' in schema and '"maxItems": 2' in schema
    assert "article_id" not in model.model_json_schema()["properties"]
    with pytest.raises(ValidationError):
        model.model_validate({"is_sanctions_news": True, "actions": [{"authority": "us", "action": "impose"}] * 4})
