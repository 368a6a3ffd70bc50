"""`/v1/documents/{id}/ftm` and `/v1/documents/{id}/matches`: a document's extraction in the sanctions data world.

FtM entities come from `extractor.export.to_ftm` (the same as `extractor export --format
ftm`); matches from the sanctions list the server was started with (`extractor serve --list
FILE`), loaded once and shared by every request.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from extractor.core.documents import Document
from extractor.core.schema import ArticleExtraction
from extractor.store import documents as docs
from extractor.store.models import DocumentRow, ExtractionRow

from ..deps import SessionDep, StateDep
from ..errors import ApiError

router = APIRouter(tags=["documents"])
ExtractionQuery = Annotated[int | None, Query(description="An extraction id (default: the newest)")]


def _chosen(session: Any, document_id: str, extraction_id: int | None) -> tuple[DocumentRow, ExtractionRow]:
    row = docs.get_document(session, document_id)
    if row is None:
        raise ApiError(404, "not_found", f"no document {document_id!r}")
    if not row.extractions:
        raise ApiError(404, "not_found", f"document {document_id!r} has no extraction yet")
    if extraction_id is None:
        return row, max(row.extractions, key=lambda e: (e.created_at, e.id))
    for extraction in row.extractions:
        if extraction.id == extraction_id:
            return row, extraction
    raise ApiError(404, "not_found", f"document {document_id!r} has no extraction {extraction_id}")


def _result(row: DocumentRow, extraction: ExtractionRow) -> tuple[ArticleExtraction, Document]:
    meta = row.doc_meta or {}
    document = Document(id=row.id, text=row.text, title=meta.get("title"), published=meta.get("published"),
                        url=meta.get("url"), publisher=meta.get("publisher"))
    return ArticleExtraction.model_validate({**extraction.result, "article_id": row.id}), document


@router.get("/documents/{document_id}/ftm")
def document_ftm(
    document_id: str, session: SessionDep, state: StateDep, extraction: ExtractionQuery = None
) -> StreamingResponse:
    """The extraction as FollowTheMoney entities, one JSON object per line (`application/x-ndjson`)."""
    from extractor.export import to_ftm

    row, chosen = _chosen(session, document_id, extraction)
    result, document = _result(row, chosen)
    # With the server's sanctions list, a listed target's Sanction carries its entry's programmes.
    listed = _matcher(str(state.config.list_path)).listed_programs if state.config.list_path else None
    entities = to_ftm(result, document=document, listed=listed)

    def lines() -> Iterator[str]:
        for entity in entities:
            yield json.dumps(entity.to_dict(), ensure_ascii=False) + "\n"

    return StreamingResponse(lines(), media_type="application/x-ndjson")


@router.get("/documents/{document_id}/matches")
def document_matches(
    document_id: str, session: SessionDep, state: StateDep, extraction: ExtractionQuery = None
) -> dict[str, Any]:
    """Each target of the extraction checked against the server's sanctions list: listed, possible or not listed."""
    if state.config.list_path is None:
        raise ApiError(409, "no_list", "this server has no sanctions list: start it with `extractor serve --list FILE`")
    row, chosen = _chosen(session, document_id, extraction)
    result, _ = _result(row, chosen)
    matcher = _matcher(str(state.config.list_path))
    matches = [
        {"action": number, **matcher.match(target).to_dict()}
        for number, action in enumerate(result.actions)
        for target in action.targets
    ]
    return {"document": document_id, "extraction": chosen.id, "list": str(state.config.list_path),
            "matches": matches}


@cache
def _matcher(path: str) -> Any:
    from extractor.export.matching import Matcher

    return Matcher.load(Path(path))
