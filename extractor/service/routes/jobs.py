"""`POST /v1/jobs` (many documents, answered at once with a job id), its status and its results as JSONL.

A job is its submitter's: other keys get 404 for it (as if it did not exist), except admins.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from extractor.batch.results import failure_line
from extractor.core.errors import DocumentError
from extractor.store import Store
from extractor.store import jobs as queue
from extractor.store.documents import DocumentConflict, ensure_documents
from extractor.store.keys import KeyInfo
from extractor.store.models import ADMIN, DONE, QUEUED, RUNNING

from ..deps import ApiKeyDep, SessionDep, StateDep
from ..errors import ApiError
from ..intake import Entry, Rejected, from_json, from_jsonl
from ..schemas import JobCreated, JobStatus, Rejection
from ..timefmt import iso

router = APIRouter(tags=["jobs"])

JSONL_TYPES = {"application/x-ndjson", "application/jsonl", "application/x-jsonlines", "application/jsonlines",
               "text/jsonl"}
UPLOAD_SPEC = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"description": "A list of documents, or {documents, prompt, model}"}},
            "application/x-ndjson": {"schema": {"type": "string", "description": "One document per line"}},
            "multipart/form-data": {
                "schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}
            },
        },
    }
}


async def _entries(request: Request, max_text_chars: int) -> tuple[list[Entry], str | None, str | None]:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json":
        return from_json(await request.body(), max_text_chars)
    if kind in JSONL_TYPES:
        return from_jsonl(await request.body(), max_text_chars), None, None
    if kind == "multipart/form-data":
        form = await request.form()
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise ApiError(422, "invalid_request", "the form needs a 'file' field with the JSONL upload")
        raw = await upload.read()
        return from_jsonl(raw, max_text_chars), None, None
    raise ApiError(415, "unsupported_media_type",
                   f"send application/json, application/x-ndjson or a multipart upload, not {kind or 'nothing'}")


def _store_job(store: Store, entries: list[Entry], prompt: str, model: str, key_id: int) -> tuple[str, list[Rejected]]:
    """Store the job, then its documents and items in batches of `SUBMIT_BATCH`, one transaction each.

    Workers may start on the first batch while later ones are stored. A submission that fails
    half-way removes its job again (the documents stored so far stay, as after any upload).
    """
    rejected = [e for e in entries if isinstance(e, Rejected)]
    with store.write() as session:
        job_id = queue.create_job(session, [], prompt=prompt, model=model, api_key_id=key_id, total=len(entries))
    try:
        for start in range(0, len(entries), queue.SUBMIT_BATCH):
            batch = entries[start:start + queue.SUBMIT_BATCH]
            documents = [e for e in batch if not isinstance(e, Rejected)]
            with store.write() as session:
                problems = iter(ensure_documents(session, documents))
                items: list[queue.NewItem] = []
                for position, entry in enumerate(batch, start=start + 1):
                    if isinstance(entry, Rejected):
                        items.append(_rejected_item(entry))
                        continue
                    problem = next(problems)
                    if problem is not None:
                        rejected.append(Rejected(position, entry.id, problem))
                        items.append(queue.NewItem(entry.id, failure=failure_line(entry.id, DocumentConflict(problem))))
                    else:
                        items.append(queue.NewItem(entry.id, document_id=entry.id))
                queue.add_items(session, job_id, items, start=start)
    except BaseException:
        with store.write() as session:
            queue.delete_job(session, job_id)
        raise
    return job_id, sorted(rejected, key=lambda r: r.line)


def _rejected_item(entry: Rejected) -> queue.NewItem:
    return queue.NewItem(entry.article_id, failure=failure_line(entry.article_id, DocumentError(entry.message)))


@router.post("/jobs", status_code=202, response_model=JobCreated, openapi_extra=UPLOAD_SPEC)
async def create_job(
    request: Request, state: StateDep, key: ApiKeyDep, prompt: str | None = None, model: str | None = None
) -> JobCreated:
    """Queue many documents (JSON list, JSONL body or JSONL file upload); bad entries are reported, not fatal."""
    entries, body_prompt, body_model = await _entries(request, state.config.max_text_chars)
    if not entries:
        raise ApiError(422, "invalid_request", "no documents in the request")
    if len(entries) > state.config.max_job_documents:
        raise ApiError(413, "too_many_documents",
                       f"{len(entries):,} documents in one job; the limit is {state.config.max_job_documents:,}")
    entry = state.registry.resolve(body_prompt or prompt, body_model or model)
    job_id, rejected = await asyncio.to_thread(
        _store_job, state.store, entries, entry.key.prompt_id, entry.key.model, key.id
    )
    state.workers.notify()
    return JobCreated(
        id=job_id, total=len(entries), accepted=len(entries) - len(rejected),
        rejected=[Rejection(line=r.line, article_id=r.article_id, message=r.message) for r in rejected],
        status_url=f"/v1/jobs/{job_id}", results_url=f"/v1/jobs/{job_id}/results",
    )


def _job_or_404(session: Session, job_id: str, key: KeyInfo) -> Any:
    job = queue.get_job(session, job_id)
    if job is None or (job.api_key_id != key.id and not key.allows(ADMIN)):
        raise ApiError(404, "not_found", f"no job {job_id!r}")
    return job


@router.get("/jobs/{job_id}", response_model=JobStatus)
def job_status(job_id: str, session: SessionDep, key: ApiKeyDep) -> JobStatus:
    """Counts of the job's items: queued, running, done, failed (the submitter's key, or an admin's)."""
    job = _job_or_404(session, job_id, key)
    counts = queue.job_counts(session, job_id)
    pending = counts[QUEUED] + counts[RUNNING]
    status = "finished" if not pending else ("queued" if not counts[RUNNING] and not counts[DONE] else "running")
    return JobStatus(
        id=job.id, status=status, created_at=iso(job.created_at), prompt=job.prompt,
        model=job.model, total=job.total, **counts,
    )


@router.get("/jobs/{job_id}/results", response_class=StreamingResponse,
            responses={200: {"content": {"application/x-ndjson": {}}, "description": "One JSON line per document"}})
def job_results(job_id: str, session: SessionDep, state: StateDep, key: ApiKeyDep) -> StreamingResponse:
    """The finished items' result and failure lines (the `extract --out` format), in submission order."""
    _job_or_404(session, job_id, key)
    store = state.store

    def lines() -> Iterator[bytes]:
        import json

        # Its own session: the request's one is closed once the response starts.
        with store.read() as stream_session:
            for line in queue.result_lines(stream_session, job_id):
                yield (json.dumps(line, ensure_ascii=False) + "\n").encode("utf-8")

    return StreamingResponse(lines(), media_type="application/x-ndjson")
