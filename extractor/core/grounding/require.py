"""`require_grounding`: keep only what the text supports, and say what was dropped.

A target whose name is not in the text is dropped, and so is an action none of whose evidence
quotes is; the removal is counted and listed in `meta.dropped`, never silent.
"""

from __future__ import annotations

from typing import Any, TypeVar

from ..schema import ExtractionAnswer
from .align import Grounding

Result = TypeVar("Result", bound=ExtractionAnswer)

MAX_DROPPED_LISTED = 50  # dropped items named in `meta.dropped`; all of them are counted


def grounding_drops(result: Result, grounding: Grounding) -> dict[str, Any]:
    """What `require_grounding` removes from `result`: counts, and the actions and target names it drops.

    `{"actions": 1, "targets": 2, "items": [{"action": 0, "authority": "us", "reason": ...}, {"action": 1,
    "target": "X", "reason": ...}]}`, so the removal is reported rather than silent.
    """
    items: list[dict[str, Any]] = []
    actions = targets = 0
    for number, (action, spans) in enumerate(zip(result.actions, grounding.actions, strict=True)):
        if not any(span.found for span in spans.evidence):
            actions += 1
            targets += len(action.targets)
            reason = "no evidence quote found in the text" if action.evidence else "no evidence quote"
            items.append({"action": number, "authority": action.authority, "targets": len(action.targets),
                          "reason": reason})
            continue
        for target, span in zip(action.targets, spans.targets, strict=True):
            if not span.found:
                targets += 1
                items.append({"action": number, "target": target.name, "reason": "name not found in the text"})
    return {"actions": actions, "targets": targets, "items": items[:MAX_DROPPED_LISTED]}


def require_grounding(result: Result, grounding: Grounding) -> Result:
    """A copy of `result` keeping only what is grounded.

    Targets whose name was not found are dropped; an action none of whose evidence was found (or
    with no evidence) is dropped; with no action left, `is_sanctions_news` becomes False.
    """
    if len(grounding.actions) != len(result.actions):
        raise ValueError(f"grounding has {len(grounding.actions)} actions, the result {len(result.actions)}")
    kept = []
    for action, spans in zip(result.actions, grounding.actions, strict=True):
        if not any(span.found for span in spans.evidence):
            continue
        targets = [t for t, span in zip(action.targets, spans.targets, strict=True) if span.found]
        kept.append({**action.model_dump(), "targets": [t.model_dump() for t in targets]})
    data = {**result.model_dump(), "actions": kept}
    if not kept:
        data["is_sanctions_news"] = False
    new = type(result).model_validate(data)
    if "_meta" in type(result).__private_attributes__:
        new._meta = getattr(result, "_meta", None)  # type: ignore[attr-defined]  # run metadata stays
    return new
