"""A predictions file read on demand: an index of line offsets, each result parsed when asked for.

`load_results` parses every line into memory; for a run of 100,000 documents that is most of
the memory of an eval. `PredictionFile` reads the file once to note, per article id, where
its last line starts (a re-run's line wins, as in `load_results`) and the setup fields of the
lines' `meta`, and parses a result only when it is looked up.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from extractor.batch.results import Failure, parse_record
from extractor.core.errors import DocumentError
from extractor.core.schema import ArticleExtraction

Prediction = ArticleExtraction | Failure
SETUP_KEYS = ("prompt_id", "prompt_hash", "model", "backend", "schema_hash", "schema_version")


class PredictionFile(Mapping[str, Prediction]):
    """Results and failures of a JSONL result file by article id, parsed on access."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._offsets: dict[str, tuple[int, int]] = {}  # id -> (byte offset, line number)
        self._failed: set[str] = set()  # ids whose indexed line is a failure
        self.torn: list[int] = []  # line numbers of lines that are not whole JSON objects (a crash)
        self._setup: dict[str, Counter[str]] = {key: Counter() for key in SETUP_KEYS}
        try:
            handle = self.path.open("rb")
        except FileNotFoundError:
            raise DocumentError(f"{self.path}: no such file") from None
        with handle:
            offset = 0
            for number, raw in enumerate(handle, start=1):
                if raw.strip():
                    self._index(raw, offset, number)
                offset += len(raw)

    def _index(self, raw: bytes, offset: int, number: int) -> None:
        try:
            record = json.loads(raw)
        except json.JSONDecodeError:
            self.torn.append(number)  # torn by a crash: its document counts as missing, never as a result
            return
        if not isinstance(record, dict):
            self.torn.append(number)
            return
        doc_id = str(record.get("article_id", f"line-{number}"))
        failed = "error" in record
        # The last line per id wins, but a failure line never hides a result (a refused duplicate, say).
        if failed and doc_id in self._offsets and doc_id not in self._failed:
            return
        self._offsets[doc_id] = (offset, number)
        if failed:
            self._failed.add(doc_id)
        else:
            self._failed.discard(doc_id)
        meta = record.get("meta") or {}
        if isinstance(meta, dict):
            for key in SETUP_KEYS:
                if meta.get(key) is not None:
                    self._setup[key][str(meta[key])] += 1

    def setup(self) -> dict[str, Any]:
        """The most common value of each setup field over the lines' meta (None when absent)."""
        return {key: (c.most_common(1)[0][0] if c else None) for key, c in self._setup.items()}

    def __getitem__(self, doc_id: str) -> Prediction:
        offset, number = self._offsets[doc_id]
        with self.path.open("rb") as handle:
            return self._read(handle, offset, number)

    def _read(self, handle: Any, offset: int, number: int) -> Prediction:
        handle.seek(offset)
        return parse_record(json.loads(handle.readline()), number)

    def moved(self, path: Path) -> PredictionFile:
        """This index for a byte-identical copy of the file at `path` (nothing is read)."""
        moved = copy.copy(self)
        moved.path = Path(path)
        return moved

    def place(self, doc_id: str) -> tuple[int, int] | None:
        """Where the line of `doc_id` is (byte offset, line number); None when the file has none."""
        return self._offsets.get(doc_id)

    def read_at(self, handle: Any, place: tuple[int, int]) -> Prediction:
        """The prediction at `place` (from `place()`), read through an open binary handle."""
        return self._read(handle, *place)

    def many(self, ids: Iterable[str]) -> Iterator[Prediction | None]:
        """The prediction of each id in turn (None when the file has none), reading through one handle."""
        with self.path.open("rb") as handle:
            for doc_id in ids:
                where = self._offsets.get(doc_id)
                yield None if where is None else self._read(handle, *where)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._offsets

    def __iter__(self) -> Iterator[str]:
        return iter(self._offsets)

    def __len__(self) -> int:
        return len(self._offsets)
