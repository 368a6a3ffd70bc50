"""Cache entries as data: JSON bytes out, and on the way back in, checked like a model's answer.

A cache directory or Redis server may be written by others (a team's shared cache, a
compromised machine). So an entry is never code: it is JSON, and what is read back is
parsed and validated (the answer through `ExtractionAnswer`) before the pipeline sees it.
Anything else — not JSON, the wrong shape, an invalid answer — is a miss, never an error
and never executed.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..schema import ExtractionAnswer

log = logging.getLogger("extractor.cache")
_reported: set[str] = set()  # caches already warned about in this process: one warning each


class _Entry(BaseModel):
    """The shape of a cached entry (`Extractor.store` writes it)."""

    model_config = ConfigDict(extra="forbid")

    answer: ExtractionAnswer
    usage: dict[str, int] = Field(default_factory=dict)
    incomplete: list[str] | None = None
    grounding: dict[str, Any] | None = None


def encode(entry: dict[str, Any]) -> bytes:
    """An entry as compact UTF-8 JSON."""
    return json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def decode(raw: bytes | str | None) -> dict[str, Any] | None:
    """The entry in `raw` with its answer validated (an `ExtractionAnswer`), or None if it is not one."""
    if raw is None:
        return None
    try:
        checked = _Entry.model_validate_json(raw)
    except (ValidationError, ValueError, TypeError):
        return None
    entry: dict[str, Any] = {"answer": checked.answer, "usage": checked.usage}
    if checked.incomplete is not None:
        entry["incomplete"] = checked.incomplete
    if checked.grounding is not None:
        entry["grounding"] = checked.grounding
    return entry


def report_rejected(where: str, key: str) -> None:
    """Log, once per cache and process, that an entry was not a valid answer and was treated as a miss."""
    if where not in _reported:
        _reported.add(where)
        log.warning("cache %s: entry %s… is not a valid cached answer (not JSON, or not a valid answer); "
                    "treated as a miss and counted under 'rejected' in `extractor cache stats`", where, key[:12])
