"""Input documents: the `Document` type and readers for files, directories, JSONL and stdin.

Readers never stop a run on one bad input: they yield a `DocumentError` in its place, so
the caller reports it and goes on with the other documents.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import DocumentError
from .schema import _iso_date

TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".text"}
HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | JSONL_SUFFIXES


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
        if not value.strip():
            raise ValueError("text is empty or whitespace only")
        return value

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


def _decode(data: bytes, name: str) -> str:
    if b"\x00" in data[:8192]:
        raise DocumentError(f"{name}: binary file, not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(f"{name}: not UTF-8 (invalid byte at offset {exc.start})") from None
    if not text.strip():
        raise DocumentError(f"{name}: empty or whitespace-only document")
    return text


def html_to_text(html: str, name: str) -> tuple[str, str | None]:
    """Main article text and title of an HTML page, via trafilatura."""
    import trafilatura

    extracted = trafilatura.bare_extraction(html, with_metadata=True, include_comments=False)
    text = getattr(extracted, "text", None) or ""
    if not text.strip():
        raise DocumentError(f"{name}: no article text found in the HTML")
    return text, getattr(extracted, "title", None)


def read_file(path: Path) -> Iterator[Document | DocumentError]:
    """Documents in one file (.txt/.md/.html/.jsonl); errors are yielded, not raised."""
    name = str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        yield DocumentError(f"{name}: no such file")
        return
    except IsADirectoryError:
        yield DocumentError(f"{name}: is a directory")
        return
    except OSError as exc:
        yield DocumentError(f"{name}: cannot read ({exc.strerror})")
        return
    suffix = path.suffix.lower()
    try:
        text = _decode(data, name)
    except DocumentError as err:
        yield err
        return
    if suffix in JSONL_SUFFIXES:
        yield from read_jsonl(text.splitlines(), name)
        return
    title = None
    if suffix in HTML_SUFFIXES:
        try:
            text, title = html_to_text(text, name)
        except DocumentError as err:
            yield err
            return
    yield Document(id=path.stem, text=text, title=title)


def read_jsonl(lines: Iterable[str], name: str) -> Iterator[Document | DocumentError]:
    """Documents from JSONL lines with `id`, `text` and optional metadata."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{name}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield DocumentError(f"{where}: invalid JSON ({exc.msg})")
            continue
        if not isinstance(record, dict) or "text" not in record:
            yield DocumentError(f"{where}: expected an object with 'id' and 'text'")
            continue
        record.setdefault("id", f"{Path(name).stem}-{number}")
        record["id"] = str(record["id"])
        try:
            yield Document.model_validate(record)
        except ValidationError as exc:
            yield DocumentError(f"{where} (id {record['id']}): {_first_error(exc)}")


def read_stdin() -> Iterator[Document | DocumentError]:
    """One document from standard input, with id `stdin`."""
    try:
        text = _decode(sys.stdin.buffer.read(), "<stdin>")
    except DocumentError as err:
        yield err
        return
    yield Document(id="stdin", text=text)


def iter_documents(paths: Iterable[str | Path], *, exclude: Iterable[Path] = ()) -> Iterator[Document | DocumentError]:
    """Every document named by `paths`: files, directories (supported files inside), or `-`.

    Files in `exclude` (such as the run's own output file) are passed over in directories.
    """
    skip = {p.resolve() for p in exclude}
    for raw in paths:
        if str(raw) == "-":
            yield from read_stdin()
            continue
        path = Path(raw)
        if path.is_dir():
            files = sorted(
                p
                for p in path.rglob("*")
                if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES and p.resolve() not in skip
            )
            if not files:
                yield DocumentError(f"{path}: no .txt, .md, .html or .jsonl files in this directory")
            for file in files:
                yield from read_file(file)
        else:
            yield from read_file(path)
