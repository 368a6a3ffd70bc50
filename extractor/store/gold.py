"""Approved reviews as a gold set: `gold/<id>.json`, `docs/<id>.txt` and `docs/manifest.json`.

The layout is the one `extractor eval --gold DIR/gold --docs DIR/docs` reads (see
`extractor.eval.goldset`). Every gold file is validated with `GoldFile` before it is written,
and the manifest keeps entries of documents already in `docs/` that this export does not touch.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from extractor.core.errors import DocumentError
from extractor.core.schema import GoldFile
from extractor.store.reviews import approved_reviews

from .db import Store

SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")


@dataclass(frozen=True)
class ExportSummary:
    """What an export wrote."""

    ids: list[str]
    gold_dir: Path
    docs_dir: Path
    skipped: list[tuple[str, str]]  # (document id, reason)


def _write(path: Path, text: str) -> None:
    """Write through a temporary file, so an interrupted export never leaves half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _read_manifest(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DocumentError(f"{path}: not a JSON manifest ({exc}); move it away to export here") from None
    if not isinstance(entries, list):
        raise DocumentError(f"{path}: expected a JSON list")
    return [e for e in entries if isinstance(e, dict) and "id" in e]


def export_gold(store: Store, out_dir: Path) -> ExportSummary:
    """Write every approved review under `out_dir` as gold; ids unsafe as file names are skipped."""
    gold_dir, docs_dir = out_dir / "gold", out_dir / "docs"
    gold_dir.mkdir(parents=True, exist_ok=True)
    docs_dir.mkdir(parents=True, exist_ok=True)
    manifest_path = docs_dir / "manifest.json"
    manifest = {str(e["id"]): e for e in _read_manifest(manifest_path)}
    ids: list[str] = []
    skipped: list[tuple[str, str]] = []
    with store.read() as session:
        for review, document in approved_reviews(session):
            if not SAFE_ID.match(document.id):
                skipped.append((document.id, "the id is not usable as a file name"))
                continue
            gold = GoldFile.model_validate({**review.result, "article_id": document.id, "notes": review.notes})
            data = gold.model_dump(mode="json")
            if data.get("notes") is None:
                data.pop("notes")
            _write(gold_dir / f"{document.id}.json", json.dumps(data, indent=2, ensure_ascii=False) + "\n")
            _write(docs_dir / f"{document.id}.txt", document.text)
            meta = document.doc_meta or {}
            approved = review.approved_at.isoformat(timespec="seconds") if review.approved_at else None
            manifest[document.id] = {
                "id": document.id, "title": meta.get("title"), "published": meta.get("published"),
                "url": meta.get("url"), "publisher": meta.get("publisher"),
                "license": meta.get("license"),
                "source": f"review by {review.reviewer} at {approved}",
            }
            ids.append(document.id)
    entries = [manifest[k] for k in sorted(manifest)]
    _write(manifest_path, json.dumps(entries, indent=2, ensure_ascii=False) + "\n")
    return ExportSummary(ids, gold_dir, docs_dir, skipped)
