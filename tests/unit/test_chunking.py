"""Chunking splits long documents into bounded, overlapping slices and merges the per-chunk answers."""

from __future__ import annotations

from itertools import pairwise

import pytest

from extractor.core.chunking import Chunk, split_text
from extractor.core.merging import merge_answers, merge_key
from extractor.core.schema import ArticleExtraction, ExtractionAnswer


def _check_cover(text: str, chunks: list[Chunk], max_chars: int) -> list[int]:
    """Assert chunks tile the text with no gaps and within bounds; return the overlaps."""
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert chunks[0].start == 0 and chunks[-1].end == len(text)
    for chunk in chunks:
        assert chunk.text == text[chunk.start : chunk.end]
        assert 0 < chunk.end - chunk.start <= max_chars
    for prev, nxt in pairwise(chunks):
        assert prev.start < nxt.start <= prev.end < nxt.end
    return [prev.end - nxt.start for prev, nxt in pairwise(chunks)]


def test_short_text_is_one_chunk():
    assert split_text("A short text.", max_chars=100, overlap_chars=10) == [Chunk(0, 0, 13, "A short text.")]


def test_exact_split_on_paragraphs_without_overlap():
    text = "First para.\n\nSecond para.\n\nThird."
    chunks = split_text(text, max_chars=15, overlap_chars=0)
    assert [c.text for c in chunks] == ["First para.\n\n", "Second para.\n\n", "Third."]


def test_long_document_paragraphs_respected_and_overlap_present():
    paragraphs = [f"Paragraph {i}. " + "The ministry announced new measures. " * (1 + i % 5) for i in range(40)]
    text = "\n\n".join(p.strip() for p in paragraphs)
    paragraph_ends = {i + 2 for i in range(len(text)) if text.startswith("\n\n", i)} | {len(text)}
    chunks = split_text(text, max_chars=600, overlap_chars=80)
    overlaps = _check_cover(text, chunks, 600)
    assert len(chunks) > 5
    # Every paragraph is shorter than a chunk, so every chunk ends at a paragraph boundary.
    assert all(c.end in paragraph_ends for c in chunks)
    assert all(0 < o <= 80 * 1.5 for o in overlaps)


def test_long_paragraph_split_at_sentences():
    text = " ".join(f"Sentence number {i} names a target." for i in range(100))
    chunks = split_text(text, max_chars=300, overlap_chars=50)
    _check_cover(text, chunks, 300)
    assert all(c.text.endswith(". ") for c in chunks[:-1])
    assert all(text[c.start - 1] == " " for c in chunks[1:])  # overlaps start at a word


def test_japanese_sentences_and_unbroken_runs():
    text = "外務省は資産凍結を発表した。" * 50
    chunks = split_text(text, max_chars=100, overlap_chars=0)
    _check_cover(text, chunks, 100)
    assert all(c.text.endswith("。") for c in chunks)
    run = "x" * 1000
    chunks = split_text(run, max_chars=300, overlap_chars=40)
    assert _check_cover(run, chunks, 300) == [40] * (len(chunks) - 1)


def test_huge_input_splits_completely():
    words = ["Treasury", "sanctioned", "the", "company.", "It", "said\n\n", "officials", "blocked", "assets"]
    text = " ".join(words[i % len(words)] * (1 + i % 3) for i in range(200_000))
    assert len(text) > 1_000_000
    chunks = split_text(text, max_chars=8000, overlap_chars=400)
    overlaps = _check_cover(text, chunks, 8000)
    assert max(overlaps) > 0


def test_invalid_sizes():
    with pytest.raises(ValueError):
        split_text("abc", max_chars=0, overlap_chars=0)
    with pytest.raises(ValueError):
        split_text("abc", max_chars=10, overlap_chars=10)


def test_merge_key():
    assert merge_key("José  PÉREZ-Gómez") == merge_key("jose perez gomez") == "jose perez gomez"
    assert merge_key("ガスプロム") != merge_key("カスフロム")  # voicing marks are not accents


def _answer(actions: list[dict]) -> ExtractionAnswer:
    return ExtractionAnswer.model_validate({"is_sanctions_news": bool(actions), "actions": actions})


def test_merge_action_split_across_chunks():
    first = _answer(
        [
            {
                "authority": "us",
                "action": "impose",
                "measures": ["asset_freeze", "travel_ban"],
                "date": "2024-05-01",
                "legal_basis": ["E.O. 14024"],
                "evidence": ["OFAC designated José Pérez."],
                "targets": [
                    {"name": "José Pérez", "entity_type": "person", "role": "Director"},
                    {"name": "Acme Ltd", "entity_type": "company"},
                ],
            },
            {"authority": "us", "action": "impose", "measures": ["travel_ban"], "evidence": ["Visas were barred."]},
        ]
    )
    second = _answer(
        [
            {
                "authority": "us",
                "issuer": "OFAC",
                "action": "impose",
                "measures": ["travel_ban", "asset_freeze"],
                "date": "2024-05-02",
                "target_count": 12,
                "legal_basis": ["E.O. 14024", "E.O. 13660"],
                "evidence": ["OFAC designated José Pérez.", "Acme Ltd was also designated."],
                "targets": [
                    {"name": "JOSE PEREZ", "entity_type": "person", "country": "ru", "role": "Chairman",
                     "aliases": ["Pepe"]},
                ],
            },
            {"authority": "gb", "action": "impose", "measures": ["asset_freeze"], "target_count": 3},
        ]
    )
    merged = merge_answers([first, second])
    expected = _answer(
        [
            {
                "authority": "us",
                "issuer": "OFAC",
                "action": "impose",
                "measures": ["asset_freeze", "travel_ban"],
                "date": "2024-05-01",
                "target_count": 12,
                "legal_basis": ["E.O. 14024", "E.O. 13660"],
                "evidence": ["OFAC designated José Pérez.", "Acme Ltd was also designated."],
                "targets": [
                    {"name": "José Pérez", "entity_type": "person", "country": "ru", "role": "Director",
                     "aliases": ["Pepe"]},
                    {"name": "Acme Ltd", "entity_type": "company"},
                ],
            },
            {"authority": "us", "action": "impose", "measures": ["travel_ban"], "evidence": ["Visas were barred."]},
            {"authority": "gb", "action": "impose", "measures": ["asset_freeze"], "target_count": 3},
        ]
    )
    assert type(merged) is ExtractionAnswer
    assert merged == expected


def test_merge_keeps_class_and_first_fields():
    answers = [
        ArticleExtraction(article_id="a", is_sanctions_news=False),
        ArticleExtraction(article_id="b", is_sanctions_news=True),
    ]
    merged = merge_answers(answers)
    assert type(merged) is ArticleExtraction
    assert (merged.article_id, merged.is_sanctions_news, merged.actions) == ("a", True, [])
    assert merge_answers([answers[0]]) == answers[0]
    with pytest.raises(ValueError):
        merge_answers([])
