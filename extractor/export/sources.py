"""Source documents for an export: texts `DIR/<id>.txt` (or `.md`) and metadata from `DIR/manifest.json`.

The manifest is the gold set's format (a list of objects with `id`, `title`, `published`,
`url`, `publisher`). A result whose text file is missing is exported without its document.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from extractor.core.documents import Document
from extractor.core.errors import DocumentError

_SUFFIXES = (".txt", ".md")
_META = ("title", "published", "url", "publisher")


def load_sources(docs_dir: Path, ids: Iterable[str]) -> dict[str, Document]:
    """Documents by id for the ids whose text is in `docs_dir`, with their manifest metadata."""
    if not docs_dir.is_dir():
        raise DocumentError(f"{docs_dir}: not a directory")
    manifest = _manifest(docs_dir / "manifest.json")
    found: dict[str, Document] = {}
    for doc_id in ids:
        text_path = next((docs_dir / f"{doc_id}{s}" for s in _SUFFIXES if (docs_dir / f"{doc_id}{s}").is_file()), None)
        if text_path is None:
            continue
        meta = manifest.get(doc_id, {})
        try:
            text = text_path.read_text(encoding="utf-8")
            found[doc_id] = Document(id=doc_id, text=text, **{k: meta.get(k) for k in _META})
        except UnicodeDecodeError:
            raise DocumentError(f"{text_path}: not UTF-8 text") from None
        except ValidationError as exc:
            raise DocumentError(f"{docs_dir}: document {doc_id}: {exc.errors()[0]['msg']}") from None
    return found


def _manifest(path: Path) -> dict[str, dict[str, Any]]:
    if not path.is_file():
        return {}
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DocumentError(f"{path}: invalid JSON ({exc.msg})") from None
    if not isinstance(entries, list):
        raise DocumentError(f"{path}: expected a list of documents")
    return {str(entry["id"]): entry for entry in entries if isinstance(entry, dict) and "id" in entry}
