"""Events on real documents, in the store (SQLite and PostgreSQL): the two seeds and the Treasury releases.

The seeds and the March 22 and December 10, 2021 Treasury releases report the same actions; with
their gold answers as the recorded extractions, they merge into the expected events, in any
order of arrival; the FtM export gives a Sanction per target with every source as proof; two
actions by one authority on one day with disjoint targets stay apart; watchlists raise alerts once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from extractor.core.documents import Document
from extractor.monitor import alerts as alerting
from extractor.monitor.digest import digest_batch, new_actions, pending
from extractor.monitor.queries import EventFilter, event_dict, event_entities, get_event, list_events
from extractor.monitor.watchlists import add_watchlist, build_index, list_watchlists
from extractor.store import ExtractionKey, Store
from extractor.store.documents import ensure_document, save_extraction
from tests.support import ROOT
from tests.support.postgres import database_url

SEEDS = ("000_80d2deb23aa53b94", "003_fa7d954e684493c1")
RELEASES = ("tr-2021-03-22-jy0070", "tr-2021-12-10-jy0526")
KEY = ExtractionKey("sanctions@v3", "recorded", "gold", "schema")


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    try:
        url = database_url(request.param, tmp_path)
    except LookupError as exc:
        pytest.skip(str(exc))
    opened = Store(url)
    yield opened
    opened.close()


def record(store: Store, doc_id: str, answer: dict[str, Any], text: str | None = None) -> None:
    """Store a document and its recorded answer as an extraction."""
    with store.write() as session:
        ensure_document(session, Document(id=doc_id, text=text or f"text of {doc_id}"))
        save_extraction(session, doc_id, KEY, {**answer, "article_id": doc_id, "meta": {}})


def gold(doc_id: str) -> dict[str, Any]:
    data = json.loads((ROOT / "evals" / "gold" / f"{doc_id}.json").read_text())
    return {"is_sanctions_news": data["is_sanctions_news"], "actions": data["actions"]}


def digest(store: Store) -> int:
    """Digest everything pending, checking watchlists; the number of alerts raised."""
    raised = 0
    while True:
        with store.read() as session:
            batch = pending(session)
            actions = new_actions(session, [e for e, _ in batch])
            index = build_index(list_watchlists(session))
        if not batch:
            return raised
        matches = alerting.find_matches(index, actions)
        with store.write() as session:
            report = digest_batch(session, batch,
                                  lambda s, placed, found=matches: len(alerting.store_alerts(s, found, placed)))
        raised += report.alerts


def events(store: Store, **filters: Any) -> list[dict[str, Any]]:
    with store.read() as session:
        rows, _ = list_events(session, EventFilter(**filters), limit=500, offset=0)
        return [event_dict(row) for row in rows]


def shape(found: list[dict[str, Any]]) -> set[tuple[str, str | None, frozenset[str]]]:
    return {(e["authority"], e["date_from"], frozenset(d["document_id"][:6] for d in e["documents"])) for e in found}


EXPECTED = {
    ("us", "2021-03-22", frozenset({"000_80", "tr-202"})),
    ("eu", "2021-03-22", frozenset({"000_80", "tr-202"})),
    ("gb", "2021-03-22", frozenset({"000_80", "tr-202"})),
    ("ca", "2021-03-22", frozenset({"000_80", "tr-202"})),
    ("cn", None, frozenset({"000_80"})),
    ("gb", "2021-12-10", frozenset({"003_fa", "tr-202"})),
    ("ca", "2021-12-10", frozenset({"003_fa", "tr-202"})),
}


ORDERS = [SEEDS + RELEASES, RELEASES[::-1] + SEEDS[::-1]]


@pytest.mark.parametrize("order", ORDERS, ids=["seeds-first", "releases-first"])
def test_seeds_and_treasury_releases_merge_into_the_expected_events(store: Store, order: tuple[str, ...]) -> None:
    with store.write() as session:
        add_watchlist(session, "name", "Junzheng Wang")
        add_watchlist(session, "programme", "GLOMAG")
    for doc_id in order:
        record(store, doc_id, gold(doc_id))
        digest(store)  # one at a time, as they would arrive
    found = events(store)
    assert len(found) == 10
    assert shape(found) >= EXPECTED
    us_december = [e for e in found if e["authority"] == "us" and e["date_from"] == "2021-12-10"]
    assert len(us_december) == 3  # asset freezes, the investment ban, the visa bans: three measures
    assert all(len(e["documents"]) == 2 for e in us_december)
    freeze = next(e for e in us_december if "asset_freeze" in e["measures"])
    # "Dmitry" in the news report, "Dmitriy" in the release: one target, named by both.
    soin = next(t for t in freeze["targets"] if "Soin" in t["name"])
    assert len(soin["sources"]) == 2 and set(soin["names"]) == {"Dmitry Yurevich Soin", "Dmitriy Yurevich Soin"}
    assert "GLOMAG" in freeze["programmes"]
    conflict = {c["field"]: c for c in freeze["conflicts"]}
    assert "measures" in conflict  # "financial restrictions" (news) against "asset freeze" (release)
    march = next(e for e in found if e["authority"] == "us" and e["date_from"] == "2021-03-22")
    assert {t["name"] for t in march["targets"]} == {"Wang Junzheng", "Chen Mingguo"}
    assert all(len(t["sources"]) == 2 for t in march["targets"])
    # Filters.
    assert {e["id"] for e in events(store, target="Chen Mingguo")} == {march["id"]} | {
        e["id"] for e in found if e["authority"] in ("eu", "gb", "ca") and e["date_from"] == "2021-03-22"}
    assert {e["authority"] for e in events(store, programme="glomag")} == {"us"}
    assert len(events(store, since=__import__("datetime").date(2021, 12, 1))) >= 5
    # Alerts: once per event, though two sources name the watched name in each: the four March 22
    # events (US, EU, UK, Canada) name Wang Junzheng; the two US events cite GLOMAG's E.O. 13818.
    with store.read() as session:
        alerts = alerting_rows(session)
    by_event = sorted((a["field"], a["event_id"]) for a in alerts)
    assert len(by_event) == len(set(by_event)) == 6
    assert sorted(a["field"] for a in alerts) == ["programme"] * 2 + ["target"] * 4
    assert {a["matched"] for a in alerts if a["field"] == "target"} == {"Junzheng Wang"}


def alerting_rows(session: Any) -> list[dict[str, Any]]:
    from extractor.monitor.queries import list_alerts

    return list_alerts(session, limit=100)


def test_events_export_as_sanctions_with_every_source_as_proof(store: Store) -> None:
    for doc_id in ("000_80d2deb23aa53b94", "tr-2021-03-22-jy0070"):
        record(store, doc_id, gold(doc_id))
    digest(store)
    march = next(e for e in events(store) if e["authority"] == "us")
    with store.read() as session:
        rows, _ = list_events(session, EventFilter(authority="us"), limit=10, offset=0)
        entities = [entity.to_dict() for entity in event_entities(rows[0])]
    articles = {e["id"] for e in entities if e["schema"] == "Article"}
    sanctions = [e for e in entities if e["schema"] == "Sanction"]
    assert len(articles) == 2 and len(sanctions) == len(march["targets"]) == 2
    for sanction in sanctions:
        assert set(sanction["properties"]["proof"]) == articles
        assert sanction["properties"]["startDate"] == ["2021-03-22"]


def test_same_authority_same_day_disjoint_targets_stay_apart(store: Store) -> None:
    def answer(name: str) -> dict[str, Any]:
        return {"is_sanctions_news": True, "actions": [{
            "authority": "us", "action": "impose", "measures": ["asset_freeze"], "date": "2024-03-05",
            "legal_basis": ["E.O. 13818"], "targets": [{"name": name, "entity_type": "person"}],
            "evidence": [f"Treasury designated {name}."]}]}

    record(store, "a", answer("Ivan Petrov"))
    record(store, "b", answer("Li Wei Ming"))
    record(store, "c", answer("Ivan Petrov"))  # a second report of the first designation
    digest(store)
    found = events(store)
    assert len(found) == 2
    assert sorted(len(e["documents"]) for e in found) == [1, 2]


def test_a_reextracted_document_replaces_its_actions(store: Store) -> None:
    doc = "tr-2021-03-22-jy0070"
    record(store, doc, gold(doc))
    digest(store)
    corrected = gold(doc)
    corrected["actions"] = corrected["actions"][:1]
    with store.write() as session:
        save_extraction(session, doc, ExtractionKey("sanctions@v3", "other", "gold", "schema"),
                        {**corrected, "article_id": doc, "meta": {}})
    digest(store)
    assert [e["authority"] for e in events(store)] == ["us"]


def test_a_reextracted_document_keeps_its_events_and_raises_no_alert_again(store: Store) -> None:
    # Extracted again under another model, a document's actions replace its earlier ones: its
    # events keep their ids and the alerts they raised are not raised again.
    with store.write() as session:
        add_watchlist(session, "name", "Junzheng Wang")
        add_watchlist(session, "programme", "GLOMAG")
    doc = "tr-2021-03-22-jy0070"
    record(store, doc, gold(doc))
    assert digest(store) == 5  # Wang Junzheng in the US, EU, UK and Canada events; GLOMAG in the US one
    before = {(e["authority"], e["id"]) for e in events(store)}
    with store.write() as session:
        save_extraction(session, doc, ExtractionKey("sanctions@v3", "other", "gold", "schema"),
                        {**gold(doc), "article_id": doc, "meta": {}})
    assert digest(store) == 0
    assert {(e["authority"], e["id"]) for e in events(store)} == before


def test_a_reextracted_action_that_moves_to_another_event_raises_no_alert_again(store: Store) -> None:
    def answer(date: str, basis: list[str]) -> dict[str, Any]:
        return {"is_sanctions_news": True, "actions": [{
            "authority": "us", "action": "impose", "measures": ["asset_freeze"], "date": date, "legal_basis": basis,
            "targets": [{"name": "Ivan Petrov", "entity_type": "person"}],
            "evidence": ["Ivan Petrov was designated."]}]}

    with store.write() as session:
        add_watchlist(session, "programme", "GLOMAG")
    record(store, "a", answer("2024-03-05", ["E.O. 13818"]))
    record(store, "b", answer("2024-03-20", []))  # two weeks later: another event, citing no programme
    assert digest(store) == 1
    old = {e["id"] for e in events(store) if e["date_from"] == "2024-03-05"}
    # Corrected, document a reports the measure of March 20: its action joins b's event, which now
    # stands for a's old event too; the GLOMAG alert it raised is not raised again.
    with store.write() as session:
        save_extraction(session, "a", ExtractionKey("sanctions@v3", "other", "gold", "schema"),
                        {**answer("2024-03-20", ["E.O. 13818"]), "article_id": "a", "meta": {}})
    assert digest(store) == 0
    [event] = events(store)
    assert len(event["documents"]) == 2
    with store.read() as session:
        [old_id] = old
        assert get_event(session, old_id).id == event["id"]  # type: ignore[union-attr]


def test_an_event_without_named_targets_exports_its_sources_only(store: Store) -> None:
    record(store, "embargo", {"is_sanctions_news": True, "actions": [{
        "authority": "eu", "action": "impose", "measures": ["arms_embargo"], "date": "2024-03-05", "targets": [],
        "target_countries": ["by"], "evidence": ["The EU imposed an arms embargo on Belarus."]}]})
    digest(store)
    [event] = events(store)
    assert event["targets"] == [] and event["target_countries"] == ["by"]
    with store.read() as session:
        rows, _ = list_events(session, EventFilter(), limit=10, offset=0)
        # FtM requires a Sanction's entity, and has no entity for a country: the sources only.
        assert [entity.schema.name for entity in event_entities(rows[0])] == ["Article"]


def test_issuing_bodies_by_registry_id_in_filters_exports_and_watchlists(store: Store) -> None:
    # December 10, 2021: OFAC's asset freeze and investment ban, State's visa bans; the news report
    # says "Treasury" and "State Department", the release the bodies' full names.
    with store.write() as session:
        add_watchlist(session, "authority", "us-treasury")  # the Treasury and the bodies within it (OFAC)
    for doc_id in ("003_fa7d954e684493c1", "tr-2021-12-10-jy0526"):
        record(store, doc_id, gold(doc_id))
    raised = digest(store)
    us = events(store, authority="us")
    assert sorted(e["issuer"]["id"] for e in us) == ["us-ofac", "us-ofac", "us-state"]
    treasury = events(store, issuer="us-treasury")  # the Treasury's events are OFAC's
    assert {e["id"] for e in treasury} == {e["id"] for e in us if e["issuer"]["id"] == "us-ofac"}
    assert [e["issuer"]["name"] for e in events(store, issuer="State Department")] == ["U.S. Department of State"]
    assert events(store, issuer="OFAC") == treasury and events(store, issuer="Ministry of Magic") == []
    # One alert per Treasury event, none for the State Department's visa bans.
    assert raised == 2
    with store.read() as session:
        alerts = alerting_rows(session)
        assert {a["event_id"] for a in alerts} == {e["id"] for e in treasury}
        assert {a["matched"] for a in alerts} == {"us-treasury"}
        freeze = next(e for e in treasury if "asset_freeze" in e["measures"])
        row = get_event(session, freeze["id"])
        assert row is not None
        sanctions = [e for e in event_entities(row) if e.schema.name == "Sanction"]
    assert sanctions and {s.first("authority") for s in sanctions} == {"Office of Foreign Assets Control"}
