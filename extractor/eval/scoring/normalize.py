"""Normalisation of values before they are compared: names, free text, codes, measures, dates.

Every comparison in the scorer goes through these functions, so gold and prediction are
always reduced the same way.

Names (`name_tokens`, `name_key`), built from rigour's name functions rather than
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
the honorifics are dropped (again). `name_key` joins the tokens in sorted order, so word
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
from functools import lru_cache

from rigour.names import remove_person_prefixes, replace_org_types_compare, tokenize_name
from rigour.text import ascii_text
from rigour.text.normalize import Normalize, normalize

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
def name_key(name: str) -> str:
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


def normalized_text(text: str) -> str:
    """A whole document reduced like names (without honorific removal), for searching names in it.

    Transliteration goes word by word, and only for words that are not already ASCII: rigour's
    `ascii_text` on a whole document costs tens of milliseconds (on every new text), while
    most words of a document are plain ASCII and the others repeat across documents. The
    result is the same as transliterating the whole text (checked on the gold documents).
    """
    folded = _fold(text)
    if not folded.isascii():
        folded = _transliterate_words(folded)
    return " ".join(tokenize_name(folded.casefold()))


_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


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


def code(value: str | None) -> str | None:
    """A jurisdiction or category code, stripped and lower case; None when blank."""
    if value is None:
        return None
    value = value.strip().lower()
    return value or None


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
