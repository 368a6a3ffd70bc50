"""One document through the store: a stored extraction if there is one, else the library, then stored.

Shared by `POST /v1/extract` and the job workers, so both dedupe and store the same way.
Identical documents asked for at the same time in one server process make one model call
(single flight): the first request extracts, the others wait for it and are then served
from the store (or get its error).
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
    """A result line, the id of its stored extraction, and whether it came from the store."""

    line: dict[str, Any]
    extraction_id: int
    stored: bool

    def response(self) -> dict[str, Any]:
        """The line with `meta.stored` and `meta.extraction_id` added, as the API returns it."""
        meta = {**public_meta(self.line.get("meta")), "stored": self.stored, "extraction_id": self.extraction_id}
        return {**self.line, "meta": meta}


def _lookup(store: Store, document: Document, entry: Entry) -> tuple[bool, tuple[int, dict[str, Any]] | None]:
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
        return True, ((found.id, extraction_line(found)) if found is not None else None)


def _remember(store: Store, document: Document, entry: Entry) -> tuple[int, dict[str, Any]] | None:
    with store.write() as session:
        ensure_document(session, document)
        found = find_extraction(session, document.id, entry.key)
        return (found.id, extraction_line(found)) if found is not None else None


AfterSave = Callable[[Session, int], Any]


def _save(
    store: Store, document: Document, entry: Entry, line: dict[str, Any], then: AfterSave | None
) -> tuple[int, dict[str, Any]]:
    with store.write() as session:
        ensure_document(session, document)
        row = save_extraction(session, document.id, entry.key, line)
        session.flush()
        if then is not None:
            then(session, row.id)
        return row.id, extraction_line(row)


async def extract_stored(store: Store, entry: Entry, document: Document, *, then: AfterSave | None = None) -> Extracted:
    """The extraction of `document` under `entry`: from the store, or extracted now and stored.

    `then(session, extraction_id)` runs in the transaction that stores a new extraction (a
    job worker records its item there, so result and item state commit together); it is
    not called for a stored hit.
    """
    known, hit = await asyncio.to_thread(_lookup, store, document, entry)
    if hit is None and not known:
        hit = await asyncio.to_thread(_remember, store, document, entry)
    if hit is not None:
        return Extracted(hit[1], hit[0], stored=True)
    flight = (document.id, text_sha256(document.text))
    leader = entry.flights.get(flight)
    if leader is not None:
        await asyncio.shield(leader)  # the first request's error, if it failed
        return await extract_stored(store, entry, document, then=then)  # now in the store
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    done.add_done_callback(_retrieved)
    entry.flights[flight] = done
    try:
        extractor = await entry.ready()
        result = await extractor.aextract_document(document)
        extraction_id, line = await asyncio.to_thread(_save, store, document, entry, result_line(result), then)
    except Exception as exc:
        done.set_exception(exc)
        raise
    finally:
        entry.flights.pop(flight, None)
        if not done.done():
            done.set_result(None)  # stored (or cancelled: then whoever waits tries for itself)
    return Extracted(line, extraction_id, stored=False)


def _retrieved(future: asyncio.Future[None]) -> None:
    """Mark a flight's error as seen even if nobody waited for it (asyncio would log it otherwise)."""
    if not future.cancelled():
        future.exception()
