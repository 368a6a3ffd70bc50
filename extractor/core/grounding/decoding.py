"""A per-document answer model whose JSON schema allows only what the document supports.

The embedded model decodes under a llama.cpp grammar built from the JSON schema it is sent.
`grounded_answer_model(document, base)` turns the (bounded) base answer model into one whose
free-text fields are enums of candidate spans of this document (`candidates.py`), whose codes,
dates and counts are enums of the values the text states (`values.py`), and whose root ties
`is_sanctions_news` to `actions`:

    anyOf: [{is_sanctions_news: true, actions: minItems 1}, {is_sanctions_news: false, actions: maxItems 0}]

A tiny model then cannot copy "Northwind Maritime Ltd" from the prompt's worked example, or
answer an authority the text never mentions. Python types stay `str` / `int` (the enums are
JSON-schema only, through `WithJsonSchema`), and validators check membership too, so the model
validates into the same `ExtractionAnswer`. Only backends with `grounded_decoding` get it:
capable endpoint models keep the plain schema.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Annotated, Any, get_args

import annotated_types
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, create_model
from pydantic.fields import FieldInfo

from ..documents import Document
from ..schema import _iso_date, _jurisdiction, _none_if_blank
from .candidates import Candidates, find_candidates

# Bumped whenever the schema built for a document changes: it goes into cache keys.
GROUNDED_VERSION = 3
_NULL: dict[str, Any] = {"type": "null"}


# llama-cpp-python's JSON-schema-to-grammar converter (0.3.x) writes an enum value as the
# GBNF literal of its JSON encoding and escapes only quotes and line breaks there: a value
# with '"' or '\\' becomes a literal the grammar parser rejects (and llama.cpp then crashes),
# and control characters would be emitted raw, which is not valid JSON. Such values are
# offered as their pieces between those characters, which are still substrings of the text.
_UNENCODABLE = re.compile(r'["\\\x00-\x1f\x7f]|[^\x00-\uffff]')


def grammar_safe(values: Sequence[str], min_chars: int = 2) -> tuple[str, ...]:
    """`values` with each one the converter cannot encode replaced by its encodable pieces."""
    out: dict[str, None] = {}
    for value in values:
        for piece in _UNENCODABLE.split(value) if _UNENCODABLE.search(value) else [value]:
            piece = piece.strip(" ,;:")
            if len(piece) >= min_chars and any(c.isalnum() for c in piece):
                out[piece] = None
    return tuple(out)


def grounded_answer_model(document: Document, base: type[BaseModel]) -> type[BaseModel]:
    """The answer model for `document`: `base` with every open value narrowed to the document's candidates."""
    return _grounded(document.text, document.published, base)


# The same document is asked for its model more than once (cache key, call, re-asks): build it once.
@lru_cache(maxsize=32)
def _grounded(text: str, published: str | None, base: type[BaseModel]) -> type[BaseModel]:
    return answer_model_from(find_candidates(text, published), base)


def answer_model_from(found: Candidates, base: type[BaseModel]) -> type[BaseModel]:
    """`base` (an `answer_model(...)`) with its values restricted to `found`."""
    action_base = _item_model(base, "actions")
    target_base = _item_model(action_base, "targets")
    names, roles, codes = grammar_safe(found.entities), grammar_safe(found.roles), found.jurisdictions
    evidence, legal = grammar_safe(found.evidence, min_chars=20), grammar_safe(found.legal_bases)
    reasons = grammar_safe(found.reasons)

    target = create_model(
        "Target",
        __base__=target_base,
        name=_required(target_base, "name", _one_of(names)),
        country=_optional(target_base, "country", _one_of(codes, _jurisdiction, nullable=True)),
        role=_optional(target_base, "role", _one_of(roles, _none_if_blank, nullable=True)),
        aliases=_listed(target_base, "aliases", names),
    )
    # A target needs a name, an action an authority: with none in the text, the list must stay empty.
    targets = _bounded_list(action_base, "targets", target, possible=bool(names))
    action = create_model(
        "SanctionAction",
        __base__=action_base,
        authority=_required(action_base, "authority", _one_of(codes, _jurisdiction)),
        issuer=_optional(action_base, "issuer", _one_of(names, _none_if_blank, nullable=True)),
        targets=targets,
        target_countries=_listed(action_base, "target_countries", codes, _jurisdiction),
        coordinated_with=_listed(action_base, "coordinated_with", codes, _jurisdiction),
        target_count=_optional(action_base, "target_count", _count_of(found.numbers)),
        legal_basis=_listed(action_base, "legal_basis", legal),
        reasons=_listed(action_base, "reasons", reasons),
        date=_optional(action_base, "date", _one_of(found.dates, _iso_date, nullable=True)),
        evidence=_listed(action_base, "evidence", evidence),
    )
    return _root(base, action, possible=bool(codes))


def _root(base: type[BaseModel], action: type[BaseModel], *, possible: bool) -> type[BaseModel]:
    # create_model takes either __base__ or __config__; the schema hook rides on a subclass config.
    class GroundedAnswer(base):  # type: ignore[valid-type,misc]
        model_config = ConfigDict(json_schema_extra=_consistency(possible))

    return create_model(
        "ExtractionAnswer",
        __base__=GroundedAnswer,
        actions=_bounded_list(base, "actions", action, possible=possible),
    )


def _consistency(possible: bool) -> Callable[[dict[str, Any]], None]:
    """A JSON-schema hook: `is_sanctions_news` true exactly when there is at least one action."""

    def rewrite(schema: dict[str, Any]) -> None:
        properties = schema.pop("properties")
        for key in ("required", "type", "additionalProperties"):
            schema.pop(key, None)
        actions = properties["actions"]

        def variant(flag: bool, bound: dict[str, int]) -> dict[str, Any]:
            return {
                "type": "object",
                "properties": {
                    "is_sanctions_news": {**properties["is_sanctions_news"], "const": flag},
                    "actions": {**actions, **bound},
                },
                "required": ["is_sanctions_news", "actions"],
                "additionalProperties": False,
            }

        no = variant(False, {"maxItems": 0})
        schema["anyOf"] = [variant(True, {"minItems": 1}), no] if possible else [no]

    return rewrite


def _item_model(model: type[BaseModel], name: str) -> type[BaseModel]:
    """The item model of a list field (`actions` → SanctionAction)."""
    item = get_args(model.model_fields[name].annotation)[0]
    if not (isinstance(item, type) and issubclass(item, BaseModel)):
        raise TypeError(f"{model.__name__}.{name} is not a list of models")
    return item


def _max_items(info: FieldInfo) -> int | None:
    return next((m.max_length for m in info.metadata if isinstance(m, annotated_types.MaxLen)), None)


def _one_of(values: Sequence[Any], before: Callable[[Any], Any] | None = None, *, nullable: bool = False) -> Any:
    """A `str` (or `str | None`) whose JSON schema is an enum of `values`; validation checks membership too."""
    allowed = frozenset(values)

    def member(value: Any) -> Any:
        if value is not None and value not in allowed:
            raise ValueError(f"{value!r} does not occur in the document")
        return value

    options: list[dict[str, Any]] = [{"type": "string", "enum": list(values)}] if values else []
    schema: dict[str, Any]
    if nullable:
        schema = {"anyOf": [*options, _NULL]} if options else _NULL
        validators: list[Any] = [BeforeValidator(before)] if before else []
        return Annotated[str | None, *validators, AfterValidator(member), WithJsonSchema(schema)]
    # An empty enum has no JSON schema; callers make such a field unreachable (empty lists).
    schema = options[0] if options else {"type": "string", "enum": [""]}
    validators = [BeforeValidator(before)] if before else []
    return Annotated[str, *validators, AfterValidator(member), WithJsonSchema(schema)]


def _count_of(numbers: Sequence[int]) -> Any:
    """`int | None` limited to the numbers the text states."""
    allowed = frozenset(numbers)

    def member(value: int | None) -> int | None:
        if value is not None and value not in allowed:
            raise ValueError(f"{value!r} is not a number the document states")
        return value

    schema = {"anyOf": [{"type": "integer", "enum": list(numbers)}, _NULL]} if numbers else _NULL
    return Annotated[int | None, AfterValidator(member), WithJsonSchema(schema)]


def _required(model: type[BaseModel], name: str, annotation: Any) -> tuple[Any, Any]:
    info = model.model_fields[name]
    return annotation, Field(description=info.description)


def _optional(model: type[BaseModel], name: str, annotation: Any) -> tuple[Any, Any]:
    info = model.model_fields[name]
    return annotation, Field(default=None, description=info.description)


def _listed(
    model: type[BaseModel], name: str, values: Sequence[str], before: Callable[[Any], Any] | None = None
) -> tuple[Any, Any]:
    """A list field of enum strings, keeping the base bound; empty when the text has no candidate."""
    info = model.model_fields[name]
    limit = _max_items(info) if values else 0
    return list[_one_of(values, before)], Field(  # type: ignore[misc]
        default_factory=list, max_length=limit, description=info.description
    )


def _bounded_list(model: type[BaseModel], name: str, item: type[BaseModel], *, possible: bool) -> tuple[Any, Any]:
    info = model.model_fields[name]
    limit = _max_items(info) if possible else 0
    return list[item], Field(default_factory=list, max_length=limit, description=info.description)  # type: ignore[valid-type]
