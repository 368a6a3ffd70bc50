"""Merging answers: per-chunk answers joined into one, the same target named twice kept once.

`merge_answers` folds the answers of a document's chunks (or of a cut-off answer and its
continuations) back into one, joining actions and targets that the overlap, or a long
announcement, split across calls. `dedupe` does the same inside one answer: a model that
lists "Bago Region" twelve times in one action, or names a target once by its name and once
by its acronym, gives one target with the other forms pooled as aliases. `merge_key` is the
comparison key targets are joined by.
"""

from __future__ import annotations

import unicodedata
from typing import Any, TypeVar

from rapidfuzz.utils import default_process

from .schema import ExtractionAnswer

Answer = TypeVar("Answer", bound=ExtractionAnswer)
# List fields of an action whose repeated items say nothing new (codes compared as they are,
# free text by `merge_key`).
_CODE_LISTS = ("measures", "target_countries", "coordinated_with")
_TEXT_LISTS = ("legal_basis", "reasons", "evidence")


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


def _text_union(*lists: list[str]) -> list[str]:
    """Texts of the lists in first-seen order, one per `merge_key` (the first form printed is kept)."""
    seen: dict[str, str] = {}
    for items in lists:
        for item in items:
            seen.setdefault(merge_key(item) or item, item)
    return list(seen.values())


def _key(name: str) -> str:
    return merge_key(name) or name


def _groups(targets: list[dict[str, Any]]) -> list[list[int]]:
    """Indexes of the targets that are one entity: the same name key, or one's name is the other's alias.

    Joined transitively (a union-find over the targets), each group in first-seen order.
    """
    parent = list(range(len(targets)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def join(i: int, j: int) -> None:
        a, b = root(i), root(j)
        if a != b:
            parent[max(a, b)] = min(a, b)

    by_name: dict[str, int] = {}
    for i, target in enumerate(targets):
        key = _key(target["name"])
        if key in by_name:
            join(i, by_name[key])
        else:
            by_name[key] = i
    for i, target in enumerate(targets):
        for alias in target.get("aliases") or []:
            other = by_name.get(_key(alias))
            if other is not None:
                join(i, other)
    groups: dict[int, list[int]] = {}
    for i in range(len(targets)):
        groups.setdefault(root(i), []).append(i)
    return list(groups.values())


def _merge_group(members: list[dict[str, Any]]) -> dict[str, Any]:
    """One target from the forms of one entity: the fullest name, the other names and all aliases pooled."""
    # The schema asks for the fullest form as the name: keep the longest, the first of equals.
    kept = max(members, key=lambda t: len(t["name"].strip()))
    merged = dict(kept)
    for field in ("country", "role"):
        if merged.get(field) is None:
            merged[field] = next((t[field] for t in members if t.get(field) is not None), None)
    own = _key(kept["name"])
    others = [t["name"] for t in members] + [a for t in members for a in t.get("aliases") or []]
    merged["aliases"] = [a for a in _text_union(others) if _key(a) != own]
    return merged


def merge_targets(targets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Targets (as dicts) with each entity once: same name key, or one named by the other's alias.

    The merged target sits where the entity was first named, keeps the fullest name and
    entity type of that form, fills country and role from the first that has one, and
    carries every other name and alias of the group once.
    """
    return [_merge_group([targets[i] for i in group]) for group in _groups(targets)]


def _merge_actions(actions: list[dict[str, Any]]) -> dict[str, Any]:
    first = actions[0]
    merged = dict(first)
    for field in _CODE_LISTS[1:]:
        merged[field] = _union(*(a.get(field, []) for a in actions))
    for field in _TEXT_LISTS:
        merged[field] = _text_union(*(a.get(field, []) for a in actions))
    for field in ("issuer", "date"):
        merged[field] = next((a[field] for a in actions if a.get(field) is not None), None)
    counts = [a["target_count"] for a in actions if a.get("target_count") is not None]
    merged["target_count"] = max(counts) if counts else None
    merged["targets"] = merge_targets([t for a in actions for t in a.get("targets", [])])
    return merged


def merge_answers(answers: list[Answer]) -> Answer:
    """Merge per-chunk answers into one of the same model class.

    Actions with the same authority, kind, countermeasure flag and set of measures become one; their
    list fields are unioned in first-seen order, issuer and date come from the first that has one,
    target_count is the largest stated. Targets that are one entity become one (`merge_targets`).
    Other fields (an `article_id`) come from the first answer.
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


def _has_duplicates(answer: ExtractionAnswer) -> bool:
    """True when some action repeats a target, names one by another's alias, or repeats a list item."""
    for action in answer.actions:
        names = {_key(t.name) for t in action.targets}
        if len(names) < len(action.targets):
            return True
        for target in action.targets:
            if any(_key(alias) in names for alias in target.aliases):
                return True
            if len({_key(alias) for alias in target.aliases} | {_key(target.name)}) < len(target.aliases) + 1:
                return True
        for field in _CODE_LISTS:
            items = getattr(action, field)
            if len(set(items)) < len(items):
                return True
        for field in _TEXT_LISTS:
            items = getattr(action, field)
            if len({_key(item) for item in items}) < len(items):
                return True
    return False


def dedupe(answer: Answer) -> Answer:
    """`answer` with each action's targets and list items once (the answer itself when nothing repeats).

    Targets of one action that are one entity (the same name key, or one's name is the
    other's alias) merge as `merge_targets` merges them; a target's aliases lose repeats and
    the forms of its own name; measures, countries, legal bases, reasons and evidence lose
    repeated items. Actions are never merged here: two actions are the model's judgement.
    """
    if not _has_duplicates(answer):
        return answer
    data = answer.model_dump()
    for action in data["actions"]:
        action["targets"] = merge_targets(action["targets"])
        for field in _CODE_LISTS:
            action[field] = _union(action[field])
        for field in _TEXT_LISTS:
            action[field] = _text_union(action[field])
    return type(answer).model_validate(data)
