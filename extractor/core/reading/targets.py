"""Names in a target's place made into targets: short forms resolved, repeats removed, type and role read.

A release names a target in full once and then by a short form: a surname ("Zakir and
Tuniyaz are designated"), an acronym it defined ("the Directorate of Defense Industries
(DDI)"), an alias in parentheses ("Erken Tuniyaz (Tuniyaz)"). `resolve_targets` maps each short
form to the full name the text prints, keeps the short forms as aliases, and lists each
target once. The entity type comes from the name's last word ("... Bank" is a company,
"... Bureau" a government body) and the role from the apposition the text prints next to
the name ("Chen Mingguo, director of the Xinjiang Public Security Bureau").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from ..grounding import values
from ..grounding.candidates import COMPANY_SUFFIXES, TITLES, name_runs, name_spans, split_sentences
from .actors import country_code
from .names import COMPANY_WORDS, GOVERNMENT_WORDS, ORGANISATION_WORDS, NameAt, target_name

MAX_TARGETS = 60
_ROLE_AFTER = re.compile(r",\s+(?:the\s+|a\s+|an\s+)?((?:[a-z][\w’'-]*\s+){0,3}?(?:former\s+|acting\s+|deputy\s+)?"
                         r"[\w’'-]+(?:\s+(?:of|for|and|the|[A-Z][\w’'.-]*|\([A-Z]+\))){0,12})(?=,|;|\.|\s+(?:and|who|"
                         r"were|was|is|are|has)\b|$)")


@dataclass
class TargetDraft:
    """A target as the text names it."""

    name: str
    entity_type: str
    aliases: list[str] = field(default_factory=list)
    role: str | None = None
    country: str | None = None


def resolve_targets(names: list[NameAt], text: str) -> list[TargetDraft]:
    """`names` with short forms replaced by the full names the text prints, each target once."""
    full = _full_names(text)
    targets: dict[str, TargetDraft] = {}
    aliases_of: dict[str, str] = {}
    for found in names:
        name = found.name
        longer = full.get(name)
        short = None
        if longer is not None and longer != name:
            short, name = name, longer
        key = name.casefold()
        if key in aliases_of:
            key = aliases_of[key]
        target = targets.get(key)
        if target is None:
            if len(targets) >= MAX_TARGETS:
                continue
            target = targets[key] = TargetDraft(name, entity_type(name), role=role_of(name, text),
                                                country=country_of(name, text))
        for alias in (short, *found.aliases):
            if alias and alias.casefold() != target.name.casefold() and alias.casefold() not in {
                    a.casefold() for a in target.aliases}:
                target.aliases.append(alias)
                aliases_of[alias.casefold()] = key
    # A target that is only another one's alias ("Tuniyaz" beside "Erken Tuniyaz") goes.
    return [t for k, t in targets.items() if k not in aliases_of or aliases_of[k] == k]


@lru_cache(maxsize=8)
def _full_names(text: str) -> dict[str, str]:
    """Short form → full name: defined acronyms and parenthesised aliases, and surnames of multi-word names."""
    full: dict[str, str] = {}
    for match in re.finditer(r"([A-Z][^()\n]{2,120}?)\s+\(\s*([A-Z][\w.’'-]{1,30}(?:\s[A-Z][\w.’'-]*){0,2})\)", text):
        head, short = re.sub(r"(?:’s|'s)$", "", match.group(1)), match.group(2)
        runs = list(name_runs(head))
        if not runs:
            continue
        start, end = runs[-1]
        name = target_name(head[start:end])
        if name and end == len(head.rstrip()) and name != short:
            full.setdefault(short, name)
    # A family name first ("Wang Junzheng") or last ("Carrie Lam"): either end of a multi-word name.
    spans = {span for sentence in split_sentences(text) for span in name_spans(sentence)}
    for index in (-1, 0):
        surnames: dict[str, set[str]] = {}
        for span in spans:
            words = span.split()
            if 2 <= len(words) <= 4 and all(w[:1].isupper() for w in words) and not any(
                    w.lower() in TITLES for w in words):
                surnames.setdefault(words[index], set()).add(span)
        for surname, spans in surnames.items():
            # Only a name every longer name agrees on: "Lam" of "Carrie Lam", not "Kim" of ten Kims.
            longest = max(spans, key=len)
            agree = all(longest.endswith(s) if index == -1 else longest.startswith(s) for s in spans)
            if agree and surname not in full:
                full[surname] = longest
    return full


def entity_type(name: str) -> str:
    """person, company, government_body or organization, by the words of the name."""
    words = [w.lower().strip(".,()’'") for w in name.split()]
    if any(w in COMPANY_SUFFIXES or w in COMPANY_WORDS for w in words):
        return "company"
    if any(w in GOVERNMENT_WORDS for w in words):
        return "government_body"
    if any(w in ORGANISATION_WORDS for w in words):
        return "organization"
    if (2 <= len(words) <= 5 and not name.isupper()) or re.fullmatch(r"[A-Z][A-Z’'-]+(?: [A-Z][A-Z’'-]+){1,3}", name):
        return "person"
    return "other"


def role_of(name: str, text: str) -> str | None:
    """The apposition printed after the name's first mention, when it reads like a position."""
    for match in re.finditer(re.escape(name), text):
        role = _ROLE_AFTER.match(text, match.end())
        if role:
            value = role.group(1).strip()
            if any(w.lower().strip(",") in TITLES for w in value.split()) and len(value.split()) <= 14:
                return value
    return None


def country_of(name: str, text: str) -> str | None:
    """A country the text puts right before the name: "China's Wang Junzheng", "Bulgarian oligarch X"."""
    match = re.search(r"([A-Z][\w.]+(?:\s[A-Z][\w.]+)?)(?:’s|'s)?\s+(?:[a-z][\w-]*\s+){0,2}" + re.escape(name), text)
    if match:
        word = match.group(1)
        if values.is_place(word) or country_code(word):
            return values.place_code(word)
    return None
