"""The rules that read a document for the embedded model: which sentences report actions, who acts, whom they name."""

from __future__ import annotations

import json

import pytest

from extractor.core.calls.guided import to_answer
from extractor.core.documents import make_document
from extractor.core.reading import cues
from extractor.core.reading.actors import actors_in, country_code
from extractor.core.reading.frame import read
from extractor.core.reading.names import list_item_name, names_in_target_position, target_name
from tests.support import ROOT


def _read(text: str, **metadata: str):
    return read(make_document(text, article_id="t", metadata=metadata or None))


def _names(reading) -> list[list[str]]:
    return [[t.name for t in action.targets] for action in reading.actions]


def test_seed_000_names_the_two_sanctioned_officials_and_no_one_twice():
    text = (ROOT / "seeds" / "000_80d2deb23aa53b94.txt").read_text(encoding="utf-8")
    reading = _read(text)
    us = next(a for a in reading.actions if a.authority == "us")
    assert [t.name for t in us.targets] == ["Wang Junzheng", "Chen Mingguo"]
    assert us.targets[1].role == "director of the Xinjiang Public Security Bureau"
    # The US, Canada, the UK and the EU act; China answers with countermeasures.
    assert {a.authority for a in reading.actions} == {"us", "ca", "gb", "eu", "cn"}
    assert [a.is_countermeasure for a in reading.actions if a.authority == "cn"] == [True]
    for action in reading.actions:
        names = [t.name.casefold() for t in action.targets]
        assert len(names) == len(set(names))
        assert all(q in text for q in action.evidence)


def test_designations_in_objects_subjects_lists_and_bullets():
    text = (
        "Treasury Targets Shipping Network\n\n"
        "WASHINGTON — Today, the Department of the Treasury's Office of Foreign Assets Control (OFAC) designated "
        "Zorven Maritime Ltd (Zorven) and its director, Ilsa Varga, pursuant to E.O. 13224.\n\n"
        "Pell Kastrin, a financier based in Dubai, is also being designated for providing support to Zorven.\n\n"
        "OFAC is also designating the following vessels:\n\n"
        "- Northern Quill, a tanker, IMO 1234567\n"
        "- Grey Heron, a bulk carrier\n\n"
        "Secretary Janet Doe said the action targets those who profit from smuggling.\n"
    )
    reading = _read(text, published="2024-02-01", publisher="U.S. Department of the Treasury")
    assert reading.is_sanctions_news
    first = reading.actions[0]
    assert first.authority == "us" and first.date == "2024-02-01"
    names = [t.name for t in first.targets]
    assert names == ["Zorven Maritime Ltd", "Ilsa Varga", "Pell Kastrin", "Northern Quill", "Grey Heron"]
    assert first.targets[0].aliases == ["Zorven"] and first.targets[0].entity_type == "company"
    assert "E.O. 13224" in first.legal_basis
    assert "Janet Doe" not in names and "Dubai" not in names


@pytest.mark.parametrize("sentence", [
    "It was not an officially sanctioned world record.",
    "Activists urged the European Union to sanction the ministry.",
    "The senator said Washington could impose sanctions if the talks fail.",
    "In 2007, the United States designated the group and levied sanctions against its leader.",
])
def test_what_is_not_an_action(sentence):
    assert not cues.reports_action(sentence)


@pytest.mark.parametrize(("sentence", "expected"), [
    ("Germany on Monday banned Iranian airline Kestrel Air from flying in the country.", ["Kestrel Air"]),
    ("Turkey’s Minister of Justice Marek Olan is being designated pursuant to E.O. 13818.", ["Marek Olan"]),
    ("The revocation of three designations under the Act: Red Dawn Front, Ansar Valley Council in the Hills, "
     "and Blue Crescent.", ["Red Dawn Front", "Ansar Valley Council in the Hills", "Blue Crescent"]),
])
def test_names_in_a_targets_place(sentence, expected):
    assert [n.name for n in names_in_target_position(sentence)] == expected


def test_names_that_are_no_targets():
    assert target_name("North Korean") is None and target_name("Canada") is None
    assert target_name("Executive Order 13818") is None and target_name("Treasury") is None
    assert target_name("Foreign Trade Bank") == "Foreign Trade Bank"  # a title word inside an organisation's name
    assert list_item_name("· Kim Tong Chol is a bank representative in Shenyang, China.").name == "Kim Tong Chol"
    assert list_item_name("An ordinary sentence about sanctions.") is None


def test_actors_are_countries_and_bodies_not_demonyms():
    assert [a.code for a in actors_in("The US, Canada, UK and the EU have all")] == ["us", "ca", "gb", "eu"]
    assert [a.code for a in actors_in("North Korean banks")] == []
    assert country_code("Chinese") is None and country_code("the United Kingdom") == "gb"


def test_japanese_news_is_read_without_error():
    for path in sorted((ROOT / "evals" / "docs").glob("ja-*.txt")):
        answer = to_answer(_read(path.read_text(encoding="utf-8")))
        assert answer.is_sanctions_news == bool(answer.actions)


def test_the_embedded_default_reads_by_rules_without_loading_the_model(tmp_path, monkeypatch):
    from extractor import Extractor, Settings

    text = (ROOT / "seeds" / "000_80d2deb23aa53b94.txt").read_text(encoding="utf-8")
    extractor = Extractor(Settings(model="embedded", cache_dir=tmp_path))
    assert extractor.guided
    result = extractor.extract(text, article_id="000")
    assert "_llama" not in extractor.backend.__dict__  # nothing was asked of the model
    assert result.meta.usage.total_tokens == 0 and result.meta.grounding["rate"] == 1.0
    assert {"Wang Junzheng", "Chen Mingguo"} <= {t.name for a in result.actions for t in a.targets}
    assert extractor.extract(text, article_id="000").meta.cache_hit
    # EXTRACTOR_GUIDED_READING=off gives the model the document again, under the grounded schema.
    monkeypatch.setenv("EXTRACTOR_GUIDED_READING", "off")
    assert not Extractor(Settings.from_env(model="embedded", cache_dir=tmp_path)).guided


def test_a_listing_that_names_its_targets_and_measures_apart():
    text = (
        "The UK has today sanctioned four individuals and two entities involved in supplying drones, "
        "the Foreign Office announced.\n\n"
        "The designations include Varn Aviation Works, Telmar Rotor Research Center and its director Oskar Brandt.\n\n"
        "They are subject to an asset freeze and travel ban.\n\n"
        "Meanwhile, the supplier's government said it would retaliate against what it called illegal measures.\n"
    )
    reading = _read(text)
    assert [(a.authority, a.body, a.is_countermeasure) for a in reading.actions] == [("gb", "foreign office", False)]
    action = reading.actions[0]
    assert [t.name for t in action.targets] == ["Varn Aviation Works", "Telmar Rotor Research Center", "Oskar Brandt"]
    assert action.measures == ["asset_freeze", "travel_ban"]


def test_prompts_render_shows_what_the_embedded_default_reads(tmp_path):
    from typer.testing import CliRunner

    from extractor.cli import app

    path = tmp_path / "a.txt"
    path.write_text("Today, OFAC designated Zorven Maritime Ltd pursuant to E.O. 13224.\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["prompts", "render", "sanctions@v3", str(path), "--model", "embedded"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["messages"] and shown["guided"]["model_calls"] == 0
    assert shown["guided"]["answer"]["actions"][0]["targets"][0]["name"] == "Zorven Maritime Ltd"
