"""Inputs and outputs of a Ray run: which files to read, the work units they become, and the result shards.

The driver lists the inputs and cuts them into small work units (`plan_units`); each actor
reads its units itself with the local readers (`extractor.core.documents`), so ids and
reader errors are the same as on the local path; Parquet rows are read with pyarrow. An
input that cannot be read becomes an `{"error": message}` unit, so no input is lost.
"""

from __future__ import annotations

import codecs
import datetime as dt
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError

from extractor.core.documents import (
    JSONL_SUFFIXES,
    SUPPORTED_SUFFIXES,
    Document,
    document_files,
    documents_in,
    read_file,
    read_jsonl_part,
)
from extractor.core.errors import DocumentError

from .results import done_ids, repair_tail

PARQUET_SUFFIXES = {".parquet"}
UTF16_32_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
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


def plan_units(inputs: Inputs, size: int) -> Iterator[dict[str, Any]]:
    """Work units of at most `size` documents each: what one actor call reads and extracts.

    Text and HTML files go `size` to a unit; a JSONL file is cut into ranges of `size` lines
    (found in one pass over its bytes; a file that is not plain UTF-8 stays whole, so its
    reader error is the local one); a Parquet file into slices of `size` rows of a row group.
    Units this small spread any input over the actors without asking Ray to repartition it.
    """
    group: list[tuple[str, str]] = []
    for path, article_id in inputs.files:
        if Path(path).suffix.lower() in JSONL_SUFFIXES:
            yield from _jsonl_units(path, article_id, size)
            continue
        group.append((path, article_id))
        if len(group) == size:
            yield {"files": group}
            group = []
    if group:
        yield {"files": group}
    for path in inputs.parquet:
        for index, rows in enumerate(_row_groups(path)):
            for offset in range(0, rows, size):
                yield {"parquet": path, "group": index, "offset": offset, "count": min(size, rows - offset)}
    for message in inputs.errors:
        yield {"error": message}


PLAN_CHUNK = 1 << 20  # bytes read at a time while cutting a JSONL file into units


def _jsonl_units(path: str, article_id: str, size: int) -> Iterator[dict[str, Any]]:
    """Byte ranges of `size` non-empty lines each; the whole file when it is not UTF-8 without NUL bytes."""
    whole = {"files": [(path, article_id)]}
    decoder = codecs.getincrementaldecoder("utf-8")()
    starts: list[tuple[int, int]] = [(0, 1)]  # (byte offset, line number) where each unit starts
    offset, line, counted = 0, 1, 0
    try:
        with open(path, "rb") as handle:
            head = handle.read(4)
            if head.startswith(UTF16_32_BOMS) or not head:
                yield whole  # UTF-16/32 or empty: the reader takes it whole (and says what is wrong)
                return
            handle.seek(0)
            at_start, blank = True, True
            # Read in bounded pieces: a line of gigabytes is never held (its reader reports it as too long).
            while raw := handle.readline(PLAN_CHUNK):
                decoder.decode(raw)
                if b"\x00" in raw:
                    raise UnicodeDecodeError("utf-8", raw, 0, 1, "NUL byte")
                if at_start:
                    if counted == size:
                        starts.append((offset, line))
                        counted = 0
                    blank = True
                blank = blank and not raw.strip()
                offset += len(raw)
                at_start = raw.endswith(b"\n")
                if at_start:
                    counted += not blank
                    line += 1
            decoder.decode(b"", final=True)
    except (OSError, UnicodeDecodeError):
        yield whole
        return
    ends = [start for start, _ in starts[1:]] + [offset]
    for (start, first), stop in zip(starts, ends, strict=True):
        yield {"jsonl": path, "start": start, "stop": stop, "line": first}


def _row_groups(path: str) -> list[int]:
    import pyarrow.parquet as pq

    metadata = pq.read_metadata(path)
    return [metadata.row_group(index).num_rows for index in range(metadata.num_row_groups)]


def read_unit(unit: dict[str, Any], groups: dict[tuple[str, int], Any]) -> Iterator[Document | DocumentError]:
    """The documents (or reader errors) of one work unit; `groups` keeps the last Parquet row group read."""
    if "files" in unit:
        for path, article_id in unit["files"]:
            yield from read_file(Path(path), article_id)
    elif "jsonl" in unit:
        yield from read_jsonl_part(Path(unit["jsonl"]), unit["start"], unit["stop"], unit["line"])
    elif "parquet" in unit:
        yield from _parquet_rows(unit, groups)
    else:
        yield DocumentError(str(unit["error"]))


def _parquet_rows(unit: dict[str, Any], groups: dict[tuple[str, int], Any]) -> Iterator[Document | DocumentError]:
    """Rows of a Parquet slice with `id` and `text` as documents; the row group is read once per worker."""
    import pyarrow.parquet as pq

    key = (str(unit["parquet"]), int(unit["group"]))
    if key not in groups:
        groups.clear()  # one row group held at a time: slices of the same group come in order
        groups[key] = pq.ParquetFile(key[0]).read_row_group(key[1])
    rows = groups[key].slice(unit["offset"], unit["count"]).to_pylist()
    for number, record in enumerate(rows, start=unit["offset"] + 1):
        if record.get("id") is None or record.get("text") is None:
            yield DocumentError(f"{key[0]}: row {number} of row group {key[1]} has no 'id' or 'text'")
            continue
        doc = {name: _json_value(record[name]) for name in DOC_FIELDS if record.get(name) is not None}
        doc["id"] = str(doc["id"])
        try:
            yield Document.model_validate(doc)
        except ValidationError as exc:
            first = exc.errors()[0]
            yield DocumentError(f"{doc['id']}: {'.'.join(map(str, first['loc']))}: {first['msg']}",
                                article_id=doc["id"])


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


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
