"""Results straight into the service's database: a sink that batch engines call per result.

`StoreSink(db_url)` is a small picklable object, so a distributed engine can ship it to its
workers; each worker opens its own connection on first use (a process cannot share one) and
stores the document and its extraction exactly as the service does, so what a backfill
writes is what `GET /v1/documents` serves.
"""

from __future__ import annotations

from typing import Any

from extractor.core.documents import Document

from .db import Store
from .documents import ExtractionKey, ensure_document, save_extraction


class StoreSink:
    """`sink(document, line)` stores one result line (the `extract --out` format) with its document."""

    def __init__(self, db_url: str | None) -> None:
        self.db_url = db_url
        self._store: Store | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"db_url": self.db_url}  # connections never travel

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.db_url = state["db_url"]
        self._store = None

    @property
    def store(self) -> Store:
        """The store, opened (and migrated) on first use in this process."""
        if self._store is None:
            self._store = Store(self.db_url)
        return self._store

    def __call__(self, document: Document, line: dict[str, Any]) -> None:
        meta = line.get("meta") or {}
        key = ExtractionKey(prompt_id=str(meta.get("prompt_id", "")), prompt_hash=str(meta.get("prompt_hash", "")),
                            model=str(meta.get("model", "")), schema_hash=str(meta.get("schema_hash", "")))
        with self.store.write() as session:
            ensure_document(session, document)
            save_extraction(session, document.id, key, line)
