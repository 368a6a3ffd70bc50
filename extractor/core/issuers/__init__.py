"""Sanctioning bodies: a registry that maps each printed issuer to a stable id.

`issuer_id("Treasury's Office of Foreign Assets Control", "us")` is "us-ofac"; `same_issuer`
tells the scorer that "OFAC" and "U.S. Department of the Treasury" name one issuer (a body
and the body that contains it). Filters, FtM export and events use the id; the printed form
stays in the extraction as the model gave it.
"""

from __future__ import annotations

from functools import lru_cache

from .registry import Body, Registry, registry


@lru_cache(maxsize=8192)
def resolve_issuer(printed: str | None, authority: str | None = None) -> Body | None:
    """The registered body an issuer names (the action's authority decides "Treasury"), or None."""
    return registry().resolve(printed, authority)


def issuer_id(printed: str | None, authority: str | None = None) -> str | None:
    """The stable id of the body an issuer names ("us-ofac"), or None when the registry cannot tell."""
    found = resolve_issuer(printed, authority)
    return found.id if found is not None else None


def same_issuer(a: str | None, b: str | None) -> bool:
    """True when two ids are one body, or one body contains the other ("us-ofac" and "us-treasury")."""
    return a is not None and b is not None and registry().related(a, b)


def issuer_body(body_id: str) -> Body | None:
    """The body of an id (listed, or the root or kind body of any jurisdiction)."""
    return registry().body(body_id)


def within(body_id: str) -> list[str]:
    """The id and every id above it: what a filter on any of them should find."""
    return [body_id, *registry().ancestors(body_id)]


__all__ = ["Body", "Registry", "issuer_body", "issuer_id", "registry", "resolve_issuer", "same_issuer", "within"]
