"""A blocking index over a sanctions list's names, built once and saved as JSON.

Each name is normalised with rigour (person prefixes and organisation types removed, folded to
ASCII) and cut into tokens; a token and its metaphone code are the blocking keys. A query looks
up only the entries sharing a key with it, weighted by how rare the key is, and ranks those few
with rapidfuzz on the normalised names, so the exact scorer sees a handful of candidates.
"""

from __future__ import annotations

import hashlib
import heapq
import math
import os
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from followthemoney import EntityProxy, model, registry
from rapidfuzz import fuzz
from rigour.names import normalize_name, remove_org_types, remove_person_prefixes, tokenize_name
from rigour.text.phonetics import metaphone
from rigour.text.translit import ascii_text

from .lists import SanctionsList

INDEX_VERSION = 3
# A key shared by more entries than this ("ltd", "al", "company") ranks nothing: skip it,
# unless the query has no rarer key.
MAX_POSTING = 1500


def comparable_names(entity: EntityProxy) -> list[str]:
    """The entity's names (name, aliases, previous and weak aliases), normalised for comparison."""
    person = entity.schema.is_a("Person")
    org = entity.schema.is_a("LegalEntity") and not person
    out: list[str] = []
    for name in entity.get_type_values(registry.name):
        out_name = normalise(name, person=person, org=org)
        if out_name and out_name not in out:
            out.append(out_name)
    return out


def normalise(name: str, *, person: bool = False, org: bool = False) -> str:
    """A name folded to ASCII tokens: lower case, no punctuation, prefixes and legal forms dropped."""
    if person:
        name = remove_person_prefixes(name)
    if org:
        # "SenseTime Group Limited" and "SENSETIME GROUP LTD" compare equal without the legal form.
        name = remove_org_types(name.casefold()).strip() or name
    norm = normalize_name(name) or ""
    return " ".join(ascii_text(token) or token for token in tokenize_name(norm))


def blocking_keys(names: list[str]) -> set[str]:
    """Tokens of the normalised names and, for longer tokens, their metaphone codes."""
    keys: set[str] = set()
    for name in names:
        for token in name.split():
            if len(token) < 2:
                continue
            keys.add(token)
            if len(token) > 3:
                code = metaphone(token)
                if code:
                    keys.add("~" + code)
    return keys


@dataclass
class IndexedEntry:
    """A list entry with its normalised names and blocking keys.

    The entity is kept as its FtM dict and made into an `EntityProxy` only when it is first
    compared: a query touches a handful of entries, so loading a saved index stays cheap.
    """

    data: dict[str, Any]
    programs: list[str]
    list_name: str
    names: list[str]
    keys: list[str]
    _entity: EntityProxy | None = field(default=None, repr=False)

    @property
    def entity(self) -> EntityProxy:
        """The list entry's FtM entity."""
        if self._entity is None:
            self._entity = model.get_proxy(self.data)
        return self._entity

    @property
    def entry_id(self) -> str:
        """The entity id ("ofac-31492", or the FtM file's id)."""
        return str(self.data["id"])


class NameIndex:
    """Blocking postings (key → entry positions) with rarity weights, and a candidate search."""

    def __init__(self, name: str, source: str, entries: list[IndexedEntry], aliases: int = 0) -> None:
        self.name = name
        self.source = source
        self.entries = entries
        self.aliases = aliases
        postings: dict[str, list[int]] = defaultdict(list)
        for position, item in enumerate(entries):
            for key in item.keys:
                postings[key].append(position)
        self.postings = dict(postings)
        total = max(len(entries), 1)
        self.weights = {key: math.log(1 + total / len(found)) for key, found in self.postings.items()}

    @classmethod
    def build(cls, sanctions_list: SanctionsList) -> NameIndex:
        """Index every entry of a loaded list."""
        items = []
        for entry in sanctions_list.entries:
            names = comparable_names(entry.entity)
            items.append(IndexedEntry(entry.entity.to_dict(), entry.programs, entry.list_name, names,
                                      sorted(blocking_keys(names)), entry.entity))
        return cls(sanctions_list.name, sanctions_list.source, items, sanctions_list.aliases)

    def candidates(
        self, names: list[str], limit: int = 4, pool: int = 30, min_similarity: float = 0.5, spread: float = 0.25
    ) -> list[tuple[int, float]]:
        """Entries most like `names` (normalised): (position, rapidfuzz similarity 0..1), best first.

        Entries sharing rare keys with the query form a pool of at most `pool`; rapidfuzz's
        token-sort ratio over their names keeps the best `limit` of at least `min_similarity`
        and within `spread` of the best one (the exact scorer is the costly step).
        """
        keys = blocking_keys(names)
        usable = [key for key in keys if key in self.postings]
        rare = [key for key in usable if len(self.postings[key]) <= MAX_POSTING] or usable
        votes: dict[int, float] = defaultdict(float)
        for key in rare:
            weight = self.weights[key]
            for position in self.postings[key]:
                votes[position] += weight
        if not votes:
            return []
        ranked = heapq.nlargest(pool, votes.items(), key=lambda item: item[1])
        scored = []
        cutoff = min_similarity * 100
        for position, _votes in ranked:
            best = max(
                fuzz.token_sort_ratio(query, name, score_cutoff=cutoff)
                for query in names
                for name in self.entries[position].names
            )
            if best:
                scored.append((position, best / 100.0))
        scored.sort(key=lambda item: -item[1])
        return [item for item in scored[:limit] if item[1] >= scored[0][1] - spread]

    def to_json(self) -> bytes:
        """The index as JSON: list metadata and, per entry, its entity, programmes, names and keys."""
        return orjson.dumps({
            "version": INDEX_VERSION,
            "name": self.name,
            "source": self.source,
            "aliases": self.aliases,
            "entries": [
                {"entity": item.data, "programs": item.programs, "list": item.list_name, "names": item.names,
                 "keys": item.keys}
                for item in self.entries
            ],
        })

    @classmethod
    def from_json(cls, data: bytes) -> NameIndex | None:
        """An index from `to_json` output; None when it was written by another index version."""
        raw = orjson.loads(data)
        if not isinstance(raw, dict) or raw.get("version") != INDEX_VERSION:
            return None
        items = [
            IndexedEntry(row["entity"], row["programs"], row["list"], row["names"], row["keys"])
            for row in raw["entries"]
        ]
        return cls(raw["name"], raw["source"], items, raw.get("aliases", 0))


def list_digest(*paths: Path | None) -> str:
    """A content hash of the list file(s), so an edited list gets a new index."""
    digest = hashlib.sha256(f"v{INDEX_VERSION}".encode())
    for path in paths:
        if path is not None:
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def save_index(index: NameIndex, path: Path) -> None:
    """Write the index atomically (a crash never leaves half a file under the final name)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(index.to_json())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
