"""A named lease in the database: one holder at a time across every server process.

The poller runs in every `extractor serve` process, but only the holder of the `monitor` lease
polls, merges events and sends alerts. The holder renews the lease while it works; if its
process dies, the lease runs out and another process takes it over.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from extractor.store.models import utcnow
from extractor.store.monitor import LeaseRow

MONITOR_LEASE = "monitor"


def acquire(session: Session, name: str, holder: str, ttl_s: float) -> bool:
    """Take or renew the lease `name` for `holder` for `ttl_s` seconds; False if another holder has it."""
    now = utcnow()
    expires = now + dt.timedelta(seconds=ttl_s)
    taken = session.execute(
        update(LeaseRow)
        .where(LeaseRow.name == name, or_(LeaseRow.holder == holder, LeaseRow.expires_at < now))
        .values(holder=holder, expires_at=expires)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if taken:
        return True
    if session.scalar(select(LeaseRow.name).where(LeaseRow.name == name)) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(LeaseRow(name=name, holder=holder, expires_at=expires))
    except IntegrityError:  # another process created it first
        return False
    return True


def release(session: Session, name: str, holder: str) -> None:
    """Give the lease up (on an orderly stop), so another process can take it at once."""
    session.execute(
        update(LeaseRow).where(LeaseRow.name == name, LeaseRow.holder == holder)
        .values(expires_at=utcnow() - dt.timedelta(seconds=1))
        .execution_options(synchronize_session=False)
    )


def holder(session: Session, name: str) -> str | None:
    """Who holds the lease now (None when nobody does)."""
    row = session.get(LeaseRow, name)
    if row is None:
        return None
    expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=dt.UTC)
    return row.holder if expires > utcnow() else None
