"""Watchlists: names (matched like list matching), programmes, authorities, countries, or whole files of names.

A name is matched with the list matcher (`export.matching.Matcher`: nomenklatura's logic-v2 over
rigour's name analysis, so transliterations, word order and aliases match). A file watchlist is
a CSV of names (a `name` column, or one name per line), an FtM entity file, or OFAC's SDN CSV;
its index is saved beside list matching's (`export.matching.index_file`), keyed by the file's
content, so a server restart does not build it again. An authority is a jurisdiction ("eu") or an
issuing body of the issuer registry, stored by its id ("OFAC" is "us-ofac"); watching a body
watches the bodies within it too ("us-treasury" alerts on OFAC's actions).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from followthemoney import model
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from extractor.core.errors import ConfigError
from extractor.core.schema import Jurisdiction
from extractor.export.index import NameIndex, save_index
from extractor.export.lists import ListEntry, ListError, SanctionsList, load_list
from extractor.export.matching import Matcher, index_file
from extractor.store.issuers import issuer_filter_id
from extractor.store.monitor import WatchlistRow

KINDS = ("name", "programme", "authority", "country", "file")
_JURISDICTION: TypeAdapter[str] = TypeAdapter(Jurisdiction)


@dataclass(frozen=True)
class Watchlist:
    """One watchlist entry as the API shows it."""

    id: int
    kind: str
    value: str
    label: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"id": self.id, "kind": self.kind, "value": self.value, "label": self.label}


def _info(row: WatchlistRow) -> Watchlist:
    return Watchlist(row.id, row.kind, row.value, row.label)


def normalise_value(kind: str, value: str) -> str:
    """A watchlist value checked and in its stored form (codes lower case, programmes upper case)."""
    value = value.strip()
    if not value:
        raise ConfigError("a watchlist needs a value")
    if kind == "programme":
        return value.upper()
    if kind in ("authority", "country"):
        try:
            return _JURISDICTION.validate_python(value)
        except ValidationError as exc:
            # An authority may also be an issuing body, by registry id ("us-ofac") or name ("OFAC").
            body = issuer_filter_id(value) if kind == "authority" else None
            if body is not None:
                return body
            reason = exc.errors()[0]['msg'].removeprefix('Value error, ')
            if kind == "authority":
                reason += "; nor is it an issuing body of the registry (an id such as us-ofac, or a name)"
            raise ConfigError(f"--{kind} {value!r}: {reason}") from None
    if kind == "file":
        try:
            path = Path(value).expanduser().resolve()
            load_names_file(path)  # fails now, not at the first poll
        except OSError as exc:  # a name too long, a directory, no permission: the file cannot be a watchlist
            raise ConfigError(f"--file {value[:200]!r}: cannot be read ({exc.strerror or exc})") from None
        return str(path)
    if kind != "name":
        raise ConfigError(f"watchlist kind {kind!r}: use one of {', '.join(KINDS)}")
    return " ".join(value.split())


def add_watchlist(session: Session, kind: str, value: str, label: str | None = None) -> Watchlist:
    """Add a watchlist entry (an existing identical one is returned as it is)."""
    value = normalise_value(kind, value)
    row = session.scalar(select(WatchlistRow).where(WatchlistRow.kind == kind, WatchlistRow.value == value))
    if row is None:
        row = WatchlistRow(kind=kind, value=value[:1000], label=label)
        session.add(row)
        session.flush()
    return _info(row)


def list_watchlists(session: Session) -> list[Watchlist]:
    """Every watchlist entry, oldest first."""
    return [_info(row) for row in session.scalars(select(WatchlistRow).order_by(WatchlistRow.id))]


def remove_watchlist(session: Session, watchlist_id: int) -> Watchlist:
    """Remove a watchlist entry (its alerts go with it)."""
    row = session.get(WatchlistRow, watchlist_id)
    if row is None:
        raise ConfigError(f"no watchlist {watchlist_id}")
    found = _info(row)
    session.delete(row)
    return found


def load_names_file(path: Path) -> SanctionsList:
    """A file watchlist as a list: an SDN CSV or FtM entities (as list matching reads them), or a CSV of names."""
    if not path.is_file():
        raise ConfigError(f"{path}: no such file")
    head = path.read_bytes()[:4096]
    try:
        return load_list(path) if head[:1] in (b"{", b"[") or _looks_like_sdn(head) else _names_csv(path)
    except ListError as exc:
        raise ConfigError(str(exc)) from None


def file_matcher(path: Path) -> Matcher:
    """The matcher of a file watchlist, its index read from the saved one when the file is unchanged."""
    alt = path.parent / "alt.csv"  # read with an sdn.csv beside it, so part of its content
    saved = index_file(path, alt if path.name.lower() == "sdn.csv" and alt.is_file() else None)
    index = NameIndex.from_json(saved.read_bytes()) if saved.is_file() else None
    if index is None:
        index = NameIndex.build(load_names_file(path))
        save_index(index, saved)
    return Matcher(index)


def _looks_like_sdn(head: bytes) -> bool:
    first = next(csv.reader(io.StringIO(head.decode("latin-1").splitlines()[0] if head.strip() else "")), [])
    return len(first) == 12 and first[0].strip().isdigit()


def _names_csv(path: Path) -> SanctionsList:
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    header = [cell.strip().lower() for cell in rows[0]] if rows else []
    column = header.index("name") if "name" in header else 0
    body = rows[1:] if "name" in header else rows
    names = [row[column].strip() for row in body if len(row) > column and row[column].strip()]
    if not names:
        raise ConfigError(f"{path}: no names (a CSV with a 'name' column, or one name per line)")
    entries = [_name_entry(f"{path.stem}-{n}", name, "") for n, name in enumerate(names)]
    return SanctionsList(path.stem, path.name, entries)


def _name_entry(entity_id: str, name: str, list_name: str) -> ListEntry:
    entity = model.make_entity("LegalEntity")
    entity.id = entity_id
    entity.add("name", name)
    return ListEntry(entity, [], list_name)


@dataclass
class WatchIndex:
    """The watchlists ready for checking: the matchers of names, and the sets of codes.

    `matchers` pairs each matcher with its file watchlist's id; the single-name watchlists share
    one matcher (id None) whose entries carry their watchlist's id as their list name.
    """

    matchers: list[tuple[int | None, Matcher]] = field(default_factory=list)
    programmes: dict[str, int] = field(default_factory=dict)
    authorities: dict[str, int] = field(default_factory=dict)
    countries: dict[str, int] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)  # matcher entry id → the watched name

    @property
    def empty(self) -> bool:
        """Nothing is watched."""
        return not (self.matchers or self.programmes or self.authorities or self.countries)


def build_index(watchlists: list[Watchlist]) -> WatchIndex:
    """Matchers and code sets for the current watchlists."""
    index = WatchIndex()
    names: list[ListEntry] = []
    for watch in watchlists:
        if watch.kind == "name":
            names.append(_name_entry(f"watchlist-{watch.id}", watch.value, str(watch.id)))
            index.labels[f"watchlist-{watch.id}"] = watch.value
        elif watch.kind == "file":
            index.matchers.append((watch.id, file_matcher(Path(watch.value))))
        else:
            getattr(index, {"programme": "programmes", "authority": "authorities", "country": "countries"}[watch.kind])[
                watch.value] = watch.id
    if names:
        index.matchers.insert(0, (None, Matcher(NameIndex.build(SanctionsList("watchlist", "watchlists", names)))))
    return index
