"""Chunking: split long documents into overlapping chunks that fit the model's context.

`split_text` cuts at paragraph boundaries, then sentence boundaries, then whitespace, and only as a last
resort at a fixed width; every chunk is a slice of the original text, so offsets stay valid.
The answers given for the chunks are joined again by `merging.merge_answers`.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass

_PARAGRAPH = re.compile(r"\n[^\S\n]*\n\s*")  # a blank line; following whitespace stays with it
_SENTENCE = re.compile(r"[.!?]+[\"'”’)\]]*\s+|[。！？]+[」』”’）)]*\s*")
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Chunk:
    """One chunk: `text == original[start:end]`."""

    index: int
    start: int
    end: int
    text: str


def _cuts(text: str, start: int, end: int, pattern: re.Pattern[str]) -> list[int]:
    """Offsets in (start, end) just after each match of `pattern`."""
    return [m.end() for m in pattern.finditer(text, start, end) if start < m.end() < end]


def _boundaries(text: str, max_chars: int, width: int) -> list[int]:
    """Sorted offsets where a chunk may end, such that no piece between two of them exceeds max_chars.

    An unbroken run longer than max_chars is cut every `width` characters.
    """
    levels = (_PARAGRAPH, _SENTENCE, _WHITESPACE)
    bounds = [0]

    def add(start: int, end: int, level: int) -> None:
        if end - start <= max_chars:
            bounds.append(end)
            return
        if level == len(levels):
            bounds.extend(range(start + width, end, width))
            bounds.append(end)
            return
        piece_start = start
        for cut in [*_cuts(text, start, end, levels[level]), end]:
            add(piece_start, cut, level + 1)
            piece_start = cut

    add(0, len(text), 0)
    return bounds


def _overlap_start(text: str, bounds: list[int], start: int, end: int, overlap_chars: int) -> int:
    """Where the next chunk starts: about `overlap_chars` before `end`, at a boundary or word start."""
    desired = max(end - overlap_chars, start + 1)
    tolerance = overlap_chars // 2
    i = bisect_left(bounds, desired)
    near = [b for b in bounds[max(i - 1, 0) : i + 1] if start < b < end and abs(b - desired) <= tolerance]
    if near:
        return min(near, key=lambda b: abs(b - desired))
    space = _WHITESPACE.search(text, desired, end)
    if space is not None and space.end() < end:
        return space.end()
    return desired


def split_text(text: str, *, max_chars: int, overlap_chars: int) -> list[Chunk]:
    """Split `text` into chunks of at most `max_chars`, each starting about `overlap_chars` before the last ended.

    Pieces (paragraphs, else sentences, else words, else fixed-width runs) are packed greedily, so a
    paragraph that fits in a chunk is never cut. Runs in time linear in the text (plus the overlaps).
    """
    if max_chars <= 0:
        raise ValueError("max_chars must be positive")
    if not 0 <= overlap_chars < max_chars:
        raise ValueError("overlap_chars must be at least 0 and less than max_chars")
    if len(text) <= max_chars:
        return [Chunk(0, 0, len(text), text)]
    # Unbroken runs are cut short of max_chars, so the overlap still fits beside the next cut.
    bounds = _boundaries(text, max_chars, max_chars - overlap_chars)
    chunks: list[Chunk] = []
    start = 0
    while True:
        end = bounds[bisect_right(bounds, start + max_chars) - 1]
        chunks.append(Chunk(len(chunks), start, end, text[start:end]))
        if end == len(text):
            return chunks
        following = bounds[bisect_right(bounds, end)]
        nxt = end
        if overlap_chars:
            nxt = _overlap_start(text, bounds, start, end, overlap_chars)
            # The next chunk must reach past `end`, or the loop would stall on a long piece.
            nxt = max(nxt, following - max_chars)
        start = nxt
