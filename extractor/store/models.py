"""Database tables (SQLAlchemy 2 declarative): documents, extractions and their index, jobs, API keys.

`extraction_actions` and `extraction_targets` are derived from each extraction's result so
that `/v1/documents` can filter in SQL; they are written with the extraction and deleted with it.
Times are stored in UTC.

An extraction comes from a model (`origin="model"`) or from an analyst's approved review
(`origin="review"`, `based_on_id` naming the model extraction it corrected). Each document
points at its current extraction, the one every view serves (API, filters, FtM, matches, the
review queue): the newest model extraction until a review is approved, then the reviewed one,
which later model runs are stored beside but never replace (`current_reviewed`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Job item states; a job's own state is derived from its items' counts.
QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
ITEM_STATES = (QUEUED, RUNNING, DONE, FAILED)
# Where an extraction came from.
MODEL, REVIEW = "model", "review"


def utcnow() -> dt.datetime:
    """The current time in UTC (the one clock every row uses)."""
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    """Declarative base of every table in the store."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, dt.datetime: DateTime(timezone=True)}


class DocumentRow(Base):
    """One article as posted: its text, a hash of the text and its metadata."""

    __tablename__ = "documents"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    text: Mapped[str] = mapped_column(Text)
    # "metadata" is reserved by SQLAlchemy's declarative classes, hence the attribute name.
    doc_meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    first_seen: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    # The extraction every view serves (no foreign key: the two tables would point at each other).
    current_extraction_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    # True once an approved review is current: model runs no longer replace it.
    current_reviewed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    extractions: Mapped[list[ExtractionRow]] = relationship(
        back_populates="document", cascade="all, delete-orphan", passive_deletes=True, order_by="ExtractionRow.id"
    )


class ExtractionRow(Base):
    """One result for a document under one prompt version, model and schema."""

    __tablename__ = "extractions"
    __table_args__ = (UniqueConstraint("document_id", "prompt_hash", "model", "schema_hash", name="uq_extraction_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    prompt_id: Mapped[str] = mapped_column(String(100))
    prompt_hash: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(200))
    schema_hash: Mapped[str] = mapped_column(String(64))
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # For human review of results: unreviewed, in_review, approved.
    review_status: Mapped[str] = mapped_column(String(20), default="unreviewed", server_default="unreviewed")
    origin: Mapped[str] = mapped_column(String(10), default=MODEL, server_default=MODEL)
    # For a reviewed extraction: the model extraction the review corrected (kept for the diff and eval).
    based_on_id: Mapped[int | None] = mapped_column(Integer, nullable=True)

    document: Mapped[DocumentRow] = relationship(back_populates="extractions")
    actions: Mapped[list[ActionRow]] = relationship(cascade="all, delete-orphan", passive_deletes=True)


class ActionRow(Base):
    """One sanctions action of an extraction, flattened for filtering."""

    __tablename__ = "extraction_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    extraction_id: Mapped[int] = mapped_column(ForeignKey("extractions.id", ondelete="CASCADE"), index=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    authority: Mapped[str] = mapped_column(String(8), index=True)
    action: Mapped[str] = mapped_column(String(10))
    # ",asset_freeze,travel_ban," so one LIKE finds a measure on every database.
    measures: Mapped[str] = mapped_column(String(400), default=",")
    # A partial date ("2024-03") covers a range of days: its first and last.
    date_from: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    date_to: Mapped[dt.date | None] = mapped_column(Date, nullable=True)

    targets: Mapped[list[TargetRow]] = relationship(cascade="all, delete-orphan", passive_deletes=True)


class TargetRow(Base):
    """One named target of an action, for the fuzzy name filter."""

    __tablename__ = "extraction_targets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("extraction_actions.id", ondelete="CASCADE"), index=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(500), index=True)
    entity_type: Mapped[str] = mapped_column(String(30))


class ApiKeyRow(Base):
    """An API key: only its SHA-256 is stored; the key itself is shown once, at creation."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    rate_limit: Mapped[int] = mapped_column(Integer, doc="Requests per minute")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)


class JobRow(Base):
    """A batch of documents submitted at once, extracted by the background workers."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    prompt: Mapped[str] = mapped_column(String(100))
    model: Mapped[str] = mapped_column(String(200))
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id", ondelete="SET NULL"), nullable=True)
    total: Mapped[int] = mapped_column(Integer)


class JobItemRow(Base):
    """One document of a job; claimed by one worker at a time under a renewable lease."""

    __tablename__ = "job_items"
    __table_args__ = (
        Index("ix_job_items_status_id", "status", "id"),
        Index("ix_job_items_job_pos", "job_id", "position"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    article_id: Mapped[str] = mapped_column(String(200))
    document_id: Mapped[str | None] = mapped_column(ForeignKey("documents.id", ondelete="SET NULL"), nullable=True)
    status: Mapped[str] = mapped_column(String(10), default=QUEUED)
    # The failure line (`article_id`, `error`, `meta`) for a failed item.
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    extraction_id: Mapped[int | None] = mapped_column(
        ForeignKey("extractions.id", ondelete="SET NULL"), nullable=True
    )
    claimed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    finished_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)


class ReviewRow(Base):
    """An analyst's review of one extraction: the corrected answer, who and when, and what changed.

    One row per extraction: a draft is `in_review` and is updated in place; approving it fixes
    reviewer, time and the diff against the model's answer (`changes`, a list of field changes).
    `spans` keeps the document offsets of names and quotes filled by selecting text.
    """

    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    extraction_id: Mapped[int] = mapped_column(
        ForeignKey("extractions.id", ondelete="CASCADE"), unique=True, index=True
    )
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="in_review")
    reviewer: Mapped[str] = mapped_column(String(100))
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    spans: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    approved_at: Mapped[dt.datetime | None] = mapped_column(nullable=True, index=True)


class SecretRow(Base):
    """A server secret generated on first start (the session-cookie signing key)."""

    __tablename__ = "service_secrets"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
