"""Database tables (SQLAlchemy 2 declarative): documents, extractions and their index, jobs, API keys, sessions,
eval runs, model calls.

`extraction_actions` and `extraction_targets` are derived from each extraction's result so
that `/v1/documents` can filter in SQL; they are written with the extraction and deleted with it.
Times are stored in UTC.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, deferred, mapped_column, relationship

# Job item states; a job's own state is derived from its items' counts.
QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
ITEM_STATES = (QUEUED, RUNNING, DONE, FAILED)


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
    # For human review of results: unreviewed, accepted, rejected, corrected.
    review_status: Mapped[str] = mapped_column(String(20), default="unreviewed", server_default="unreviewed")

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
    # The issuer as printed, the registry id of the body it names ("us-ofac") and that id with
    # every body above it (",us-ofac,us-treasury,us,"), so a filter on the Treasury finds OFAC.
    issuer: Mapped[str | None] = mapped_column(String(300), nullable=True)
    issuer_id: Mapped[str | None] = mapped_column(String(60), nullable=True, index=True)
    issuer_ids: Mapped[str] = mapped_column(String(400), default=",", server_default=",")

    targets: Mapped[list[TargetRow]] = relationship(cascade="all, delete-orphan", passive_deletes=True)


class TargetRow(Base):
    """One named target of an action, for the fuzzy name filter."""

    __tablename__ = "extraction_targets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("extraction_actions.id", ondelete="CASCADE"), index=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(500), index=True)
    entity_type: Mapped[str] = mapped_column(String(30))


# Key roles, least privilege first: each role may do what the ones before it may.
READER, REVIEWER, ADMIN = "reader", "reviewer", "admin"
ROLES = (READER, REVIEWER, ADMIN)


class ApiKeyRow(Base):
    """An API key: only its SHA-256 is stored; the key itself is shown once, at creation."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    rate_limit: Mapped[int] = mapped_column(Integer, doc="Requests per minute")
    role: Mapped[str] = mapped_column(String(10), default=READER)
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


class BrowserSessionRow(Base):
    """A logged-in browser: the SHA-256 of its session token, whose key, until when, and whether it ended.

    The cookie carries the token; the database only its hash, so reading the database does
    not give anyone a session. Logging out sets `ended_at`, which ends the session for good.
    """

    __tablename__ = "browser_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)
    ended_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)


class RunRow(Base):
    """One scored eval run: its setup, headline and per-field metrics, accounting, and per-document scores.

    The predictions stay in the run directory (`predictions` is where they are); `doc_scores`
    keeps each document's TP/FP/FN per field group, compressed (`store.runs.DocScores`), which
    is all a paired comparison or a per-document listing needs. It is loaded only on access.
    """

    __tablename__ = "runs"
    __table_args__ = (Index("ix_runs_prompt_model", "prompt_id", "model"),)

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(20))  # eval, import or service
    prompt_id: Mapped[str] = mapped_column(String(100))
    prompt_hash: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(200))
    schema_version: Mapped[str | None] = mapped_column(String(20), nullable=True)
    schema_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    gold_hash: Mapped[str] = mapped_column(String(64), index=True)
    gold_dir: Mapped[str | None] = mapped_column(Text, nullable=True)
    docs_dir: Mapped[str | None] = mapped_column(Text, nullable=True)
    finished_at: Mapped[dt.datetime] = mapped_column(index=True)
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    n_documents: Mapped[int] = mapped_column(Integer)
    failures: Mapped[int] = mapped_column(Integer)
    micro_f1: Mapped[float | None] = mapped_column(Float, nullable=True)
    ci_low: Mapped[float | None] = mapped_column(Float, nullable=True)
    ci_high: Mapped[float | None] = mapped_column(Float, nullable=True)
    precision: Mapped[float | None] = mapped_column(Float, nullable=True)
    recall: Mapped[float | None] = mapped_column(Float, nullable=True)
    macro_f1: Mapped[float | None] = mapped_column(Float, nullable=True)
    grounding_rate: Mapped[float | None] = mapped_column(Float, nullable=True)
    prompt_tokens: Mapped[int | None] = mapped_column(Integer, nullable=True)
    completion_tokens: Mapped[int | None] = mapped_column(Integer, nullable=True)
    cost: Mapped[float | None] = mapped_column(Float, nullable=True)
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    predictions: Mapped[str] = mapped_column(Text)
    info: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """The run's setup and accounting as its run.json records them."""
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """report.json without its documents: micro, macro, fields, document views, failures, grounding."""
    doc_scores: Mapped[bytes] = deferred(mapped_column(LargeBinary))


class CallRow(Base):
    """One model call: request and raw response (strings bounded), tokens, latency, error (`extractor logs`)."""

    __tablename__ = "model_calls"
    __table_args__ = (Index("ix_model_calls_article_started", "article_id", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    run_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    article_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    prompt_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    model: Mapped[str] = mapped_column(String(200))
    endpoint: Mapped[str] = mapped_column(String(300))
    mode: Mapped[str | None] = mapped_column(String(20), nullable=True)
    step: Mapped[str | None] = mapped_column(String(60), nullable=True)
    # ok, rejected (did not validate, asked again), cut_off (at the token limit, continued), error (no answer).
    status: Mapped[str] = mapped_column(String(12), default="ok", index=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    finish_reason: Mapped[str | None] = mapped_column(String(30), nullable=True)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    latency_s: Mapped[float] = mapped_column(Float, default=0.0)
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
