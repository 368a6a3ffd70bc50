"""Answers cut off at the token limit are continued, not re-asked.

When a model stops at `max_tokens` (`finish_reason == "length"`) its JSON is incomplete.
Re-asking the same question gets the same cut. Instead: keep every complete item of the cut
answer (`salvage`), ask for what is missing (`continuation_messages`), and merge the parts
(`combine`), de-duplicating targets by normalised name. The pipeline repeats this until the
model finishes or the call bound is reached.
"""

from __future__ import annotations

import json
from typing import Any

import pydantic_core
from pydantic import BaseModel, ValidationError

from ..merging import merge_answers, merge_key
from ..schema import ExtractionAnswer

CONTINUE = (
    "Your previous answer was cut off by the output limit. These parts of it arrived complete:\n"
    "{received}\n"
    "Answer again in the same JSON schema with ONLY what is still missing: for an action whose "
    "targets were cut off, repeat that action's fields (authority, issuer, action, measures, legal "
    "basis, date) with only the remaining targets; then any further actions. Do not repeat targets "
    "or actions listed above. If nothing is missing, answer with an empty list."
)


def salvage(text: str | None, model: type[BaseModel]) -> BaseModel | None:
    """The complete part of a cut-off JSON answer, validated into `model`, or None.

    Partial parsing keeps complete values only; list items that do not validate (the one the
    cut went through) are dropped from the end until the rest validates.
    """
    if not text:
        return None
    start = text.find("{")
    if start < 0:
        return None
    try:
        data = pydantic_core.from_json(text[start:], allow_partial=True)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    return _fit(data, model)


def _fit(data: dict[str, Any], model: type[BaseModel]) -> BaseModel | None:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        # Drop the innermost list item the first error points into, then try again.
        for error in exc.errors():
            if _drop_at(data, list(error["loc"])):
                return _fit(data, model)
        return None


def _drop_at(data: Any, loc: list[Any]) -> bool:
    """Remove the deepest list item on the path `loc` (or the missing key's parent item)."""
    parents: list[tuple[list[Any], int]] = []
    node = data
    for part in loc:
        if isinstance(node, list) and isinstance(part, int) and part < len(node):
            parents.append((node, part))
            node = node[part]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            break
    if not parents:
        return False
    items, index = parents[-1]
    del items[index]
    return True


def continuation_messages(messages: list[dict[str, str]], partial: BaseModel | None) -> list[dict[str, str]]:
    """The original request plus a turn asking for what the cut-off answer is missing."""
    received = summary(partial) if partial is not None else "nothing complete"
    return [*messages, {"role": "user", "content": CONTINUE.format(received=received)}]


def summary(partial: BaseModel) -> str:
    """A compact account of what was received: actions with their target names, or the items of each list."""
    data = partial.model_dump(mode="json")
    if "actions" in data:
        lines = []
        for number, action in enumerate(data["actions"], start=1):
            names = [t["name"] for t in action.get("targets", [])]
            head = f"action {number}: {action.get('authority')} {action.get('action')} {action.get('measures', [])}"
            lines.append(f"{head}; targets received: {json.dumps(names, ensure_ascii=False)}")
        return "\n".join(lines) or "no complete action"
    if "targets" in data:
        return "targets received: " + json.dumps([t["name"] for t in data["targets"]], ensure_ascii=False)
    return json.dumps(data, ensure_ascii=False)


def combine(parts: list[BaseModel]) -> BaseModel:
    """Merge an answer and its continuations into one of the same model class."""
    first = parts[0]
    if len(parts) == 1:
        return first
    if "actions" in type(first).model_fields and "is_sanctions_news" in type(first).model_fields:
        # Merged into the unbounded answer: list bounds apply to one call's output, not to the sum.
        return merge_answers([ExtractionAnswer.model_validate(part.model_dump()) for part in parts])
    merged: dict[str, Any] = first.model_dump()
    for part in parts[1:]:
        for name, value in part.model_dump().items():
            if isinstance(value, list) and isinstance(merged.get(name), list):
                merged[name] = _unique(merged[name] + value)
            elif merged.get(name) is None:
                merged[name] = value
    try:
        return type(first).model_validate(merged)
    except ValidationError:
        # Only a bounded step model of a small model can overflow: keep its first, valid part.
        return first


def _unique(items: list[Any]) -> list[Any]:
    seen: set[str] = set()
    out = []
    for item in items:
        key = merge_key(item["name"]) if isinstance(item, dict) and "name" in item else json.dumps(item, sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def added_anything(before: BaseModel, after: BaseModel) -> bool:
    """True when merging a continuation changed the answer (else the model is repeating itself)."""
    return before.model_dump() != after.model_dump()
