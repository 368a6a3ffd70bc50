"""Job input of the service: JSONL split on "\\n" only, bad lines rejected one by one (no server)."""

from __future__ import annotations

import json

import pytest

from extractor.core.documents import Document
from extractor.service.errors import ApiError
from extractor.service.intake import Rejected, from_json, from_jsonl


def test_jsonl_lines_end_at_newline_only() -> None:
    docs = [{"id": f"d{n}", "text": f"one{sep}two"} for n, sep in enumerate(["\u2028", "\u2029", "\u0085"])]
    raw = ("\n".join(json.dumps(d, ensure_ascii=False) for d in docs) + "\n").encode()
    entries = from_jsonl(raw, 1000)
    assert [(e.id, e.text) for e in entries if isinstance(e, Document)] == [(d["id"], d["text"]) for d in docs]


def test_a_bad_line_is_rejected_alone() -> None:
    good = json.dumps({"id": "ok", "text": "fine"}).encode()
    raw = b"\n".join([good, b"[" * 100_000, b"\xff\xfe not utf-8", json.dumps({"id": "n", "text": "a\u0000b"}).encode(),
                      json.dumps({"id": "..", "text": "fine"}).encode(), good.replace(b'"ok"', b'"ok2"')])
    entries = from_jsonl(raw, 1000)
    rejected = {e.line: e.message for e in entries if isinstance(e, Rejected)}
    assert [e.id for e in entries if isinstance(e, Document)] == ["ok", "ok2"]
    assert "nested too deeply" in rejected[2] and "not UTF-8" in rejected[3] and "NUL" in rejected[4]
    assert "cannot be used" in rejected[5]


def test_a_json_body_nested_too_deeply_is_a_400() -> None:
    with pytest.raises(ApiError) as raised:
        from_json(b"[" * 100_000, 1000)
    assert raised.value.status == 400 and "nested too deeply" in raised.value.message
