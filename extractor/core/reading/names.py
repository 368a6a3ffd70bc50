"""Target names where the text puts them: subjects of "is designated", objects of "sanctioned", list items.

`names_in_target_position(sentence)` returns the names a sanctions sentence puts in a
target's place, each as printed in the text:

- the subject of a passive action verb: "Chen Mingguo, director of ..., **were sanctioned**";
- the object of an active one, up to where the object ends (a reason, a legal basis, a
  relative clause): "OFAC **designated** Alexander Ermakov (Ermakov), a cyber actor who ...";
- the items of a list after a colon: "the revocation of ... designations: A, B, and C".

`list_item_name(line)` reads a bulleted line ("· Kim Tong Chol is a ... representative",
"- Benazir Ahmed, former Director General, RAB") and SDN-style entries ("NAME (a.k.a. ...)").
A name is a capitalised-word run of `grounding.candidates`, without leading titles; runs that
are places, demonyms, sanctioning bodies, laws, dates or a preposition's object ("director *of
the Xinjiang Public Security Bureau*") are not target names.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from ..grounding import values
from ..grounding.candidates import COMPANY_SUFFIXES, CONNECTORS, LEGAL_HEADS, OPENERS, TITLES, name_runs
from . import cues
from .actors import BODIES, country_code

_BULLET = re.compile(r"^\s*(?:[-•·*▪◦‣–]|\(?\d{1,3}[.)]|\(?[a-z][.)])\s+")
_SDN_ENTRY = re.compile(r"\((?:a\.k\.a\.|f\.k\.a\.|aka|also known as)|\b(?:DOB|POB|nationality|Passport)\b", re.I)
# A run right after one of these is the object of a preposition: part of a role or a place, not a target.
_PREPOSITION = re.compile(r"\b(?:of|in|at|from|with|by|to|into|within|near|under|for|on|via|than|against|"
                          r"between|like|as)\s+(?:the\s+)?$", re.IGNORECASE)
# Parts of a list: commas and semicolons, not the comma of "Co., Ltd." or "Holdings, Inc.".
_SEGMENT_BREAK = re.compile(r"([,;]\s*(?!(?:Ltd|LTD|Inc|INC|LLC|Co|CO|Corp|S\.A|PLC|plc|Limited|GmbH|AG|JSC)\b)|"
                            r"\s+--\s+|\s+[–—]\s+)")
_CLAUSE_JOINT = re.compile(r",?\s+(?:while|whereas|but|and)\s+(?=[A-Z])")
_POSSESSOR = re.compile(r"(?:’s|'s|’)\s")
_ITEM_END = re.compile(r",|;|\(|\s(?:is|was|are|were|has|had|served|serves)\s|$")
_QUOTED = re.compile(r"“[^”]{0,400}”|\"[^\"]{0,400}\"")
_INTRODUCTORY = {"as", "in", "on", "under", "during", "after", "before", "since", "with", "today", "additionally",
                 "also", "however", "separately", "further", "furthermore", "moreover", "meanwhile", "yesterday",
                 "now", "through", "by", "according", "pursuant", "for", "while", "when", "although", "from"}
_SKIP = {"now", "here", "there", "click", "view", "january", "february", "march", "april", "may", "june", "july",
         "august", "september", "october", "november", "december", "monday", "tuesday", "wednesday", "thursday",
         "friday", "saturday", "sunday", "today", "yesterday"}
# Words that make a run something other than a target: laws and programmes, lists, offices that sanction.
_NOT_TARGET_WORDS = {"executive", "order", "e.o", "act", "regulations", "regulation", "list", "sdn", "program",
                     "programme", "sanctions", "section", "u.s.c", "c.f.r", "resolution", "resolutions", "unscr",
                     "unscrs", "secretary", "spokesperson", "spokesman", "press", "statement", "treasury", "ofac",
                     "department", "administration", "president", "minister", "ministry", "day",
                     "implications", "identifying", "information", "view", "click", "read", "more", "designations",
                     "designation", "updates", "related", "persons", "nationals"}
# The words that end an organisation's name, by the entity type they give (`targets.entity_type`).
COMPANY_WORDS = {"bank", "company", "corporation", "corp", "group", "holding", "holdings", "trading", "industries",
                 "industry", "airlines", "airline", "air", "airways", "shipping", "studio", "studios", "enterprise",
                 "enterprises", "partners", "fund", "technology", "technologies", "energy", "oil", "gas", "petroleum",
                 "investment", "investments", "capital", "finance", "logistics", "marine", "maritime", "factory",
                 "works", "club", "fc", "f.c", "s.a"}
GOVERNMENT_WORDS = {"ministry", "department", "bureau", "office", "police", "army", "navy", "force", "forces",
                    "battalion", "brigade", "brigades", "directorate", "agency", "committee", "commission", "court",
                    "government", "guard", "guards", "service", "services", "prosecutors", "prosecutor",
                    "administration", "authority", "corps", "interior", "defense", "defence", "security",
                    "intelligence", "militia", "regiment", "unit", "division"}
ORGANISATION_WORDS = {"party", "organization", "organisation", "institute", "university", "foundation",
                      "association", "union", "front", "movement", "network", "church", "council", "league",
                      "brotherhood", "center", "centre", "society", "academy", "college", "school", "federation"}
_ORGANISATION_HEADS = COMPANY_WORDS | GOVERNMENT_WORDS | ORGANISATION_WORDS | COMPANY_SUFFIXES
_ALIAS_AFTER = re.compile(r"\s*\((?:also known as|a\.k\.a\.|aka|f\.k\.a\.)?\s*([^()]{2,60}?)\)")
_ALIAS_PHRASE = re.compile(r"\s*,?\s*\(?(?:also known as|a\.k\.a\.|aka)\s+([^,;()]{2,60})", re.IGNORECASE)


@dataclass(frozen=True)
class NameAt:
    """A name found in a target's place, with the aliases printed right after it."""

    name: str
    aliases: tuple[str, ...]
    start: int  # offset in its sentence or line


def names_in_target_position(sentence: str) -> list[NameAt]:
    """Names the sentence puts where a sanctions target goes (subject of a passive verb, object of an active one)."""
    text = _QUOTED.sub(lambda m: " " * len(m.group()), sentence)  # quoted titles and speech name no target
    passives = [(m.start(), m.end()) for m in cues.PASSIVE.finditer(text)]
    zones: list[tuple[int, int, bool]] = []
    previous = 0
    for start, end in passives:
        # The subject starts after the previous clause: "X is designated ..., while Y is being designated".
        bound = max(text.rfind(";", 0, start) + 1, text.rfind(":", 0, start) + 1, previous)
        joints = list(_CLAUSE_JOINT.finditer(text, bound, start))
        zones.append((joints[-1].end() if joints and previous else bound, start, False))
        previous = end
    for match in cues.OBJECT_VERB.finditer(text):
        if any(s <= match.start() < e for s, e in passives):
            continue  # "is designated": a passive, whose target is its subject
        start = match.end()
        colon = text.find(":", start)
        if colon >= 0:  # "... designations under the Act: A, B, and C"
            zones.append((colon + 1, len(text), True))
            continue
        stop = cues.OBJECT_END.search(text, start - 1)
        zones.append((start, stop.start() if stop else len(text), False))
    found: list[NameAt] = []
    for start, end, listed in zones:
        for seg_start, seg_end in _segments(text, start, end):
            if listed:
                found.extend(_list_item(text, seg_start, seg_end))
            else:
                found.extend(_names_between(text, seg_start, seg_end, split_and=", and " not in text[start:end]))
    return _unique(found)


def list_item_name(line: str) -> NameAt | None:
    """The name a bulleted or SDN-style line opens with, or None when the line is not such an item."""
    bullet = _BULLET.match(line)
    if not bullet and not _SDN_ENTRY.search(line):
        return None
    start = bullet.end() if bullet else 0
    # The item's name ends at its first comma, "is"/"was", semicolon or parenthesis.
    end_match = _ITEM_END.search(line, start)
    end = end_match.start() if end_match else len(line)
    names = _names_between(line, start, end, first_only=True, split_and=False)
    return names[0] if names else None


def _segments(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """The comma-separated parts of a zone that can hold a name: not appositions ("director of ..."),
    not introductory phrases ("As the head of Turkey's Ministry of Justice")."""
    position = start
    for piece in _SEGMENT_BREAK.split(text[start:end]):
        piece_start = position
        position += len(piece)
        stripped = piece.strip()
        if not stripped or re.fullmatch(r"[,;]|--|[–—]", stripped):
            continue
        words = re.sub(r"^(?:and|or)\s+", "", stripped).split()
        first = words[0] if words else ""
        lowered = first.lower().strip("“”\"'(")
        if lowered in _INTRODUCTORY:
            continue  # "As the head of ...", "In addition"
        if lowered in ("the", "a", "an") and len(words) > 1 and words[1].lower().strip(",") in TITLES:
            continue  # "the Secretary of the Party Committee of ..."
        offset = piece_start + (len(piece) - len(piece.lstrip()))
        yield offset, piece_start + len(piece.rstrip())


def _list_item(text: str, start: int, end: int) -> list[NameAt]:
    """One item of a list after a colon, whole: "Mujahidin Shura Council in the Environs of Jerusalem"."""
    item = re.sub(r"^(?:and|or)\s+", "", text[start:end].strip()).rstrip(" .;")
    if not item[:1].isupper() or len(item.split()) > 10:
        return []
    name = target_name(item)
    if name is None:
        return []
    at = text.find(name, start)
    return [NameAt(name, aliases_after(text, at + len(name)), at)]


def _names_between(text: str, start: int, end: int, *, first_only: bool = False,
                   split_and: bool = True) -> list[NameAt]:
    zone = text[start:end]
    found = []
    for run_start, run_end in _broken_runs(zone):
        absolute = start + run_start
        if _PREPOSITION.search(text[max(0, absolute - 16):absolute]):
            continue
        if _POSSESSOR.match(zone, run_end):
            continue  # "Haralampiev’s wife": the possessor is not the one named
        run = zone[run_start:run_end]
        for name, offset in _split_and(run, absolute, persons_only=not split_and):
            core = target_name(name)
            if core is None:
                continue
            core_start = offset + name.rfind(core)
            found.append(NameAt(core, aliases_after(text, core_start + len(core)), core_start))
        if first_only and found:
            break
    return found


def _broken_runs(zone: str) -> Iterator[tuple[int, int]]:
    """Name runs, broken where the text has a line break or a wide gap (a heading run into a sentence)."""
    for start, end in name_runs(zone):
        position = start
        for gap in re.finditer(r"\s*\n\s*|\s{3,}", zone[start:end]):
            yield position, start + gap.start()
            position = start + gap.end()
        yield position, end


def _split_and(run: str, offset: int, *, persons_only: bool = False) -> Iterator[tuple[str, int]]:
    """A run as names: "Canada and the United Kingdom" is two, "Production and Construction Corps" one.

    A run is split at "and" unless the words after it end like an organisation's name; in a list
    with a serial comma ("A, B, and C"), only where each part is a name of two or more words
    ("Veselka Haralampieva and Pavel Haralampiev", not "Basque Fatherland and Liberty").
    """
    parts = re.split(r"\s+and\s+", run)
    if persons_only and any(len(part.split()) < 2 for part in parts):
        parts = [run]
    if len(parts) == 1 or _looks_like_organisation(parts[-1]):
        yield run, offset
        return
    position = 0
    for part in parts:
        at = run.find(part, position)
        position = at + len(part)
        yield part, offset + at


def _looks_like_organisation(words: str) -> bool:
    last = words.split()[-1].lower() if words.split() else ""
    return last in _ORGANISATION_HEADS or last.rstrip(".") in _ORGANISATION_HEADS


def target_name(run: str) -> str | None:
    """A run as a target name: titles and openers taken off the front; None when it is no target's name."""
    words = run.split()
    if not words:
        return None
    # Drop leading openers, titles and the words of a title ("Minister of Justice Abdulhamit Gul"),
    # but not from an organisation's name ("Foreign Trade Bank", "Supreme People's Court").
    cut = 0
    if not _looks_like_organisation(run):
        for i, word in enumerate(words[:-1]):
            lowered = word.lower().rstrip(".,")
            if lowered in OPENERS or _is_title(lowered):
                cut = i + 1
            elif lowered in CONNECTORS and cut == i and i > 0:
                continue
            elif cut == i and i > 0 and words[i - 1].lower() in CONNECTORS and _after_title(words[:i]):
                cut = i + 1  # "Minister of Interior Suleyman Soylu": "Interior" belongs to the title
            else:
                break
    words = words[cut:]
    while words and (words[0].lower() in CONNECTORS or words[0].lower() in OPENERS or words[0].lower() in _SKIP):
        words = words[1:]
    if not words:
        return None
    name = _span_of(run, words)
    folded = [w.lower().rstrip(".,") for w in words]
    if len(name) < 2 or all(w in _SKIP or _is_title(w) or w in OPENERS for w in folded):
        return None
    if any(w in _NOT_TARGET_WORDS for w in folded) and not _looks_like_organisation(name):
        return None
    if LEGAL_HEADS.search(name) or name.lower() in BODIES or values.is_place(name) or country_code(name):
        return None
    if len(words) == 1 and (_demonym(name) or (name.lower().endswith("s") and name[1:].islower())):
        return None  # "Chinese", "Uyghurs": a people, not a target
    if all(_demonym(w) or _is_title(w.lower()) for w in words):
        return None
    return name


def _is_title(word: str) -> bool:
    """A title word, also inside a hyphenated title ("Commander-in-Chief")."""
    return word in TITLES or (any(part in TITLES for part in word.split("-")) and "-in-" in word)


def _after_title(words: list[str]) -> bool:
    return any(_is_title(w.lower()) for w in words)


def _span_of(run: str, words: list[str]) -> str:
    start = run.find(words[0])
    end = run.rfind(words[-1]) + len(words[-1])
    return run[start:end] if 0 <= start < end else " ".join(words)


def _demonym(word: str) -> bool:
    """A word rigour places but that is not a country's name ("Chinese", "North Korean", "Xinjiang")."""
    return values.is_place(word) and country_code(word) is None


def aliases_after(text: str, end: int) -> tuple[str, ...]:
    """The names printed right after a name: "(Tuniyaz)", "(also known as Envigado F.C.)", "a.k.a. ..."."""
    found = []
    for pattern in (_ALIAS_AFTER, _ALIAS_PHRASE):
        match = pattern.match(text, end)
        if match:
            alias = match.group(1).strip()
            if alias[:1].isupper() and not re.search(r"\d{4}|\bthe\b", alias) and len(alias.split()) <= 6:
                found.append(alias)
    return tuple(dict.fromkeys(found))


def _unique(found: list[NameAt]) -> list[NameAt]:
    seen: dict[str, NameAt] = {}
    for item in found:
        key = item.name.casefold()
        if key not in seen:
            seen[key] = item
    return list(seen.values())
