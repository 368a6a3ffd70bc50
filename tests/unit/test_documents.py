"""Readers: every bad input becomes a clear error naming the file, and the rest still load."""

from __future__ import annotations

import json

import pytest

from extractor import DocumentError
from extractor.core.documents import iter_documents, make_document


def split(items):
    docs = [i for i in items if not isinstance(i, DocumentError)]
    errors = [str(i) for i in items if isinstance(i, DocumentError)]
    return docs, errors


def test_bad_files_yield_errors_and_good_ones_load(tmp_path):
    (tmp_path / "good.txt").write_text("Treasury sanctioned X.", encoding="utf-8")
    (tmp_path / "empty.txt").write_text("  \n\t", encoding="utf-8")
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02PNG")
    (tmp_path / "latin1.txt").write_bytes("Société Générale sanctionnée".encode("latin-1"))
    docs, errors = split(list(iter_documents([
        tmp_path / "good.txt", tmp_path / "empty.txt", tmp_path / "binary.txt",
        tmp_path / "latin1.txt", tmp_path / "missing.txt",
    ])))
    assert [d.id for d in docs] == ["good"]
    assert any("empty.txt" in e and "empty" in e for e in errors)
    assert any("binary.txt" in e and "binary" in e for e in errors)
    assert any("latin1.txt" in e and "UTF-8" in e for e in errors)
    assert any("missing.txt" in e and "no such file" in e for e in errors)


def test_jsonl_documents_with_metadata_and_bad_lines(tmp_path):
    path = tmp_path / "batch.jsonl"
    path.write_text("\n".join([
        json.dumps({"id": "a", "text": "Text A", "title": "A", "published": "2021-12-10", "url": "u",
                    "publisher": "p"}),
        "{not json",
        json.dumps({"id": "b", "text": ""}),
        json.dumps({"id": "c", "text": "Text C", "published": "yesterday"}),
        json.dumps({"id": 4, "text": "Text D"}),
    ]), encoding="utf-8")
    docs, errors = split(list(iter_documents([path])))
    assert [d.id for d in docs] == ["a", "4"]
    assert docs[0].metadata() == {"title": "A", "published": "2021-12-10", "url": "u", "publisher": "p"}
    assert any("batch.jsonl:2" in e and "invalid JSON" in e for e in errors)
    assert any("batch.jsonl:3" in e for e in errors)
    assert any("batch.jsonl:4" in e and "ISO" in e for e in errors)


def test_html_is_turned_into_article_text(tmp_path):
    body = " ".join(["The Treasury Department sanctioned Acme Shipping for evading export controls."] * 8)
    html = (f"<html><head><title>Treasury acts</title></head><body><nav>Home | About</nav><article><h1>Treasury acts"
            f"</h1><p>{body}</p></article><footer>Copyright</footer></body></html>")
    (tmp_path / "page.html").write_text(html, encoding="utf-8")
    docs, errors = split(list(iter_documents([tmp_path / "page.html"])))
    assert not errors
    assert "Acme Shipping" in docs[0].text and "Copyright" not in docs[0].text
    assert docs[0].id == "page"


def test_directory_expands_to_supported_files(tmp_path):
    (tmp_path / "a.txt").write_text("A text", encoding="utf-8")
    (tmp_path / "b.md").write_text("B text", encoding="utf-8")
    (tmp_path / "c.png").write_bytes(b"\x89PNG\x00")
    docs, errors = split(list(iter_documents([tmp_path])))
    assert sorted(d.id for d in docs) == ["a", "b"] and not errors


def test_make_document_rejects_unknown_metadata():
    with pytest.raises(DocumentError, match="unknown metadata"):
        make_document("text", metadata={"author": "x"})
    with pytest.raises(DocumentError, match="empty"):
        make_document("   ", article_id="blank")
