"""`POST /v1/extract`: one document, answered when it is extracted (or at once from the store)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError

from extractor.core.documents import Document

from ..deps import StateDep
from ..errors import ApiError
from ..extraction import extract_stored
from ..intake import content_id
from ..openapi import errors
from ..schemas import ExtractRequest

router = APIRouter(tags=["extract"])


def require_json(request: Request) -> None:
    """415 unless the body is declared as JSON."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json" and not kind.endswith("+json"):
        raise ApiError(415, "unsupported_media_type", f"send the document as application/json, not {kind or 'nothing'}")


@router.post("/extract", dependencies=[Depends(require_json)], responses=errors(400, 409, 413, 415, 502))
async def extract(body: ExtractRequest, state: StateDep) -> dict[str, Any]:
    """Extract one document: the `ArticleExtraction` fields plus `meta`.

    `meta.stored`: answered from the store; `meta.current`: this is the extraction the document's
    views serve. After an analyst approved a review of the document, a model run is stored
    beside the approved answer but does not replace it (`meta.current_extraction_id` names the
    review, `meta.note` says so).
    """
    limit = state.config.max_text_chars
    if len(body.text) > limit:
        raise ApiError(413, "text_too_long", f"the text is {len(body.text):,} characters; the limit is {limit:,}")
    entry = state.registry.resolve(body.prompt, body.model)
    fields = body.model_dump(include={"title", "published", "url", "publisher"}, exclude_none=True)
    try:
        document = Document(id=body.id or content_id(body.text), text=body.text, **fields)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ApiError(422, "invalid_request", f"{where}: {str(err['msg']).removeprefix('Value error, ')}") from None
    extracted = await extract_stored(state.store, entry, document)
    return extracted.response()
