"""Input read as streams: JSONL split on "\\n" only, bounded lines and documents, devices refused."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from extractor.batch import results
from extractor.core import documents, lines
from extractor.core.documents import Document, DocumentError, iter_documents, safe_label, storable
from extractor.core.lines import check_not_device, jsonl_lines, read_document_bytes


def _lines(data: bytes) -> list[tuple[int, str | DocumentError]]:
    return list(jsonl_lines(io.BufferedReader(io.BytesIO(data)), "f.jsonl"))  # type: ignore[arg-type]


def test_jsonl_lines_end_at_newline_only() -> None:
    raw = 'a\u2028b\u2029c\u0085d\x1ce\r\nsecond\nthird'.encode()
    assert _lines(raw) == [(1, "a\u2028b\u2029c\u0085d\x1ce\r\n"), (2, "second\n"), (3, "third")]
    assert _lines(b"\xef\xbb\xbf{}\n") == [(1, "{}\n")]  # a UTF-8 byte-order mark is dropped
    assert _lines('{"x": 1}\n'.encode("utf-16")) == [(1, '{"x": 1}\n')]


def test_a_bad_or_overlong_line_is_one_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lines, "MAX_DOCUMENT_BYTES", 10)
    monkeypatch.setattr(lines, "SKIP_CHUNK", 3)
    found = _lines(b"short\n" + b"x" * 50 + b"\nok\n\xff\xfe bad\nlast")
    assert [(n, v if isinstance(v, str) else type(v).__name__) for n, v in found] == [
        (1, "short\n"), (2, "DocumentError"), (3, "ok\n"), (4, "DocumentError"), (5, "last")]
    assert "longer than" in str(found[1][1]) and "not UTF-8" in str(found[3][1])
    [(number, error)] = _lines(b"\x00\x00\x00binary")
    assert number == 0 and "binary file" in str(error)


def test_jsonl_file_with_separators_keeps_every_record(tmp_path: Path) -> None:
    records = [{"id": f"r{n}", "text": f"one{sep}two"} for n, sep in enumerate(["\u2028", "\u2029", "\u0085"])]
    path = tmp_path / "feed.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n{bad\n", encoding="utf-8")
    items = list(iter_documents([path]))
    assert [d.id for d in items if isinstance(d, Document)] == ["r0", "r1", "r2"]
    assert [d.text for d in items if isinstance(d, Document)] == [r["text"] for r in records]
    [error] = [e for e in items if isinstance(e, DocumentError)]
    assert "feed.jsonl:4: invalid JSON" in str(error) and error.article_id == "feed-4"
    deep = tmp_path / "deep.jsonl"
    deep.write_text("[" * 100_000 + "\n" + json.dumps({"id": "after", "text": "fine"}) + "\n")
    found = list(iter_documents([deep]))
    assert "nested too deeply" in str(found[0]) and isinstance(found[1], Document)


def test_devices_and_oversized_documents_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with open("/dev/null", "rb") as handle, pytest.raises(DocumentError, match="is a device"):
        check_not_device(handle, "/dev/null")
    monkeypatch.setattr(lines, "MAX_DOCUMENT_BYTES", 100)
    big = tmp_path / "big.txt"
    with big.open("wb") as handle:
        handle.truncate(10_000)
    with big.open("rb") as handle, pytest.raises(DocumentError, match="at most"):
        read_document_bytes(handle, "big.txt", check_not_device(handle, "big.txt"))
    with pytest.raises(DocumentError, match="more than"):
        read_document_bytes(io.BytesIO(b"x" * 1000), "<stdin>")  # type: ignore[arg-type]
    assert "at most" in str(next(iter(iter_documents([big]))))


def test_nul_and_lone_surrogates_are_not_text() -> None:
    for bad in ("a\x00b", "a\ud800b"):
        with pytest.raises(ValueError):
            storable(bad)
        with pytest.raises(ValueError):
            Document(id="x", text=bad)
        with pytest.raises(ValueError):
            Document(id=bad, text="fine")
    assert safe_label("a\x00b\ud800") == "a\\u0000b\\ud800"
    assert safe_label("plain é") == "plain é"


def test_result_files_are_read_in_bounded_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(results, "MAX_RESULT_LINE_BYTES", 80)
    path = tmp_path / "out.jsonl"
    short = {"article_id": "ok", "is_sanctions_news": False, "actions": []}
    path.write_text(json.dumps({"article_id": "x" * 100}) + "\n" + json.dumps(short) + "\n")
    assert results.read_results(path).torn == [1]  # over the bound: torn, never held
    assert results.done_ids(path) == {"ok"}
    sparse = tmp_path / "sparse.jsonl"
    with sparse.open("wb") as handle:
        handle.truncate(10_000)
    assert results.done_ids(sparse) == set() and not results.looks_like_results(sparse)
    with pytest.raises(results.ConfigError, match="does not hold result lines"):
        results.repair_tail(sparse)
    assert sparse.stat().st_size == 10_000


def test_documents_in_estimates_a_huge_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "many.jsonl"
    path.write_bytes(b'{"text": "x"}\n' * 1000)
    assert documents.documents_in(path) == 1000
    monkeypatch.setattr(documents, "COUNT_WHOLE_BYTES", 100)
    monkeypatch.setattr(documents, "COUNT_BLOCK", 1400)
    assert documents.documents_in(path) == 1000  # estimated from the first block: 100 lines of 14 bytes
