"""Browser sessions in the store: only a hash of each session token, so the database gives nobody a session.

A session ends when its key is revoked, when it expires, or on logout (`end_session`),
which is final: a copy of the cookie kept from before is refused from then on.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from .models import BrowserSessionRow, utcnow


def token_hash(token: str) -> str:
    """The SHA-256 of a session token (tokens are 256-bit random: a fast hash is enough)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def open_session(session: Session, token: str, key_id: int, max_age_s: int) -> None:
    """Record a new session of key `key_id`, valid for `max_age_s` seconds; old expired ones are purged."""
    now = utcnow()
    session.execute(delete(BrowserSessionRow).where(BrowserSessionRow.expires_at < now - dt.timedelta(days=1)))
    session.add(BrowserSessionRow(token_hash=token_hash(token), api_key_id=key_id, created_at=now,
                                  expires_at=now + dt.timedelta(seconds=max_age_s)))


def session_key_id(session: Session, token: str) -> int | None:
    """The key id of a live session (not ended, not expired), or None."""
    row = session.get(BrowserSessionRow, token_hash(token))
    if row is None or row.ended_at is not None:
        return None
    expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=dt.UTC)
    return row.api_key_id if expires > utcnow() else None


def end_session(session: Session, token: str) -> bool:
    """End a session for good (logout); False if there was no live one."""
    statement = (
        update(BrowserSessionRow)
        .where(BrowserSessionRow.token_hash == token_hash(token), BrowserSessionRow.ended_at.is_(None))
        .values(ended_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(session.execute(statement).rowcount)  # type: ignore[attr-defined]
