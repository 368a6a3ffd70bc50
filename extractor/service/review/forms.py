"""The review form: a draft of the extraction as the form shows it, its edits and its validation.

A draft keeps what the reviewer typed as strings (so a wrong value is shown back next to its
error); `payload()` turns it into the `ArticleExtraction` fields, and validation uses that same
pydantic model, its errors mapped back to the form's field names (`a0.t1.name`, `a0.e2`, ...).
Structural edits (add or remove an action, target or quote) are submit buttons whose value
names the edit, so the page works without its script; the script adds select-to-fill.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, get_args

from pydantic import ValidationError

from extractor.core.schema import ActionKind, ArticleExtraction, EntityType, Measure

MEASURES: tuple[str, ...] = get_args(Measure)
ENTITY_TYPES: tuple[str, ...] = get_args(EntityType)
ACTION_KINDS: tuple[str, ...] = get_args(ActionKind)
# Indices are ASCII digits, a few of them: int() of "²" or of 5,000 digits fails, and no form has that many rows.
FIELD = re.compile(r"^a([0-9]{1,4})\.(?:(t|e)([0-9]{1,4})\.?)?(.*)$", re.ASCII)
OP = re.compile(r"^(save|approve|add_action|add_target:a[0-9]{1,4}|add_evidence:a[0-9]{1,4}"
                r"|remove:a[0-9]{1,4}(?:\.[te][0-9]{1,4})?)$", re.ASCII)
MAX_ITEMS = 200  # actions per draft, targets or quotes per action: a bound on what a form can grow to

Draft = dict[str, Any]
FormData = Mapping[str, Sequence[str]]


def _lines(values: list[str] | None) -> str:
    return "\n".join(values or [])


def _span(spans: Mapping[str, Any], path: str) -> str:
    value = spans.get(path)
    return f"{value[0]},{value[1]}" if isinstance(value, list) and len(value) == 2 else ""


def blank_target(name: str = "", span: str = "") -> dict[str, str]:
    """A new target row."""
    return {"name": name, "name_span": span, "entity_type": "other", "country": "", "role": "", "aliases": ""}


def blank_action() -> dict[str, Any]:
    """A new action row."""
    return {"authority": "", "issuer": "", "action": "impose", "is_countermeasure": False, "measures": [],
            "target_countries": "", "target_count": "", "legal_basis": "", "reasons": "", "date": "",
            "coordinated_with": "", "evidence": [], "targets": []}


def draft_from_result(result: Mapping[str, Any], spans: Mapping[str, Any] | None = None,
                      notes: str | None = None) -> Draft:
    """The form's draft of a stored answer (a model result or a saved review)."""
    spans = spans or {}
    actions = []
    for i, action in enumerate(result.get("actions") or []):
        def text(name: str, source: Mapping[str, Any] = action) -> str:
            value = source.get(name)
            return "" if value is None else str(value)

        actions.append({
            "authority": text("authority"), "issuer": text("issuer"), "action": text("action") or "impose",
            "is_countermeasure": bool(action.get("is_countermeasure")), "measures": list(action.get("measures") or []),
            "target_countries": ", ".join(action.get("target_countries") or []),
            "target_count": text("target_count"), "legal_basis": _lines(action.get("legal_basis")),
            "reasons": _lines(action.get("reasons")), "date": text("date"),
            "coordinated_with": ", ".join(action.get("coordinated_with") or []),
            "evidence": [{"text": str(q), "span": _span(spans, f"actions[{i}].evidence[{k}]")}
                         for k, q in enumerate(action.get("evidence") or [])],
            "targets": [{**blank_target(text("name", t), _span(spans, f"actions[{i}].targets[{k}].name")),
                         "entity_type": text("entity_type", t) or "other", "country": text("country", t),
                         "role": text("role", t), "aliases": _lines(t.get("aliases"))}
                        for k, t in enumerate(action.get("targets") or [])],
        })
    return {"is_sanctions_news": bool(result.get("is_sanctions_news")), "notes": notes or "", "actions": actions}


def draft_from_form(form: FormData) -> Draft:
    """The draft a posted form describes (indices as rendered; unknown fields ignored)."""
    def one(name: str) -> str:
        values = form.get(name) or []
        return str(values[0]) if values else ""

    actions: dict[int, dict[str, Any]] = {}
    targets: dict[tuple[int, int], dict[str, str]] = {}
    quotes: dict[tuple[int, int], dict[str, str]] = {}
    for name in form:
        match = FIELD.match(name)
        if not match:
            continue
        a, kind, k, rest = int(match[1]), match[2], match[3], match[4]
        if a >= MAX_ITEMS or (k is not None and int(k) >= MAX_ITEMS):
            continue
        action = actions.setdefault(a, blank_action())
        if kind == "t":
            targets.setdefault((a, int(k)), blank_target())[rest or "name"] = one(name)
        elif kind == "e":
            quotes.setdefault((a, int(k)), {"text": "", "span": ""})["span" if rest == "span" else "text"] = one(name)
        elif rest == "measures":
            action["measures"] = [m for m in form.get(name) or [] if m in MEASURES]
        elif rest == "is_countermeasure":
            action["is_countermeasure"] = one(name) == "on"
        elif rest in action and rest not in ("evidence", "targets"):
            action[rest] = one(name)
    for (a, _k), target in sorted(targets.items()):
        actions[a]["targets"].append(target)
    for (a, _k), quote in sorted(quotes.items()):
        actions[a]["evidence"].append(quote)
    return {"is_sanctions_news": one("is_sanctions_news") == "on", "notes": one("notes"),
            "actions": [actions[a] for a in sorted(actions)]}


def apply_op(draft: Draft, op: str, *, new_text: str = "", new_span: str = "") -> Draft:
    """Apply a structural edit; `new_text`/`new_span` prefill an added target or quote (from a selection)."""
    actions = draft["actions"]
    if op == "add_action" and len(actions) < MAX_ITEMS:
        actions.append(blank_action())
        return draft
    kind, _, where = op.partition(":")
    match = FIELD.match(where + ".") if where else None
    if match is None:
        return draft
    a = int(match[1])
    if a >= len(actions):
        return draft
    action = actions[a]
    if kind == "add_target" and len(action["targets"]) < MAX_ITEMS:
        action["targets"].append(blank_target(new_text.strip(), new_span))
    elif kind == "add_evidence" and len(action["evidence"]) < MAX_ITEMS:
        action["evidence"].append({"text": new_text.strip(), "span": new_span})
    elif kind == "remove" and match[2] is None:
        del actions[a]
    elif kind == "remove":
        items = action["targets"] if match[2] == "t" else action["evidence"]
        if int(match[3]) < len(items):
            del items[int(match[3])]
    return draft


def _split(value: str, sep: str) -> list[str]:
    parts = value.splitlines() if sep == "\n" else value.split(sep)
    return [p.strip() for p in parts if p.strip()]


def _optional(value: str) -> str | None:
    return value.strip() or None


MAX_COUNT_DIGITS = 9


def _count(value: str) -> Any:
    value = value.strip()
    if not value:
        return None
    # Only plain ASCII digits are a number ("²".isdigit() is true, and int() of it fails); anything else,
    # including a number too long to be a count, goes on to fail validation, named.
    if value.isascii() and value.isdigit() and len(value) <= MAX_COUNT_DIGITS:
        return int(value)
    return value


def payload(draft: Draft, article_id: str, *, keep_blank: bool = False) -> dict[str, Any]:
    """The `ArticleExtraction` fields of a draft (lists split, blanks as null).

    Blank quotes are dropped unless `keep_blank` (a saved draft keeps the empty row it was given).
    """
    actions = []
    for action in draft["actions"]:
        actions.append({
            "authority": action["authority"].strip(), "issuer": _optional(action["issuer"]),
            "action": action["action"], "is_countermeasure": action["is_countermeasure"],
            "measures": list(action["measures"]), "targets": [
                {"name": t["name"].strip(), "entity_type": t["entity_type"], "country": _optional(t["country"]),
                 "role": _optional(t["role"]), "aliases": _split(t["aliases"], "\n")}
                for t in action["targets"]
            ],
            "target_countries": _split(action["target_countries"], ","),
            "target_count": _count(action["target_count"]),
            "legal_basis": _split(action["legal_basis"], "\n"), "reasons": _split(action["reasons"], "\n"),
            "date": _optional(action["date"]), "coordinated_with": _split(action["coordinated_with"], ","),
            "evidence": [q["text"].strip() for q in action["evidence"] if keep_blank or q["text"].strip()],
        })
    return {"article_id": article_id, "is_sanctions_news": draft["is_sanctions_news"], "actions": actions}


def _field_name(loc: tuple[Any, ...], draft: Draft) -> str:
    """The form field a pydantic error location points at."""
    if len(loc) < 3 or loc[0] != "actions":
        return str(loc[0]) if loc and loc[0] == "is_sanctions_news" else "form"
    a, field = loc[1], loc[2]
    if field == "targets" and len(loc) >= 5:
        return f"a{a}.t{loc[3]}.{loc[4]}"
    if field == "evidence" and len(loc) >= 4:
        # Blank quotes were dropped from the payload: find the form row of the k-th kept one.
        kept = [k for k, q in enumerate(draft["actions"][a]["evidence"]) if q["text"].strip()]
        k = int(loc[3])
        return f"a{a}.e{kept[k] if k < len(kept) else k}"
    return f"a{a}.{field}"


def validate(draft: Draft, article_id: str) -> tuple[ArticleExtraction | None, dict[str, str]]:
    """The draft as a valid `ArticleExtraction`, or the errors by form field name."""
    try:
        return ArticleExtraction.model_validate(payload(draft, article_id)), {}
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors():
            name = _field_name(tuple(error.get("loc", ())), draft)
            message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
            errors.setdefault(name, message)
        return None, errors


def checked_spans(draft: Draft, text: str, *, keep_blank: bool = False) -> dict[str, list[int]]:
    """Offsets of names and quotes filled from a selection, kept only while the field still holds that text."""
    spans: dict[str, list[int]] = {}

    def keep(path: str, value: str, span: str) -> None:
        match = re.fullmatch(r"([0-9]{1,9}),([0-9]{1,9})", span.strip(), re.ASCII)
        if match:
            start, end = int(match[1]), int(match[2])
            if start < end <= len(text) and text[start:end].strip() == value.strip() and value.strip():
                spans[path] = [start, end]

    for i, action in enumerate(draft["actions"]):
        kept = [q for q in action["evidence"] if keep_blank or q["text"].strip()]
        for k, quote in enumerate(kept):
            keep(f"actions[{i}].evidence[{k}]", quote["text"], quote["span"])
        for k, target in enumerate(action["targets"]):
            keep(f"actions[{i}].targets[{k}].name", target["name"], target["name_span"])
    return spans


def parse_op(value: str | None) -> str:
    """The edit a submit button asked for ("save" for Enter in a field or an unknown value)."""
    value = (value or "save").strip()
    return value if OP.match(value) else "save"
