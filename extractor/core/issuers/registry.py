"""The registry of sanctioning bodies: each printed issuer to one stable id.

The table is `data/issuers.yaml` (bodies with their printed names, acronyms, parent and kind;
one root per jurisdiction). `Registry.resolve("U.S. Department of the Treasury's Office of
Foreign Assets Control (OFAC)", "us")` gives the OFAC body; "OFAC" and "Treasury" give OFAC
and its parent, which `related` counts as the same issuer.

Resolution, in order of strength: the whole issuer equal to a body's name; a body's name
found inside it (the longest wins; a body found with its own parent keeps the more specific
one); an acronym as a capitalised word; a generic name ("Foreign Ministry", "President") as
the action's jurisdiction's body of that kind; a UN committee by its resolution number; and
last a country alone ("Canada", "the Japanese government", "日本") as that country's root.
The action's authority is tried first; other jurisdictions only when exactly one fits.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Any

import yaml
from rigour.territories import get_territory, lookup_territory
from rigour.text import ascii_text

from ..errors import ConfigError

_DOTTED = re.compile(r"\b(?:[A-Za-z]\.){2,}")
_WORD = re.compile(r"\w+")
_POSSESSIVE = re.compile(r"['’]s\b")
_STOP = frozenset({"the", "of", "for", "and", "s", "de", "du", "des", "la", "le"})
# Words around a country name that still mean its government as a whole.
_GOVERNMENT = frozenset({"government", "administration", "federal", "authorities", "gov", "govt", "state", "republic",
                         "national", "cabinet"})
_COMMITTEE = re.compile(r"\b(\d{3,4})\b")
# Strengths: an exact name beats any contained one; a contained name counts its words.
_EXACT, _ACRONYM, _KIND, _COUNTRY = 100.0, 1.5, 0.9, 0.5


@dataclass(frozen=True)
class Body:
    """A sanctioning body: stable id, canonical name, jurisdiction, parent body and kind."""

    id: str
    name: str
    jurisdiction: str
    parent: str | None = None
    kind: str | None = None


def _latin(text: str) -> bool:
    return all(ord(c) < 0x250 or not c.isalpha() for c in text)


def tokens(text: str) -> tuple[str, ...]:
    """Comparison words of a name: dotted acronyms joined, case, accents, "the"/"of" and possessives dropped."""
    text = _DOTTED.sub(lambda m: m.group(0).replace(".", ""), unicodedata.normalize("NFKC", text))
    text = _POSSESSIVE.sub("", text).casefold()
    words = (ascii_text(w) if _latin(w) else w for w in _WORD.findall(text))
    return tuple(w for w in words if w and w not in _STOP)


def _key(text: str) -> str:
    return " ".join(tokens(text))


@dataclass
class _Names:
    """What points at one body (or kind) within one jurisdiction."""

    exact: dict[str, str]                 # whole key → id
    phrases: list[tuple[str, str]]        # " key " → id, found inside
    scripts: list[tuple[str, str]]        # non-Latin name → id, found as a substring
    acronyms: list[tuple[re.Pattern[str], str]]


def _empty() -> _Names:
    return _Names({}, [], [], [])


def _add(names: _Names, target: str, spec: dict[str, Any]) -> None:
    for name in spec.get("names") or []:
        if _latin(name):
            names.exact.setdefault(_key(name), target)
            names.phrases.append((f" {_key(name)} ", target))
        else:
            names.scripts.append((unicodedata.normalize("NFKC", name).casefold(), target))
    for name in spec.get("exact") or []:
        names.exact.setdefault(_key(name), target)
    for acronym in spec.get("acronyms") or []:
        names.acronyms.append((re.compile(rf"(?<!\w){re.escape(acronym)}(?!\w)"), target))


class Registry:
    """The bodies of `data/issuers.yaml`, indexed for `resolve`."""

    def __init__(self, data: dict[str, Any]) -> None:
        if not isinstance(data, dict) or not isinstance(data.get("bodies"), list):
            raise ConfigError("issuer registry: needs a 'bodies' list")
        self.bodies: dict[str, Body] = {}
        self._names: dict[str, _Names] = {}
        self._kinds: dict[str, dict[str, Any]] = dict(data.get("kinds") or {})
        self._kind_names = _empty()
        for kind, spec in self._kinds.items():
            _add(self._kind_names, kind, spec)
        self._by_kind: dict[tuple[str, str], str] = {}
        for code, spec in (data.get("roots") or {}).items():
            self.bodies[code] = Body(code, spec["name"], code)
            _add(self._names.setdefault(code, _empty()), code, spec)
        for spec in data["bodies"]:
            body = Body(spec["id"], spec["name"], spec["jurisdiction"], spec.get("parent") or spec["jurisdiction"],
                        spec.get("kind"))
            if body.id in self.bodies:
                raise ConfigError(f"issuer registry: {body.id} is listed twice")
            if body.kind is not None:
                if body.kind not in self._kinds:
                    raise ConfigError(f"issuer registry: {body.id} has an unknown kind {body.kind!r}")
                self._by_kind[(body.jurisdiction, body.kind)] = body.id
            self.bodies[body.id] = body
            _add(self._names.setdefault(body.jurisdiction, _empty()), body.id, spec)
        for body in list(self.bodies.values()):
            if body.parent is not None and self.body(body.parent) is None:
                raise ConfigError(f"issuer registry: {body.id} has an unknown parent {body.parent!r}")

    # -- bodies ---------------------------------------------------------------------------

    def body(self, body_id: str) -> Body | None:
        """The body of an id: listed, or the root or kind body of any jurisdiction ("ua", "ua-mfa")."""
        found = self.bodies.get(body_id)
        if found is not None:
            return found
        code, _, rest = body_id.partition("-")
        root = self._root(code)
        if root is None or not rest:
            return root
        if rest in self._kinds:
            name = f"{self._kinds[rest]['name']} ({root.name.removeprefix('Government of ')})"
            return self._remember(Body(body_id, name, code, code, rest))
        if code == "un" and rest.startswith("sc-") and rest[3:].isdigit():
            name = f"Security Council Committee established pursuant to resolution {rest[3:]}"
            return self._remember(Body(body_id, name, "un", "un-sc"))
        return None

    def _remember(self, body: Body) -> Body:
        self.bodies.setdefault(body.id, body)
        return self.bodies[body.id]

    def _root(self, code: str) -> Body | None:
        if code in self.bodies:
            return self.bodies[code]
        territory = get_territory(code) if len(code) == 2 else None
        if territory is None:
            return None
        return self._remember(Body(code, f"Government of {territory.name}", code))

    def ancestors(self, body_id: str) -> list[str]:
        """The ids above a body, nearest first (bounded: the table has no cycles deeper than that)."""
        found: list[str] = []
        current = self.body(body_id)
        while current is not None and current.parent and current.parent not in found and len(found) < 16:
            found.append(current.parent)
            current = self.body(current.parent)
        return found

    def related(self, a: str, b: str) -> bool:
        """True when two ids are one body or one contains the other (OFAC and the Treasury)."""
        return a == b or a in self.ancestors(b) or b in self.ancestors(a)

    # -- resolution -----------------------------------------------------------------------

    def resolve(self, printed: str | None, authority: str | None = None) -> Body | None:
        """The body an issuer names, or None when the registry cannot tell."""
        if not printed or not printed.strip():
            return None
        if authority:
            found = self._candidates(printed, authority.lower())
            if found:
                return self.body(_best(self, found))
        everywhere: list[tuple[str, float, int]] = []
        for code in self._names:
            everywhere += self._candidates(printed, code, kinds=False)
        everywhere += self._country(printed, None)
        chosen = {self.body(i).jurisdiction for i, _, _ in everywhere if self.body(i) is not None}  # type: ignore[union-attr]
        return self.body(_best(self, everywhere)) if len(chosen) == 1 else None

    def _candidates(self, printed: str, code: str, *, kinds: bool = True) -> list[tuple[str, float, int]]:
        """(id, strength, position) of every body of jurisdiction `code` the issuer points at."""
        key = _key(printed)
        padded = f" {key} "
        folded = unicodedata.normalize("NFKC", printed).casefold()
        found: list[tuple[str, float, int]] = []
        names = self._names.get(code)
        if names is not None:
            if key in names.exact:
                found.append((names.exact[key], _EXACT, 0))
            for phrase, target in names.phrases:
                at = padded.find(phrase)
                if at >= 0:
                    found.append((target, float(phrase.count(" ") - 1), at))
            for text, target in names.scripts:
                at = folded.find(text)
                if at >= 0:
                    found.append((target, len(text) / 2, at))
            for pattern, target in names.acronyms:
                match = pattern.search(printed)
                if match:
                    found.append((target, _ACRONYM, match.start()))
        if kinds:
            found += self._kind(printed, key, code)
        if code == "un" and "committee" in key.split():
            number = _COMMITTEE.search(printed)
            if number:
                found.append((f"un-sc-{number.group(1)}", _EXACT / 2, number.start()))
        if not found:
            found += self._country(printed, code)
        return [item for item in found if self.body(item[0]) is not None]

    def _kind(self, printed: str, key: str, code: str) -> list[tuple[str, float, int]]:
        found = []
        names = self._kind_names
        hits = [(kind, at) for phrase, kind in names.phrases if (at := f" {key} ".find(phrase)) >= 0]
        hits += [(kind, m.start()) for pattern, kind in names.acronyms if (m := pattern.search(printed))]
        for kind, at in hits:
            found.append((self._by_kind.get((code, kind), f"{code}-{kind}"), _KIND, at))
        return found

    def _country(self, printed: str, code: str | None) -> list[tuple[str, float, int]]:
        """A country named alone (with "government" words at most) as its root body."""
        rest = " ".join(w for w in tokens(printed) if w not in _GOVERNMENT)
        territory = _territory(rest) if rest else None
        if territory is None or (code is not None and territory != code):
            return []
        return [(territory, _COUNTRY, 0)]


@lru_cache(maxsize=4096)
def _territory(text: str) -> str | None:
    territory = lookup_territory(text)
    if territory is None or len(territory.code) != 2:
        return None
    return territory.code


def _best(registry: Registry, found: list[tuple[str, float, int]]) -> str:
    """The most specific, strongest, earliest candidate: a body found with its parent keeps the body."""
    ids = {item[0] for item in found}
    above = {ancestor for body_id in ids for ancestor in registry.ancestors(body_id)}
    kept = [item for item in found if item[0] not in above] or found
    return min(kept, key=lambda item: (-item[1], item[2]))[0]


@cache
def registry() -> Registry:
    """The shipped registry (read once)."""
    raw = resources.files("extractor.core.issuers").joinpath("data/issuers.yaml").read_text(encoding="utf-8")
    return Registry(yaml.safe_load(raw))
