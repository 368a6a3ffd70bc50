"""The extraction schema: pydantic models implementing the sanctions schema contract.

`ArticleExtraction` is the public result and the gold-file format. The model never sets
`article_id`; it answers `ExtractionAnswer`, whose JSON schema is what a backend sends.
`answer_model()` derives a variant with bounded list lengths, because small models
otherwise repeat one list item until the token limit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from functools import cache, lru_cache
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    WithJsonSchema,
    create_model,
)
from rigour.territories import get_territory, lookup_territory

SCHEMA_VERSION = "1"

Measure = Literal[
    "asset_freeze",
    "travel_ban",
    "investment_ban",
    "financial_restrictions",
    "export_controls",
    "import_ban",
    "arms_embargo",
    "services_ban",
    "price_cap",
    "other",
]
EntityType = Literal["person", "company", "government_body", "organization", "vessel", "aircraft", "other"]
ActionKind = Literal["impose", "lift", "amend"]

# rigour's pseudo-territories that are no jurisdiction: "zz" (global) and "ip" (cyberspace).
_PSEUDO_TERRITORIES = {"zz", "ip"}
_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


def _jurisdiction(value: Any) -> Any:
    """Accept an ISO 3166-1 alpha-2 code (any case) or a name rigour can resolve ("USA")."""
    if not isinstance(value, str):
        return value
    return _jurisdiction_code(value)


@lru_cache(maxsize=4096)
def _jurisdiction_code(value: str) -> str:
    # Memoised: the same few codes are checked in every result and gold file (a bad value
    # raises, and exceptions are never cached).
    raw = value.strip()
    code = raw.lower()
    if code in ("eu", "un"):
        return code
    if len(code) == 2 and code.isalpha() and code not in _PSEUDO_TERRITORIES and get_territory(code) is not None:
        return code
    territory = lookup_territory(raw) if raw else None
    if territory is not None and len(territory.code) == 2 and territory.code not in _PSEUDO_TERRITORIES:
        return territory.code
    raise ValueError(
        f"{value!r} is not a jurisdiction code: use ISO 3166-1 alpha-2 in lower case "
        "('us', 'gb', 'cn'), 'eu' for the European Union or 'un' for the UN Security Council"
    )


def _iso_date(value: str | None) -> str | None:
    if value is None:
        return None
    match = _DATE_RE.match(value)
    if not match:
        raise ValueError(f"{value!r} is not an ISO 8601 date (YYYY, YYYY-MM or YYYY-MM-DD)")
    year, month, day = (int(g) if g else None for g in match.groups())
    try:
        dt.date(year or 1, month or 1, day or 1)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a real date: {exc}") from None
    return value


def _none_if_blank(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


# The JSON-schema patterns let constrained decoders (llama.cpp grammars, strict modes)
# produce well-formed codes and dates; the validators still check the values themselves.
Jurisdiction = Annotated[
    str, BeforeValidator(_jurisdiction), WithJsonSchema({"type": "string", "pattern": "^[a-z]{2}$"})
]
IsoDate = Annotated[
    str | None,
    AfterValidator(_iso_date),
    WithJsonSchema({"anyOf": [{"type": "string", "pattern": "^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$"}, {"type": "null"}]}),
]
OptionalText = Annotated[str | None, BeforeValidator(_none_if_blank)]


class Target(BaseModel):
    """A named person, entity, vessel or aircraft that a sanctions action applies to."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        min_length=1,
        description="Fullest form of the name as printed in the text, without honorifics "
        "(Mr., Dr., General). Never a country, never an unnamed group.",
    )
    entity_type: EntityType = Field(
        description="person; company (companies and banks); government_body (ministries, police, "
        "military units); organization (parties, armed groups, universities, NGOs); vessel; "
        "aircraft; other.",
    )
    country: Jurisdiction | None = Field(
        default=None,
        description="Nationality or location as lower-case ISO 3166-1 alpha-2 code, only when "
        "the text states it; otherwise null.",
    )
    role: OptionalText = Field(
        default=None,
        description="Position or title exactly as stated in the text, or null.",
    )
    aliases: list[str] = Field(
        default_factory=list,
        description="Alternative names the text gives (acronyms, 'a.k.a.' names).",
    )


class SanctionAction(BaseModel):
    """One sanctions action: one authority, issuer, kind and set of measures."""

    model_config = ConfigDict(extra="forbid")

    authority: Jurisdiction = Field(
        description="Jurisdiction taking the action: lower-case ISO 3166-1 alpha-2 code "
        "('us', 'gb', 'cn', 'ru'), 'eu' for the European Union, 'un' for the UN Security Council.",
    )
    issuer: OptionalText = Field(
        default=None,
        description="The acting body as the text names it, e.g. 'Office of Foreign Assets "
        "Control (OFAC)', 'State Department'; null if not named.",
    )
    action: ActionKind = Field(
        description="impose: new designations or restrictions; lift: removals, delistings, "
        "terminations; amend: changes or extensions of existing sanctions.",
    )
    is_countermeasure: bool = Field(
        default=False,
        description="True only if the text presents this action as retaliation for another "
        "party's sanctions.",
    )
    measures: list[Measure] = Field(
        default_factory=list,
        description="What the action does, only where the text says it: asset_freeze (property "
        "blocked), travel_ban (visa or entry ban), investment_ban, financial_restrictions, "
        "export_controls, import_ban, arms_embargo, services_ban, price_cap, other.",
    )
    targets: list[Target] = Field(
        default_factory=list,
        description="Named persons, companies, bodies, vessels or aircraft the action applies to.",
    )
    target_countries: list[Jurisdiction] = Field(
        default_factory=list,
        description="Codes of countries whose government, officials or entities are targeted.",
    )
    target_count: int | None = Field(
        default=None,
        ge=0,
        description="Total number of targets if the text states a number ('15 people and 10 "
        "entities' gives 25); otherwise null.",
    )
    legal_basis: list[str] = Field(
        default_factory=list,
        description="Laws, executive orders, regulations or programmes as written, e.g. "
        "'E.O. 13818'. Empty if none is named.",
    )
    reasons: list[str] = Field(
        default_factory=list,
        description="Stated reasons, each a short phrase taken from the text.",
    )
    date: IsoDate = Field(
        default=None,
        description="When the action was taken, ISO 8601 (YYYY-MM-DD, YYYY-MM or YYYY). Resolve "
        "'today' or weekdays against the publication date if one is given; otherwise null.",
    )
    coordinated_with: list[Jurisdiction] = Field(
        default_factory=list,
        description="Codes of other authorities the text says acted jointly or in coordination.",
    )
    evidence: list[str] = Field(
        default_factory=list,
        description="Sentences copied verbatim from the text that state this action.",
    )


class ExtractionAnswer(BaseModel):
    """What the model answers for one document (everything but the system-set id)."""

    model_config = ConfigDict(extra="forbid")

    is_sanctions_news: bool = Field(
        description="True if the text reports at least one sanctions action (imposed, lifted, "
        "amended, or a countermeasure). Threats, proposals and calls for sanctions do not count; "
        "'sanctioned' meaning 'approved' does not count.",
    )
    actions: list[SanctionAction] = Field(
        default_factory=list,
        description="Every sanctions action the document reports as news; empty when "
        "is_sanctions_news is false.",
    )


class ArticleExtraction(ExtractionAnswer):
    """The structured sanctions content of one document; also the gold-file format."""

    article_id: str = Field(
        min_length=1,
        description="Set by the system from the input (file stem or caller's id).",
    )

    # Run metadata lives outside the fields, so dumps and gold comparisons never see it.
    _meta: Any = PrivateAttr(default=None)

    @property
    def meta(self) -> Any:
        """Run metadata (`RunMeta`) when this result came from an extractor, else None."""
        return self._meta


class GoldFile(ArticleExtraction):
    """A gold file: an `ArticleExtraction` plus the annotator's optional notes."""

    notes: str | None = None


def _bounded(model: type[BaseModel], name: str, limit: int, item: Any = None) -> Any:
    """A (type, Field) pair for a list field of `model` with a maximum length added."""
    info = model.model_fields[name]
    annotation = list[item] if item is not None else info.annotation
    return (annotation, Field(default_factory=list, max_length=limit, description=info.description))


@cache
def answer_model(max_actions: int = 8, max_targets: int = 25, max_items: int = 8) -> type[BaseModel]:
    """The model-facing answer schema with list lengths bounded.

    Bounds go into the JSON schema (`maxItems`), so constrained decoders cannot loop on
    one item. The result validates into the same fields as `ExtractionAnswer`.
    """
    target = create_model("Target", __base__=Target, aliases=_bounded(Target, "aliases", max_items))
    lists = ("measures", "target_countries", "legal_basis", "reasons", "coordinated_with", "evidence")
    action_fields = {name: _bounded(SanctionAction, name, max_items) for name in lists}
    action_fields["targets"] = _bounded(SanctionAction, "targets", max_targets, target)
    action = create_model("SanctionAction", __base__=SanctionAction, **action_fields)
    actions = _bounded(ExtractionAnswer, "actions", max_actions, action)
    return create_model("ExtractionAnswer", __base__=ExtractionAnswer, actions=actions)


def schema_hash(model: type[BaseModel] = ArticleExtraction) -> str:
    """A short content hash of a model's JSON schema (changes when the contract changes)."""
    text = json.dumps(model.model_json_schema(), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]

