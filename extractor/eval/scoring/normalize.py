"""Normalisation of values before they are compared: names, free text, codes, measures, dates.

Every comparison in the scorer goes through these functions, so gold and prediction are
always reduced the same way.

Names (`name_tokens`, `token_key`), built from rigour's name functions rather than
hand-written rules:

1. Unicode NFKC and casefold (`rigour.text.normalize`), so full-width and compatibility
   forms fold and case never matters;
2. honorifics and titles at the head of the name are dropped (`remove_person_prefixes`:
   Mr, Mrs, Dr, General, President, ...). This is applied to every name whatever its
   entity type, so both sides are always reduced alike ("General Dynamics" becomes
   "dynamics" on both sides);
3. organisation types are folded to one comparison form (`replace_org_types_compare`:
   "Limited" and "Ltd." both become "ltd");
4. transliteration to ASCII (`ascii_text`), which also strips diacritics ("Müller" →
   "muller", "Лавров" → "lavrov");
5. tokenisation (`tokenize_name`): punctuation separates or disappears ("O'Neil" →
   "oneil", "A.Ş." → "as").

A name with exactly one comma is read as "LAST, First" and turned to "First LAST" before
the honorifics are dropped (again). `token_key` joins the tokens in sorted order, so word
order never matters: "LAST, First", "First Last" and "Last First" give the same key. The
strict name match is equality of keys.

Free text (`text_tokens`) goes through the same steps 1, 4 and 5 and drops the articles
"a", "an", "the" (the SQuAD convention for token F1).

Codes (authority, country, target countries, coordinated_with) are compared stripped and
lower case; measure values also have spaces and hyphens folded to underscores.

Dates are compared at the precision the gold gives (`date_matches`): gold "2021-12"
accepts a prediction "2021-12-10"; gold "2021-12-10" rejects a prediction "2021-12".
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from rigour.names import remove_person_prefixes, replace_org_types_compare, tokenize_name
from rigour.text import ascii_text
from rigour.text.normalize import Normalize, normalize
from rigour.text.translit import maybe_ascii

_ARTICLES = frozenset({"a", "an", "the"})
_FOLD = Normalize.NFKC | Normalize.CASEFOLD | Normalize.SQUASH_SPACES


def _fold(text: str) -> str:
    """NFKC, casefold and squashed whitespace; '' for blank input."""
    return normalize(text, _FOLD) or ""


def _uninvert(name: str) -> str:
    """'LAST, First' → 'First LAST'; names with no comma or several are returned unchanged."""
    head, sep, tail = name.partition(",")
    if sep and "," not in tail and head.strip() and tail.strip():
        return f"{tail.strip()} {head.strip()}"
    return name


def name_tokens(name: str) -> list[str]:
    """The normalised tokens of a name, "LAST, First" read as "First LAST"."""
    # Honorifics are removed before and after un-inverting: "Dr. Smith, John", "Smith, Dr. John".
    text = remove_person_prefixes(_uninvert(remove_person_prefixes(_fold(name))))
    text = replace_org_types_compare(text)
    return tokenize_name(ascii_text(text).casefold())


@lru_cache(maxsize=65536)
def token_key(name: str) -> str:
    """The comparison key of a name: normalised tokens, sorted, joined by single spaces."""
    return " ".join(sorted(name_tokens(name)))


def name_surface_forms(name: str) -> list[str]:
    """Forms of a name as it may appear in running text, reduced like `normalized_text`.

    The name as given, and un-inverted ("LAST, First" → "First LAST") without honorifics.
    Organisation types are not folded here, since the text keeps them as written.
    """
    variants = [name, remove_person_prefixes(_uninvert(remove_person_prefixes(_fold(name))))]
    forms = (normalized_text(variant) for variant in variants)
    return [form for form in dict.fromkeys(forms) if form]


def text_tokens(text: str) -> list[str]:
    """Normalised tokens of free text (issuer, role, legal basis, reasons), articles dropped."""
    tokens = tokenize_name(ascii_text(_fold(text)).casefold())
    return [token for token in tokens if token not in _ARTICLES]


@lru_cache(maxsize=65536)
def _ascii_word(word: str) -> str:
    return ascii_text(word)


def _normalized_slow(text: str) -> str:
    """The reference reduction of running text, with rigour at every step (see `normalized_text`)."""
    folded = _fold(text)
    if not folded.isascii():
        folded = _transliterate_words(folded)
    return " ".join(tokenize_name(folded.casefold()))


_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_BOUNDARY = frozenset(" \t\n\r\x0b\x0c")
"""ASCII whitespace: the reduction of a text is the reductions of its pieces between these, joined."""


def _transliterate_words(folded: str) -> str:
    """`folded` with every space-separated word holding a non-ASCII character transliterated.

    Jumps from one non-ASCII run to the next and widens it to its word, so the plain ASCII
    words in between (most of a document) are copied, never visited one by one.
    """
    pieces: list[str] = []
    done = 0  # everything before this index is in `pieces`
    for run in _NON_ASCII.finditer(folded):
        if run.start() < done:
            continue  # in a word already transliterated
        start = folded.rfind(" ", 0, run.start()) + 1
        end = folded.find(" ", run.end())
        end = len(folded) if end == -1 else end
        pieces.append(folded[done:start])
        pieces.append(_ascii_word(folded[start:end]))
        done = end
    pieces.append(folded[done:])
    return "".join(pieces)


def _ascii_table() -> dict[int, str | None] | None:
    """What the reference reduction does to each ASCII character: kept (lower case), dropped, or a separator.

    Asked of rigour itself, one character between two letters at a time, so the fast path
    below follows rigour's rules rather than restating them. None when some character does
    something else (a rigour release with new rules): then every text takes the reference.
    """
    table: dict[int, str | None] = {}
    for point in range(128):
        char = chr(point)
        reduced = _normalized_slow(f"a{char}b")
        if reduced == "ab":
            table[point] = None
        elif reduced == "a b":
            table[point] = " "
        elif reduced == f"a{char.lower()}b":
            table[point] = char.lower()
        else:
            return None
    return table


_ASCII_TABLE = _ascii_table()

# Where the non-ASCII punctuation and spaces of running text live: Latin-1, General Punctuation,
# the ideographic space.
_PUNCTUATION_BLOCKS = (range(0xA0, 0xC0), range(0x2000, 0x2070), range(0x3000, 0x3001))
_CONTEXTS = ("ab#cd", "#ab", "ab#", "a##b", "a # b", "O#Neil", "#", "#1a#", "w~a#/M-", "x.+#$y")


def _punctuation_table() -> dict[str, str]:
    """Non-ASCII punctuation and spaces that the reference reduction treats as one ASCII character.

    ’ reduces like ', “ like ", — like -, a no-break space like a space. A character is taken
    only when rigour transliterates it to one ASCII character and reducing a text that holds
    it gives, in every context tried, what reducing the text with that character in its place
    gives.
    """
    table: dict[str, str] = {}
    if _ASCII_TABLE is None:
        return table
    for block in _PUNCTUATION_BLOCKS:
        for point in block:
            char = chr(point)
            if unicodedata.category(char)[0] not in "PZ":  # punctuation and spaces only
                continue
            # Only what rigour's own table turns into ASCII: a word holding anything else goes to
            # normality whole, which treats the word's ASCII punctuation differently.
            rep = maybe_ascii(char)
            if len(rep) != 1 or not rep.isascii():
                continue
            if all(_normalized_slow(c.replace("#", char)) == _normalized_ascii(c.replace("#", rep)) for c in _CONTEXTS):
                table[char] = rep
    return table


def _normalized_ascii(text: str) -> str:
    return " ".join(text.translate(_ASCII_TABLE or {}).split())


_PUNCTUATION = _punctuation_table()
_PUNCTUATION_RUN = re.compile("[" + re.escape("".join(_PUNCTUATION)) + "]" if _PUNCTUATION else "(?!)")

_normalized_span = lru_cache(maxsize=65536)(_normalized_slow)
"""Words holding non-ASCII characters recur across documents (names, accented words)."""


def normalized_text(text: str) -> str:
    """A whole document reduced like names (without honorific removal), for searching names in it.

    The reference reduction is NFKC, casefold and squashed spaces (rigour), transliteration
    to ASCII word by word (rigour's `ascii_text` on a whole document costs tens of
    milliseconds), then rigour's name tokenisation. Done that way on every new document it
    costs about 0.3 ms, a third of scoring one. So the reduction is taken apart where that
    is exact:

    - it works word by word: the reduction of a text is the reductions of its pieces between
      ASCII whitespace, joined by single spaces;
    - plain ASCII is reduced by one `str.translate` with the table rigour's rules give for
      ASCII (`_ascii_table`);
    - common non-ASCII punctuation and spaces (curly quotes, dashes, no-break spaces) reduce
      like one ASCII character each (`_punctuation_table`);
    - only the words holding any other non-ASCII character go through the reference
      reduction, memoised, since they recur across documents.

    The tests hold the result equal to the reference on the gold documents and on random
    texts.
    """
    if _ASCII_TABLE is None:
        return _normalized_slow(text)
    if text.isascii():
        return _normalized_ascii(text)
    plain = _PUNCTUATION_RUN.sub(_punctuation_rep, text)  # same length: indices hold in both
    if plain.isascii():
        return _normalized_ascii(plain)
    pieces: list[str] = []
    done = 0  # everything before this index is in `pieces`, its non-ASCII words reduced
    for run in _NON_ASCII.finditer(plain):
        if run.start() < done:
            continue  # inside a word already reduced
        start, end = run.start(), run.end()
        while start > done and plain[start - 1] not in _BOUNDARY:
            start -= 1
        while end < len(plain) and plain[end] not in _BOUNDARY:
            end += 1
        pieces.append(plain[done:start])
        pieces.append(_normalized_span(text[start:end]))  # the word as written; ASCII tokens out
        done = end
    pieces.append(plain[done:])
    return _normalized_ascii(" ".join(pieces))


def _punctuation_rep(match: re.Match[str]) -> str:
    return _PUNCTUATION[match.group()]


def code(value: str | None) -> str | None:
    """A jurisdiction or category code, stripped and lower case; None when blank."""
    if value is None:
        return None
    value = value.strip().lower()
    return value or None


@lru_cache(maxsize=4096)
def measure(value: str) -> str:
    """A measure value in the schema's snake case ("Asset freeze" → "asset_freeze")."""
    return re.sub(r"[\s\-]+", "_", value.strip().lower())


def date_matches(gold: str, pred: str) -> bool:
    """True when `pred` equals `gold` at the precision `gold` gives.

    Gold "2021-12" matches "2021-12" and "2021-12-10"; gold "2021-12-10" does not match
    "2021-12" (the prediction is less precise than the text supports).
    """
    gold, pred = gold.strip(), pred.strip()
    return len(pred) >= len(gold) and pred[: len(gold)] == gold
