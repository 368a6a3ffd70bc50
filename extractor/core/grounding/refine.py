"""Refining a fuzzy window: move its edges to the span that scores best against the needle.

rapidfuzz's partial_ratio finds the best window of the needle's length; when a word changed
length the window is off by a few characters at one edge. `refine` scores nearby edges with
fuzz.ratio, pruned by exact LCS bounds so that the result is that of scoring every pair;
`may_reach` says, from one LCS, whether any of those spans could reach a threshold at all.
"""

from __future__ import annotations

import numpy as np
from rapidfuzz import fuzz, process
from rapidfuzz.distance import LCSseq


def _edge_ranges(needle_len: int, text_len: int, start: int, end: int) -> tuple[int, int, int, int, int]:
    """Where `refine` may move the edges of a window: radius, start range [s_lo, s_hi), end range [e_lo, e_hi]."""
    radius = min(max(2, needle_len // 8), 16)
    shortfall = min(max(0, needle_len - (end - start)), needle_len // 5)
    s_lo, s_hi = max(0, start - radius - shortfall), min(end, start + radius + 1)
    e_lo, e_hi = max(s_lo + 1, end - radius), min(text_len, end + radius + shortfall)
    return radius, s_lo, s_hi, e_lo, e_hi


def may_reach(needle: str, text: str, start: int, end: int, threshold: float) -> bool:
    """False when no span `refine` could choose scores `threshold`: one LCS over the whole region.

    Every candidate lies inside text[s_lo:e_hi], so its LCS with the needle is at most L, that
    of the region, and at most its own length; fuzz.ratio = 200·LCS / (n + length) is then at
    most 200·L / (n + L).
    """
    _, s_lo, _, _, e_hi = _edge_ranges(len(needle), len(text), start, end)
    best = int(_lcs(needle, [text[s_lo:e_hi]])[0])
    return 200 * best / (len(needle) + best) >= threshold - 1e-6


def refine(needle: str, text: str, start: int, end: int, *, floor: float = 0.0) -> tuple[int, int, float]:
    """Move the edges of a fuzzy window a little to the span that scores best against the needle.

    partial_ratio compares windows of the needle's length, so when a word changed length the
    window is off by a few characters at one edge; fuzz.ratio over nearby edges puts it right.
    At either end of the text the window comes back shorter than the needle: search wider by
    the shortfall (up to a fifth of the needle, beyond which no span could reach the threshold).

    Only pairs of edges that could score at least the window as found are scored: fuzz.ratio
    is 200·LCS / (len(needle) + len(span)), and the LCS of a span is at most that of the
    widest span sharing its start, of the widest sharing its end, and its own length. Those
    bounds cost two short rows of LCS; the pairs they rule out could never win, so the result
    is that of scoring every pair.

    With `floor`, pairs that could not reach it are not scored either: for a caller that only
    asks whether the best score reaches `floor`, the answer is the same.
    """
    radius, s_lo, s_hi, e_lo, e_hi = _edge_ranges(len(needle), len(text), start, end)
    starts, ends = np.arange(s_lo, s_hi), np.arange(e_lo, e_hi + 1)
    # Every nearby pair of edges, in (start, end) order, each end at least max(start + 1, end - radius).
    grid_s, grid_e = np.meshgrid(starts, ends, indexing="ij")
    valid = grid_e >= np.maximum(grid_s + 1, end - radius)
    pair_s, pair_e = grid_s[valid], grid_e[valid]
    by_start = _lcs(needle, [text[s:e_hi] for s in starts.tolist()])
    by_end = _lcs(needle, [text[s_lo:e] for e in ends.tolist()])
    lengths = pair_e - pair_s
    bound = 200 * np.minimum(np.minimum(by_start[pair_s - s_lo], by_end[pair_e - e_lo]), lengths) / (
        len(needle) + lengths
    )
    cutoff = fuzz.ratio(needle, text[start:end])
    # A hair of slack so float rounding never rules out a pair that ties the cut-off.
    keep = bound >= max(cutoff, floor) - 1e-6
    # The window as found first, then the pairs that could score at least as well.
    chosen_s = np.concatenate([[start], pair_s[keep]])
    chosen_e = np.concatenate([[end], pair_e[keep]])
    spans = [text[s:e] for s, e in zip(chosen_s.tolist(), chosen_e.tolist(), strict=True)]
    scores = process.cdist([needle], spans, scorer=fuzz.ratio, dtype=np.float64)[0]
    moved = np.abs(chosen_s - start) + np.abs(chosen_e - end)
    # Higher score wins; on a tie, the edges that moved least; then the first in order.
    best = np.flatnonzero(scores == scores.max())
    pick = int(best[np.argmin(moved[best])])
    return int(chosen_s[pick]), int(chosen_e[pick]), float(scores[pick])


def _lcs(needle: str, spans: list[str]) -> np.ndarray:
    """Length of the longest common subsequence of `needle` with each span (one C call)."""
    return process.cdist([needle], spans, scorer=LCSseq.similarity, dtype=np.int64)[0]
