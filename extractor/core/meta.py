"""Run metadata: how a result was produced (prompt, model, cost, cache, timing, grounding).

It rides on `ArticleExtraction.meta`, outside the schema's fields, and is the `meta` object of
every result line.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from .schema import SCHEMA_VERSION


class Usage(BaseModel):
    """Tokens over every attempt of one extraction."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class RunMeta(BaseModel):
    """How a result was produced: prompt, model, cost, cache and timing."""

    prompt_id: str
    prompt_hash: str
    schema_version: str = SCHEMA_VERSION
    schema_hash: str
    backend: str
    model: str
    endpoint: str
    answered_by: Literal["model", "rules"] = Field(
        default="model",
        description="'model': the model was asked; 'rules': the document was read by the guided reading rules "
        "(the embedded default), and the model was not asked",
    )
    cache_hit: bool = False
    cache_key: str
    attempts: int = Field(description="Model calls made (validation attempts and continuations); 0 on a cache hit")
    transport_retries: int = 0
    continuations: int = Field(default=0, description="Extra calls that fetched the rest of cut-off answers")
    incomplete: bool = Field(default=False, description="True when an answer was still cut off at the call bound")
    incomplete_reason: str | None = None
    usage: Usage = Field(default_factory=Usage, description="Tokens spent by this call (0 on a cache hit)")
    cost: float | None = None
    latency_s: float
    created_at: str
    chunks: int = Field(default=1, description="Pieces the document was split into to fit the context")
    grounding: dict[str, Any] | None = Field(
        default=None, description="Evidence quotes and target names aligned to the text: rate and spans"
    )
    dropped: dict[str, Any] | None = Field(
        default=None,
        description="With require_grounding: the actions and targets removed because they were not found in the "
        "text (counts, and each item with its reason)",
    )
