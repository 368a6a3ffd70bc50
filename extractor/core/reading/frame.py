"""A document read into draft sanctions actions, by its sentences alone (no model).

`read(document)` walks the sentences in order. A sentence that reports an action (`cues`)
adds to the action of each jurisdiction acting in it (`actors`): its kind, measures,
evidence, date, legal bases and the names it puts in a target's place (`names`); a bulleted
list introduced by such a sentence adds its items as targets. Sentences that name no actor
("Zakir and Tuniyaz are designated ...") belong to the document's main actor: the one its
sentences name most, else the publisher's jurisdiction. Jurisdictions the text says acted
together ("in coordination with Australia", "complement actions taken today by the EU")
get actions of their own, and each lists the others in `coordinated_with`.

Everything a draft holds is copied from the text or is a code or date the text states, and
nothing is repeated. The embedded strategy (`calls/guided.py`) asks the model about it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..documents import Document
from ..grounding import values
from ..grounding.candidates import legal_bases, name_runs, reasons_of, split_sentences
from . import cues
from .actors import Actor, actors_in, leading_group
from .names import NameAt, list_item_name, names_in_target_position, target_name
from .targets import TargetDraft, resolve_targets

MAX_EVIDENCE = 2
MAX_LEGAL = 4
MAX_REASONS = 2
MAX_MENTIONS = 20
_COORDINATION = re.compile(
    r"\b(?:in coordination with|in partnership with|together with|jointly with|alongside|in concert with|"
    r"in solidarity with|joined(?: with)?|complement(?:s|ing)? actions? (?:\w+\s+){0,4}by|along with)\s+",
    re.IGNORECASE,
)
# "China sanctioned over human rights abuses": a headline's bare participle is passive, its subject the target.
_PASSIVE_HEADLINE = re.compile(r"\b(?:sanctioned|designated|blocked|banned)\s+(?:over|for|by|in|after|amid)\b",
                               re.IGNORECASE)
_PARAGRAPHS = re.compile(r"\n\s*\n")
_SPEAKER = re.compile(r"\s*,?\s*(?:said|says|told|added|wrote|stated)\b")
_SAID = re.compile(r"\b(?:said|says|announced|stated|wrote|added)\b", re.IGNORECASE)


@dataclass
class DraftAction:
    """One action as the text states it: everything but what the model is asked."""

    authority: str
    issuer: str | None
    action: str
    is_countermeasure: bool
    measures: list[str] = field(default_factory=list)
    targets: list[TargetDraft] = field(default_factory=list)
    names: list[NameAt] = field(default_factory=list)
    legal_basis: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    date: str | None = None
    coordinated_with: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    weight: int = 0  # sentences that report it
    body: str | None = None  # the acting body, when the text names one


@dataclass(frozen=True)
class Mention:
    """A name a reporting sentence prints outside a target's place: perhaps a target, perhaps not."""

    name: str
    sentence: str


@dataclass
class Reading:
    """The drafts of a document, the sentences that report actions, and names left to ask about."""

    actions: list[DraftAction]
    reporting: list[str]
    mentions: list[Mention] = field(default_factory=list)

    @property
    def is_sanctions_news(self) -> bool:
        """Whether any sentence reports an action that has an authority."""
        return bool(self.actions)


def read(document: Document) -> Reading:
    """Draft actions of `document` from its sentences (see the module docstring)."""
    published = document.published
    lines = [(number, line) for number, paragraph in enumerate(_PARAGRAPHS.split(document.text))
             for line in split_sentences(paragraph)]
    events: list[tuple[str, list[Actor], list[str], list[NameAt]]] = []
    counts: dict[str, int] = {}
    intro: tuple[int, list[Actor]] | None = None  # the last paragraph that reported an action, and who acted
    stated: list[str] = []  # measures stated apart from the sentences that report actions
    for index, (paragraph, line) in enumerate(lines):
        item = list_item_name(line)
        if item is not None and intro is not None:
            # A list after a paragraph that reports designations: its items are the targets.
            events.append((line, intro[1], [], [item]))
            intro = (paragraph, intro[1])  # the item's own further sentences do not end the list
            continue
        headline = _headline(line, index)
        if not headline and cues.states_measures(line) and not _reports(line, published):
            stated.extend(cues.measures_in(line))  # "They are subject to an asset freeze": the main action's
        if not _reports(line, published) or (headline and _PASSIVE_HEADLINE.search(line)):
            if intro is not None and paragraph != intro[0]:
                intro = None
            continue
        acting, coordinated = _actors(line)
        for actor in acting:
            counts[actor.code] = counts.get(actor.code, 0) + 1
        # A headline's capitals are no names: it adds its actors, not targets.
        events.append((line, acting, [a.code for a in coordinated], [] if headline else names_in_target_position(line)))
        for actor in coordinated:
            events.append((line, [actor], [a.code for a in acting], []))
        intro = (paragraph, acting)
    main = _main_actor(counts, document)
    reporting = [line for line, *_ in events]
    if main is None:
        return Reading([], reporting)
    drafts: list[DraftAction] = []
    for line, acting, partners, names in events:
        kind, counter = cues.kind_of(line), bool(cues.COUNTER.search(line))
        for actor in acting or [main]:
            _add(_draft_for(drafts, actor, kind, counter), line, names, partners, published)
    actions = sorted(drafts, key=lambda d: (d.authority != main.code, -d.weight))
    for measure in stated if actions else []:
        if measure not in actions[0].measures:
            actions[0].measures.append(measure)
    text = document.text
    for draft in actions:
        draft.targets = resolve_targets(draft.names, text)
        draft.coordinated_with = [c for c in draft.coordinated_with if c != draft.authority]
    headlines = {line for index, (_, line) in enumerate(lines) if _headline(line, index)}
    return Reading(actions, reporting, _mentions(actions, reporting, headlines))


def _draft_for(drafts: list[DraftAction], actor: Actor, kind: str, counter: bool) -> DraftAction:
    """The action an actor's sentence adds to: one per jurisdiction, acting body, kind and countermeasure.

    A sentence that names no body ("the United States imposed") adds to that jurisdiction's first action;
    a first body named makes that action its own, a second body gets an action of its own.
    """
    same = [d for d in drafts if d.authority == actor.code and d.action == kind and d.is_countermeasure == counter]
    if actor.body is None and same:
        return same[0]
    for draft in same:
        if draft.body == actor.body:
            return draft
    for draft in same:
        if draft.body is None:
            draft.body, draft.issuer = actor.body, actor.issuer
            return draft
    draft = DraftAction(actor.code, actor.issuer, kind, counter, body=actor.body)
    drafts.append(draft)
    return draft


def _mentions(actions: list[DraftAction], reporting: list[str], headlines: set[str]) -> list[Mention]:
    """Names of reporting sentences that no draft holds yet (nor as an alias), each once."""
    held = {n.casefold() for a in actions for t in a.targets for n in (t.name, *t.aliases)}
    found: dict[str, Mention] = {}
    for line in dict.fromkeys(reporting):
        if list_item_name(line) is not None or line in headlines:
            continue
        for start, end in name_runs(line):
            if _SPEAKER.match(line, end) or " and " in line[start:end]:
                continue  # a person quoted, or a run of several names
            name = target_name(line[start:end])
            if name and name.casefold() not in held and name.casefold() not in found and len(found) < MAX_MENTIONS:
                found[name.casefold()] = Mention(name, line)
    return list(found.values())


def _reports(line: str, published: str | None) -> bool:
    if not cues.reports_action(line):
        return False
    # A sentence dated before the publication date ("On July 9, 2020, OFAC designated") is history.
    if published and not cues.NEWS.search(line) and not cues.PRESENT.search(line):
        stated = values.dates_in(line, None)
        if stated and all(d < published[:len(d)] for d in stated):
            return False
    return True


def _actors(line: str) -> tuple[list[Actor], list[Actor]]:
    """Who acts in a reporting sentence, and who the sentence says acted with them."""
    passive = cues.PASSIVE.search(line)
    verb = cues.ACTION.search(line)
    coordination = _COORDINATION.search(line)
    partners = leading_group(line[coordination.end():], actors_in(line[coordination.end():])) if coordination else []
    end = coordination.start() if coordination else len(line)
    acting: list[Actor] = []
    if passive is not None and (verb is None or passive.start() <= verb.start()):
        by = re.match(r"\s+by\s+", line[passive.end():end])
        if by:  # "were designated by the European Union"
            zone = line[passive.end() + by.end():end]
            acting = leading_group(zone, actors_in(zone))
    elif verb is not None:
        zone = line[:min(verb.start(), end)]
        acting = leading_group(zone, actors_in(zone))
    said = _SAID.search(line)
    if said:  # "..., the Department of Treasury said": the body nearest the verb
        zone = line[max(line.rfind(",", 0, said.start()), said.start() - 60, 0):said.start()]
        speaker = actors_in(zone)[-1:]
        if not acting:
            acting = speaker
        elif speaker and speaker[0].body:  # "The UK has sanctioned ..., the Foreign Office announced"
            acting = [speaker[0] if a.code == speaker[0].code and a.body is None else a for a in acting]
    partner_codes = {a.code for a in partners}
    return [a for a in acting if a.code not in partner_codes], partners


def _headline(line: str, number: int) -> bool:
    """A title or heading: the first line without a full stop, or a line in title case."""
    if line.rstrip().endswith((".", "”", '"', ";", ":")) or len(line.split()) > 25:
        return False
    words = [w for w in line.split() if len(w) > 3]
    return number == 0 or (len(words) >= 3 and sum(w[:1].isupper() for w in words) >= 0.7 * len(words))


def _main_actor(counts: dict[str, int], document: Document) -> Actor | None:
    if counts:
        code = max(counts, key=lambda c: counts[c])
        return Actor(code, None, 0, 0)
    for source in (document.publisher, document.title):
        for actor in actors_in(source or ""):
            return actor
    return None


def _add(draft: DraftAction, line: str, names: list[NameAt], partners: list[str], published: str | None) -> None:
    draft.weight += 1
    for measure in cues.measures_in(line):
        if measure not in draft.measures:
            draft.measures.append(measure)
    if len(draft.evidence) < MAX_EVIDENCE and 20 <= len(line) <= 600 and line not in draft.evidence:
        draft.evidence.append(line)
    for name in names:
        if name.name.casefold() not in {n.name.casefold() for n in draft.names}:
            draft.names.append(name)
    for basis in legal_bases(line):
        if len(draft.legal_basis) < MAX_LEGAL and basis not in draft.legal_basis:
            draft.legal_basis.append(basis)
    if len(draft.reasons) < MAX_REASONS:
        for reason in list(reasons_of(line))[:1]:
            if reason not in draft.reasons:
                draft.reasons.append(reason)
    for code in partners:
        if code not in draft.coordinated_with:
            draft.coordinated_with.append(code)
    if draft.date is None:
        stated = [d for d in values.dates_in(line, published) if len(d) == 10]
        if cues.NEWS.search(line) and published:
            draft.date = published
        elif stated:
            draft.date = stated[0]

