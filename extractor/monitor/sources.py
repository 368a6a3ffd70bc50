"""Watched sources in the store: add, list, remove, and the schedule (intervals, backoff after failures)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from extractor.core.errors import ConfigError
from extractor.store.models import utcnow
from extractor.store.monitor import ItemRow, SourceRow

from .fetch import Limits

KINDS = ("feed", "page")
DEFAULT_EVERY_S = 15 * 60
DEFAULT_RECHECK_S = 24 * 3600  # known articles are fetched again (conditional GET) once a day
MAX_BACKOFF_S = 6 * 3600
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$", re.IGNORECASE)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_every(value: str | int | float, option: str = "--every") -> int:
    """An interval in seconds from "90", "30s", "15m", "2h" or "1d" (at least one second)."""
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(value)
        if not match:
            raise ConfigError(f"{option} {value!r}: use a number with s, m, h or d (e.g. 15m)")
        seconds = float(match.group(1)) * _UNITS[(match.group(2) or "s").lower()]
    if seconds < 1:
        raise ConfigError(f"{option}: at least one second")
    return int(seconds)


@dataclass(frozen=True)
class SourceInfo:
    """A source as the poller and the API see it."""

    id: int
    name: str
    url: str
    kind: str
    pattern: str | None
    every_s: int
    recheck_s: int
    limits: Limits
    etag: str | None
    last_modified: str | None
    next_poll_at: dt.datetime
    last_polled_at: dt.datetime | None
    last_ok_at: dt.datetime | None
    last_error: str | None
    failures: int
    items_seen: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (times in ISO 8601)."""
        def iso(value: dt.datetime | None) -> str | None:
            return value.astimezone(dt.UTC).isoformat() if value is not None else None

        return {
            "id": self.id, "name": self.name, "url": self.url, "kind": self.kind, "pattern": self.pattern,
            "every_s": self.every_s, "recheck_s": self.recheck_s, "timeout_s": self.limits.timeout_s,
            "max_bytes": self.limits.max_bytes,
            "next_poll_at": iso(self.next_poll_at), "last_polled_at": iso(self.last_polled_at),
            "last_ok_at": iso(self.last_ok_at), "last_error": self.last_error, "failures": self.failures,
            "items_seen": self.items_seen,
        }


def info(row: SourceRow, defaults: Limits | None = None) -> SourceInfo:
    """A `SourceInfo` for a row; the per-source limits fall back to `defaults`."""
    defaults = defaults or Limits()
    limits = Limits(row.timeout_s or defaults.timeout_s, row.max_bytes or defaults.max_bytes)
    return SourceInfo(
        row.id, row.name, row.url, row.kind, row.pattern, row.every_s, row.recheck_s or DEFAULT_RECHECK_S, limits,
        row.etag, row.last_modified,
        row.next_poll_at, row.last_polled_at, row.last_ok_at, row.last_error, row.failures, row.items_seen,
    )


def add_source(
    session: Session, url: str, *, name: str | None = None, every: str | int = DEFAULT_EVERY_S,
    pattern: str | None = None, kind: str | None = None, timeout_s: float | None = None,
    max_bytes: int | None = None, recheck: str | int | None = None,
) -> SourceInfo:
    """Watch a feed (or, with `pattern` or `kind="page"`, an index page whose links are articles).

    `recheck`: how often an article already seen is fetched again, with a conditional GET, to
    notice a text that changed while its listing did not (a day by default).
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{url!r}: a source must be an http(s) URL")
    kind = kind or ("page" if pattern else "feed")
    if kind not in KINDS:
        raise ConfigError(f"kind {kind!r}: use one of {', '.join(KINDS)}")
    if pattern:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ConfigError(f"--pattern {pattern!r}: not a regular expression ({exc})") from None
    if (timeout_s is not None and timeout_s <= 0) or (max_bytes is not None and max_bytes < 1024):
        raise ConfigError("a source's timeout must be positive and its byte cap at least 1 KiB")
    name = (name or parts.netloc + parts.path.rstrip("/")).strip()[:200]
    if session.scalar(select(SourceRow.id).where(SourceRow.name == name)) is not None:
        raise ConfigError(f"a source named {name!r} exists already: choose another --name")
    row = SourceRow(name=name, url=url.strip(), kind=kind, pattern=pattern or None, every_s=parse_every(every),
                    recheck_s=parse_every(recheck, "--recheck") if recheck is not None else None, timeout_s=timeout_s,
                    max_bytes=max_bytes, next_poll_at=utcnow(), failures=0, items_seen=0)
    session.add(row)
    session.flush()
    return info(row)


def list_sources(session: Session) -> list[SourceInfo]:
    """Every source, by name."""
    return [info(row) for row in session.scalars(select(SourceRow).order_by(SourceRow.name))]


def find_source(session: Session, ref: str | int) -> SourceRow | None:
    """A source by id or name."""
    if isinstance(ref, int) or str(ref).isdigit():
        row = session.get(SourceRow, int(ref))
        if row is not None:
            return row
    return session.scalar(select(SourceRow).where(SourceRow.name == str(ref)))


def remove_source(session: Session, ref: str | int) -> SourceInfo:
    """Stop watching a source (its items go with it; documents and events stay)."""
    row = find_source(session, ref)
    if row is None:
        raise ConfigError(f"no source {ref!r}")
    found = info(row)
    session.execute(delete(ItemRow).where(ItemRow.source_id == row.id))
    session.delete(row)
    return found


def due_sources(session: Session, now: dt.datetime, defaults: Limits, *, everything: bool = False) -> list[SourceInfo]:
    """Sources whose next poll is due (all of them with `everything`), oldest first."""
    query = select(SourceRow).order_by(SourceRow.next_poll_at, SourceRow.id)
    if not everything:
        query = query.where(SourceRow.next_poll_at <= now)
    return [info(row, defaults) for row in session.scalars(query)]


def backoff_s(every_s: int, failures: int) -> int:
    """Seconds until the next try after `failures` failures in a row: doubling, capped at six hours."""
    return int(min(every_s * 2 ** max(failures - 1, 0), max(MAX_BACKOFF_S, every_s)))


def record_failure(session: Session, source_id: int, message: str) -> None:
    """Note a failed poll: the error, one more failure, and the next try after a backoff."""
    row = session.get(SourceRow, source_id)
    if row is None:
        return  # removed while it was being polled
    now = utcnow()
    row.failures += 1
    row.last_error = message[:2000]
    row.last_polled_at = now
    row.next_poll_at = now + dt.timedelta(seconds=backoff_s(row.every_s, row.failures))
