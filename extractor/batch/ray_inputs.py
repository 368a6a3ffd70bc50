"""Inputs and outputs of a Ray run: which files to read, rows they become, and the result shards.

Text, HTML and JSONL files are read on the workers by the local readers
(`extractor.core.documents.read_file`), so ids and reader errors are the same as on the
local path; Parquet files go through `ray.data.read_parquet`. Every row of the document
dataset is one JSON string in a `doc` column: a document, or `{"error": message}` for an
input that could not be read, so no input is lost between the stages.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from extractor.core.documents import SUPPORTED_SUFFIXES, document_files, documents_in, read_file
from extractor.core.errors import DocumentError

from .results import done_ids, repair_tail

PARQUET_SUFFIXES = {".parquet"}
DOC_FIELDS = ("id", "text", "title", "published", "url", "publisher")


@dataclass
class Inputs:
    """The files of a run: read by the local readers, read as Parquet, or named but unusable."""

    files: list[tuple[str, str]] = field(default_factory=list)  # (path, id of a text or HTML file's document)
    parquet: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    parquet_rows: int = 0

    def estimated_documents(self) -> int:
        """Documents the inputs hold (for the progress bar): 1 per text file, lines of JSONL, Parquet rows."""
        return len(self.errors) + self.parquet_rows + sum(documents_in(Path(name)) for name, _ in self.files)


def list_inputs(paths: list[str], *, exclude: Path | None = None) -> Inputs:
    """The files named by `paths`: what the local readers would read (same ids), plus .parquet files.

    `exclude` (the output directory) is passed over, so results are never read back as input.
    """
    skip = exclude.resolve() if exclude is not None else None
    inputs = Inputs()
    readable: list[str] = []
    for raw in paths:
        if raw == "-":
            raise DocumentError("--engine ray reads files and directories, not stdin (-): use --engine local")
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix.lower() in SUPPORTED_SUFFIXES | PARQUET_SUFFIXES
                           and p.is_file() and not (skip and p.resolve().is_relative_to(skip)))
            if not found:
                inputs.errors.append(f"{path}: no .txt, .md, .html, .jsonl or .parquet files in this directory")
            for file in found:
                if file.suffix.lower() in PARQUET_SUFFIXES:
                    _add_parquet(inputs, file)
            if any(f.suffix.lower() in SUPPORTED_SUFFIXES for f in found):
                readable.append(raw)
        elif path.suffix.lower() in PARQUET_SUFFIXES and path.is_file():
            _add_parquet(inputs, path)
        else:
            readable.append(raw)  # missing or unreadable files become reader errors, as locally
    # The readers pass over excluded files (not folders): name every file under the output directory.
    outputs = [p for p in exclude.rglob("*") if p.is_file()] if exclude is not None and exclude.is_dir() else []
    for item in document_files(readable, exclude=outputs):
        if isinstance(item, DocumentError):
            inputs.errors.append(str(item))
        else:
            file, article_id = item
            inputs.files.append((str(file.resolve()) if file.exists() else str(file), article_id))
    return inputs


def _add_parquet(inputs: Inputs, path: Path) -> None:
    import pyarrow.parquet as pq

    try:
        rows = pq.read_metadata(path).num_rows
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        inputs.errors.append(f"{path}: not a readable Parquet file ({exc})")
        return
    inputs.parquet.append(str(path.resolve()))
    inputs.parquet_rows += rows


def read_file_rows(row: dict[str, Any]) -> list[dict[str, str]]:
    """`flat_map` step: the documents (or reader errors) of one file, as `doc` rows."""
    out = []
    for item in read_file(Path(row["path"]), row["article_id"]):
        if isinstance(item, DocumentError):
            out.append({"doc": json.dumps({"error": str(item), "article_id": item.article_id})})
        else:
            out.append({"doc": item.model_dump_json(exclude_none=True)})
    return out


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def parquet_rows(batch: Any) -> dict[str, list[str]]:
    """`map_batches` step (pyarrow batches): Parquet rows with `id` and `text` as `doc` rows."""
    docs = []
    for number, record in enumerate(batch.to_pylist(), start=1):
        where = record.pop("path", "parquet")
        if record.get("id") is None or record.get("text") is None:
            docs.append(json.dumps({"error": f"{where}: a row (#{number} of its batch) has no 'id' or 'text'"}))
            continue
        doc = {key: _json_value(record[key]) for key in DOC_FIELDS if record.get(key) is not None}
        doc["id"] = str(doc["id"])
        docs.append(json.dumps(doc, ensure_ascii=False))
    return {"doc": docs}


def done_in(directory: Path) -> set[str]:
    """Ids already extracted successfully in the result shards of `directory` (cut-off last lines dropped)."""
    done: set[str] = set()
    for shard in sorted(directory.glob("*.jsonl")):
        repair_tail(shard)
        done |= done_ids(shard)
    return done


class ShardWriter:
    """Result lines into `directory/part-<start>-<pid>-<n>.jsonl`, a new shard every `lines_per_shard`."""

    def __init__(self, directory: Path, *, lines_per_shard: int = 10000) -> None:
        if lines_per_shard < 1:
            raise ValueError("lines_per_shard must be at least 1")
        self.directory = directory
        self.lines_per_shard = lines_per_shard
        self._stem = f"part-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{os.getpid()}"
        self._handle: IO[str] | None = None
        self._count = 0
        self.shards: list[Path] = []

    def write(self, line: str) -> None:
        """Append one JSON line (already encoded) and flush, so a crash loses nothing written."""
        if self._handle is None or self._count >= self.lines_per_shard:
            self.close()
            path = self.directory / f"{self._stem}-{len(self.shards):05d}.jsonl"
            self._handle = path.open("a", encoding="utf-8")
            self.shards.append(path)
            self._count = 0
        self._handle.write(line + "\n")
        self._handle.flush()
        self._count += 1

    def close(self) -> None:
        """Close the current shard."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None
