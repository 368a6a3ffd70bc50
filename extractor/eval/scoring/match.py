"""Pairwise similarity of single values: names, free text, sets. All scores lie in [0, 1].

Names (gold names carry their aliases as extra acceptable forms, SCHEMA.md rule 7):

- strict: 1.0 when the prediction's `token_key` equals the key of the gold name or of any
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

import numpy as np
from rapidfuzz import fuzz, process

from .normalize import name_surface_forms, text_tokens, token_key

NAME_THRESHOLD = 0.90
"""Lenient name match: token_sort_ratio / 100 at or above this counts as the same name."""

TEXT_THRESHOLD = 0.90
"""A predicted name reaching this partial_ratio / 100 against the normalised text occurs in it."""


@lru_cache(maxsize=65536)
def _key(name: str) -> str:
    return token_key(name)


def token_keys(forms: Iterable[str]) -> tuple[str, ...]:
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


def lenient_matrix(gold_keys: Sequence[Sequence[str]], pred: Sequence[str]) -> np.ndarray:
    """`lenient_name_score` of every predicted name against every gold key group, as a gold × pred matrix.

    One `rapidfuzz.process.cdist` call (C, no Python per pair) over all gold keys, then the best
    key of each gold group: the same values as calling `lenient_name_score` pair by pair.
    """
    matrix = np.zeros((len(gold_keys), len(pred)))
    flat = [key for keys in gold_keys for key in keys]
    pred_keys = [_key(name) for name in pred]
    columns = [j for j, key in enumerate(pred_keys) if key]
    if not flat or not columns:
        return matrix
    scores = process.cdist(
        [pred_keys[j] for j in columns], flat, scorer=fuzz.token_sort_ratio, processor=None, dtype=np.float64
    )
    sizes = [len(keys) for keys in gold_keys]
    groups = [i for i, size in enumerate(sizes) if size]
    starts = np.cumsum([0, *sizes])[:-1][groups]
    best = np.maximum.reduceat(np.ascontiguousarray(scores.T), starts, axis=0) / 100  # (gold groups, pred)
    matrix[np.ix_(groups, columns)] = best
    return matrix


def strict_matrix(gold_keys: Sequence[Sequence[str]], pred: Sequence[str]) -> np.ndarray:
    """`strict_name_score` of every predicted name against every gold key group (gold × pred)."""
    owners: dict[str, list[int]] = {}
    for i, keys in enumerate(gold_keys):
        for key in keys:
            owners.setdefault(key, []).append(i)
    matrix = np.zeros((len(gold_keys), len(pred)))
    for j, name in enumerate(pred):
        key = _key(name)
        if key:
            matrix[owners.get(key, []), j] = 1.0
    return matrix


@lru_cache(maxsize=1024)
def name_in_text(name: str, normalized_text: str) -> bool:
    """True when the name occurs in the (already normalised) document text, allowing small variation.

    Memoised: a predicted name is looked up once per action and again by the document views,
    all while one document is scored (a small memo: its keys hold whole document texts).
    """
    for form in name_surface_forms(name):
        if form in normalized_text:
            return True
        if fuzz.partial_ratio(form, normalized_text, processor=None) / 100 >= TEXT_THRESHOLD:
            return True
    return False


@lru_cache(maxsize=65536)
def _token_counts(text: str) -> Counter[str]:
    return Counter(text_tokens(text))


def token_f1(gold: str, pred: str) -> float:
    """SQuAD token F1 between two free-text values, in [0, 1]."""
    gold_tokens, pred_tokens = _token_counts(gold), _token_counts(pred)
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
