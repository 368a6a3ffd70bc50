"""One document through the store: a stored extraction if there is one, else the library, then stored.

Shared by `POST /v1/extract` and the job workers, so both dedupe and store the same way.
Identical documents asked for at the same time in one server process make one model call
(single flight): the first request extracts, the others wait for it and are then served
from the store (or get its error).
The answer says whether the extraction is the document's current one: after an analyst
approved a review, a model run is stored beside the approved answer but does not replace it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from extractor.batch.results import result_line
from extractor.core.documents import Document
from extractor.store import Store
from extractor.store.documents import (
    DocumentConflict,
    current_state,
    ensure_document,
    extraction_line,
    find_extraction,
    public_meta,
    save_extraction,
    text_sha256,
)
from extractor.store.models import DocumentRow

from .registry import Entry


@dataclass(frozen=True)
class Extracted:
    """A result line, the id of its stored extraction, whether it came from the store, and what is current."""

    line: dict[str, Any]
    extraction_id: int
    stored: bool
    current_id: int | None = None
    current_reviewed: bool = False

    def response(self) -> dict[str, Any]:
        """The line with `meta.stored`, `meta.extraction_id` and `meta.current` added, as the API returns it.

        When another extraction is current, `meta.current_extraction_id` names it; when that one
        is an approved review, `meta.note` says that this model result does not replace it.
        """
        meta = {**public_meta(self.line.get("meta")), "stored": self.stored, "extraction_id": self.extraction_id,
                "current": self.current_id == self.extraction_id}
        if self.current_id is not None and self.current_id != self.extraction_id:
            meta["current_extraction_id"] = self.current_id
            meta["current_reviewed"] = self.current_reviewed
            if self.current_reviewed:
                meta["note"] = (f"the document's current extraction is an approved review (extraction "
                                f"{self.current_id}); this model result is stored beside it and does not replace it")
        return {**self.line, "meta": meta}


Found = tuple[int, dict[str, Any], int | None, bool]  # extraction id, line, current id, current is reviewed


def _found(session: Session, document_id: str, row: Any) -> Found:
    current, reviewed = current_state(session, document_id)
    return row.id, extraction_line(row), current, reviewed


def _lookup(store: Store, document: Document, entry: Entry) -> tuple[bool, Found | None]:
    """(document stored?, stored extraction): read-only, so store hits never take the write lock."""
    with store.read() as session:
        row = session.get(DocumentRow, document.id)
        if row is None:
            return False, None
        if row.sha256 != text_sha256(document.text):
            raise DocumentConflict(
                f"document {document.id!r} is stored with a different text: delete it first or post it under "
                "another id"
            )
        found = find_extraction(session, document.id, entry.key)
        return True, (_found(session, document.id, found) if found is not None else None)


def _remember(store: Store, document: Document, entry: Entry, create: bool) -> Found | None:
    with store.write() as session:
        ensure_document(session, document, create=create)
        found = find_extraction(session, document.id, entry.key)
        return _found(session, document.id, found) if found is not None else None


AfterSave = Callable[[Session, int], Any]


def _save(
    store: Store, document: Document, entry: Entry, line: dict[str, Any], then: AfterSave | None, create: bool
) -> Found:
    with store.write() as session:
        ensure_document(session, document, create=create)
        row = save_extraction(session, document.id, entry.key, line)
        session.flush()
        if then is not None:
            then(session, row.id)
        return _found(session, document.id, row)


async def extract_stored(store: Store, entry: Entry, document: Document, *, then: AfterSave | None = None,
                         create: bool = True) -> Extracted:
    """The extraction of `document` under `entry`: from the store, or extracted now and stored.

    `then(session, extraction_id)` runs in the transaction that stores a new extraction (a
    job worker records its item there, so result and item state commit together); it is
    not called for a stored hit. With `create=False` (job workers) the document must still
    be stored: one deleted meanwhile raises `DocumentGone` and nothing is stored for it.
    """
    known, hit = await asyncio.to_thread(_lookup, store, document, entry)
    if hit is None and not known:
        hit = await asyncio.to_thread(_remember, store, document, entry, create)
    if hit is not None:
        return Extracted(hit[1], hit[0], stored=True, current_id=hit[2], current_reviewed=hit[3])
    flight = (document.id, text_sha256(document.text))
    leader = entry.flights.get(flight)
    if leader is not None:
        await asyncio.shield(leader)  # the first request's error, if it failed
        return await extract_stored(store, entry, document, then=then, create=create)  # now in the store
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    done.add_done_callback(_retrieved)
    entry.flights[flight] = done
    try:
        extractor = await entry.ready()
        result = await extractor.aextract_document(document)
        extraction_id, line, current, reviewed = await asyncio.to_thread(
            _save, store, document, entry, result_line(result), then, create
        )
    except Exception as exc:
        done.set_exception(exc)
        raise
    finally:
        entry.flights.pop(flight, None)
        if not done.done():
            done.set_result(None)  # stored (or cancelled: then whoever waits tries for itself)
    return Extracted(line, extraction_id, stored=False, current_id=current, current_reviewed=reviewed)


def _retrieved(future: asyncio.Future[None]) -> None:
    """Mark a flight's error as seen even if nobody waited for it (asyncio would log it otherwise)."""
    if not future.cancelled():
        future.exception()
