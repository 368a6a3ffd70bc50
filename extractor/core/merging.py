"""Merging answers: per-chunk answers joined into one, the same target named twice kept once.

`merge_answers` folds the answers of a document's chunks (or of a cut-off answer and its
continuations) back into one, joining actions and targets that the overlap, or a long
announcement, split across calls. `merge_key` is the comparison key targets are joined by.
"""

from __future__ import annotations

import unicodedata
from typing import Any, TypeVar

from rapidfuzz.utils import default_process

from .schema import ExtractionAnswer

Answer = TypeVar("Answer", bound=ExtractionAnswer)


def merge_key(name: str) -> str:
    """A comparison key for names: case, width, accents, punctuation and spacing ignored."""
    decomposed = unicodedata.normalize("NFKD", name)
    # Only the Latin combining accents go: kana voicing marks are also combining, but change the name.
    stripped = "".join(c for c in decomposed if not "\u0300" <= c <= "\u036f")
    folded = unicodedata.normalize("NFKC", stripped).casefold()
    return " ".join(default_process(folded).split())


def _union(*lists: list[Any]) -> list[Any]:
    """Items of the lists in first-seen order, exact duplicates removed."""
    seen: dict[Any, None] = {}
    for items in lists:
        for item in items:
            seen.setdefault(item, None)
    return list(seen)


def _merge_targets(targets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    for target in targets:
        key = merge_key(target["name"]) or target["name"]
        first = merged.get(key)
        if first is None:
            merged[key] = dict(target)
            continue
        for field in ("country", "role"):
            if first.get(field) is None:
                first[field] = target.get(field)
        first["aliases"] = _union(first.get("aliases", []), target.get("aliases", []))
    return list(merged.values())


def _merge_actions(actions: list[dict[str, Any]]) -> dict[str, Any]:
    first = actions[0]
    merged = dict(first)
    for field in ("legal_basis", "reasons", "target_countries", "coordinated_with", "evidence"):
        merged[field] = _union(*(a.get(field, []) for a in actions))
    for field in ("issuer", "date"):
        merged[field] = next((a[field] for a in actions if a.get(field) is not None), None)
    counts = [a["target_count"] for a in actions if a.get("target_count") is not None]
    merged["target_count"] = max(counts) if counts else None
    merged["targets"] = _merge_targets([t for a in actions for t in a.get("targets", [])])
    return merged


def merge_answers(answers: list[Answer]) -> Answer:
    """Merge per-chunk answers into one of the same model class.

    Actions with the same authority, kind, countermeasure flag and set of measures become one; their
    list fields are unioned in first-seen order, issuer and date come from the first that has one,
    target_count is the largest stated. Targets with the same `merge_key` keep the first, filled in
    from later duplicates. Other fields (an `article_id`) come from the first answer.
    """
    if not answers:
        raise ValueError("no answers to merge")
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for answer in answers:
        for action in answer.actions:
            key = (action.authority, action.action, action.is_countermeasure, frozenset(action.measures))
            groups.setdefault(key, []).append(action.model_dump())
    data = {
        **answers[0].model_dump(),
        "is_sanctions_news": any(a.is_sanctions_news for a in answers),
        "actions": [_merge_actions(group) for group in groups.values()],
    }
    return type(answers[0]).model_validate(data)
