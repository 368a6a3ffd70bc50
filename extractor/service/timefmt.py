"""Stored times as ISO 8601 strings."""

from __future__ import annotations

import datetime as dt


def iso(value: dt.datetime) -> str:
    """A stored time in ISO 8601 with its UTC offset (SQLite hands times back without a zone; all are UTC)."""
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).isoformat(timespec="seconds")
