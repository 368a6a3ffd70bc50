"""Sanctions lists as FtM entities: OFAC's SDN CSV files (`sdn.csv` + `alt.csv`) or an FtM entity file.

OFAC's legacy CSV has no header: `ent_num, SDN_Name, SDN_Type, Program, Title, Call_Sign,
Vess_type, Tonnage, GRT, Vess_flag, Vess_owner, Remarks`; `-0-` is empty, several programmes
are joined as `PROG1] [PROG2`, and aliases, nationalities and identifiers sit in Remarks
("a.k.a. 'X'; nationality Russia; ..."). `alt.csv` (`ent_num, alt_num, alt_type, alt_name,
alt_remarks`) adds aliases. An FtM entity file (OpenSanctions' `entities.ftm.json`) has one
entity per line; its `Sanction` entities give each listed entity its programmes.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import orjson
from followthemoney import EntityProxy, model, registry
from followthemoney.exc import InvalidData
from rigour.territories import lookup_territory

from extractor.core.errors import ExtractorError

SDN_LIST = "OFAC SDN"
_SDN_COLUMNS = 12
_EMPTY = "-0-"
_SDN_SCHEMATA = {"individual": "Person", "vessel": "Vessel", "aircraft": "Airplane"}
# "a.k.a. 'X'" up to the quote that ends the item ("'; ", "'." at the end), so "O'NEIL" survives.
_ALIAS_RE = re.compile(r"\b([afn])\.k\.a\.\s+'(.+?)'(?=\s*(?:;|\.?\s*$))")
_COUNTRY_RE = re.compile(r"\b(nationality|citizen|Nationality of Registration)\s+([^;]+?)\s*(?:;|\.?\s*$)")
_IMO_RE = re.compile(r"\bIMO\s+(\d{7})\b")
_GENDER_RE = re.compile(r"\bGender (Male|Female)\b")


class ListError(ExtractorError):
    """A sanctions list file is missing, of an unknown format, or has a malformed row."""


@dataclass
class ListEntry:
    """One listed party: its FtM entity and the programmes it is listed under."""

    entity: EntityProxy
    programs: list[str] = field(default_factory=list)
    list_name: str = SDN_LIST


@dataclass
class SanctionsList:
    """A loaded sanctions list: its entries and where they came from."""

    name: str
    source: str
    entries: list[ListEntry]
    aliases: int = 0


def check_paths(path: Path, alt: Path | None = None) -> None:
    """Raise `ListError` unless the list file (and the alt.csv, when given) exist."""
    for item in (path, alt):
        if item is not None and not item.is_file():
            raise ListError(f"{item}: no such file")


def load_list(path: Path, alt: Path | None = None) -> SanctionsList:
    """Load a sanctions list: OFAC SDN CSV (with `alt.csv` when given or beside `sdn.csv`) or FtM JSON lines."""
    check_paths(path, alt)
    head = path.open("rb").read(1)
    if head in (b"{", b"["):
        return load_ftm_list(path)
    if path.suffix.lower() != ".csv":
        raise ListError(f"{path}: not an OFAC SDN CSV (.csv) nor an FtM entity file (JSON lines)")
    if alt is None and path.name.lower() == "sdn.csv" and (path.parent / "alt.csv").is_file():
        alt = path.parent / "alt.csv"
    return load_sdn(path, alt)


def _rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    # OFAC's files are Latin-1 and may end with a DOS end-of-file byte.
    text = path.read_bytes().decode("latin-1").rstrip("\x1a\r\n ")
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if row and any(cell.strip() for cell in row):
            yield number, [_cell(cell) for cell in row]


def _cell(value: str) -> str:
    value = value.strip()
    return "" if value == _EMPTY else value


def load_sdn(path: Path, alt: Path | None = None) -> SanctionsList:
    """Read OFAC's `sdn.csv` (and `alt.csv`) into FtM entities."""
    entries: dict[str, ListEntry] = {}
    for number, row in _rows(path):
        if len(row) != _SDN_COLUMNS or not row[0].isdigit():
            raise ListError(f"{path}:{number}: not an SDN row (expected {_SDN_COLUMNS} columns, ent_num first)")
        entries[row[0]] = _sdn_entry(row)
    if not entries:
        raise ListError(f"{path}: no entries")
    aliases = sum(len(e.entity.get("alias")) + len(e.entity.get("previousName")) for e in entries.values())
    if alt is not None:
        aliases += _add_alt(alt, entries)
    return SanctionsList(SDN_LIST, path.name, list(entries.values()), aliases)


def _sdn_entry(row: list[str]) -> ListEntry:
    ent_num, name, sdn_type, program, title, call_sign, vess_type, _tonnage, _grt, flag, _owner, remarks = row
    # OFAC types every individual, so an untyped entry is an organisation, never a person.
    schema = _SDN_SCHEMATA.get(sdn_type.lower(), "Organization")
    entity = model.make_entity(schema)
    entity.id = f"ofac-{ent_num}"
    entity.add("name", name)
    if schema == "Person" and "," in name:
        last, first = (part.strip() for part in name.split(",", 1))
        entity.add("lastName", last)
        entity.add("firstName", first)
    for kind, alias in _ALIAS_RE.findall(remarks):
        entity.add("previousName" if kind == "f" else "alias", alias)
    country_prop = "nationality" if schema == "Person" else "country"
    for _label, value in _COUNTRY_RE.findall(remarks):
        entity.add(country_prop, _country(value))
    if schema == "Person":
        entity.add("position", title)
        entity.add("gender", _GENDER_RE.findall(remarks))
    if schema == "Vessel":
        entity.add("flag", _country(flag))
        entity.add("imoNumber", _IMO_RE.findall(remarks))
        entity.add("callSign", call_sign)
        entity.add("type", vess_type)
    programs = [p.strip() for p in program.strip("[]").split("] [") if p.strip()]
    entity.add("programId", programs)
    entity.add("topics", "sanction")
    return ListEntry(entity, programs, SDN_LIST)


@cache
def _country(name: str) -> str | None:
    """The ISO code for a country as OFAC writes it ("Korea, North" → "kp"), or None."""
    territory = lookup_territory(name) if name else None
    return territory.code if territory is not None else None


def _add_alt(alt: Path, entries: dict[str, ListEntry]) -> int:
    added = 0
    for number, row in _rows(alt):
        if len(row) < 4 or not row[0].isdigit():
            raise ListError(f"{alt}:{number}: not an alt.csv row (ent_num, alt_num, alt_type, alt_name, alt_remarks)")
        entry = entries.get(row[0])
        if entry is None or not row[3]:
            continue  # an alias of an entry this sdn.csv does not hold (another release)
        alt_type, remarks = row[2].lower(), (row[4] if len(row) > 4 else "").lower()
        prop = "previousName" if alt_type == "fka" else "weakAlias" if "weak" in remarks else "alias"
        entry.entity.add(prop, row[3])
        added += 1
    return added


def load_ftm_list(path: Path) -> SanctionsList:
    """Read an FtM entity file: matchable entities become entries; `Sanction`s give their programmes."""
    entries: dict[str, ListEntry] = {}
    programs: dict[str, list[str]] = {}
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                data = orjson.loads(raw)
                entity = model.get_proxy(data)
            except (orjson.JSONDecodeError, InvalidData, KeyError, TypeError) as exc:
                raise ListError(f"{path}:{number}: not an FtM entity ({exc})") from None
            if entity.schema.is_a("Sanction"):
                for target in entity.get("entity"):
                    found = programs.setdefault(target, [])
                    found.extend(p for p in entity.get("programId") or entity.get("program") if p not in found)
            elif entity.schema.matchable and entity.id and entity.get_type_values(registry.name):
                datasets = data.get("datasets") or [path.stem]
                entries[entity.id] = ListEntry(entity, list(entity.get("programId")), ", ".join(datasets))
    if not entries:
        raise ListError(f"{path}: no matchable entities (persons, organisations, vessels, ...)")
    for entity_id, found in programs.items():
        if entity_id in entries:
            entries[entity_id].programs.extend(p for p in found if p not in entries[entity_id].programs)
    aliases = sum(len(e.entity.get("alias")) for e in entries.values())
    return SanctionsList(path.stem, path.name, list(entries.values()), aliases)
