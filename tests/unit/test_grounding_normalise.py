"""The whole-string normalisation of grounding gives exactly what a per-character loop gives."""

from __future__ import annotations

import random
import re
import unicodedata

import pytest

from extractor.core.grounding.align import _CHAR_MAP, _Normalised
from tests.support import ROOT

_SPECIAL = re.compile(r"\s+|[^\x00-\x7f]+")


def reference(text: str, casefold: bool) -> tuple[str, list[int]]:
    """The definition, one character at a time (the implementation this module replaced)."""
    parts: list[str] = []
    origin: list[int] = []
    last_space = False
    pos = 0
    for match in _SPECIAL.finditer(text):
        plain = text[pos : match.start()]
        if plain:
            parts.append(plain.lower() if casefold else plain)
            origin.extend(range(pos, match.start()))
            last_space = False
        for i in range(match.start(), match.end()):
            char = text[i]
            if char.isspace():
                if not last_space:
                    parts.append(" ")
                    origin.append(i)
                last_space = True
                continue
            rep = unicodedata.normalize("NFKD", _CHAR_MAP.get(char, char))
            if casefold:
                rep = rep.casefold()
            parts.append(rep)
            origin.extend([i] * len(rep))
            last_space = False
        pos = match.end()
    parts.append(text[pos:].lower() if casefold else text[pos:])
    origin.extend(range(pos, len(text)))
    return "".join(parts), origin


ALPHABET = [
    *"aZ .,'-\t\n",
    *"\u00a0\u2003\u3000\u2019\u201c\u2014éßİﬁ¨①Ж東\u0301𝔸\u00ad\u2028",
]


@pytest.mark.parametrize("casefold", [False, True])
def test_random_texts_match_the_reference(casefold):
    rng = random.Random(7)
    for _ in range(2000):
        text = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 30)))
        norm = _Normalised(text, casefold=casefold)
        assert (norm.text, norm.origin.tolist()) == reference(text, casefold), repr(text)


@pytest.mark.parametrize("casefold", [False, True])
def test_gold_documents_match_the_reference(casefold):
    for path in sorted((ROOT / "evals" / "docs").glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        norm = _Normalised(text, casefold=casefold)
        assert (norm.text, norm.origin.tolist()) == reference(text, casefold), path.name


def test_offsets_map_back_and_forth():
    text = "The  “Acme\u00a0Ltd” — ﬁnance"
    norm = _Normalised(text, casefold=True)
    s = norm.text.index("finance")
    assert norm.to_original(s, s + len("finance")) == (text.index("ﬁnance"), len(text))
    assert norm.from_original(text.index("ﬁnance")) == s
