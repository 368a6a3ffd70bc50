"""`/v1/documents`: list with filters, one document with its extractions, delete.

Ids may hold `/`: the routes take the rest of the path as the id, so `a/x` is reachable as
`/v1/documents/a%2Fx` or `/v1/documents/a/x` (the `/ftm` and `/matches` routes are matched
first, and no id may end like them).
"""

from __future__ import annotations

from typing import Annotated, get_args

from fastapi import APIRouter, Depends, Query

from extractor.core.schema import Measure
from extractor.store import DocumentFilter, listing
from extractor.store import documents as docs
from extractor.store.models import ExtractionRow

from ..deps import SessionDep, StateDep, require_role
from ..errors import ApiError
from ..openapi import errors
from ..params import Offset, parse_date
from ..schemas import Deleted, DocumentDetail, DocumentPage, DocumentSummary, StoredExtraction
from ..timefmt import iso

router = APIRouter(tags=["documents"])
MEASURES = get_args(Measure)


def _summary(row: listing.DocumentListing) -> DocumentSummary:
    return DocumentSummary(id=row.id, sha256=row.sha256, metadata=row.metadata, first_seen=iso(row.first_seen),
                           extractions=row.extractions, current_extraction_id=row.current_extraction_id,
                           reviewed=row.reviewed)


@router.get("/documents", response_model=DocumentPage)
def list_documents(
    session: SessionDep,
    target: Annotated[str | None, Query(max_length=200, description="Target name, matched fuzzily")] = None,
    min_score: Annotated[float, Query(ge=0, le=100, description="Fuzzy match threshold for target")] = 85.0,
    authority: Annotated[str | None, Query(max_length=8, pattern="^[A-Za-z]*$",
                                           description="Authority code: us, eu, gb, un, ...")] = None,
    issuer: Annotated[
        str | None,
        Query(max_length=300, description="Issuing body: a registry id (us-ofac; us-treasury includes OFAC) or a name"),
    ] = None,
    measure: Annotated[Measure | None, Query(description="A measure, e.g. asset_freeze")] = None,
    since: Annotated[str | None, Query(description="Actions dated on or after (YYYY-MM-DD)",
                                       json_schema_extra={"format": "date"})] = None,
    until: Annotated[str | None, Query(description="Actions dated on or before (YYYY-MM-DD)",
                                       json_schema_extra={"format": "date"})] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> DocumentPage:
    """Stored documents, newest first; action filters (authority, issuer, measure, dates, target) hold for one action
    of the document's current extraction (an approved review, once there is one). `since` after `until` matches
    nothing."""
    filters = DocumentFilter(target=target, min_score=min_score, authority=authority, issuer=issuer, measure=measure,
                             since=parse_date("since", since), until=parse_date("until", until))
    rows, total = listing.list_documents(session, filters, limit=limit, offset=offset)
    return DocumentPage(total=total, limit=limit, offset=offset, items=[_summary(r) for r in rows])


def _stored(row: ExtractionRow, current: int | None) -> StoredExtraction:
    return StoredExtraction(
        id=row.id, origin=row.origin, current=row.id == current, based_on=row.based_on_id, prompt_id=row.prompt_id,
        prompt_hash=row.prompt_hash, model=row.model, schema_hash=row.schema_hash, created_at=iso(row.created_at),
        review_status=row.review_status, result=docs.extraction_line(row),
    )


@router.get("/documents/{document_id:path}", response_model=DocumentDetail, responses=errors(404))
def get_document(document_id: str, session: SessionDep) -> DocumentDetail:
    """A document's text, metadata and every extraction of it, the current one marked."""
    row = docs.get_document(session, document_id)
    if row is None:
        raise ApiError(404, "not_found", f"no document {document_id!r}")
    return DocumentDetail(
        id=row.id, sha256=row.sha256, text=row.text, metadata=row.doc_meta or {}, first_seen=iso(row.first_seen),
        current_extraction_id=row.current_extraction_id, reviewed=row.current_reviewed,
        extractions=[_stored(e, row.current_extraction_id) for e in row.extractions],
    )


@router.delete("/documents/{document_id:path}", response_model=Deleted, responses=errors(403, 404),
               dependencies=[Depends(require_role("admin"))])
def delete_document(document_id: str, state: StateDep) -> Deleted:
    """Delete a document and its extractions (an admin key; jobs that had it report it as deleted)."""
    with state.store.write() as session:
        count = docs.delete_document(session, document_id)
    if count is None:
        raise ApiError(404, "not_found", f"no document {document_id!r}")
    return Deleted(deleted=document_id, extractions=count)
