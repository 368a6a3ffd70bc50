"""Grounded decoding: candidate spans of a document, the per-document schema, and the embedded model held to it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from extractor import Extractor, Settings
from extractor.core.calls import strategies
from extractor.core.documents import Document
from extractor.core.grounding.candidates import find_candidates, legal_bases, name_spans, reasons_of, split_sentences
from extractor.core.grounding.decoding import answer_model_from, grammar_safe, grounded_answer_model
from extractor.core.grounding.values import dates_in, jurisdictions_in, numbers_in
from extractor.core.schema import ExtractionAnswer, answer_model
from tests.support import ROOT

SEEDS = sorted((ROOT / "seeds").glob("*.txt"))
BASE = answer_model(max_actions=6, max_targets=20, max_items=6)

RELEASE = (
    "WASHINGTON – Today, the U.S. Department of the Treasury’s Office of Foreign Assets Control (OFAC) "
    "designated Mohammed bin Salman Trading Co., Ltd. and Smith & Wesson Holdings LLC pursuant to "
    "Executive Order (E.O.) 13818, which implements the Global Magnitsky Human Rights Accountability Act. "
    "President Joe Biden said the sanctions respond to abuses. "
    "Mr. Dmitry Yurevich Soin, the provost of the European Institute Justo, was sanctioned for his "
    "involvement in serious human rights abuse. The weather in Paris was mild."
)


def names_of(text: str) -> set[str]:
    return {name for sentence in split_sentences(text) for name in name_spans(sentence)}


# --- candidate spans -------------------------------------------------------------------------

def test_names_are_capitalised_runs_with_connectors_and_acronyms():
    names = names_of(RELEASE)
    assert {"Office of Foreign Assets Control (OFAC)", "Office of Foreign Assets Control", "OFAC"} <= names
    assert "U.S. Department of the Treasury" in names  # split at the possessive
    assert "Mohammed bin Salman Trading Co., Ltd." in names  # "bin" and the company suffix join
    assert "Smith & Wesson Holdings LLC" in names
    assert "European Institute Justo" in names and "Dmitry Yurevich Soin" in names
    assert "Joe Biden" in names  # the title comes off
    assert not any(n.startswith(("The ", "Today", "the ")) for n in names)


def test_al_prefixed_names_and_and_splits():
    names = names_of("The sanctions hit Hizballah financier Ali al-Hassan and Canada and the United Kingdom.")
    assert "Ali al-Hassan" in names
    assert {"Canada", "United Kingdom"} <= names


@pytest.mark.parametrize("path", sorted((ROOT / "evals" / "docs").glob("*.txt")), ids=lambda p: p.stem)
def test_every_text_candidate_is_a_substring_of_the_document(path):
    text = path.read_text(encoding="utf-8")
    found = find_candidates(text, "2021-01-01")
    spans = [*found.names, *found.roles, *found.evidence, *found.legal_bases, *found.reasons]
    assert spans, "a release has candidates"
    missing = [span for span in spans if span not in text]
    assert not missing


def test_legal_bases_cover_orders_acts_eu_acts_resolutions_and_sections():
    text = (
        "They are designated pursuant to Executive Order (E.O.) 13818 and E.O. 14024, under the Global Magnitsky "
        "Human Rights Accountability Act, Council Regulation (EU) No 269/2014, resolution 2397 (2017) and "
        "section 212(f) of the Immigration and Nationality Act of 1952."
    )
    found = set(legal_bases(text))
    assert {"Executive Order (E.O.) 13818", "E.O. 14024", "Global Magnitsky Human Rights Accountability Act",
            "Council Regulation (EU) No 269/2014", "resolution 2397 (2017)",
            "section 212(f) of the Immigration and Nationality Act of 1952"} <= found
    assert not set(legal_bases("The weather in Paris was mild on Monday."))


def test_evidence_prefers_sentences_with_sanctions_vocabulary():
    found = find_candidates(RELEASE)
    assert found.evidence and all("Paris" not in s for s in found.evidence)
    assert any(s.startswith("WASHINGTON – Today") for s in found.evidence)
    plain = find_candidates("The city council approved the new marathon route. Works start on Monday morning.")
    assert len(plain.evidence) == 2  # nothing about sanctions: every sentence stays available


def test_reasons_are_the_clause_after_a_reason_word():
    reasons = set(reasons_of("The university was sanctioned for sponsoring work visas for workers, the agency said."))
    assert "sponsoring work visas for workers" in reasons
    assert "serious human rights abuse" in set(find_candidates(RELEASE).reasons)


def test_dates_are_iso_values_of_stated_dates_and_the_publication_date():
    text = "On March 22, 2021 and 5 April 2022 (2020-01-31), and again on December 10; not on February 30, 2021."
    assert dates_in(text, "2021-12-11") == ("2020-01-31", "2021-03-22", "2021-12-10", "2021-12-11", "2022-04-05")
    # Without a publication date a day without a year has no year: it is left out.
    assert dates_in("Sanctions imposed on December 10.") == ()
    assert dates_in("In March 2021 the EU acted.") == ("2021-03",)


def test_jurisdictions_come_from_rigour_names_and_bodies():
    text = "The US, Canada, UK and the EU acted against Beijing; the UN Security Council met in Washington."
    codes = jurisdictions_in(names_of(text), text)
    assert set(codes) == {"us", "ca", "gb", "eu", "cn", "un"}
    assert jurisdictions_in(names_of("Sanctions were imposed in a hurry."), "") == ()  # "in" is no India


def test_numbers_include_words_and_same_sentence_sums():
    numbers = numbers_in(["Sanctions on 15 people and 10 entities.", "Russia named three British officials."])
    assert {3, 10, 15, 25} <= set(numbers)


def test_grammar_safe_splits_values_the_converter_cannot_encode():
    assert grammar_safe(['He said "no deal" today', "back\\slash", "tab\there", "curly “quotes” stay"]) == (
        "He said", "no deal", "today", "back", "slash", "tab", "here", "curly “quotes” stay")


# --- the per-document schema -----------------------------------------------------------------

def schema_of(text: str, published: str | None = None) -> dict[str, Any]:
    return grounded_answer_model(Document(id="d", text=text, published=published), BASE).model_json_schema()


def test_schema_enumerates_the_documents_values_and_keeps_the_bounds():
    schema = schema_of(RELEASE, "2021-03-22")
    defs = schema["$defs"]
    target = defs["Target"]["properties"]
    found = find_candidates(RELEASE, "2021-03-22")
    assert target["name"]["enum"] == list(found.entities)
    action = defs["SanctionAction"]["properties"]
    # Paris, U.S., and "European" (rigour reads the adjective as the EU).
    assert action["authority"]["enum"] == list(found.jurisdictions) == ["eu", "fr", "us"]
    assert action["date"]["anyOf"] == [{"type": "string", "enum": ["2021-03-22"]}, {"type": "null"}]
    assert action["targets"]["maxItems"] == 20 and action["evidence"]["maxItems"] == 6
    assert set(action["legal_basis"]["items"]["enum"]) == set(found.legal_bases)
    assert "pattern" not in json.dumps(schema)  # the code and date patterns became enums


def test_root_ties_is_sanctions_news_to_actions():
    schema = schema_of(RELEASE)
    yes, no = schema["anyOf"]
    assert yes["properties"]["is_sanctions_news"]["const"] is True and yes["properties"]["actions"]["minItems"] == 1
    assert no["properties"]["is_sanctions_news"]["const"] is False and no["properties"]["actions"]["maxItems"] == 0
    assert yes["required"] == no["required"] == ["is_sanctions_news", "actions"]


def test_a_text_without_any_jurisdiction_can_only_say_no():
    schema = schema_of("The committee sanctioned the new budget after a long debate.")
    assert len(schema["anyOf"]) == 1 and schema["anyOf"][0]["properties"]["is_sanctions_news"]["const"] is False


def test_the_model_validates_supported_values_and_rejects_invented_ones():
    model = grounded_answer_model(Document(id="d", text=RELEASE), BASE)
    soin = {"name": "Dmitry Yurevich Soin", "entity_type": "person", "role": "provost of the European Institute Justo"}
    action = {"authority": "US", "action": "impose", "issuer": "Office of Foreign Assets Control (OFAC)",
              "targets": [soin],
              "legal_basis": ["Executive Order (E.O.) 13818"], "evidence": [find_candidates(RELEASE).evidence[0]]}
    answer = model.model_validate({"is_sanctions_news": True, "actions": [action]})
    plain = ExtractionAnswer.model_validate(answer.model_dump())  # what strategies.ask does
    assert plain.actions[0].authority == "us" and type(plain.actions[0].targets[0].name) is str
    invented = {**action, "targets": [{"name": "Northwind Maritime Ltd", "entity_type": "company"}]}
    with pytest.raises(ValidationError, match="does not occur in the document"):
        model.model_validate({"is_sanctions_news": True, "actions": [invented]})
    with pytest.raises(ValidationError, match="does not occur"):
        model.model_validate({"is_sanctions_news": True, "actions": [{**action, "authority": "gb"}]})
    with pytest.raises(ValidationError, match="is not a number the document states"):
        model.model_validate({"is_sanctions_news": True, "actions": [{**action, "target_count": 7}]})


def test_split_strategy_steps_build_from_the_grounded_model():
    model = grounded_answer_model(Document(id="d", text=RELEASE), BASE)
    steps = strategies.step_models(model)
    targets = steps["targets"].model_json_schema()
    assert targets["$defs"]["Target"]["properties"]["name"]["enum"]


def test_grammar_of_every_document_parses_in_llama_cpp():
    llama_cpp = pytest.importorskip("llama_cpp")
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    from extractor.core.backends.embedded import MODELS

    vocab = llama_cpp.Llama(model_path=str(MODELS["smollm2"].path(ROOT)), vocab_only=True, verbose=False)
    nasty = RELEASE + ' He said "no" \\ to\tthe U.S. 😀 sanctions on “Acme” Ltd.'
    texts = [p.read_text(encoding="utf-8") for p in SEEDS] + [nasty]
    for text in texts:
        grammar = json_schema_to_gbnf(json.dumps(schema_of(text, "2021-12-10")))
        sampler = llama_cpp.llama_sampler_init_grammar(vocab._model.vocab, grammar.encode(), b"root")
        assert sampler, "llama.cpp rejected the grammar"
        llama_cpp.llama_sampler_free(sampler)


# --- which backends get it -------------------------------------------------------------------

def test_endpoints_keep_the_plain_schema_and_the_embedded_backend_gets_the_grounded_one(remote):
    document = Document(id="d", text=RELEASE)
    assert remote.answer_model_for(document) is remote.response_model
    embedded = Extractor(Settings(model="embedded"))  # building the backend loads no model
    schema = embedded.answer_model_for(document).model_json_schema()
    assert schema["$defs"]["Target"]["properties"]["name"]["enum"] == list(find_candidates(RELEASE).entities)


def test_answer_model_from_empty_candidates_allows_only_an_empty_answer():
    empty = find_candidates("nothing capitalised here at all.")
    model = answer_model_from(empty, BASE)
    assert model.model_validate({"is_sanctions_news": False, "actions": []})
    assert model.model_json_schema()["anyOf"][0]["properties"]["actions"]["maxItems"] == 0


def test_places_are_names_but_never_target_candidates():
    found = find_candidates("Treasury sanctioned Acme Shipping LLC. Bangladesh and North Korea protested.")
    assert "Bangladesh" in found.names and "Bangladesh" not in found.entities and "North Korea" not in found.entities
    assert "Acme Shipping LLC" in found.entities
    assert "bd" in found.jurisdictions and "kp" in found.jurisdictions
