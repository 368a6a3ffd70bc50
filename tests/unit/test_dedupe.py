"""Repeated targets of one action become one, their other names pooled as aliases, for every answer."""

from __future__ import annotations

import json

from extractor import Extractor, Settings
from extractor.core.merging import dedupe, merge_targets
from extractor.core.schema import ExtractionAnswer
from extractor.testing.fake_openai import FakeOpenAI, completion


def _answer(targets: list[dict], **action: object) -> ExtractionAnswer:
    return ExtractionAnswer.model_validate({
        "is_sanctions_news": True,
        "actions": [{"authority": "us", "action": "impose", "targets": targets, **action}],
    })


def test_a_target_listed_twelve_times_is_kept_once():
    bago = {"name": "Bago Region of Burma", "entity_type": "government_body"}
    answer = _answer([bago] * 12 + [{"name": "Myo Swe Win", "entity_type": "person"}])
    targets = dedupe(answer).actions[0].targets
    assert [t.name for t in targets] == ["Bago Region of Burma", "Myo Swe Win"]


def test_a_name_that_is_another_targets_alias_merges_and_pools_aliases():
    answer = _answer([
        {"name": "RAB", "entity_type": "government_body", "role": None, "aliases": ["rab"]},
        {"name": "Rapid Action Battalion", "entity_type": "government_body", "aliases": ["RAB"]},
        {"name": "rapid action battalion", "entity_type": "government_body", "country": "bd"},
        {"name": "Benazir Ahmed", "entity_type": "person"},
    ])
    targets = dedupe(answer).actions[0].targets
    assert [t.name for t in targets] == ["Rapid Action Battalion", "Benazir Ahmed"]
    assert targets[0].aliases == ["RAB"]  # "rab" has RAB's key: the first form printed is kept
    assert targets[0].country == "bd"


def test_alias_links_are_followed_through_a_chain():
    merged = merge_targets([
        {"name": "Korea Mining Development Trading Corporation", "entity_type": "company", "aliases": ["KOMID"]},
        {"name": "Changgwang Sinyong Corporation", "entity_type": "company", "aliases": []},
        {"name": "KOMID", "entity_type": "company", "aliases": ["Changgwang Sinyong Corporation"]},
    ])
    assert len(merged) == 1
    assert merged[0]["aliases"] == ["Changgwang Sinyong Corporation", "KOMID"]


def test_different_targets_sharing_only_an_alias_stay_apart_and_repeated_items_go():
    answer = _answer(
        [{"name": "Ri Yong Gil", "entity_type": "person", "aliases": ["Ri"]},
         {"name": "Ri Chun Hwan", "entity_type": "person", "aliases": ["Ri"]}],
        reasons=["North Korean WMD"] * 20 + ["north korean wmd", "forced labor"],
        legal_basis=["E.O. 13722", "E.O. 13722"], measures=["asset_freeze", "asset_freeze"],
    )
    action = dedupe(answer).actions[0]
    assert [t.name for t in action.targets] == ["Ri Yong Gil", "Ri Chun Hwan"]
    assert action.reasons == ["North Korean WMD", "forced labor"]
    assert action.legal_basis == ["E.O. 13722"] and action.measures == ["asset_freeze"]


def test_an_answer_without_repeats_is_returned_as_it_is():
    answer = _answer([{"name": "Acme Shipping", "entity_type": "company"}])
    assert dedupe(answer) is answer


def test_the_pipeline_merges_repeats_from_the_model_and_from_the_cache(tmp_path):
    repeated = {"name": "Bago Region of Burma", "entity_type": "government_body"}
    body = json.dumps({"is_sanctions_news": True, "actions": [{
        "authority": "us", "action": "impose", "targets": [repeated] * 12 + [
            {"name": "Bago Region", "entity_type": "government_body", "aliases": ["Bago Region of Burma"]}],
        "evidence": ["Treasury sanctioned the Bago Region of Burma."]}]})
    text = "Treasury sanctioned the Bago Region of Burma. The Bago Region is in Burma."
    with FakeOpenAI(default=completion(body)) as fake:
        settings = Settings.from_env(model="m", base_url=fake.base_url, cache_dir=tmp_path / "c")
        fresh = Extractor(settings).extract(text, article_id="a")
        cached = Extractor(settings).extract(text, article_id="a")
        assert len(fake.chat_requests()) == 1
    for result in (fresh, cached):
        targets = result.actions[0].targets
        assert [(t.name, t.aliases) for t in targets] == [("Bago Region of Burma", ["Bago Region"])]
    assert cached.meta.cache_hit and sum(cached.meta.grounding["names"].values()) == 1
