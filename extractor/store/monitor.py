"""Tables of the monitor: watched sources and their items, the poller's lease, events, watchlists, alerts.

Sources are polled feeds and index pages; an item is one article URL seen in a source, known
by the hash of its URL and of its text, so it is extracted once. Events group the actions of
different documents that report the same measure; alerts record a watchlist match once, and
deliveries record each webhook's attempts. Times are stored in UTC.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, utcnow


class SourceRow(Base):
    """A watched feed (RSS/Atom) or index page, with its conditional-GET state and its last error."""

    __tablename__ = "watch_sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    url: Mapped[str] = mapped_column(String(2000))
    kind: Mapped[str] = mapped_column(String(10))  # "feed" or "page"
    pattern: Mapped[str | None] = mapped_column(String(500), nullable=True)
    every_s: Mapped[int] = mapped_column(Integer)
    # How often an article already seen is fetched again (conditional GET); None: the default (a day).
    recheck_s: Mapped[int | None] = mapped_column(Integer, nullable=True)
    timeout_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    max_bytes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    etag: Mapped[str | None] = mapped_column(String(500), nullable=True)
    last_modified: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    next_poll_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    last_polled_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    last_ok_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    items_seen: Mapped[int] = mapped_column(Integer, default=0)


class ItemRow(Base):
    """One article of a source: its URL, the hash of its current text and the document it became."""

    __tablename__ = "watch_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("watch_sources.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    url_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The listing's fingerprint of the entry (title, date, summary): an article is fetched again when it changes.
    fingerprint: Mapped[str | None] = mapped_column(String(64), nullable=True)
    text_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    document_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    title: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    published: Mapped[str | None] = mapped_column(String(10), nullable=True)
    versions: Mapped[int] = mapped_column(Integer, default=0)
    first_seen: Mapped[dt.datetime] = mapped_column(default=utcnow)
    changed_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The article page's validators and the time it was last fetched (or found unchanged).
    etag: Mapped[str | None] = mapped_column(String(500), nullable=True)
    last_modified: Mapped[str | None] = mapped_column(String(100), nullable=True)
    checked_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)


class LeaseRow(Base):
    """A named lease (the poller's): held by one process until it expires or is renewed."""

    __tablename__ = "watch_leases"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[dt.datetime] = mapped_column()


class DigestedRow(Base):
    """An extraction whose actions have been merged into events and checked against watchlists."""

    __tablename__ = "watch_digested"

    extraction_id: Mapped[int] = mapped_column(
        ForeignKey("extractions.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    digested_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class EventRow(Base):
    """A sanctions measure as reported by one or more documents: the merged view and its conflicts."""

    __tablename__ = "watch_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    authority: Mapped[str] = mapped_column(String(8), index=True)
    action: Mapped[str] = mapped_column(String(10))
    date_from: Mapped[dt.date | None] = mapped_column(Date, nullable=True, index=True)
    date_to: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    title: Mapped[str] = mapped_column(String(500))
    # ",GLOMAG,RUSSIA-EO14024," and ",asset_freeze,": one LIKE finds a value on every database.
    programmes: Mapped[str] = mapped_column(String(1000), default=",")
    measures: Mapped[str] = mapped_column(String(400), default=",")
    # The issuing body's registry id with every body above it (",us-ofac,us-treasury,us,"), so an
    # issuer filter on the Treasury finds OFAC's events too; "," when the registry cannot tell.
    issuers: Mapped[str] = mapped_column(String(400), default=",")
    sources: Mapped[int] = mapped_column(Integer, default=0)
    conflicted: Mapped[bool] = mapped_column(Boolean, default=False)
    # The merged view: targets with the documents naming each, documents, legal bases, conflicts.
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    merged_into: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)


class EventActionRow(Base):
    """One extracted action that belongs to an event."""

    __tablename__ = "watch_event_actions"

    action_id: Mapped[int] = mapped_column(
        ForeignKey("extraction_actions.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    event_id: Mapped[int] = mapped_column(ForeignKey("watch_events.id", ondelete="CASCADE"), index=True)
    extraction_id: Mapped[int] = mapped_column(Integer, index=True)
    document_id: Mapped[str] = mapped_column(String(200), index=True)
    position: Mapped[int] = mapped_column(Integer)
    # The action as extracted (authority, targets, dates, ...), so events rebuild without the extraction.
    action: Mapped[dict[str, Any]] = mapped_column(JSON)


class EventTargetRow(Base):
    """A target name of an event, for the `target` filter."""

    __tablename__ = "watch_event_targets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("watch_events.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(500), index=True)


class WatchlistRow(Base):
    """What to be alerted about: a name, a programme, an authority, a country, or a file of names."""

    __tablename__ = "watch_watchlists"
    __table_args__ = (UniqueConstraint("kind", "value", name="uq_watchlist_kind_value"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20))  # name, programme, authority, country, file
    value: Mapped[str] = mapped_column(String(1000))
    label: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AlertRow(Base):
    """A watchlist match on an event, stored once: what matched, how well, and the quote that says so."""

    __tablename__ = "watch_alerts"
    __table_args__ = (
        UniqueConstraint("watchlist_id", "event_id", "field", "value_key", name="uq_alert_once"),
        Index("ix_watch_alerts_created", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    watchlist_id: Mapped[int] = mapped_column(ForeignKey("watch_watchlists.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("watch_events.id", ondelete="CASCADE"), index=True)
    document_id: Mapped[str] = mapped_column(String(200))
    field: Mapped[str] = mapped_column(String(20))  # target, programme, authority, country
    value: Mapped[str] = mapped_column(String(500))  # what the event says
    value_key: Mapped[str] = mapped_column(String(500))  # its normalised form (one alert per key)
    matched: Mapped[str] = mapped_column(String(500))  # the watchlist entry it matched
    score: Mapped[float] = mapped_column(Float)
    evidence: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class WebhookRow(Base):
    """A URL that receives every new alert, signed with its secret (HMAC-SHA256)."""

    __tablename__ = "watch_webhooks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    url: Mapped[str] = mapped_column(String(2000), unique=True)
    secret: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class DeliveryRow(Base):
    """One alert to one webhook: its state, attempts, next try and the log of every attempt."""

    __tablename__ = "watch_deliveries"
    __table_args__ = (
        UniqueConstraint("alert_id", "webhook_id", name="uq_delivery_once"),
        Index("ix_watch_deliveries_due", "status", "next_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("watch_alerts.id", ondelete="CASCADE"), index=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("watch_webhooks.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending, delivered, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    log: Mapped[list[Any]] = mapped_column(JSON, default=list)
