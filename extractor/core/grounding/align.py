"""Grounding: align evidence quotes and target names of a result to character offsets in the source text.

Each string is aligned in three stages, stopping at the first that succeeds:

1. exact: `str.find` on the original text;
2. exact after normalisation: curly quotes and dashes made straight, runs of whitespace (non-breaking
   spaces included) collapsed, NFKD compatibility forms, and for names case-folded; offsets map back to
   the original text;
3. fuzzy: rapidfuzz's best-matching substring of the normalised text, its edges refined to the span
   that scores best, accepted when the score reaches the threshold.

Offsets are Python `str` indices into the original text (`text[span.start:span.end]`), so they hold
for any script. `ground()` aligns a whole result; `require_grounding()` drops what could not be found.
"""

from __future__ import annotations

import unicodedata
from functools import cached_property, lru_cache
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict
from rapidfuzz import fuzz

from ..schema import ArticleExtraction, ExtractionAnswer
from .refine import may_reach, refine

# Bumped whenever alignment results change, so groundings cached with answers are recomputed
# (2: groundings are of the answer with repeated targets merged).
GROUNDING_VERSION = 2
# 90 tolerates about one changed word in ten (a dropped article, a respelt word, a re-cased first
# letter) while rejecting paraphrase, which scores in the 60s-70s against the nearest real sentence.
FUZZY_THRESHOLD = 90.0
# Names shorter than this are matched exactly (case-insensitively) only: against a whole article a
# short name ("ABC") almost always has some near neighbour, so a fuzzy hit would say nothing.
NAME_MIN_FUZZY_CHARS = 6

Status = Literal["exact", "fuzzy", "not_found"]

_CHAR_MAP = {
    **dict.fromkeys("‘’‚‛′ʼ`", "'"),
    **dict.fromkeys("“”„‟″«»", '"'),
    **dict.fromkeys("‐‑‒–—―−", "-"),
}
# Lookup table: is code point c whitespace for `str.isspace()` (and so for `\s`)? All 29 such
# code points are at most U+3000; the last entry (False) stands for every higher code point.
_IS_SPACE = np.array([chr(c).isspace() for c in range(0x3002)], dtype=bool)


@lru_cache(maxsize=4096)
def _plain_rep(char: str) -> str:
    """What one non-ASCII, non-space character becomes: straight quotes and dashes, NFKD forms."""
    return unicodedata.normalize("NFKD", _CHAR_MAP.get(char, char))


@lru_cache(maxsize=4096)
def _folded_rep(char: str) -> str:
    """`_plain_rep`, case-folded (for names)."""
    return _plain_rep(char).casefold()


class Span(BaseModel):
    """Where a string was found: `text[start:end]`, or start/end None when not found."""

    model_config = ConfigDict(frozen=True)

    start: int | None = None
    end: int | None = None
    status: Status = "not_found"
    score: float = 0.0

    @property
    def found(self) -> bool:
        """True for an exact or fuzzy match."""
        return self.status != "not_found"


class _Normalised:
    """A normalised form of a text and, for each of its characters, the original index it came from.

    Built on the array of code points with numpy rather than a Python loop over characters:
    each original character gets an output length (1; 0 for a space after a space, since a
    run of whitespace becomes one space; len(replacement) for other non-ASCII characters),
    `numpy.repeat` turns the lengths into the origin map, and only the non-ASCII characters
    (few in most texts) have their replacement computed in Python.
    """

    def __init__(self, text: str, *, casefold: bool) -> None:
        codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        space = _IS_SPACE[np.minimum(codes, len(_IS_SPACE) - 1)]
        counts = np.ones(len(codes), dtype=np.int64)
        counts[1:][space[1:] & space[:-1]] = 0
        out = codes.copy()
        if casefold:
            out[(codes >= 0x41) & (codes <= 0x5A)] += 0x20  # ASCII lower keeps the length
        out[space] = 0x20
        special = np.flatnonzero((codes > 0x7F) & ~space)
        rep = _folded_rep if casefold else _plain_rep
        reps = [rep(text[i]) for i in special.tolist()]
        lengths = np.array([len(r) for r in reps], dtype=np.int64)
        counts[special] = lengths
        self.origin: np.ndarray = np.repeat(np.arange(len(codes), dtype=np.int64), counts)
        out = out[self.origin]
        if reps:
            # Write each replacement over the slots its character was given.
            starts = np.cumsum(counts)[special] - lengths
            within = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
            out[np.repeat(starts, lengths) + within] = np.frombuffer(
                "".join(reps).encode("utf-32-le", "surrogatepass"), dtype=np.uint32
            )
        self.text = out.tobytes().decode("utf-32-le", "surrogatepass")

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map a normalised span back to the original text (whole original characters)."""
        return int(self.origin[start]), int(self.origin[end - 1]) + 1

    def from_original(self, index: int) -> int:
        """The normalised index of the first character at or after an original index."""
        return int(np.searchsorted(self.origin, index, side="left"))


class _Source:
    """A source text with its normalised forms computed once, on first need."""

    def __init__(self, text: str) -> None:
        self.text = text

    @cached_property
    def plain(self) -> _Normalised:
        return _Normalised(self.text, casefold=False)

    @cached_property
    def folded(self) -> _Normalised:
        return _Normalised(self.text, casefold=True)

    def normalised(self, casefold: bool) -> _Normalised:
        return self.folded if casefold else self.plain


@lru_cache(maxsize=8192)
def _normalise_needle(needle: str, casefold: bool) -> str:
    if needle.isascii():
        # The same as `_Normalised` for ASCII (whitespace runs to one space, A-Z folded), without numpy.
        text = " ".join(needle.split())
        return text.lower() if casefold else text
    return _Normalised(needle.strip(), casefold=casefold).text.strip()


def _occurrences(needle: str, text: str) -> list[int]:
    starts: list[int] = []
    i = text.find(needle)
    while i != -1:
        starts.append(i)
        i = text.find(needle, i + 1)
    return starts


def _exact_hits(needle: str, source: _Source, casefold: bool) -> tuple[list[int], int, _Normalised | None]:
    """Starts and length of every exact occurrence, and the normalised form they are in.

    In the original text if there are any (the form is None), else in the normalised text.
    """
    if not casefold:
        starts = _occurrences(needle, source.text)
        if starts:
            return starts, len(needle), None
    norm = source.normalised(casefold)
    key = _normalise_needle(needle, casefold)
    return (_occurrences(key, norm.text) if key else []), len(key), norm


def _exact_spans(needle: str, source: _Source, casefold: bool) -> list[Span]:
    """Every exact occurrence, in the original text if any, else in the normalised text."""
    starts, length, norm = _exact_hits(needle, source, casefold)
    spans = []
    for s in starts:
        start, end = (s, s + length) if norm is None else norm.to_original(s, s + length)
        spans.append(Span(start=start, end=end, status="exact", score=100.0))
    return spans


def _align(
    needle: str,
    source: _Source,
    *,
    threshold: float,
    start_hint: int | None,
    casefold: bool,
    min_fuzzy_chars: int,
) -> Span:
    if not needle.strip():
        return Span()
    spans = _exact_spans(needle, source, casefold)
    if spans:
        if start_hint is None:
            return spans[0]
        return min(spans, key=lambda span: (abs((span.start or 0) - start_hint), span.start or 0))
    window = _fuzzy_window(needle, source, casefold, min_fuzzy_chars)
    if window is None:
        return Span()
    key, norm, hit_start, hit_end = window
    s, e, score = refine(key, norm.text, hit_start, hit_end)
    if score < threshold:
        return Span(score=round(score, 2))
    start, end = norm.to_original(s, e)
    return Span(start=start, end=end, status="fuzzy", score=round(score, 2))


def _fuzzy_window(
    needle: str, source: _Source, casefold: bool, min_fuzzy_chars: int, *, reach: float | None = None
) -> tuple[str, _Normalised, int, int] | None:
    """The normalised needle, the normalised text and rapidfuzz's best window in it; None if none.

    With `reach`, also None when no part of the text could score `reach` against the needle
    (`window_floor`), which rapidfuzz finds out sooner than the best window itself.
    """
    norm = source.normalised(casefold)
    key = _normalise_needle(needle, casefold)
    if len(key) < min_fuzzy_chars or not norm.text:
        return None
    cutoff = window_floor(reach) if reach is not None and len(key) <= len(norm.text) else 0.0
    hit = fuzz.partial_ratio_alignment(key, norm.text, score_cutoff=cutoff)
    if hit is None or hit.dest_end <= hit.dest_start:
        return None
    return key, norm, hit.dest_start, hit.dest_end


def window_floor(threshold: float) -> float:
    """What the best window of the needle's own length scores whenever some span reaches `threshold`.

    For a needle of m characters and a span of w with LCS L, ratio = 2L / (m + w). A span
    longer than m holds a window of m that keeps all but w - m of those L; a shorter one lies
    in a window of m that keeps all L. With ratio ≥ t (t = threshold / 100), and L ≤ m and
    L ≤ w, the window scores at least 3 - 2/t (longer spans) or t / (2 - t) (shorter ones).
    For the default 90 that is 77.8: rapidfuzz can drop every window below it, and the best
    window it returns above it is the one it returns with no cutoff (the first best).
    """
    t = min(threshold, 100.0) / 100  # no span scores above 100
    if t <= 0:
        return 0.0
    # A hair below the bound, so float rounding in rapidfuzz never drops a window that reaches it.
    return max(0.0, 100 * min(3 - 2 / t, t / (2 - t)) - 1e-6)


def _status(needle: str, source: _Source, *, threshold: float, casefold: bool, min_fuzzy_chars: int) -> Status:
    """The status `_align` gives `needle`, doing only the work that decides it.

    No offsets are mapped and the fuzzy edges are refined only when the window as found
    misses the threshold and the region around it could still reach it: refining never
    scores below the window itself, and `may_reach` bounds what it could score.
    """
    if not needle.strip():
        return "not_found"
    if _exact_hits(needle, source, casefold)[0]:
        return "exact"
    window = _fuzzy_window(needle, source, casefold, min_fuzzy_chars, reach=threshold)
    if window is None:
        return "not_found"
    key, norm, start, end = window
    if fuzz.ratio(key, norm.text[start:end]) >= threshold:
        return "fuzzy"
    if not may_reach(key, norm.text, start, end, threshold):
        return "not_found"
    return "fuzzy" if refine(key, norm.text, start, end, floor=threshold)[2] >= threshold else "not_found"


def align(
    needle: str,
    text: str,
    *,
    threshold: float = FUZZY_THRESHOLD,
    start_hint: int | None = None,
    ignore_case: bool = False,
    min_fuzzy_chars: int = 0,
) -> Span:
    """Find `needle` in `text`: exact, then exact after normalisation, then fuzzy (score >= threshold).

    Among several exact occurrences the first is returned, or the one starting nearest `start_hint`
    when given (the fuzzy stage returns the single best match). `ignore_case` and `min_fuzzy_chars`
    are for names: see `align_name`.
    """
    return _align(
        needle,
        _Source(text),
        threshold=threshold,
        start_hint=start_hint,
        casefold=ignore_case,
        min_fuzzy_chars=min_fuzzy_chars,
    )


def align_name(name: str, text: str, *, threshold: float = FUZZY_THRESHOLD, start_hint: int | None = None) -> Span:
    """Align a target name: case-insensitive exact first; fuzzy only for names of NAME_MIN_FUZZY_CHARS or more."""
    return align(
        name, text, threshold=threshold, start_hint=start_hint, ignore_case=True, min_fuzzy_chars=NAME_MIN_FUZZY_CHARS
    )


def align_all(needle: str, text: str, *, ignore_case: bool = False) -> list[Span]:
    """Every exact occurrence of `needle` (after normalisation if it has no verbatim one), in text order."""
    if not needle.strip():
        return []
    return _exact_spans(needle, _Source(text), ignore_case)


class ActionGrounding(BaseModel):
    """The spans of one action: one per evidence string, one per target name, in the action's order."""

    evidence: list[Span]
    targets: list[Span]


class StatusCounts(BaseModel):
    """How many strings aligned with each status."""

    exact: int = 0
    fuzzy: int = 0
    not_found: int = 0

    @property
    def total(self) -> int:
        """All strings counted."""
        return self.exact + self.fuzzy + self.not_found


class Grounding(BaseModel):
    """The alignment of a result against its source text, by action index."""

    threshold: float
    actions: list[ActionGrounding]
    evidence: StatusCounts
    names: StatusCounts
    rate: float | None  # share of quotes and names found; None when there is nothing to ground

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (for the result's `meta["grounding"]`)."""
        return self.model_dump(mode="json")


def _count(spans: list[Span]) -> StatusCounts:
    counts = {"exact": 0, "fuzzy": 0, "not_found": 0}
    for span in spans:
        counts[span.status] += 1
    return StatusCounts(**counts)


def ground(result: ExtractionAnswer | ArticleExtraction, text: str, *, threshold: float = FUZZY_THRESHOLD) -> Grounding:
    """Align every evidence quote and every target name of `result` to offsets in `text`."""
    source = _Source(text)  # normalised once for all strings
    memo: dict[tuple[str, bool], Span] = {}

    def find(needle: str, name: bool) -> Span:
        if (needle, name) not in memo:
            memo[(needle, name)] = _align(
                needle,
                source,
                threshold=threshold,
                start_hint=None,
                casefold=name,
                min_fuzzy_chars=NAME_MIN_FUZZY_CHARS if name else 0,
            )
        return memo[(needle, name)]

    actions = [
        ActionGrounding(
            evidence=[find(quote, False) for quote in action.evidence],
            targets=[find(target.name, True) for target in action.targets],
        )
        for action in result.actions
    ]
    evidence = _count([span for a in actions for span in a.evidence])
    names = _count([span for a in actions for span in a.targets])
    total = evidence.total + names.total
    found = total - evidence.not_found - names.not_found
    rate = round(found / total, 4) if total else None
    return Grounding(threshold=threshold, actions=actions, evidence=evidence, names=names, rate=rate)


def grounding_counts(
    result: ExtractionAnswer | ArticleExtraction, text: str, *, threshold: float = FUZZY_THRESHOLD
) -> tuple[StatusCounts, StatusCounts]:
    """The evidence and name counts of `ground(result, text)`, without the spans.

    For bulk evaluation, which keeps only the counts: each string gets the status `ground`
    would give it, found with less work (see `_status`).
    """
    source = _Source(text)
    memo: dict[tuple[str, bool], Status] = {}

    def status(needle: str, name: bool) -> Status:
        if (needle, name) not in memo:
            memo[(needle, name)] = _status(
                needle, source, threshold=threshold, casefold=name,
                min_fuzzy_chars=NAME_MIN_FUZZY_CHARS if name else 0,
            )
        return memo[(needle, name)]

    evidence = {"exact": 0, "fuzzy": 0, "not_found": 0}
    names = dict(evidence)
    for action in result.actions:
        for quote in action.evidence:
            evidence[status(quote, False)] += 1
        for target in action.targets:
            names[status(target.name, True)] += 1
    return StatusCounts(**evidence), StatusCounts(**names)
