"""`/v1/documents`: list with filters, one document with its extractions, delete."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, get_args

from fastapi import APIRouter, Depends, Query

from extractor.core.schema import Measure
from extractor.store import DocumentFilter
from extractor.store import documents as docs
from extractor.store.models import DocumentRow

from ..deps import SessionDep, StateDep, require_role
from ..errors import ApiError
from ..schemas import Deleted, DocumentDetail, DocumentPage, DocumentSummary, StoredExtraction
from ..timefmt import iso

router = APIRouter(tags=["documents"])
MEASURES = get_args(Measure)


def _summary(row: DocumentRow) -> DocumentSummary:
    return DocumentSummary(id=row.id, sha256=row.sha256, metadata=row.doc_meta or {}, first_seen=iso(row.first_seen),
                           extractions=len(row.extractions))


@router.get("/documents", response_model=DocumentPage)
def list_documents(
    session: SessionDep,
    target: Annotated[str | None, Query(max_length=200, description="Target name, matched fuzzily")] = None,
    min_score: Annotated[float, Query(ge=0, le=100, description="Fuzzy match threshold for target")] = 85.0,
    authority: Annotated[str | None, Query(max_length=8, description="Authority code: us, eu, gb, un, ...")] = None,
    issuer: Annotated[
        str | None,
        Query(max_length=300, description="Issuing body: a registry id (us-ofac; us-treasury includes OFAC) or a name"),
    ] = None,
    measure: Annotated[Measure | None, Query(description="A measure, e.g. asset_freeze")] = None,
    since: Annotated[dt.date | None, Query(description="Actions dated on or after (YYYY-MM-DD)")] = None,
    until: Annotated[dt.date | None, Query(description="Actions dated on or before (YYYY-MM-DD)")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> DocumentPage:
    """Stored documents, newest first; the action filters (authority, issuer, measure, dates, target) hold for one
    and the same action."""
    if since and until and since > until:
        raise ApiError(422, "invalid_request", f"since ({since}) is after until ({until})")
    filters = DocumentFilter(target=target, min_score=min_score, authority=authority, issuer=issuer, measure=measure,
                             since=since, until=until)
    rows, total = docs.list_documents(session, filters, limit=limit, offset=offset)
    return DocumentPage(total=total, limit=limit, offset=offset, items=[_summary(r) for r in rows])


@router.get("/documents/{document_id}", response_model=DocumentDetail)
def get_document(document_id: str, session: SessionDep) -> DocumentDetail:
    """A document's text, metadata and every extraction of it."""
    row = docs.get_document(session, document_id)
    if row is None:
        raise ApiError(404, "not_found", f"no document {document_id!r}")
    return DocumentDetail(
        id=row.id, sha256=row.sha256, text=row.text, metadata=row.doc_meta or {}, first_seen=iso(row.first_seen),
        extractions=[
            StoredExtraction(id=e.id, prompt_id=e.prompt_id, prompt_hash=e.prompt_hash, model=e.model,
                             schema_hash=e.schema_hash, created_at=iso(e.created_at), review_status=e.review_status,
                             result=docs.extraction_line(e))
            for e in row.extractions
        ],
    )


@router.delete("/documents/{document_id}", response_model=Deleted, dependencies=[Depends(require_role("admin"))])
def delete_document(document_id: str, state: StateDep) -> Deleted:
    """Delete a document and its extractions (an admin key; jobs that had it report it as deleted)."""
    with state.store.write() as session:
        count = docs.delete_document(session, document_id)
    if count is None:
        raise ApiError(404, "not_found", f"no document {document_id!r}")
    return Deleted(deleted=document_id, extractions=count)
