"""Sanctions programme ids for legal bases as written ("E.O. 14024" → OFAC's `RUSSIA-EO14024`).

The table is `data/ofac_programs.yaml`, shipped in the package with its source named. A legal
basis the table does not know keeps no id: callers keep the text as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from extractor.core.errors import ConfigError

# "E.O. 14024", "EO 14024", "Executive Order 14024", "Executive Order (E.O.) 14024", "E.O. No. 14024".
_ORDER_RE = re.compile(
    r"\b(?:E\.?\s?O\.?s?|Executive\s+Orders?)\s*(?:\(E\.?O\.?\)\s*)?(?:No\.?\s*)?(\d{5})\b", re.IGNORECASE
)
# Further numbers of a list: "E.O.s 13722 and 13810", "Executive Orders 13660, 13661".
_MORE_ORDERS_RE = re.compile(r"^(?:\s*(?:,|and|or|&)\s*(\d{5})\b)+", re.IGNORECASE)
_NON_WORD = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class ProgramTable:
    """Programme ids by executive-order number and by statute name, with the table's source."""

    source: str
    authority: str
    by_order: dict[int, str]
    by_name: tuple[tuple[str, str], ...]  # (normalised name, id), longest name first

    def lookup(self, legal_basis: str) -> list[str]:
        """The programme ids a legal basis names, in order of appearance; empty when unknown."""
        found: list[str] = []
        for number in order_numbers(legal_basis):
            program = self.by_order.get(number)
            if program and program not in found:
                found.append(program)
        text = f" {_squash(legal_basis)} "
        for name, program in self.by_name:
            if f" {name} " in text and program not in found:
                found.append(program)
        return found


def order_numbers(text: str) -> list[int]:
    """Executive-order numbers a legal basis names ("E.O.s 13722 and 13810" gives both)."""
    numbers: list[int] = []
    for match in _ORDER_RE.finditer(text):
        numbers.append(int(match.group(1)))
        tail = _MORE_ORDERS_RE.match(text[match.end():])
        if tail:
            numbers.extend(int(n) for n in re.findall(r"\d{5}", tail.group(0)))
    return numbers


def _squash(text: str) -> str:
    return _NON_WORD.sub(" ", text.lower()).strip()


@cache
def program_table() -> ProgramTable:
    """The shipped OFAC programme table (read once)."""
    raw = resources.files("extractor.export").joinpath("data/ofac_programs.yaml").read_text(encoding="utf-8")
    return parse_table(yaml.safe_load(raw))


def parse_table(data: Any) -> ProgramTable:
    """Build a `ProgramTable` from its YAML form, checking every row."""
    if not isinstance(data, dict) or not isinstance(data.get("programs"), list) or not data.get("source"):
        raise ConfigError("programme table: needs 'source' and a 'programs' list")
    by_order: dict[int, str] = {}
    by_name: dict[str, str] = {}
    for row in data["programs"]:
        program = row.get("id") if isinstance(row, dict) else None
        if not isinstance(program, str) or not program:
            raise ConfigError(f"programme table: row without an id: {row!r}")
        for number in row.get("orders", []):
            if number in by_order:
                raise ConfigError(f"programme table: E.O. {number} maps to both {by_order[number]} and {program}")
            by_order[int(number)] = program
        for name in row.get("names", []):
            by_name[_squash(name)] = program
    names = tuple(sorted(by_name.items(), key=lambda item: -len(item[0])))
    return ProgramTable(str(data["source"]).strip(), str(data.get("authority", "")), by_order, names)


def program_ids(legal_basis: list[str], authority: str | None = None) -> list[str]:
    """Programme ids for a list of legal bases (only for the table's authority when one is given)."""
    table = program_table()
    if authority is not None and table.authority and authority != table.authority:
        return []
    found: list[str] = []
    for basis in legal_basis:
        for program in table.lookup(basis):
            if program not in found:
                found.append(program)
    return found
