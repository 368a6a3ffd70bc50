"""Who acts in a sentence: the jurisdictions and sanctioning bodies a sentence names as its subject.

A country counts by its name ("Canada", "the United Kingdom", "the EU"), never by a demonym
("North Korean banks" are targets' nationality, not an actor) and never by a city or region.
Bodies that sanction for a jurisdiction but that rigour cannot place ("OFAC", "the State
Department", "HM Treasury") come from a small table of sanctioning bodies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from rigour.territories import lookup_territory

from ..grounding.candidates import name_runs

# Sanctioning bodies by the jurisdiction they act for; longest names are matched first.
BODIES: dict[str, str] = {
    "office of foreign assets control": "us", "ofac": "us", "department of the treasury": "us",
    "department of treasury": "us", "treasury department": "us", "treasury": "us", "department of state": "us",
    "state department": "us", "secretary of state": "us", "white house": "us", "biden administration": "us",
    "trump administration": "us", "obama administration": "us", "bureau of industry and security": "us",
    "department of commerce": "us", "commerce department": "us",
    "hm treasury": "gb", "office of financial sanctions implementation": "gb", "ofsi": "gb", "foreign office": "gb",
    "foreign, commonwealth and development office": "gb", "fcdo": "gb",
    "european commission": "eu", "european council": "eu", "council of the european union": "eu",
    "council of the eu": "eu", "security council": "un", "unsc": "un",
}
# Names of one body: its actions are one issuer's ("OFAC" and "the Treasury Department" are one).
_SAME_BODY = {
    "office of foreign assets control": "treasury", "ofac": "treasury", "department of the treasury": "treasury",
    "department of treasury": "treasury", "treasury department": "treasury", "department of state": "state",
    "state department": "state", "secretary of state": "state", "department of commerce": "commerce",
    "commerce department": "commerce", "bureau of industry and security": "commerce",
    "office of financial sanctions implementation": "ofsi",
}
_BODY = re.compile(r"(?<![\w’'])(?:" + "|".join(re.escape(b) for b in sorted(BODIES, key=len, reverse=True))
                   + r")(?![\w-])", re.IGNORECASE)
_AFTER_PREPOSITION = re.compile(r"\b(?:in|at|from|to|with|against|on|for|of|over|into|within|across|toward|towards|"
                                r"about|regarding|respect to)\s+(?:the\s+)?$", re.IGNORECASE)
# Capitalised function words of headings ("SYSTEM IN THE DPRK") that rigour would read as codes.
_WORDS_NOT_CODES = {"IN", "ON", "AT", "TO", "BY", "OR", "AN", "AS", "IS", "IT", "NO", "OF", "BE", "DO", "GO", "ME",
                    "MY", "SO", "UP", "WE", "HE", "AM", "ID", "IF", "THE", "AND", "FOR", "ARE", "CAN", "MAY"}
_INITIALISM = re.compile(r"^(?:[A-Z]\.){2,3}$|^[A-Z]{2,3}$")


@dataclass(frozen=True)
class Actor:
    """A jurisdiction code and, when the text names one, the body acting for it."""

    code: str
    issuer: str | None
    start: int  # where the sentence names it
    end: int
    body: str | None = None  # which body of the jurisdiction acts, when the text names one


def actors_in(zone: str) -> list[Actor]:
    """Jurisdictions a piece of a sentence names as actors, in text order, each once."""
    found: dict[str, Actor] = {}
    taken: list[tuple[int, int]] = []
    for match in _BODY.finditer(zone):
        code = BODIES[match.group().lower()]
        start, end = _widen(zone, match.start(), match.end())
        taken.append((start, end))
        if code not in found or found[code].issuer is None:
            key = match.group().lower()
            found[code] = Actor(code, zone[start:end], start, end, _SAME_BODY.get(key, key))
    for run_start, run_end in name_runs(zone):
        # The run, or its parts: "Canada and the U.K." names two countries.
        parts = [(run_start, run_end)]
        parts += [(run_start + m.start(), run_start + m.end())
                  for m in re.finditer(r"[^,]+?(?=\s+and\s+|,|$)|(?<=and\s)[^,]+", zone[run_start:run_end])]
        for start, end in parts:
            span = re.sub(r"^\s*(?:and\s+)?", "", zone[start:end]).strip()
            start = zone.find(span, start)
            if start < 0 or any(s <= start < e for s, e in taken):
                continue
            place = country_code(span)
            if not place or _AFTER_PREPOSITION.search(zone[:start]):
                continue  # "the situation in Hong Kong": a place, not the one acting
            taken.append((start, start + len(span)))
            if place not in found:
                found[place] = Actor(place, None, start, start + len(span))
    return sorted(found.values(), key=lambda actor: actor.start)


def leading_group(zone: str, actors: list[Actor]) -> list[Actor]:
    """The first actor a zone names and those listed with it ("The US, Canada, UK and the EU have ...")."""
    group = actors[:1]
    for actor in actors[1:]:
        between = zone[group[-1].end:actor.start]
        if not re.fullmatch(r"(?:\s|,|\band\b|\bthe\b|\bThe\b|&|’s|'s)*", between):
            break
        group.append(actor)
    return group


def _widen(zone: str, start: int, end: int) -> tuple[int, int]:
    """A body's mention with its "U.S."/"the" prefix and "(OFAC)"-style suffix, as the issuer is printed."""
    before = re.search(r"(?:(?:U\.S\.|US|UK|U\.K\.|EU|United States|European Union)\s+(?:Department of the\s+)?)?$",
                       zone[:start])
    if before and before.group():
        start = before.start()
    after = re.match(r"(?:’s|'s)\s+Office of Foreign Assets Control(?:\s+\(OFAC\))?|\s+\([A-Z]{2,6}\)", zone[end:])
    if after:
        end += after.end()
    return start, end


@lru_cache(maxsize=4096)
def country_code(span: str) -> str | None:
    """The code of a span that is a country's name ("Canada", "the U.K.", "EU"); None for demonyms and places."""
    bare = re.sub(r"^(?:the|The)\s+", "", span.strip())
    if not bare or not bare[:1].isupper() or bare in _WORDS_NOT_CODES:
        return None
    territory = lookup_territory(bare)
    if territory is None or "-" in territory.code or not (territory.is_jurisdiction or territory.code == "eu"):
        return None
    names = {territory.name.lower(), territory.full_name.lower(), re.sub(r"^the ", "", territory.in_sentence.lower())}
    names |= {part.lower() for part in re.findall(r"\(([^)]+)\)", territory.full_name)}
    if bare.lower() in names or _INITIALISM.match(bare):
        return territory.code
    return None
