"""The event merge rule on its own: order of arrival, dates, the one-action-per-document rule."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from typing import Any

from extractor.monitor.events import ActionFacts, EventIndex, name_keys
from tests.support import ROOT

DOCS = ("000_80d2deb23aa53b94", "003_fa7d954e684493c1", "tr-2021-03-22-jy0070", "tr-2021-12-10-jy0526")


def _facts() -> list[ActionFacts]:
    out = []
    for doc in DOCS:
        gold = json.loads((ROOT / "evals" / "gold" / f"{doc}.json").read_text())
        start = len(out)
        out += [ActionFacts.of(start + i + 1, doc, 1, i, a) for i, a in enumerate(gold["actions"])]
    return out


def _clusters(index: EventIndex) -> frozenset[frozenset[int]]:
    return frozenset(frozenset(a.action_id for a in e.actions) for e in index.events.values())


def test_the_same_events_whatever_the_order_of_arrival() -> None:
    facts = _facts()
    found = set()
    for order in itertools.permutations(DOCS):
        index = EventIndex()
        for doc in order:
            for action in (a for a in facts if a.document_id == doc):
                index.add(action)
        found.add(_clusters(index))
    assert len(found) == 1
    [clusters] = found
    assert len(clusters) == 10
    assert sum(1 for c in clusters if len(c) == 2) == 9


def _action(doc: str, name: str | None, date: str | None, **extra: Any) -> ActionFacts:
    data = {"authority": "us", "action": "impose", "date": date, "measures": ["asset_freeze"],
            "targets": [{"name": name, "entity_type": "person"}] if name else [], **extra}
    return ActionFacts.of(abs(hash((doc, name, date))) % 10**9, doc, 1, 0, data)


def test_dates_more_than_a_few_days_apart_are_two_events() -> None:
    index = EventIndex()
    first = index.add(_action("a", "Ivan Petrov", "2024-03-05"))
    assert index.add(_action("b", "Ivan Petrov", "2024-03-07")) == first
    assert index.add(_action("c", "Ivan Petrov", None)) == first  # undated joins
    assert index.add(_action("d", "Ivan Petrov", "2024-04-20")) != first


def test_one_action_per_document_and_legal_basis_without_conflicting_targets() -> None:
    index = EventIndex()
    first = index.add(_action("a", "Ivan Petrov", "2024-03-05", legal_basis=["E.O. 14024"]))
    # The same document's second action is a second measure, even with the same target.
    assert index.add(ActionFacts.of(99, "a", 1, 1, _action("a", "Ivan Petrov", "2024-03-05").data)) != first
    # Same basis, another source naming no targets: the same event.
    assert index.add(_action("b", None, "2024-03-05", legal_basis=["Executive Order 14024"])) == first
    # Same basis, other targets: another designation under the same programme.
    assert index.add(_action("c", "Olga Smirnova", "2024-03-05", legal_basis=["E.O. 14024"])) != first


def test_name_keys_fold_word_order_and_spelling() -> None:
    assert name_keys("Wang Junzheng", "person") & name_keys("JUNZHENG, Wang", "person")
    assert name_keys("Dmitry Yurevich Soin", "person") & name_keys("Dmitriy Yurevich Soin", "person")
    assert name_keys("SenseTime Group", "company") & name_keys("SenseTime Group Limited", "company")
    assert not name_keys("Ivan Petrov", "person") & name_keys("Olga Smirnova", "person")


def test_dates_across_weeks_months_and_years_still_meet() -> None:
    # Postings are by week: an action three days after an event in the next week, one dated by its
    # month, and one dated only by its year (posted under every week) all find the event.
    index = EventIndex()
    first = index.add(_action("a", "Ivan Petrov", "2024-03-09"))  # a Saturday
    assert index.add(_action("b", "Ivan Petrov", "2024-03-12")) == first  # the Tuesday after
    assert index.add(_action("c", "Ivan Petrov", "2024-03")) == first
    assert index.add(_action("d", "Ivan Petrov", "2024")) == first
    yearly = index.add(_action("e", "Olga Smirnova", "2023"))
    assert index.add(_action("f", "Olga Smirnova", "2023-11-20")) == yearly


def test_an_action_is_compared_with_the_events_around_its_date_only() -> None:
    # 400 designations under one executive order over two years share its legal-basis keys; a new
    # one is compared with the few in the weeks around its date, not with all of them.
    index = EventIndex()
    for n in range(400):
        day = dt.date(2023, 1, 1) + dt.timedelta(days=n * 730 // 400)
        index.add(_action(f"doc-{n}", f"Person {n}", day.isoformat(), legal_basis=["E.O. 14024"]))
    action = _action("new", "Someone Else", "2024-06-15", legal_basis=["E.O. 14024"])
    assert len(index._candidates(action)) == 0  # only events naming no targets join by legal basis
    bare = _action("new-bare", None, "2024-06-15", legal_basis=["E.O. 14024"])
    assert 0 < len(index._candidates(bare)) <= 10


def test_issuers_are_compared_by_their_registry_ids() -> None:
    index = EventIndex()
    ofac = index.add(_action("a", "Ivan Petrov", "2024-03-05", issuer="Office of Foreign Assets Control"))
    # "the Treasury" contains OFAC: one issuer, one measure.
    assert index.add(_action("b", "Ivan Petrov", "2024-03-05", issuer="U.S. Department of the Treasury")) == ofac
    # The State Department's visa ban on the same man the same day is another measure.
    state = index.add(_action("c", "Ivan Petrov", "2024-03-05", issuer="Department of State",
                              measures=["travel_ban"]))
    assert state != ofac
    # An issuer the registry cannot place agrees with any.
    assert index.add(_action("d", "Ivan Petrov", "2024-03-05", issuer="the authorities")) in (ofac, state)
    assert index.events[ofac].issuers == {"us-ofac", "us-treasury"} and index.events[state].issuers == {"us-state"}


def test_a_bare_action_joins_the_event_of_its_issuer_however_it_is_written() -> None:
    # The release has OFAC's asset freeze, the State Department's visa bans and an investment ban;
    # the news report repeats the investment ban and then says "OFAC also blocked property" without
    # names. "OFAC" shares no word with "Office of Foreign Assets Control": only the registry tells
    # it is that body, so the freeze is its one home (the visa bans are another body's).
    def release(position: int, measure: str, issuer: str, name: str) -> ActionFacts:
        return ActionFacts.of(position + 1, "release", 1, position, {
            "authority": "us", "action": "impose", "date": "2024-03-05", "measures": [measure], "issuer": issuer,
            "targets": [{"name": name, "entity_type": "person"}]})

    index = EventIndex()
    freeze = index.add(release(0, "asset_freeze", "Office of Foreign Assets Control", "Ivan Petrov"))
    visas = index.add(release(1, "travel_ban", "U.S. Department of State", "Li Wei Ming"))
    index.add(release(2, "investment_ban", "Office of Foreign Assets Control", "Chen Mingguo"))
    index.add(ActionFacts.of(4, "news", 1, 0, {
        "authority": "us", "action": "impose", "date": "2024-03-05", "measures": ["investment_ban"],
        "targets": [{"name": "Chen Mingguo", "entity_type": "person"}]}))
    bare = index.add(ActionFacts.of(5, "news", 1, 1, {
        "authority": "us", "action": "impose", "date": "2024-03-05", "measures": [], "issuer": "OFAC",
        "targets": []}))
    assert index.resolve(bare) == freeze != visas
