"""Matching extracted targets against a sanctions list.

`Matcher.load(path)` reads the list (OFAC SDN CSV or FtM entity file) and its saved index (built
and saved on first use); `matcher.match(target)` returns a `MatchResult`: `listed` (the best
entry scores at least the threshold), `possible` (candidates between the floor and the
threshold) or `not_listed`. Candidates come from the blocking index; each is scored by
nomenklatura's `logic-v2` algorithm (OpenSanctions' matcher: rigour name analysis, family/given
name alignment), entity type decides which entries are comparable, and country is evidence that
never sinks an exact name (`explain`). Every candidate carries its features and why it passed or
failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from followthemoney import EntityProxy, model, registry
from followthemoney.exc import InvalidData
from rigour.names import normalize_name

from extractor.core.schema import Target

from .explain import explain, verdict
from .ftm import SCHEMATA
from .index import NameIndex, comparable_names, list_digest, save_index
from .lists import check_paths, load_list

DEFAULT_THRESHOLD = 0.8
DEFAULT_FLOOR = 0.6
# A target typed as one kind of organisation and listed as another (company vs public body)
# still matches, a little less surely: the model's type is a judgement, the name is evidence.
TYPE_MISMATCH_PENALTY = 0.1


@dataclass(frozen=True)
class Candidate:
    """A list entry compared with a target."""

    entry_id: str
    list_name: str
    caption: str
    schema: str
    score: float
    matched_name: str | None
    programs: list[str]
    countries: list[str]
    features: dict[str, float] = field(default_factory=dict)
    explanation: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, with the features compared and a line per feature saying what it did."""
        return {
            "entry_id": self.entry_id, "list": self.list_name, "name": self.caption, "schema": self.schema,
            "score": round(self.score, 3), "matched_name": self.matched_name, "programs": self.programs,
            "countries": self.countries, "features": self.features, "explanation": self.explanation,
        }


@dataclass(frozen=True)
class MatchResult:
    """The verdict for one target: `listed`, `possible` or `not_listed`, with the evidence."""

    name: str
    entity_type: str
    country: str | None
    status: str
    threshold: float
    candidates: list[Candidate] = field(default_factory=list)
    reason: str = ""

    @property
    def best(self) -> Candidate | None:
        """The listed entry (status `listed`) or the top candidate."""
        return self.candidates[0] if self.candidates else None

    @property
    def listed(self) -> bool:
        """True when the target is on the list."""
        return self.status == "listed"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: the target, the status, the listed entry and the candidates."""
        best = self.best
        return {
            "name": self.name, "entity_type": self.entity_type, "country": self.country, "status": self.status,
            "threshold": self.threshold, "reason": self.reason,
            "entry": best.to_dict() if best is not None and self.listed else None,
            "candidates": [c.to_dict() for c in self.candidates],
        }


class Matcher:
    """A sanctions list ready for matching: its index and nomenklatura's logic-v2 scorer."""

    def __init__(self, index: NameIndex, *, threshold: float = DEFAULT_THRESHOLD, floor: float = DEFAULT_FLOOR) -> None:
        if not 0.0 < threshold <= 1.0 or not 0.0 <= floor <= threshold:
            raise ValueError(f"need 0 <= floor ({floor}) <= threshold ({threshold}) <= 1 and threshold > 0")
        self.index = index
        self.threshold = threshold
        self.floor = floor

    @cached_property
    def _scorer(self) -> tuple[Any, Any]:
        # nomenklatura loads its whole matching package (several algorithms, scikit-learn) on import,
        # seconds of it: only when a candidate is first scored, not when a list is loaded.
        from nomenklatura.matching import LogicV2, ScoringConfig

        # Country is weighed in `explain` instead, where it cannot sink an exact name.
        return LogicV2, ScoringConfig.model_construct(weights={"country_mismatch": 0.0}, config={})

    @classmethod
    def load(
        cls,
        path: Path,
        *,
        alt: Path | None = None,
        index_dir: Path | None = None,
        threshold: float = DEFAULT_THRESHOLD,
        floor: float = DEFAULT_FLOOR,
    ) -> Matcher:
        """Load a list with its saved index, building and saving the index on first use."""
        check_paths(path, alt)
        index_path = index_file(path, alt, index_dir)
        index = NameIndex.from_json(index_path.read_bytes()) if index_path.is_file() else None
        if index is None:
            index = NameIndex.build(load_list(path, alt))
            save_index(index, index_path)
        return cls(index, threshold=threshold, floor=floor)

    @property
    def list_name(self) -> str:
        """The list's name ("OFAC SDN" or the FtM file's)."""
        return self.index.name

    def match(self, target: Target | str, *, limit: int = 3) -> MatchResult:
        """Check one target (a schema `Target`, or a bare name matched as any legal entity)."""
        if isinstance(target, str):
            target = Target(name=target, entity_type="other")
        query = query_entity(target)
        names = comparable_names(query)
        scored: list[Candidate] = []
        best: Candidate | None = None  # kept below the floor too, to say how close the nearest entry came
        for position, _similarity in self.index.candidates(names):
            candidate = self._score(query, position)
            if candidate is None:
                continue
            if best is None or candidate.score > best.score:
                best = candidate
            if candidate.score >= self.floor:
                scored.append(candidate)
                if candidate.score >= 1.0:
                    break  # a full match: the entries ranked below it cannot beat it
        scored.sort(key=lambda c: (-c.score, c.entry_id))
        top = scored[0].score if scored else 0.0
        status = "listed" if top >= self.threshold else "possible" if scored else "not_listed"
        keep = scored[:1] if status == "listed" else scored[:limit]
        if best is None:
            reason = "not listed: no entry shares a name part with it"
        else:
            reason = f"{verdict(best.score, self.threshold, self.floor)} (best: {best.caption}, {best.entry_id})"
        return MatchResult(target.name, target.entity_type, target.country, status, self.threshold, keep, reason)

    def has_candidates(self, target: Target) -> bool:
        """Whether `match` would score any entry for `target`: the blocking step alone, without the scorer."""
        return bool(self.index.candidates(comparable_names(query_entity(target))))

    def listed_programs(self, target: Target) -> list[str]:
        """The programmes of the entry `target` is listed as (none when it is not listed): for the FtM export."""
        found = self.match(target)
        return list(found.best.programs) if found.listed and found.best is not None else []

    def _score(self, query: EntityProxy, position: int) -> Candidate | None:
        item = self.index.entries[position]
        listed = item.entity
        penalty = 0.0
        try:
            model.common_schema(query.schema, listed.schema)
        except InvalidData:
            if not (query.schema.is_a("Organization") and listed.schema.is_a("Organization")):
                return None  # a person is never a company, a vessel never a person
            query = _recast(query, "LegalEntity")
            penalty = TYPE_MISMATCH_PENALTY
        algorithm, config = self._scorer
        result = algorithm.compare(query, listed, config)
        name = result.explanations.get("name_match")
        matched = _original_name(listed, name.candidate) if name and name.candidate else None
        explained = explain(query, listed, result, type_penalty=penalty)
        return Candidate(
            entry_id=item.entry_id, list_name=item.list_name, caption=listed.caption, schema=listed.schema.name,
            score=explained.score, matched_name=matched, programs=item.programs, countries=sorted(listed.countries),
            features=explained.features, explanation=explained.explanation,
        )


def query_entity(target: Target) -> EntityProxy:
    """The FtM entity a target is matched as: its schema, name, aliases and country."""
    entity = model.make_entity(SCHEMATA[target.entity_type])
    # nomenklatura memoises name analysis by entity id: each distinct target needs its own id.
    entity.make_id("query", target.entity_type, target.name, *target.aliases, target.country)
    entity.add("name", target.name)
    entity.add("alias", target.aliases)
    if target.country:
        entity.add("country", target.country)
    return entity


def _original_name(entity: EntityProxy, compared: str) -> str:
    """The entity's name as listed for the form the scorer compared (object names come normalised)."""
    names = entity.get_type_values(registry.name)
    if compared in names:
        return compared
    key = normalize_name(compared)
    return next((name for name in names if normalize_name(name) == key), compared)


def _recast(entity: EntityProxy, schema: str) -> EntityProxy:
    recast = model.make_entity(schema)
    recast.id = entity.id
    for prop, values in entity.properties.items():
        recast.add(prop, values, quiet=True)
    return recast


def index_file(path: Path, alt: Path | None = None, index_dir: Path | None = None) -> Path:
    """Where the saved index of a list lives: per list content, in the cache's `lists` folder."""
    if index_dir is None:
        from extractor.core.settings import Settings

        index_dir = Settings().cache_dir.parent / "lists"
    return index_dir / f"{path.stem}-{list_digest(path, alt)}.index.json"
