"""What a reviewer changed: a field-level diff of the model's answer against the reviewed one.

Actions are paired by (authority, action kind) in order, then by position; targets by their
folded name; so deleting one target reads as one removal, not as every later target changed.
Each change names its field path in general form (`actions.targets.name`) for counting and
in particular form (`actions[0].targets[1].name`) for reading.
"""

from __future__ import annotations

from typing import Any

Change = dict[str, Any]


def _fold(value: Any) -> str:
    return " ".join(str(value or "").casefold().split())


def _pair(model: list[Any], reviewed: list[Any], key: Any) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """Pair list items by `key`, first equal keys in order, then the remaining ones by position."""
    pairs: list[tuple[int, int]] = []
    free = list(range(len(reviewed)))
    unpaired: list[int] = []
    for i, item in enumerate(model):
        match = next((j for j in free if key(reviewed[j]) == key(item)), None)
        if match is None:
            unpaired.append(i)
        else:
            pairs.append((i, match))
            free.remove(match)
    return pairs, unpaired, free


def _change(op: str, field: str, path: str, model: Any, reviewed: Any) -> Change:
    return {"op": op, "field": field, "path": path, "model": model, "reviewed": reviewed}


def _dict_changes(model: dict[str, Any], reviewed: dict[str, Any], field: str, path: str) -> list[Change]:
    changes: list[Change] = []
    for name in sorted(set(model) | set(reviewed)):
        left, right = model.get(name), reviewed.get(name)
        sub_field = f"{field}.{name}" if field else name
        sub_path = f"{path}.{name}" if path else name
        if name == "targets":
            changes += _list_of_dicts(left or [], right or [], sub_field, sub_path, lambda t: _fold(t.get("name")))
        elif isinstance(left, list) or isinstance(right, list):
            left_set, right_set = list(left or []), list(right or [])
            for value in left_set:
                if value not in right_set:
                    changes.append(_change("removed", sub_field, sub_path, value, None))
            for value in right_set:
                if value not in left_set:
                    changes.append(_change("added", sub_field, sub_path, None, value))
        elif left != right:
            changes.append(_change("changed", sub_field, sub_path, left, right))
    return changes


def _list_of_dicts(model: list[dict[str, Any]], reviewed: list[dict[str, Any]], field: str, path: str,
                   key: Any) -> list[Change]:
    pairs, removed, added = _pair(model, reviewed, key)
    if key is not None and field == "actions":
        # Actions left over after the (authority, kind) pass are paired by position.
        extra = list(zip(removed, added, strict=False))
        pairs += extra
        removed, added = removed[len(extra):], added[len(extra):]
    changes: list[Change] = []
    for i, j in pairs:
        changes += _dict_changes(model[i], reviewed[j], field, f"{path}[{j}]")
    changes += [_change("removed", field, f"{path}[{i}]", model[i], None) for i in removed]
    changes += [_change("added", field, f"{path}[{j}]", None, reviewed[j]) for j in added]
    return changes


def diff_answers(model: dict[str, Any], reviewed: dict[str, Any]) -> list[Change]:
    """Every field change from the model's answer to the reviewed one (`article_id` and `meta` ignored)."""
    ignore = {"article_id", "meta", "notes"}
    left = {k: v for k, v in model.items() if k not in ignore and k != "actions"}
    right = {k: v for k, v in reviewed.items() if k not in ignore and k != "actions"}
    changes = _dict_changes(left, right, "", "")
    changes += _list_of_dicts(model.get("actions") or [], reviewed.get("actions") or [], "actions", "actions",
                              lambda a: (a.get("authority"), a.get("action")))
    return changes
