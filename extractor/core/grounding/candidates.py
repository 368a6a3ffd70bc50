"""Candidate spans of a document: the strings a grounded answer may use, all copied from the text.

`find_candidates()` reads one document and returns, for each kind of answer field, the values
the document supports:

- names (targets, aliases, issuers): runs of capitalised words with the connectors that names
  carry ("of", "al-", "bin", "&", "Ltd", "LLC"), split at possessives, with leading articles
  and honorifics taken off, plus "Name (ACRONYM)" and the acronym where the text gives one;
- roles: names and short comma-delimited clauses ("director of the Xinjiang Public Security Bureau");
- evidence: whole sentences, only those with sanctions vocabulary when there are any;
- legal bases: executive orders, Acts, Regulations, Decisions, resolutions, sections of Acts;
- reasons: the clause after "for", "over", "because of", "in response to" and the like.

Dates, numbers and jurisdictions are in `values.py`. Every string here is a substring of the
text, so an answer restricted to them grounds exactly.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sentencex import segment

from . import values

# Enum sizes: llama.cpp's grammar handles a few hundred alternatives per field quickly
# (benchmarks/grounded_grammar.py); past that the first tokens of a value get slow to sample.
MAX_NAMES = 300
MAX_ROLES = 200
MAX_EVIDENCE = 80
MAX_LEGAL = 60
MAX_REASONS = 150
MAX_SENTENCE_CHARS = 600
MAX_CLAUSE_WORDS = 30
MAX_REASON_WORDS = 45

# A word: initialisms (U.S., E.O.), single initials (K.), words with inner hyphens or
# apostrophes (al-Assad, O'Brien), a bare "&". Periods belong to a word only for initialisms
# and the abbreviations below; otherwise a trailing period ends the sentence, not the name.
_WORD = re.compile(r"(?:[^\W\d_]\.){2,}|[^\W\d_]\.(?=\s)|[^\W_](?:[\w'’\-]*[^\W_])?\.?|&")
_ABBREVIATIONS = {"co", "corp", "inc", "ltd", "jr", "sr", "st", "no", "bros", "plc", "s.a", "mr", "mrs", "ms", "dr"}
# Lower-case words that may join capitalised words inside one name.
CONNECTORS = {"of", "the", "and", "for", "de", "del", "der", "den", "la", "le", "du", "da", "dos", "van", "von",
               "bin", "bint", "ibn", "al", "el", "y", "&"}
# Words that open a sentence or a clause without being part of a name.
OPENERS = {"the", "a", "an", "this", "that", "these", "those", "today", "on", "in", "at", "by", "for", "from",
            "with", "under", "as", "but", "and", "or", "if", "when", "while", "after", "before", "since", "also",
            "it", "its", "his", "her", "their", "our", "we", "he", "she", "they", "i", "today's", "today’s",
            "according", "including", "among", "both", "all", "some", "any", "each", "other", "such", "then",
            "however", "meanwhile", "additionally", "furthermore", "moreover", "further", "separately"}
# Honorifics and titles the schema wants off a person's name ("without honorifics").
TITLES = {"mr", "mrs", "ms", "dr", "prof", "sir", "dame", "president", "secretary", "minister", "director",
           "general", "gen", "colonel", "col", "major", "maj", "lieutenant", "lt", "captain", "capt", "admiral",
           "commander", "governor", "senator", "ambassador", "chairman", "chairwoman", "chair", "deputy", "vice",
           "prime", "chief", "spokesman", "spokeswoman", "spokesperson", "pastor", "judge", "king", "prince",
           "sheikh", "emir", "premier", "mayor", "councilor", "state", "foreign", "defense", "defence", "finance",
           "interior", "treasury", "former", "then", "acting", "supreme", "leader", "justice"}
COMPANY_SUFFIXES = {"ltd", "ltd.", "llc", "inc", "inc.", "co", "co.", "corp", "corp.", "plc", "gmbh", "s.a.",
                     "lp", "llp", "ag", "jsc", "pjsc", "ojsc", "fze", "fzco", "limited"}
# Collective nouns whose possessive stays inside a name.
_COLLECTIVE = {"people", "peoples", "workers", "women", "children", "citizens", "veterans", "farmers", "martyrs"}
_POSSESSIVE = re.compile(r"['’]s?$")
_ACRONYM_AFTER = re.compile(r"\s*\(([A-Z][A-Za-z0-9.&\-]{1,15})\)")
_ACRONYM = re.compile(r"\b[A-Z][A-Z0-9&\-]{1,11}\b")

# Sanctions vocabulary: a sentence using it can be evidence of an action.
_SANCTIONS_WORDS = re.compile(
    r"sanction|designat|block(?:ed|ing|s)\b|froz|freez|embargo|visa|\bban(?:s|ned|ning)?\b|restrict|delist|"
    r"remov|\blift|OFAC|blacklist|entity list|export control|price cap|penalt|prohibit|countermeasure|retaliat|"
    r"asset|制裁|凍結",
    re.IGNORECASE,
)
_REASON_TRIGGER = re.compile(
    r"\b(?:for their roles? in|for their connection to|for (?:his|her|its|their) involvement in|for having|"
    r"for being|in response to|in connection with|because of|because|due to|as a result of|over|for)\s+",
    re.IGNORECASE,
)
_CLAUSE_BREAK = re.compile(r"\s*(?:[,;:()\[\]“”\"]|\s[–—-]\s)\s*")
_CLAUSE_OPENERS = re.compile(r"^(?:(?:and|or|but|the|its|his|her|their|a|an|which|who|whose|that|as|is|was|were|"
                             r"are|also|including|namely)\s+)+", re.IGNORECASE)

_LEGAL_PATTERNS = [
    # Executive orders, with or without "(E.O.)" and a number; presidential proclamations.
    re.compile(r"\b(?:Executive Order|E\.\s?O\.)\s*(?:\(E\.O\.\)\s*)?(?:No\.\s*)?\d{4,5}\b"),
    re.compile(r"\bPresidential (?:Proclamation|Determination|Memorandum)\s+(?:No\.\s*)?[\d-]{3,}\b"),
    # EU acts: "Council Regulation (EU) No 269/2014", "Decision (CFSP) 2022/266", "Implementing Regulation (EU) 2022/1".
    re.compile(r"\b(?:Council\s+)?(?:Implementing\s+)?(?:Regulation|Decision|Directive)\s+\((?:EU|EC|CFSP|EEC)\)\s*"
               r"(?:No\.?\s*)?\d{1,4}/\d{1,4}\b"),
    # UN Security Council resolutions: "resolution 2397 (2017)", "UNSCR 2270".
    re.compile(r"\b(?:(?:UN |United Nations )?Security Council )?(?:[Rr]esolutions?|UNSCRs?)\s+\d{3,4}"
               r"(?:\s*\(\d{4}\))?"),
    # "Section 7031(c) of the ... Act", "section 212(f) of the Immigration and Nationality Act of 1952".
    re.compile(r"\b[Ss]ection\s+\d+[A-Za-z]?(?:\([A-Za-z0-9]+\))*\s+of\s+(?:the\s+)?(?:[A-Z][\w'’.,-]*\s+|(?:of|and|the|"
               r"for|on|to|with|in)\s+|\d{4},?\s+)*?Act\b(?:,?\s+\d{4}|\s+of\s+\d{4})?"),
    # "31 C.F.R. part 583", "50 U.S.C. 1701".
    re.compile(r"\b\d{1,2}\s+(?:C\.F\.R\.|CFR|U\.S\.C\.|USC)\s+(?:[Pp]art\s+|§\s*)?\d+[\w.]*"),
]
# A name ending in one of these is a legal instrument ("Global Magnitsky ... Act", "Burundi Sanctions Regulations").
LEGAL_HEADS = re.compile(r"\b(?:Act|Law|Regulations?|Decree|Ordinance|Directive|Order|Resolution|Program|Programme|"
                          r"Proclamation|Statute|Code)$")


@dataclass(frozen=True)
class Candidates:
    """What a document supports, per kind of answer field (each tuple in text order, no repeats)."""

    names: tuple[str, ...]
    entities: tuple[str, ...]  # names that are not themselves a place: what a target, alias or issuer can be
    roles: tuple[str, ...]
    evidence: tuple[str, ...]
    legal_bases: tuple[str, ...]
    reasons: tuple[str, ...]
    dates: tuple[str, ...]
    jurisdictions: tuple[str, ...]
    numbers: tuple[int, ...]


def find_candidates(text: str, published: str | None = None) -> Candidates:
    """Every candidate value of `text`; `published` (an ISO date) resolves "today" and yearless dates."""
    sentences = list(split_sentences(text))
    names = _unique(n for s in sentences for n in name_spans(s))
    clauses = _unique(c for s in sentences for c in clauses_of(s))
    return Candidates(
        names=names[:MAX_NAMES],
        # The schema's rule: a target is never a country ("Bangladesh" is a place, not an entity).
        entities=tuple(n for n in names if not values.is_place(n))[:MAX_NAMES],
        roles=_unique([*names, *clauses])[:MAX_ROLES],
        evidence=evidence_sentences(sentences)[:MAX_EVIDENCE],
        legal_bases=_unique(b for s in sentences for b in legal_bases(s))[:MAX_LEGAL],
        reasons=_unique(r for s in sentences for r in reasons_of(s))[:MAX_REASONS],
        dates=values.dates_in(text, published),
        jurisdictions=values.jurisdictions_in(names, text),
        numbers=values.numbers_in(sentences),
    )


def split_sentences(text: str) -> Iterator[str]:
    """The sentences of `text` (sentencex), stripped, each a substring of the text."""
    for paragraph in re.split(r"\n\s*\n", text):
        for sentence in segment("en", paragraph):
            # sentencex keeps single line breaks inside a sentence; a line break with a capital
            # after it in scraped pages is a heading or caption boundary, so split there too.
            for line in sentence.split("\n"):
                line = line.strip()
                if line:
                    yield line


def evidence_sentences(sentences: list[str]) -> tuple[str, ...]:
    """Sentences that may be quoted as evidence: those with sanctions vocabulary if there are any."""
    usable = [s for s in sentences if 20 <= len(s) <= MAX_SENTENCE_CHARS]
    about = [s for s in usable if _SANCTIONS_WORDS.search(s)]
    return _unique(about or usable)


def _words(sentence: str) -> list[tuple[str, int, int]]:
    """(word, start, end) of each word; a trailing period is kept only on initialisms and abbreviations."""
    words = []
    for match in _WORD.finditer(sentence):
        word, start, end = match.group(), match.start(), match.end()
        initialism = re.fullmatch(r"(?:[^\W\d_]\.)+", word)
        if word.endswith(".") and not initialism and word[:-1].lower() not in _ABBREVIATIONS:
            word, end = word[:-1], end - 1
        words.append((word, start, end))
    return words


def _is_capitalised(word: str) -> bool:
    if word[:1].isupper():
        return True
    # "al-Assad", "bin-Laden", "el-Sisi": a lower-case particle joined to a capitalised name.
    head, _, rest = word.partition("-")
    return bool(rest) and head.lower() in CONNECTORS and rest[:1].isupper()


def name_spans(sentence: str) -> Iterator[str]:
    """Capitalised-word runs of a sentence and their variants (without openers, titles; with acronyms)."""
    for start, end in name_runs(sentence):
        yield from _variants(sentence, start, end)
    for match in _ACRONYM.finditer(sentence):
        if any(c.isalpha() for c in match.group()):
            yield match.group()


def name_runs(sentence: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each maximal run of name words; runs break at punctuation, possessives and lower-case words."""
    words = _words(sentence)
    run: list[tuple[str, int, int]] = []

    def flush() -> Iterator[tuple[int, int]]:
        while run and (run[-1][0].lower() in CONNECTORS or run[-1][0] == "&"):
            run.pop()
        while run and run[0][0].lower() in CONNECTORS and not _is_capitalised(run[0][0]):
            run.pop(0)
        if run:
            yield run[0][1], run[-1][2]
        run.clear()

    for word, start, end in words:
        gap = sentence[run[-1][2]:start] if run else ""
        joins = bool(run) and (gap.strip() == "" or (gap.strip() == "," and word.lower() in COMPANY_SUFFIXES))
        if run and not (joins and _name_word(word, inside=True)):
            yield from flush()
        if not _name_word(word, inside=bool(run)):
            continue
        possessive = _POSSESSIVE.search(word) if _is_capitalised(word) else None
        if possessive and _POSSESSIVE.sub("", word).lower() in _COLLECTIVE:
            possessive = None  # "Democratic People’s Republic of Korea", "Workers’ Party": one name
        if possessive and len(word) > len(possessive.group()) + 1:
            run.append((word, start, end - len(possessive.group())))
            yield from flush()
            continue
        run.append((word, start, end))
    yield from flush()


def _name_word(word: str, *, inside: bool) -> bool:
    """Whether `word` can be part of a name; connectors, numbers and suffixes only after a first word."""
    if _is_capitalised(word):
        return True
    lowered = word.lower()
    return inside and (lowered in CONNECTORS or word[:1].isdigit() or lowered in COMPANY_SUFFIXES)


def _variants(sentence: str, start: int, end: int) -> Iterator[str]:
    """One run as candidates: itself, without leading openers and titles, split at "and", with its acronym."""
    words = [(w, s, e) for w, s, e in _words(sentence) if s >= start and e <= end]
    # Drop openers ("The", "Today"), then offer the name with each leading title off in turn.
    while words and words[0][0].lower() in OPENERS and len(words) > 1:
        words.pop(0)
    if not words or (len(words) == 1 and words[0][0].lower() in OPENERS):
        return
    first = words[0][1]
    yield from _with_acronym(sentence, first, end)
    for i in range(len(words) - 1):
        word = words[i][0].lower().rstrip(".")
        if word not in TITLES and word not in CONNECTORS:
            break
        following = words[i + 1][0]
        if _is_capitalised(following) and following.lower().rstrip(".") not in TITLES:
            yield sentence[words[i + 1][1]:end]
    # "Canada and the United Kingdom" are two names; "Production and Construction Corps" may be one.
    joins = [i for i, (w, _, _) in enumerate(words) if w.lower() == "and"]
    bounds = [-1, *joins, len(words)]
    if joins:
        for left, right in itertools.pairwise(bounds):
            part = [w for w in words[left + 1:right] if w[0].lower() not in OPENERS or _is_capitalised(w[0])]
            while part and part[0][0].lower() in CONNECTORS and not _is_capitalised(part[0][0]):
                part.pop(0)
            if part:
                yield sentence[part[0][1]:part[-1][2]]


def _with_acronym(sentence: str, start: int, end: int) -> Iterator[str]:
    yield sentence[start:end]
    acronym = _ACRONYM_AFTER.match(sentence, end)
    if acronym:
        yield sentence[start:acronym.end()]
        yield acronym.group(1)


def clauses_of(sentence: str) -> Iterator[str]:
    """Short comma/parenthesis-delimited clauses of a sentence, openers ("the", "its", "who is") taken off."""
    for piece in _CLAUSE_BREAK.split(sentence):
        piece = _CLAUSE_OPENERS.sub("", piece.strip()).rstrip(".")
        if 1 <= len(piece.split()) <= MAX_CLAUSE_WORDS // 3 and any(c.isalpha() for c in piece):
            yield piece


def reasons_of(sentence: str) -> Iterator[str]:
    """Clauses after a reason word ("for", "over", "in response to"): to the clause end and to the sentence end."""
    for match in _REASON_TRIGGER.finditer(sentence):
        rest = sentence[match.end():].strip().lstrip("“\"‘'")
        rest = rest.rstrip("”\"’'").rstrip(".!?").rstrip("”\"’'")
        clause = _CLAUSE_BREAK.split(rest, maxsplit=1)[0].strip()
        for phrase in (clause, rest.strip()):
            if 2 <= len(phrase.split()) <= MAX_REASON_WORDS and phrase[:1].isalpha():
                yield phrase


def legal_bases(sentence: str) -> Iterator[str]:
    """Legal instruments a sentence names: pattern matches, then names that end in Act, Regulations, Order..."""
    for pattern in _LEGAL_PATTERNS:
        for match in pattern.finditer(sentence):
            yield match.group().strip()
    for name in _unique(n for n in name_spans(sentence)):
        bare = name.split(" (")[0]
        if LEGAL_HEADS.search(bare) and len(bare.split()) > 1:
            yield name
            # "... Act of 1952", "... Act, 2021": the year belongs to the name.
            year = re.match(r"(?:\s+of|,)\s+\d{4}\b", sentence[sentence.find(name) + len(name):])
            if year:
                yield name + year.group()


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    """Items in first-seen order without repeats or blanks."""
    seen: dict[str, None] = {}
    for item in items:
        item = item.strip()
        if item and item not in seen:
            seen[item] = None
    return tuple(seen)
