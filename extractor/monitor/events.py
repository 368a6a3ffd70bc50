"""Events: the actions of different documents that report the same measure, merged as they arrive.

Two actions report the same measure when `joins` says so: the same authority and kind, no
other issuing body (`same_authority`), dates within `WINDOW_DAYS` of each other (or one
undated), and either overlapping targets, or the same legal basis where one side names no
targets. Issuers are compared by their registry ids (`extractor.core.issuers`): "OFAC" and
"the Treasury" are one issuer (one body contains the other), the State Department's visa bans
and OFAC's asset freezes on the same people the same day are two measures, and an issuer the
registry cannot place agrees with any. An event takes at most one action per document: two
actions a document reports apart are two measures to it. An action with neither targets nor
legal basis ("the EU and the UK joined") is placed by its document's company: when its document
already shares an event with another document, it joins that document's one best-fitting event
of the same authority (by measures, issuer and count).

`EventIndex` keeps events by document and in `Postings` by block (authority and kind; the
issuers are compared on the candidates found), key and week, so adding an action looks only at the events
that share a key with it in the weeks around its dates, never at all events of a key: a legal
basis ("E.O. 14024") is shared by every designation under it for years, and comparing each new
action with all of them made merging grow quadratically. A shared legal basis only joins when
one side names no targets, so an action naming targets looks up its legal bases among the
events that name none.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from rigour.text.phonetics import metaphone

from extractor.core.issuers import issuer_id, same_issuer
from extractor.export.index import normalise
from extractor.export.programs import order_numbers, program_ids
from extractor.store.documents import date_range

from .postings import Block, Postings, Week, weeks, window

WINDOW_DAYS = 3
_WORD = re.compile(r"[a-z0-9]+")


def name_keys(name: str, entity_type: str = "other") -> set[str]:
    """Keys under which a target name is the same target: its tokens in any order, and their sound."""
    person = entity_type == "person"
    norm = normalise(name, person=person, org=not person and entity_type != "vessel")
    tokens = sorted(norm.split())
    if not tokens:
        return set()
    keys = {"n:" + " ".join(tokens)}
    if len(tokens) >= 2:  # "Dmitry" and "Dmitriy" sound alike; one short token alone is too loose
        keys.add("p:" + " ".join(sorted(metaphone(t) or t for t in tokens)))
    return keys


def target_keys(target: dict[str, Any]) -> set[str]:
    """Keys of a target: of its name and of each alias."""
    kind = str(target.get("entity_type") or "other")
    keys: set[str] = set()
    for name in [target.get("name"), *(target.get("aliases") or [])]:
        if isinstance(name, str) and name.strip():
            keys |= name_keys(name, kind)
    return keys


def basis_keys(legal_basis: Iterable[str], authority: str) -> set[str]:
    """Keys of legal bases: programme ids, executive-order numbers and the squashed text."""
    bases = [b for b in legal_basis if isinstance(b, str) and b.strip()]
    keys = {"prog:" + p for p in program_ids(bases, authority)}
    for basis in bases:
        keys |= {f"eo:{n}" for n in order_numbers(basis)}
        keys.add("t:" + " ".join(_WORD.findall(basis.lower())))
    return keys


@dataclass(frozen=True)
class ActionFacts:
    """One extracted action as events see it: where it comes from, and its keys."""

    action_id: int
    document_id: str
    extraction_id: int
    position: int
    data: dict[str, Any]
    authority: str
    kind: str
    date_from: dt.date | None
    date_to: dt.date | None
    keys: frozenset[str]
    bases: frozenset[str]
    measures: frozenset[str]
    count: int | None
    issuer: str | None  # the registry id of the issuing body ("us-ofac"), None when the registry cannot tell

    @classmethod
    def of(
        cls, action_id: int, document_id: str, extraction_id: int, position: int, data: dict[str, Any]
    ) -> ActionFacts:
        """Facts of an action as stored in an extraction's result."""
        authority = str(data.get("authority") or "")
        start, end = date_range(data.get("date"))
        keys: set[str] = set()
        for target in data.get("targets") or []:
            keys |= target_keys(target)
        printed = data.get("issuer")
        issuer = issuer_id(printed, authority) if isinstance(printed, str) else None
        return cls(action_id, document_id, extraction_id, position, data, authority, str(data.get("action") or ""),
                   start, end, frozenset(keys), frozenset(basis_keys(data.get("legal_basis") or [], authority)),
                   frozenset(data.get("measures") or []), data.get("target_count"), issuer)

    @property
    def bare(self) -> bool:
        """Neither targets nor legal basis: only its document's company can place it."""
        return not self.keys and not self.bases


@dataclass
class Event:
    """Actions merged into one event, with what the merge rule needs to compare a new one."""

    id: int
    authority: str
    kind: str
    actions: list[ActionFacts] = field(default_factory=list)
    docs: set[str] = field(default_factory=set)
    keys: set[str] = field(default_factory=set)
    bases: set[str] = field(default_factory=set)
    measures: set[str] = field(default_factory=set)
    issuers: set[str] = field(default_factory=set)  # registry ids, one body or each within another
    counts: set[int] = field(default_factory=set)
    min_to: dt.date | None = None
    max_from: dt.date | None = None
    first: dt.date | None = None  # the earliest start and the latest end of its dated actions
    last: dt.date | None = None
    weeks: set[Week] = field(default_factory=set)  # where its keys are posted

    @property
    def bare(self) -> bool:
        """Every action is bare."""
        return not self.keys and not self.bases

    def take(self, action: ActionFacts) -> None:
        """Add an action's facts."""
        self.actions.append(action)
        self.docs.add(action.document_id)
        self.keys |= action.keys
        self.bases |= action.bases
        self.measures |= action.measures
        if action.issuer is not None:
            self.issuers.add(action.issuer)
        if action.count is not None:
            self.counts.add(action.count)
        if action.date_from is not None and action.date_to is not None:
            self.min_to = action.date_to if self.min_to is None else min(self.min_to, action.date_to)
            self.max_from = action.date_from if self.max_from is None else max(self.max_from, action.date_from)
            self.first = action.date_from if self.first is None else min(self.first, action.date_from)
            self.last = action.date_to if self.last is None else max(self.last, action.date_to)


def same_authority(authority: str, kind: str, issuers: Iterable[str], event: Event) -> bool:
    """The same acting authority, the same kind of action (impose, lift, amend), and no other issuing body.

    The one place that says which actions can be one measure. `issuers` are registry ids: each
    must be one body with each of the event's, or within it or containing it (OFAC and the
    Treasury agree, OFAC and the State Department do not); an unknown issuer agrees with any.
    """
    return (authority == event.authority and kind == event.kind
            and all(same_issuer(mine, theirs) for mine in issuers for theirs in event.issuers))


def _ids(action: ActionFacts) -> tuple[str, ...]:
    return (action.issuer,) if action.issuer is not None else ()


def _block(authority: str, kind: str) -> Block:
    """The postings' block: events of another block never join (`same_authority` compares these two first)."""
    return authority, kind


def _dates_fit(start: dt.date | None, end: dt.date | None, event: Event) -> bool:
    if start is None or end is None or event.min_to is None or event.max_from is None:
        return True
    return (start - event.min_to).days <= WINDOW_DAYS and (event.max_from - end).days <= WINDOW_DAYS


def joins(action: ActionFacts, event: Event) -> int:
    """How strongly `action` belongs to `event`: 2 shared targets, 1 shared legal basis, 0 not at all."""
    if not same_authority(action.authority, action.kind, _ids(action), event) or action.document_id in event.docs:
        return 0
    if not _dates_fit(action.date_from, action.date_to, event):
        return 0
    if action.keys & event.keys:
        return 2
    if action.bases & event.bases and (not action.keys or not event.keys):
        return 1  # the same legal basis and no conflicting targets
    return 0


def _fits_together(first: Event, second: Event) -> bool:
    """Two events can become one: same authority, kind and issuer, no shared document, dates in the window."""
    if not same_authority(second.authority, second.kind, second.issuers, first) or first.docs & second.docs:
        return False
    return _dates_fit(second.max_from, second.min_to, first) if second.min_to else True


def _company_score(action: ActionFacts, event: Event) -> int:
    """How well a bare action fits an event of a co-reporting document: measures, issuer, count."""
    score = 1
    if action.measures and event.measures:
        score += 2 if action.measures & event.measures else -2
    if action.issuer is not None and event.issuers:  # the same body, known on both sides (they agree)
        score += 1
    if action.count is not None and event.counts:
        score += 1 if action.count in event.counts else -1
    return score


class EventIndex:
    """Events and their postings; `add` places one action, merging events it bridges."""

    def __init__(self) -> None:
        self.events: dict[int, Event] = {}
        self.merged: dict[int, int] = {}  # absorbed event id → the event it went into
        self.touched: set[int] = set()
        self._targets = Postings()  # by target name keys
        self._bases = Postings()  # by legal-basis keys
        self._bare_bases = Postings()  # by legal-basis keys, of the events that name no targets
        self._by_doc: dict[str, set[int]] = defaultdict(set)
        self._next = -1

    def load(self, event_id: int, actions: Iterable[ActionFacts]) -> None:
        """Put a stored event back (its actions were merged before)."""
        actions = list(actions)
        if not actions:
            return
        event = Event(event_id, actions[0].authority, actions[0].kind)
        self.events[event_id] = event
        for action in actions:
            self._put(event, action)

    def _put(self, event: Event, action: ActionFacts) -> None:
        fresh_keys, fresh_bases = action.keys - event.keys, action.bases - event.bases
        named = bool(event.keys)
        event.take(action)
        old = event.weeks
        new = weeks(event.first, event.last) if action.date_from is not None or not old else old
        block = _block(event.authority, event.kind)
        self._targets.update(block, event.id, event.keys, fresh_keys, old, new)
        self._bases.update(block, event.id, event.bases, fresh_bases, old, new)
        if not event.keys:
            self._bare_bases.update(block, event.id, event.bases, fresh_bases, old, new)
        elif not named:  # its first target: it no longer joins by legal basis alone
            self._bare_bases.remove(block, event.id, event.bases, old)
        event.weeks = new
        self._by_doc[action.document_id].add(event.id)
        self.touched.add(event.id)

    def _new(self, action: ActionFacts) -> Event:
        event = Event(self._next, action.authority, action.kind)
        self._next -= 1
        self.events[event.id] = event
        return event

    def add(self, action: ActionFacts) -> int:
        """Place an action: into the event it joins best (merging others it bridges), or a new one."""
        scored = sorted(
            ((joins(action, self.events[eid]), len(action.keys & self.events[eid].keys), eid)
             for eid in self._candidates(action)),
            key=lambda item: (-item[0], -item[1], _age(item[2])),
        )
        scored = [item for item in scored if item[0] > 0]
        event = self.events[scored[0][2]] if scored else self._company(action) or self._new(action)
        self._put(event, action)
        for strength, _overlap, other in scored[1:]:
            if strength == 2 and other in self.events and _fits_together(event, self.events[other]):
                event = self._absorb(event, self.events[other])
        self._sweep(event, action.document_id)
        return self.resolve(event.id)

    def resolve(self, event_id: int) -> int:
        """The event an id stands for now (itself, or the event it was merged into, at the end of the chain)."""
        target = event_id
        while target in self.merged:
            target = self.merged[target]
        while event_id != target:  # shorten the chain for the next time
            following = self.merged[event_id]
            self.merged[event_id] = target
            event_id = following
        return target

    def _candidates(self, action: ActionFacts) -> set[int]:
        """The events `joins` can accept: sharing a target key, or a legal basis where one side names no
        targets, and posted in the weeks around the action's dates (in any week if it is undated)."""
        block = _block(action.authority, action.kind)
        weeks_ = window(action.date_from, action.date_to, WINDOW_DAYS)
        found = self._targets.find(block, action.keys, weeks_)
        return found | (self._bare_bases if action.keys else self._bases).find(block, action.bases, weeks_)

    def _company(self, action: ActionFacts, exclude: int | None = None) -> Event | None:
        """For a bare action: the one best event of a document that shares an event with its document."""
        if not action.bare:
            return None
        linked = self._linked(action.document_id)
        options = {eid for doc in linked for eid in self._by_doc.get(doc, ())} - {exclude}
        scored = sorted(
            ((_company_score(action, self.events[eid]), eid) for eid in options
             if eid in self.events and joins_bare(action, self.events[eid])),
            reverse=True,
        )
        if not scored or scored[0][0] <= 0 or (len(scored) > 1 and scored[1][0] == scored[0][0]):
            return None  # none, or two equally good: better apart than wrongly merged
        return self.events[scored[0][1]]

    def _linked(self, document_id: str) -> set[str]:
        """Documents that share an event with `document_id`."""
        linked = {doc for eid in self._by_doc.get(document_id, ()) for doc in self.events[eid].docs}
        linked.discard(document_id)
        return linked

    def _sweep(self, event: Event, document_id: str) -> None:
        """A new link or a new event may give a home to bare single-document events that were alone."""
        for doc in event.docs | self._linked(document_id):
            for eid in list(self._by_doc.get(doc, ())):
                lone = self.events.get(eid)
                if lone is None or lone.id == event.id or not lone.bare or len(lone.docs) != 1:
                    continue
                home = self._company(lone.actions[0], exclude=lone.id) if len(lone.actions) == 1 else None
                if home is not None and _fits_together(home, lone):
                    self._absorb(home, lone)

    def _absorb(self, into: Event, other: Event) -> Event:
        """Merge two events; the older one (a stored id before a new one) survives and is returned."""
        if _age(other.id) < _age(into.id):
            into, other = other, into
        del self.events[other.id]
        block = _block(other.authority, other.kind)
        self._targets.remove(block, other.id, other.keys, other.weeks)
        self._bases.remove(block, other.id, other.bases, other.weeks)
        self._bare_bases.remove(block, other.id, other.bases, other.weeks)
        for doc in other.docs:
            self._by_doc[doc].discard(other.id)
        for action in other.actions:
            self._put(into, action)
        self.merged[other.id] = into.id  # `resolve` follows the chain of merges
        self.touched.discard(other.id)
        return into


def _age(event_id: int) -> tuple[int, int]:
    """Sort key, oldest first: stored events by id, then new ones (negative ids) in creation order."""
    return (0, event_id) if event_id > 0 else (1, -event_id)


def joins_bare(action: ActionFacts, event: Event) -> bool:
    """A bare action can join `event`: same authority, kind and issuer, a new document, dates in the window."""
    return (same_authority(action.authority, action.kind, _ids(action), event) and action.document_id not in event.docs
            and _dates_fit(action.date_from, action.date_to, event))
