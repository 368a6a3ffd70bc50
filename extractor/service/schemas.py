"""Request and response bodies of the API (pydantic), so they appear in the OpenAPI document."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from extractor.core.documents import not_blank


class ExtractRequest(BaseModel):
    """One document to extract now."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(description="The article text (plain text; HTML in it is treated as text)")
    id: str | None = Field(default=None, min_length=1, max_length=200,
                           description="Your id for the document; derived from the text when absent")
    title: str | None = None
    published: str | None = Field(default=None, description="ISO 8601 publication date")
    url: str | None = None
    publisher: str | None = None
    prompt: str | None = Field(default=None, description="NAME or NAME@vN; the server's default when absent")
    model: str | None = Field(default=None, description="One of the models this server serves")

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        return not_blank(value)


class Rejection(BaseModel):
    """An input entry of a job that was not accepted, and why."""

    line: int
    article_id: str
    message: str


class JobCreated(BaseModel):
    """The answer to `POST /v1/jobs`."""

    id: str
    total: int
    accepted: int
    rejected: list[Rejection]
    status_url: str
    results_url: str


class JobStatus(BaseModel):
    """Progress of a job."""

    id: str
    status: str = Field(description="queued, running or finished")
    created_at: str
    prompt: str
    model: str
    total: int
    queued: int
    running: int
    done: int
    failed: int


class DocumentSummary(BaseModel):
    """A stored document in a listing."""

    id: str
    sha256: str
    metadata: dict[str, Any]
    first_seen: str
    extractions: int


class DocumentPage(BaseModel):
    """One page of `GET /v1/documents`."""

    total: int
    limit: int
    offset: int
    items: list[DocumentSummary]


class StoredExtraction(BaseModel):
    """An extraction of a document, with the result line it produced."""

    id: int
    prompt_id: str
    prompt_hash: str
    model: str
    schema_hash: str
    created_at: str
    review_status: str
    result: dict[str, Any]


class DocumentDetail(BaseModel):
    """A stored document with its text and every extraction of it."""

    id: str
    sha256: str
    text: str
    metadata: dict[str, Any]
    first_seen: str
    extractions: list[StoredExtraction]


class Deleted(BaseModel):
    """The answer to `DELETE /v1/documents/{id}`."""

    deleted: str
    extractions: int
