"""Input documents: the `Document` type and readers for files, directories, JSONL and stdin.

Readers never stop a run on one bad input: they yield a `DocumentError` in its place, so
the caller reports it and goes on with the other documents.
"""

from __future__ import annotations

import json
import os
import re
import stat
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import DocumentError
from .lines import bom_codec, check_not_device, codec_label, jsonl_lines, read_document_bytes, utf8_lines
from .schema import _iso_date

TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".text"}
HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | JSONL_SUFFIXES


def not_blank(value: str) -> str:
    """`value` unless it is empty or whitespace only (then a ValueError saying so)."""
    if not value.strip():
        raise ValueError("text is empty or whitespace only")
    return value


_SURROGATE = re.compile("[\ud800-\udfff]")


def storable(value: str) -> str:
    """`value` unless it holds a NUL character or a lone surrogate (then a ValueError saying where).

    Neither is text: a NUL cannot be stored in PostgreSQL, and a lone surrogate (`"\\ud800"`
    in JSON) cannot be encoded as UTF-8, so either would fail later, far from its cause.
    """
    at = value.find("\x00")
    if at >= 0:
        raise ValueError(f"contains a NUL character (U+0000) at offset {at}")
    bad = _SURROGATE.search(value)
    if bad is not None:
        raise ValueError(f"contains a lone surrogate (U+{ord(bad.group()):04X}) at offset {bad.start()}, "
                         "which is not valid Unicode")
    return value


def safe_label(value: str) -> str:
    """`value` with NUL characters and lone surrogates written as `\\u0000` escapes: fit for messages and ids
    of failure lines, which must be storable and encodable even when the document was not."""
    if "\x00" not in value and _SURROGATE.search(value) is None:
        return value
    return "".join(f"\\u{ord(c):04x}" if c == "\x00" or "\ud800" <= c <= "\udfff" else c for c in value)


class Document(BaseModel):
    """One article to extract from, with the optional metadata the prompt shows the model."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str = Field(min_length=1)
    text: str
    title: str | None = None
    published: str | None = Field(default=None, description="ISO 8601 publication date")
    url: str | None = None
    publisher: str | None = None

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        return not_blank(value)

    @field_validator("id", "text", "title", "published", "url", "publisher")
    @classmethod
    def _storable(cls, value: str | None) -> str | None:
        return None if value is None else storable(value)

    @field_validator("published")
    @classmethod
    def _published_iso(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return _iso_date(value.strip()[:10])

    def metadata(self) -> dict[str, str]:
        """The metadata fields that are set, in the order the prompt shows them."""
        fields = {"title": self.title, "published": self.published, "url": self.url, "publisher": self.publisher}
        return {key: value for key, value in fields.items() if value}


def make_document(text: str, *, article_id: str | None = None, metadata: dict[str, Any] | None = None) -> Document:
    """Build a `Document` from text and a metadata dict (title, published, url, publisher)."""
    meta = dict(metadata or {})
    unknown = set(meta) - {"title", "published", "url", "publisher"}
    if unknown:
        raise DocumentError(f"unknown metadata key(s) {sorted(unknown)}: use title, published, url, publisher")
    doc_id = article_id or "document"
    try:
        return Document(id=doc_id, text=text, **meta)
    except ValidationError as exc:
        raise DocumentError(f"{doc_id}: {_first_error(exc)}") from None


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(part) for part in err["loc"])
    return f"{where}: {err['msg']}" if where else err["msg"]


def _decode(data: bytes, name: str, article_id: str | None = None) -> str:
    """Text of a file: UTF-8, or UTF-16/UTF-32 when a byte-order mark says so."""
    codec = bom_codec(data)
    # UTF-16 and UTF-32 text is full of NUL bytes, so the binary check applies only without a BOM.
    if codec is None and b"\x00" in data[:8192]:
        raise DocumentError(f"{name}: binary file, not text", article_id=article_id, path=name)
    codec = codec or "utf-8-sig"
    label = codec_label(codec)
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        raise DocumentError(f"{name}: not {label} (invalid byte at offset {exc.start})", article_id=article_id,
                            path=name) from None
    if not text.strip():
        raise DocumentError(f"{name}: empty or whitespace-only document", article_id=article_id, path=name)
    return text


def html_to_text(html: str, name: str) -> tuple[str, str | None]:
    """Main article text and title of an HTML page, via trafilatura."""
    text, title, _date = html_article(html, name)
    return text, title


def html_article(html: str, name: str) -> tuple[str, str | None, str | None]:
    """Main article text, title and publication date (ISO, when the page states one) of an HTML page."""
    import trafilatura

    extracted = trafilatura.bare_extraction(html, with_metadata=True, include_comments=False)
    text = getattr(extracted, "text", None) or ""
    if not text.strip():
        raise DocumentError(f"{name}: no article text found in the HTML")
    date = getattr(extracted, "date", None)
    return text, getattr(extracted, "title", None), (str(date)[:10] if date else None)


def read_file(path: Path, article_id: str | None = None) -> Iterator[Document | DocumentError]:
    """Documents in one file (.txt/.md/.html/.jsonl); errors are yielded, not raised.

    `article_id` is the id of a text or HTML file's document (default: the file's stem).
    """
    for item, _where in _read_file(Path(path), article_id or Path(path).stem):
        yield item


def _read_file(path: Path, article_id: str) -> Iterator[tuple[Document | DocumentError, str]]:
    """`read_file`, each item with where it came from (`file` or `file:line`)."""
    name = str(path)

    def error(message: str) -> tuple[DocumentError, str]:
        return DocumentError(f"{name}: {message}", article_id=article_id, path=name), name

    suffix = path.suffix.lower()
    try:
        with path.open("rb") as handle:
            info = check_not_device(handle, name)
            if suffix in JSONL_SUFFIXES:
                yield from _read_jsonl(jsonl_lines(handle, name), name)
                return
            text = _decode(read_document_bytes(handle, name, info), name, article_id)
    except FileNotFoundError:
        yield error("broken or looping symbolic link" if path.is_symlink() else "no such file")
        return
    except IsADirectoryError:
        yield error("is a directory")
        return
    except DocumentError as err:
        err.article_id, err.path = err.article_id or article_id, name
        yield err, name
        return
    except OSError as exc:
        yield error(f"cannot read ({exc.strerror})")
        return
    title = None
    if suffix in HTML_SUFFIXES:
        try:
            text, title = html_to_text(text, name)
        except DocumentError as err:
            err.article_id, err.path = article_id, name
            yield err, name
            return
    yield Document(id=article_id, text=text, title=title), name


def read_jsonl_part(path: Path, start: int, stop: int, first_line: int) -> Iterator[Document | DocumentError]:
    """The documents in bytes [start, stop) of a UTF-8 JSONL file, `first_line` being the number of its first line.

    A share of a big file for one worker: ids and errors are those `read_file` gives for the
    same lines. The range starts and ends at line boundaries.
    """
    name = str(path)
    try:
        with path.open("rb") as handle:
            handle.seek(start)
            for item, _where in _read_jsonl(utf8_lines(handle, name, first_line, stop), name):
                yield item
    except OSError as exc:
        yield DocumentError(f"{name}: cannot read lines from {first_line} ({exc.strerror or exc})",
                            article_id=Path(name).stem, path=name)


def _read_jsonl(
    lines: Iterable[tuple[int, str | DocumentError]], name: str
) -> Iterator[tuple[Document | DocumentError, str]]:
    stem = Path(name).stem
    seen_any = False
    for number, line in lines:
        default_id = f"{stem}-{number}"
        if isinstance(line, DocumentError):  # unreadable: a line, or (number 0) the whole file
            line.article_id = line.article_id or (default_id if number else stem)
            seen_any = True
            yield line, f"{name}:{number}" if number else name
            continue
        if not line.strip():
            continue
        seen_any = True
        where = f"{name}:{number}"

        def error(message: str, article_id: str = default_id) -> tuple[DocumentError, str]:
            return DocumentError(f"{where}: {message}", article_id=article_id, path=name), where  # noqa: B023

        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield error(f"invalid JSON ({exc.msg})")
            continue
        except RecursionError:
            yield error("invalid JSON (nested too deeply)")
            continue
        if not isinstance(record, dict):
            yield error(f"expected an object with 'id' and 'text', not a JSON {type(record).__name__}")
            continue
        raw_id = record.get("id", default_id)
        # bool is an int subclass, but `true` is no identifier.
        if isinstance(raw_id, bool) or not isinstance(raw_id, str | int):
            yield error(f"'id' must be a string or an integer, not {json.dumps(raw_id)[:40]}")
            continue
        record["id"] = doc_id = str(raw_id).strip() or default_id
        label = safe_label(doc_id)  # errors name the id even when it is no valid id
        if "text" not in record:
            yield error(f"(id {label}) no 'text' field", label)
            continue
        if not isinstance(record["text"], str):
            yield error(f"(id {label}) 'text' must be a string", label)
            continue
        try:
            yield Document.model_validate(record), where
        except ValidationError as exc:
            yield error(f"(id {label}): {_first_error(exc)}", label)
    if not seen_any:
        yield DocumentError(f"{name}: empty or whitespace-only document", article_id=stem, path=name), name


def read_stdin() -> Iterator[Document | DocumentError]:
    """One document from standard input, with id `stdin` (at most `MAX_DOCUMENT_BYTES` of it)."""
    try:
        text = _decode(read_document_bytes(sys.stdin.buffer, "<stdin>"), "<stdin>", "stdin")
        document = Document(id="stdin", text=text)
    except DocumentError as err:
        err.article_id = "stdin"
        yield err
        return
    except ValidationError as exc:
        yield DocumentError(f"<stdin>: {_first_error(exc)}", article_id="stdin", path="<stdin>")
        return
    yield document


def iter_documents(paths: Iterable[str | Path], *, exclude: Iterable[Path] = ()) -> Iterator[Document | DocumentError]:
    """Every document named by `paths`: files, directories (supported files inside), or `-`.

    Files in `exclude` (such as the run's own output file) are passed over in directories;
    a file named twice is read once. Ids are unique within the call: files whose stems
    collide (`a/x.txt`, `b/x.txt`) get path-derived ids (`a/x`, `b/x`), and a second
    document with an id already seen (duplicate JSONL ids) is refused with a `DocumentError`.
    Symbolic links to directories are not followed, so a link loop cannot recurse.
    """
    sources = list(_sources(paths, {_resolve(Path(p)) for p in exclude}))
    ids = _file_ids([s for s in sources if isinstance(s, Path)])
    seen: dict[str, str] = {}
    for source in sources:
        if isinstance(source, DocumentError):
            yield source
            continue
        pairs = ((item, "<stdin>") for item in read_stdin()) if source == STDIN else _read_file(source, ids[source])
        for item, where in pairs:
            if isinstance(item, Document):
                first = seen.setdefault(item.id, where)
                if first != where:
                    yield DocumentError(
                        f"{where}: duplicate id {item.id!r} (first at {first}): ids must be unique within a run; "
                        "this document is not extracted", article_id=item.id, path=str(source))
                    continue
            yield item


STDIN = Path("-")


def count_inputs(paths: Iterable[str | Path]) -> int | None:
    """About how many documents `paths` hold, without reading them (None with stdin).

    A file is one document and a JSONL file one per non-empty line: enough for a progress
    bar's total, read at disk speed rather than parsed.
    """
    total = 0
    for source in _sources(paths, set()):
        if source == STDIN:
            return None
        total += 1 if isinstance(source, DocumentError) else documents_in(source)
    return total


COUNT_BLOCK = 1024 * 1024
COUNT_WHOLE_BYTES = 256 * 1024 * 1024  # larger JSONL files are estimated from their first block


def documents_in(path: Path) -> int:
    """About how many documents one file holds: one, or a JSONL file's lines (counted, not parsed).

    Read in blocks (a file without line ends is never held whole); a file over 256 MiB is
    estimated from its first MiB, and anything but a regular file counts as one.
    """
    if path.suffix.lower() not in JSONL_SUFFIXES:
        return 1
    try:
        with path.open("rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                return 1  # a pipe is read once, by the run; a device is refused there
            if info.st_size > COUNT_WHOLE_BYTES:
                first = handle.read(COUNT_BLOCK)
                return max(1, first.count(b"\n") * info.st_size // max(len(first), 1))
            lines, last = 0, b"\n"
            while block := handle.read(COUNT_BLOCK):
                lines += block.count(b"\n")
                last = block[-1:]
            return max(1, lines + (last != b"\n"))
    except OSError:
        return 1  # unreadable: it will be one failure line


def _sources(paths: Iterable[str | Path], skip: set[Path]) -> Iterator[Path | DocumentError]:
    """The files to read, in order: each named file, each directory's supported files, `-`."""
    named: set[Path] = set()
    for raw in paths:
        if str(raw) == "-":
            yield STDIN
            continue
        path = Path(raw)
        if path.is_dir():
            files = sorted(
                p for p in path.rglob("*")
                # a symlink that is not a file is broken or loops: listed, so reading it reports that
                if p.suffix.lower() in SUPPORTED_SUFFIXES and (p.is_file() or p.is_symlink())
                and _resolve(p) not in skip
            )
            if not files:
                yield DocumentError(f"{path}: no .txt, .md, .html or .jsonl files in this directory", path=str(path))
        else:
            files = [path]
        for file in files:
            key = _resolve(file)
            if key not in named:
                named.add(key)
                yield file


def _resolve(path: Path) -> Path:
    """The absolute path without symbolic links; a looping link stays as it is (it fails when read)."""
    try:
        return path.resolve()
    except (RuntimeError, OSError):  # Python 3.11 raises RuntimeError on a symlink loop
        return path.absolute()


def _file_ids(files: list[Path]) -> dict[Path, str]:
    """Each file's document id: its stem, or when stems collide, the shortest distinguishing path."""
    by_stem: dict[str, list[Path]] = {}
    for file in files:
        by_stem.setdefault(file.stem, []).append(file)
    ids: dict[Path, str] = {}
    for stem, group in by_stem.items():
        if len(group) == 1:
            ids[group[0]] = stem
            continue
        parts = [_resolve(file).with_suffix("").parts for file in group]
        if len(set(parts)) < len(parts):  # x.txt and x.md in one folder: the suffix tells them apart
            parts = [_resolve(file).parts for file in group]
        depth = 2
        while depth < max(len(p) for p in parts) and len({p[-depth:] for p in parts}) < len(parts):
            depth += 1
        for file, file_parts in zip(group, parts, strict=True):
            ids[file] = "/".join(file_parts[-depth:]).lstrip("/")
    return ids


def document_files(
    paths: Iterable[str | Path], *, exclude: Iterable[Path] = ()
) -> list[tuple[Path, str] | DocumentError]:
    """The files `iter_documents` reads for `paths`, each with its document id, and errors in between.

    For readers that open the files elsewhere (Ray workers call `read_file(path, article_id)`),
    so ids come out as they do locally. Stdin is not a file: `-` becomes a `DocumentError`.
    """
    sources = list(_sources(paths, {_resolve(Path(p)) for p in exclude}))
    ids = _file_ids([s for s in sources if isinstance(s, Path) and s != STDIN])
    out: list[tuple[Path, str] | DocumentError] = []
    for source in sources:
        if isinstance(source, DocumentError):
            out.append(source)
        elif source == STDIN:
            out.append(DocumentError("-: stdin is not a file", path="-"))
        else:
            out.append((source, ids[source]))
    return out
