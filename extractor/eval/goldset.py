"""The gold set: hand-labelled gold files with their documents and metadata.

`evals/gold/<id>.json` holds the gold `ArticleExtraction` (plus `notes`);
`evals/docs/<id>.txt` holds the text and `evals/docs/manifest.json` its title, date, URL,
publisher and licence. The gold-set hash covers gold and texts, so two runs are comparable
only when they were scored against the same labels and the same documents.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from extractor.core.documents import Document
from extractor.core.errors import DocumentError
from extractor.core.schema import GoldFile

DEFAULT_GOLD = Path("evals/gold")
DEFAULT_DOCS = Path("evals/docs")


@dataclass(frozen=True)
class GoldSet:
    """Gold files and their documents, keyed by article id."""

    gold: dict[str, GoldFile]
    documents: dict[str, Document]
    gold_dir: Path
    docs_dir: Path

    @property
    def ids(self) -> list[str]:
        """Article ids in sorted order."""
        return sorted(self.gold)

    @property
    def texts(self) -> dict[str, str]:
        """Document texts by id."""
        return {doc_id: doc.text for doc_id, doc in self.documents.items()}

    def hash(self) -> str:
        """Content hash of every gold file (without notes) and every document text."""
        digest = hashlib.sha256()
        for doc_id in self.ids:
            gold = self.gold[doc_id].model_dump(mode="json", exclude={"notes"})
            digest.update(json.dumps(gold, sort_keys=True, ensure_ascii=False).encode())
            digest.update(self.documents[doc_id].text.encode())
        return digest.hexdigest()[:12]


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


def load_gold_set(gold_dir: Path | None = None, docs_dir: Path | None = None) -> GoldSet:
    """Load and validate every gold file and its document; errors name the file."""
    gold_dir = _resolve(gold_dir, DEFAULT_GOLD)
    docs_dir = _resolve(docs_dir, DEFAULT_DOCS)
    for name, folder in (("--gold", gold_dir), ("--docs", docs_dir)):
        if not folder.is_dir():
            raise DocumentError(f"{name} {folder}: no such directory")
    files = sorted(gold_dir.glob("*.json"))
    if not files:
        raise DocumentError(f"{gold_dir}: no gold files (*.json)")
    manifest = _manifest(docs_dir)
    gold: dict[str, GoldFile] = {}
    documents: dict[str, Document] = {}
    for file in files:
        try:
            item = GoldFile.model_validate_json(_read_text(file))
        except ValidationError as exc:
            first = exc.errors()[0]
            raise DocumentError(f"{file}: not a valid gold file: {first['loc']}: {first['msg']}") from None
        if item.article_id != file.stem:
            raise DocumentError(f"{file}: article_id {item.article_id!r} does not match the file name")
        text_path = docs_dir / f"{file.stem}.txt"
        if not text_path.exists():
            raise DocumentError(f"{file}: its document {text_path} is missing")
        meta = manifest.get(file.stem, {})
        try:
            documents[file.stem] = Document(
                id=file.stem,
                text=_read_text(text_path),
                title=meta.get("title"),
                published=meta.get("published"),
                url=meta.get("url"),
                publisher=meta.get("publisher"),
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            raise DocumentError(f"{text_path}: not a usable document: {first['loc']}: {first['msg']}") from None
        gold[file.stem] = item
    return GoldSet(gold=gold, documents=documents, gold_dir=gold_dir, docs_dir=docs_dir)
