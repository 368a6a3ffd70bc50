"""Pairwise similarity of single values: names, free text, sets. All scores lie in [0, 1].

Names (gold names carry their aliases as extra acceptable forms, SCHEMA.md rule 7):

- strict: 1.0 when the prediction's `name_key` equals the key of the gold name or of any
  gold alias, else 0.0 (see `normalize` for what the key folds: case, diacritics,
  punctuation, honorifics, organisation types, word order);
- lenient: the best `rapidfuzz.fuzz.token_sort_ratio` / 100 between the prediction's key
  and the key of the gold name or any alias. A pair counts as a match at or above
  `NAME_THRESHOLD` (0.90). `token_set_ratio` is never used: it scores a name 100 against
  any name that contains it ("Wang" against "Wang Junzheng").

Names in the document text (`name_in_text`): a predicted name "occurs in the text" when
one of its reading-order forms (see `normalize.name_surface_forms`) is a substring of the
normalised text or reaches `TEXT_THRESHOLD` (0.90) with `fuzz.partial_ratio` against it.

Free text: `token_f1` is the SQuAD token F1 over the multisets of `normalize.text_tokens`
(overlap = size of the multiset intersection; P = overlap / |pred|, R = overlap / |gold|,
F1 = 2PR / (P + R); 0.0 when either side has no tokens).

Sets: `jaccard` = |A ∩ B| / |A ∪ B|, 1.0 for two empty sets.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache

from rapidfuzz import fuzz

from .normalize import name_key, name_surface_forms, text_tokens

NAME_THRESHOLD = 0.90
"""Lenient name match: token_sort_ratio / 100 at or above this counts as the same name."""

TEXT_THRESHOLD = 0.90
"""A predicted name reaching this partial_ratio / 100 against the normalised text occurs in it."""


@lru_cache(maxsize=65536)
def _key(name: str) -> str:
    return name_key(name)


def name_keys(forms: Iterable[str]) -> tuple[str, ...]:
    """The distinct non-empty keys of a gold name and its aliases."""
    return tuple(dict.fromkeys(key for key in map(_key, forms) if key))


def strict_name_score(pred: str, gold_keys: Sequence[str]) -> float:
    """1.0 when the predicted name equals a gold form after normalisation, else 0.0."""
    key = _key(pred)
    return 1.0 if key and key in gold_keys else 0.0


def lenient_name_score(pred: str, gold_keys: Sequence[str]) -> float:
    """The best token_sort_ratio / 100 of the predicted name against any gold form."""
    key = _key(pred)
    if not key:
        return 0.0
    # Keys are already normalised and sorted, so no further rapidfuzz processing is needed.
    return max((fuzz.token_sort_ratio(key, gold, processor=None) / 100 for gold in gold_keys), default=0.0)


def name_in_text(name: str, normalized_text: str) -> bool:
    """True when the name occurs in the (already normalised) document text, allowing small variation."""
    for form in name_surface_forms(name):
        if form in normalized_text:
            return True
        if fuzz.partial_ratio(form, normalized_text, processor=None) / 100 >= TEXT_THRESHOLD:
            return True
    return False


def token_f1(gold: str, pred: str) -> float:
    """SQuAD token F1 between two free-text values, in [0, 1]."""
    gold_tokens, pred_tokens = Counter(text_tokens(gold)), Counter(text_tokens(pred))
    overlap = sum((gold_tokens & pred_tokens).values())
    if overlap == 0:
        return 0.0
    precision = overlap / sum(pred_tokens.values())
    recall = overlap / sum(gold_tokens.values())
    return 2 * precision * recall / (precision + recall)


def jaccard(gold: Iterable[str], pred: Iterable[str]) -> float:
    """Jaccard similarity of two sets; 1.0 when both are empty."""
    a, b = set(gold), set(pred)
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)
