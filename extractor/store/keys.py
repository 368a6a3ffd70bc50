"""API keys in the store: create (hash only), look up by hash, list, revoke; roles and what they allow."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from extractor.core.errors import ConfigError

from .models import ROLES, ApiKeyRow, utcnow


@dataclass(frozen=True)
class KeyInfo:
    """A key as the service sees it after authentication (never the secret itself)."""

    id: int
    name: str
    prefix: str
    rate_limit: int
    revoked: bool
    role: str = "reader"

    def allows(self, role: str) -> bool:
        """True if this key's role is `role` or above it (reader < reviewer < admin)."""
        return allows(self.role, role)


def allows(held: str, needed: str) -> bool:
    """True if a key holding role `held` may do what needs `needed`; an unknown role allows nothing."""
    if held not in ROLES or needed not in ROLES:
        return False
    return ROLES.index(held) >= ROLES.index(needed)


def _info(row: ApiKeyRow) -> KeyInfo:
    return KeyInfo(row.id, row.name, row.prefix, row.rate_limit, row.revoked_at is not None, row.role)


def add_key(
    session: Session, *, name: str, prefix: str, key_hash: str, rate_limit: int, role: str = "reader"
) -> KeyInfo:
    """Store a new key's hash under a unique name, with its role (reader, reviewer or admin)."""
    if not name.strip():
        raise ConfigError("a key needs a name")
    if role not in ROLES:
        raise ConfigError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    if rate_limit < 1:
        raise ConfigError("the rate limit must be at least 1 request per minute")
    if session.scalar(select(ApiKeyRow.id).where(ApiKeyRow.name == name)) is not None:
        raise ConfigError(f"a key named {name!r} exists already: choose another name or revoke it")
    row = ApiKeyRow(name=name, prefix=prefix, key_hash=key_hash, rate_limit=rate_limit, role=role)
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        raise ConfigError(f"a key named {name!r} exists already") from None
    return _info(row)


def find_key(session: Session, key_hash: str) -> KeyInfo | None:
    """The key with this hash (revoked or not), or None."""
    row = session.scalar(select(ApiKeyRow).where(ApiKeyRow.key_hash == key_hash))
    return _info(row) if row is not None else None


def list_keys(session: Session) -> list[tuple[KeyInfo, str, str | None]]:
    """Every key with its creation and revocation times (ISO 8601)."""
    rows = session.scalars(select(ApiKeyRow).order_by(ApiKeyRow.id)).all()
    return [
        (_info(r), r.created_at.isoformat(timespec="seconds"),
         r.revoked_at.isoformat(timespec="seconds") if r.revoked_at else None)
        for r in rows
    ]


def revoke_key(session: Session, name_or_id: str) -> KeyInfo:
    """Revoke the key with this name (or numeric id); it stops working at once."""
    query = select(ApiKeyRow).where(ApiKeyRow.name == name_or_id)
    row = session.scalar(query)
    if row is None and name_or_id.isdigit():
        row = session.get(ApiKeyRow, int(name_or_id))
    if row is None:
        raise ConfigError(f"no key named {name_or_id!r} (see `extractor keys list`)")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return _info(row)


def active_key_count(session: Session) -> int:
    """How many keys are not revoked."""
    return len(session.scalars(select(ApiKeyRow.id).where(ApiKeyRow.revoked_at.is_(None))).all())


def key_by_id(session: Session, key_id: int) -> KeyInfo | None:
    """The key with this id (revoked or not), or None."""
    row = session.get(ApiKeyRow, key_id)
    return _info(row) if row is not None else None
