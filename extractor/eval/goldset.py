"""The gold set: hand-labelled gold files with their documents and metadata.

`evals/gold/<id>.json` holds the gold `ArticleExtraction` (plus `notes`);
`evals/docs/<id>.txt` holds the text and `evals/docs/manifest.json` its title, date, URL,
publisher and licence. The gold-set hash covers gold and texts, so two runs are comparable
only when they were scored against the same labels and the same documents.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError

from extractor.core.documents import Document
from extractor.core.errors import DocumentError
from extractor.core.schema import GoldFile

DEFAULT_GOLD = Path("evals/gold")
DEFAULT_DOCS = Path("evals/docs")
EAGER_LIMIT = 1000
"""Gold sets up to this many files are validated when opened."""

T = TypeVar("T")


class _Lazy(Mapping[str, T]):
    """A read-only mapping over the gold ids whose values are read from disk on access.

    Nothing is held in memory but the ids, so a gold set of any size costs the same to open;
    a file that does not validate raises `DocumentError` naming it when it is first read.
    """

    def __init__(self, ids: tuple[str, ...], read: Callable[[str], T]) -> None:
        self._ids = ids
        self._known = frozenset(ids)
        self._read = read

    def __getitem__(self, doc_id: str) -> T:
        if doc_id not in self._known:
            raise KeyError(doc_id)
        return self._read(doc_id)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._known

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)


@dataclass(frozen=True)
class GoldSet:
    """Gold files and their documents, keyed by article id (read from disk on access)."""

    gold: Mapping[str, GoldFile]
    documents: Mapping[str, Document]
    gold_dir: Path
    docs_dir: Path
    _hash: list[str] = field(default_factory=list, compare=False, repr=False)

    @property
    def ids(self) -> list[str]:
        """Article ids in sorted order."""
        return sorted(self.gold)

    @property
    def texts(self) -> Mapping[str, str]:
        """Document texts by id (read on access)."""
        return _Lazy(tuple(self.ids), lambda doc_id: self.documents[doc_id].text)

    def items(self) -> Iterator[tuple[str, GoldFile, Document]]:
        """(id, gold, document) for every document in id order, one at a time.

        A pass that reaches the end also records the gold-set hash, so a scoring pass does not
        have to read everything a second time for it.
        """
        digest = hashlib.sha256()
        for doc_id in self.ids:
            gold, document = self.gold[doc_id], self.documents[doc_id]
            digest.update(hash_part(gold, document.text))
            yield doc_id, gold, document
        self.remember_hash(digest)

    def remember_hash(self, digest: Any) -> None:
        """Record the hash of a pass over every document in id order (`hash_part` of each, in turn)."""
        if not self._hash:
            self._hash.append(digest.hexdigest()[:12])

    def known_hash(self) -> str | None:
        """The gold-set hash if a pass has recorded it already, else None (no file is read)."""
        return self._hash[0] if self._hash else None

    def hash(self) -> str:
        """Content hash of every gold file (without notes) and every document text."""
        if not self._hash:
            for _ in self.items():
                pass
        return self._hash[0]


def hash_part(gold: GoldFile, text: str) -> bytes:
    """What one document adds to the gold-set hash: its gold (without notes), then its text."""
    data = gold.model_dump(mode="json", exclude={"notes"})
    return json.dumps(data, sort_keys=True, ensure_ascii=False).encode() + text.encode()


def _resolve(path: Path | None, default: Path) -> Path:
    """An explicit path as given; the default relative to the working directory or the source tree."""
    if path is not None:
        return path
    if default.is_dir():
        return default
    return Path(__file__).resolve().parents[2] / default


def _manifest(docs_dir: Path) -> dict[str, dict[str, Any]]:
    path = docs_dir / "manifest.json"
    if not path.exists():
        return {}
    try:
        entries = json.loads(_read_text(path))
    except json.JSONDecodeError as exc:
        raise DocumentError(f"{path}: invalid JSON ({exc.msg})") from None
    if not isinstance(entries, list) or not all(isinstance(e, dict) and "id" in e for e in entries):
        raise DocumentError(f"{path}: expected a JSON list of objects with an 'id'")
    return {str(entry["id"]): entry for entry in entries}


def _read_text(path: Path) -> str:
    """A gold-set file's text; unreadable or non-UTF-8 files are errors naming the file."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentError(f"{path}: not UTF-8 (invalid byte at offset {exc.start})") from None
    except OSError as exc:
        raise DocumentError(f"{path}: cannot read ({exc.strerror or exc})") from None


def _read_gold(gold_dir: Path, doc_id: str) -> GoldFile:
    file = gold_dir / f"{doc_id}.json"
    try:
        item = GoldFile.model_validate_json(_read_text(file))
    except ValidationError as exc:
        first = exc.errors()[0]
        raise DocumentError(f"{file}: not a valid gold file: {first['loc']}: {first['msg']}") from None
    if item.article_id != doc_id:
        raise DocumentError(f"{file}: article_id {item.article_id!r} does not match the file name")
    return item


def _read_document(docs_dir: Path, manifest: dict[str, dict[str, Any]], doc_id: str) -> Document:
    meta = manifest.get(doc_id, {})
    text_path = docs_dir / f"{doc_id}.txt"
    try:
        return Document(
            id=doc_id,
            text=_read_text(text_path),
            title=meta.get("title"),
            published=meta.get("published"),
            url=meta.get("url"),
            publisher=meta.get("publisher"),
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        raise DocumentError(f"{text_path}: not a usable document: {first['loc']}: {first['msg']}") from None


def load_gold_set(
    gold_dir: Path | None = None, docs_dir: Path | None = None, *, validate: bool | None = None
) -> GoldSet:
    """Open a gold set: every gold file must have its document; errors name the file.

    Gold files are validated here when `validate` is True, and by default for sets of up to
    `EAGER_LIMIT` files; larger sets are validated as they are read (one pass, no second
    read of every file before scoring starts).
    """
    gold_dir = _resolve(gold_dir, DEFAULT_GOLD)
    docs_dir = _resolve(docs_dir, DEFAULT_DOCS)
    for name, folder in (("--gold", gold_dir), ("--docs", docs_dir)):
        if not folder.is_dir():
            raise DocumentError(f"{name} {folder}: no such directory")
    ids = tuple(sorted(file.stem for file in gold_dir.glob("*.json")))
    if not ids:
        raise DocumentError(f"{gold_dir}: no gold files (*.json)")
    present = {path.stem for path in docs_dir.glob("*.txt")}
    for doc_id in ids:
        if doc_id not in present:
            missing = docs_dir / f"{doc_id}.txt"
            raise DocumentError(f"{gold_dir / f'{doc_id}.json'}: its document {missing} is missing")
    manifest = _manifest(docs_dir)
    gold_set = GoldSet(
        gold=_Lazy(ids, lambda doc_id: _read_gold(gold_dir, doc_id)),
        documents=_Lazy(ids, lambda doc_id: _read_document(docs_dir, manifest, doc_id)),
        gold_dir=gold_dir,
        docs_dir=docs_dir,
    )
    if validate or (validate is None and len(ids) <= EAGER_LIMIT):
        gold_set.hash()  # reads and validates every file once
    return gold_set
