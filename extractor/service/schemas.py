"""Request and response bodies of the API (pydantic), so they appear in the OpenAPI document.

The request schema says exactly what the server accepts: a text with something besides
whitespace in it, no NUL characters or lone surrogates anywhere, an id that can be
addressed in a URL. What depends on the server's configuration (the longest text, the
prompts and models it serves) is filled into the document by `openapi.py`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from extractor.core.documents import not_blank, storable

# Characters that are not text (NUL; lone surrogates cannot be sent in UTF-8 JSON at all, and the
# server refuses their escapes too), and those Python's str.strip() removes: the server's own
# definitions, spelt out so that any regex engine reads the pattern alike.
_NOT_TEXT = "\\u0000"
_SPACE = "".join(f"\\u{ord(c):04x}" for c in map(chr, range(0x3000 + 1)) if c.isspace())
TEXT_PATTERN = f"^[^{_NOT_TEXT}]*$"
# Two patterns rather than one that says both: generators draw from these far faster.
NOT_BLANK: dict[str, Any] = {"allOf": [{"pattern": TEXT_PATTERN}, {"pattern": f"[^{_SPACE}]"}]}
ID_SCHEMA: dict[str, Any] = {
    **NOT_BLANK,
    # `.` and `..` vanish from URLs; an id ending in /ftm or /matches reads as another document's view.
    "not": {"anyOf": [{"enum": [".", ".."]}, {"pattern": "/(ftm|matches)$"}]},
}


def on_string(extra: dict[str, Any]) -> Any:
    """`json_schema_extra` that adds `extra` to the string branch of an optional field (not beside its `anyOf`)."""

    def add(schema: dict[str, Any]) -> None:
        branches = [b for b in schema.get("anyOf", []) if b.get("type") == "string"]
        for branch in branches or [schema]:
            branch.update(extra)

    return add
PUBLISHED_SCHEMA: dict[str, Any] = {  # what Document accepts: blank is no date
    "anyOf": [
        {"type": "string", "format": "date"},
        {"type": "string", "format": "date-time"},
        {"type": "string", "pattern": "^[1-9][0-9]{3}-(0[1-9]|1[0-2])$"},
        {"type": "string", "pattern": "^[1-9][0-9]{3}$"},
        {"type": "string", "pattern": f"^[{_SPACE}]*$", "description": "blank: no date"},
        {"type": "null"},
    ],
}


class ExtractRequest(BaseModel):
    """One document to extract now."""

    model_config = ConfigDict(extra="forbid")

    # The length and blankness checks are the validator's, so the message says "empty or whitespace only".
    text: str = Field(description="The article text (plain text; HTML in it is treated as text)",
                      json_schema_extra={"minLength": 1, **NOT_BLANK})
    id: str | None = Field(default=None, min_length=1, max_length=200,
                           description="Your id for the document (any text; percent-encode it in URLs, `/` as "
                                       "%2F); derived from the text when absent",
                           json_schema_extra=on_string(ID_SCHEMA))
    title: str | None = Field(default=None, json_schema_extra=on_string({"pattern": TEXT_PATTERN}))
    published: str | None = Field(default=None, description="ISO 8601 publication date (YYYY, YYYY-MM, YYYY-MM-DD, "
                                  "or a date and time)", json_schema_extra=PUBLISHED_SCHEMA)
    url: str | None = Field(default=None, json_schema_extra=on_string({"pattern": TEXT_PATTERN}))
    publisher: str | None = Field(default=None, json_schema_extra=on_string({"pattern": TEXT_PATTERN}))
    prompt: str | None = Field(default=None, description="NAME or NAME@vN; the server's default when absent")
    model: str | None = Field(default=None, description="One of the models this server serves")

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        return not_blank(value)

    @field_validator("text", "id", "title", "published", "url", "publisher", "prompt", "model")
    @classmethod
    def _storable(cls, value: str | None) -> str | None:
        return None if value is None else storable(value)


class ErrorDetail(BaseModel):
    """What went wrong: a stable code and a message for people."""

    code: str
    message: str


class ErrorBody(BaseModel):
    """Every error response: `{"error": {"code", "message"}}`."""

    error: ErrorDetail


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
    """A stored document in a listing (no text: `GET /v1/documents/{id}` has it)."""

    id: str
    sha256: str
    metadata: dict[str, Any]
    first_seen: str
    extractions: int
    current_extraction_id: int | None = Field(description="The extraction every view serves")
    reviewed: bool = Field(description="True when the current extraction is an analyst's approved review")


class DocumentPage(BaseModel):
    """One page of `GET /v1/documents`."""

    total: int
    limit: int
    offset: int
    items: list[DocumentSummary]


class StoredExtraction(BaseModel):
    """An extraction of a document, with the result line it produced."""

    id: int
    origin: str = Field(description="model, or review (an analyst's approved correction)")
    current: bool = Field(description="True for the extraction every view of the document serves")
    based_on: int | None = Field(description="For a review: the model extraction it corrected")
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
    current_extraction_id: int | None = Field(description="The extraction filters, FtM, matches and the queue use")
    reviewed: bool = Field(description="True when that extraction is an approved review: model runs after it are "
                                       "stored beside it but do not replace it")
    extractions: list[StoredExtraction]


class Deleted(BaseModel):
    """The answer to `DELETE /v1/documents/{id}`."""

    deleted: str
    extractions: int
