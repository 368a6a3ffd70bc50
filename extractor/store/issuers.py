"""Issuers in the store: the registry id of each stored action's issuer, for filters.

`issuer_columns(action)` is what the action index keeps: the printed issuer, the id of the
body it names and that id with every body above it, so `issuer=us-treasury` finds OFAC's
actions too. `issuer_condition` turns a filter value (an id or a printed name) into SQL; `issuer_filter_id`
is that value's id, for the monitor's events.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func

from extractor.core.issuers import issuer_body, issuer_id, within

from .models import ActionRow


def issuer_columns(action: dict[str, Any]) -> dict[str, Any]:
    """`issuer`, `issuer_id` and `issuer_ids` for one action of a stored result."""
    printed = action.get("issuer")
    found = issuer_id(printed, action.get("authority"))
    return {
        "issuer": printed[:300] if isinstance(printed, str) else None,
        "issuer_id": found,
        "issuer_ids": "," + "".join(f"{i}," for i in within(found)) if found else ",",
    }


def issuer_condition(value: str, authority: str | None = None) -> ColumnElement[bool]:
    """Actions whose issuer is the body `value` names (an id such as "us-ofac", or a printed name) or is within it.

    A value the registry cannot place matches the printed issuer, case-insensitively.
    """
    wanted = value.strip()
    found = issuer_filter_id(wanted, authority)
    if found is None:
        return func.lower(ActionRow.issuer) == wanted.lower()
    return ActionRow.issuer_ids.like(f"%,{found},%")


def issuer_filter_id(value: str, authority: str | None = None) -> str | None:
    """The registry id a filter value names: an id as it is ("us-ofac", "eu"), else the body a printed
    name resolves to ("OFAC"), else None."""
    wanted = value.strip()
    body = issuer_body(wanted.lower()) or None
    return body.id if body is not None else issuer_id(wanted, authority)
