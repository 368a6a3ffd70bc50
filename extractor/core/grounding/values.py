"""Normalised values a document supports: ISO dates, jurisdiction codes and numbers.

Unlike the spans in `candidates.py` these are not copied verbatim: "March 22, 2021" becomes
"2021-03-22", "the United Kingdom" becomes "gb" (through rigour's territory lookup), "three"
becomes 3. Each still comes from something the text says (or from the publication date).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

from rigour.territories import lookup_territory

from ..schema import _jurisdiction

MAX_NUMBERS = 120
MAX_NUMBER = 100_000

_MONTHS = {
    name: number
    for number, names in enumerate(
        [("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",), ("june", "jun"),
         ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"), ("october", "oct"),
         ("november", "nov"), ("december", "dec")],
        start=1,
    )
    for name in names
}
_MONTH = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>(?:19|20)\d{2})"
# English month-name dates and ISO/CJK numeric dates. A regex, not dateparser's search_dates:
# that one also reads "may", "now" and bare numbers as dates and takes seconds on a long release.
_DATE_PATTERNS = [
    re.compile(rf"\b{_MONTH}\s+{_DAY}(?:,?\s+{_YEAR})?\b", re.IGNORECASE),
    re.compile(rf"\b{_DAY}\s+(?:of\s+)?{_MONTH},?\s+{_YEAR}\b", re.IGNORECASE),
    re.compile(rf"\b{_MONTH},?\s+{_YEAR}\b", re.IGNORECASE),
    re.compile(r"\b(?P<year>(?:19|20)\d{2})-(?P<mm>\d{2})-(?P<dd>\d{2})\b"),
    re.compile(r"(?P<year>(?:19|20)\d{2})\s*年\s*(?P<mm>\d{1,2})\s*月(?:\s*(?P<dd>\d{1,2})\s*日)?"),
]
# Relative days the schema resolves against the publication date.
_RELATIVE_DAY = re.compile(r"\b(?:today|yesterday|this week|monday|tuesday|wednesday|thursday|friday|saturday|"
                           r"sunday)\b|本日|今日", re.IGNORECASE)

# What rigour's territory names lack: bodies that stand for a jurisdiction in sanctions news.
_BODIES = {"security council": "un", "unsc": "un", "european commission": "eu", "european council": "eu",
           "council of the european union": "eu", "council of the eu": "eu"}

_NUMBER_WORDS = {
    word: value
    for value, word in enumerate(
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
         "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"]
    )
}
_NUMBER_WORDS.update({"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
                      "ninety": 90, "hundred": 100, "a dozen": 12, "dozen": 12})
_NUMBER = re.compile(r"(?<![\w./-])\d{1,3}(?:,\d{3})+(?![\w/])|(?<![\w./-])\d+(?![\w/]|\.\d)|\b(?:"
                     + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) + r")\b", re.IGNORECASE)


def dates_in(text: str, published: str | None = None) -> tuple[str, ...]:
    """ISO dates (YYYY-MM-DD, or YYYY-MM for "March 2021") the text states, and the publication date.

    A day without a year ("on December 10") takes the publication year; without a publication
    date it is left out. The publication date is offered when the text has a relative day
    ("today", "Monday") or any date at all, since an action "announced" is dated by it.
    """
    found: dict[str, None] = {}
    pub = _parse_iso(published)
    covered: list[tuple[int, int]] = []
    for pattern in _DATE_PATTERNS:
        for match in pattern.finditer(text):
            # "April 2022" inside "5 April 2022" is the same date, not a month of its own.
            if any(start < match.end() and match.start() < end for start, end in covered):
                continue
            value = _date_value(match, pub)
            if value:
                found[value] = None
                covered.append(match.span())
    if pub is not None:
        found[pub.isoformat()] = None
    return tuple(sorted(found))


def _parse_iso(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _date_value(match: re.Match[str], published: dt.date | None) -> str | None:
    groups = match.groupdict()
    year = int(groups["year"]) if groups.get("year") else (published.year if published else None)
    if year is None:
        return None
    month = _MONTHS[groups["month"].lower()] if groups.get("month") else int(groups["mm"])
    day_text: str | None = groups.get("day") or groups.get("dd")
    try:
        if day_text is None:
            dt.date(year, month, 1)
            return f"{year:04d}-{month:02d}"
        return dt.date(year, month, int(day_text)).isoformat()
    except ValueError:
        return None


def jurisdictions_in(spans: Iterable[str], text: str) -> tuple[str, ...]:
    """Jurisdiction codes of the places and bodies the text names ("U.S." → us, "Chinese" → cn).

    Each span and each of its shorter word runs is looked up with rigour; a subdivision
    ("Xinjiang", "Washington") counts as its country.
    """
    codes: dict[str, None] = {}
    lowered = text.lower()
    for body, code in _BODIES.items():
        if re.search(rf"\b{re.escape(body)}\b", lowered):
            codes[code] = None
    for span in spans:
        words = span.replace("(", " ").replace(")", " ").split()
        taken = [False] * len(words)
        # Longest runs first, and a word counts once: "North Korean" is kp, its "Korean" is not kr too.
        for size in range(min(len(words), 4), 0, -1):
            for i in range(len(words) - size + 1):
                part = words[i:i + size]
                if any(taken[i:i + size]) or not _place_like(part):
                    continue
                found = place_code(" ".join(part))
                if found:
                    codes[found] = None
                    taken[i:i + size] = [True] * size
    return tuple(sorted(codes))


def is_place(span: str) -> bool:
    """True when the whole span names a country or region ("Bangladesh", "North Korea"): never a target."""
    words = span.split()
    return bool(words) and _place_like(words) and place_code(span) is not None


def _place_like(words: list[str]) -> bool:
    """Capitalised at both ends, and a short single word only as an initialism ("US", "U.K.")."""
    # Only capitalised runs name places: "in" and "and" are words, not India and Andorra.
    if not (words[0][:1].isupper() and words[-1][:1].isupper()):
        return False
    return len(words) > 1 or len(words[0]) > 3 or words[0].replace(".", "").isupper()


def place_code(name: str) -> str | None:
    """The jurisdiction code of a place rigour knows (a subdivision gives its country), or None."""
    territory = lookup_territory(name)
    while territory is not None and "-" in territory.code:
        territory = territory.parent
    if territory is None:
        return None
    try:
        return str(_jurisdiction(territory.code))
    except ValueError:  # pseudo-territories and historical codes are no jurisdiction
        return None


def numbers_in(sentences: Iterable[str]) -> tuple[int, ...]:
    """Whole numbers the sentences state (digits or words), and sums of two in one sentence.

    The sums serve `target_count`: "15 people and 10 entities" supports 25.
    """
    found: dict[int, None] = {}
    for sentence in sentences:
        here = []
        for match in _NUMBER.finditer(sentence):
            token = match.group().lower()
            value = _NUMBER_WORDS.get(token)
            if value is None:
                value = int(token.replace(",", ""))
            if 0 < value <= MAX_NUMBER:
                here.append(value)
                found[value] = None
        for i, first in enumerate(here):
            for second in here[i + 1:]:
                if first + second <= MAX_NUMBER:
                    found[first + second] = None
        if len(found) >= MAX_NUMBERS:
            break
    return tuple(sorted(found)[:MAX_NUMBERS])
