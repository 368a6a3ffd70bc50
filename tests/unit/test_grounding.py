"""Grounding aligns quotes and names to offsets in the source text, and drops what it cannot find."""

from __future__ import annotations

import json

import pytest

from extractor.core.grounding.align import (
    FUZZY_THRESHOLD,
    align,
    align_all,
    align_name,
    ground,
    grounding_counts,
)
from extractor.core.grounding.require import require_grounding
from extractor.core.schema import ArticleExtraction, ExtractionAnswer
from tests.support import ROOT

TEXT = (
    "WASHINGTON — Today, the U.S. Department of the Treasury sanctioned Wang Junzheng and Chen Mingguo.\n\n"
    "“These officials are responsible for serious human rights abuse,”\u00a0said  Secretary Yellen.\n\n"
    "Their property and interests in property in the United States are blocked."
)


def test_exact_quote():
    quote = "Their property and interests in property in the United States are blocked."
    span = align(quote, TEXT)
    assert (span.start, span.end, span.status, span.score) == (TEXT.index(quote), len(TEXT), "exact", 100.0)


def test_curly_quotes_and_non_breaking_space_map_to_original_offsets():
    quote = '"These officials are responsible for serious human rights abuse," said Secretary Yellen.'
    original = "“These officials are responsible for serious human rights abuse,”\u00a0said  Secretary Yellen."
    span = align(quote, TEXT)
    assert span.status == "exact"
    assert (span.start, span.end) == (TEXT.index(original), TEXT.index(original) + len(original))
    assert TEXT[span.start : span.end] == original


def test_fuzzy_quote_with_one_word_changed():
    quote = "Their assets and interests in property in the United States are blocked."
    original = "Their property and interests in property in the United States are blocked."
    span = align(quote, TEXT)
    assert span.status == "fuzzy"
    assert FUZZY_THRESHOLD <= span.score < 100
    assert (span.start, span.end) == (TEXT.index(original), len(TEXT))


def test_absent_quote_is_not_found():
    span = align("The European Union imposed an arms embargo on the region.", TEXT)
    assert (span.start, span.end, span.status) == (None, None, "not_found")
    assert span.score < FUZZY_THRESHOLD
    assert not span.found


def test_non_ascii_offsets_are_str_indices():
    text = "Café « Müller » — 外務省は、ロシアの個人に対する資産凍結を発表した。José María González fue sancionado."
    quote = "ロシアの個人に対する資産凍結を発表した。"
    span = align(quote, text)
    assert (span.start, span.end, span.status) == (text.index(quote), text.index(quote) + len(quote), "exact")
    # Decomposed accents in the needle match the composed text, with offsets of the original.
    span = align("Jose\u0301 Mari\u0301a", text)
    assert (span.status, text[span.start : span.end]) == ("exact", "José María")
    # Accents dropped by the model: fuzzy, still spanning the accented name exactly.
    span = align_name("Jose Maria Gonzalez", text)
    assert (span.status, span.start, span.end) == ("fuzzy", text.index("José"), text.index(" fue"))
    assert text[span.start : span.end] == "José María González"


def test_phrase_occurring_twice():
    text = "OFAC designated Acme Ltd. Later that day the State Department said OFAC designated Acme Ltd again."
    second = text.rindex("OFAC designated")
    assert align("OFAC designated", text).start == 0
    assert align("OFAC designated", text, start_hint=60).start == second
    assert align("OFAC designated", text, start_hint=5).start == 0
    assert [s.start for s in align_all("OFAC designated", text)] == [0, second]


def test_names_are_case_insensitive_and_short_names_never_fuzzy():
    span = align_name("WANG JUNZHENG", TEXT)
    assert (span.status, TEXT[span.start : span.end]) == ("exact", "Wang Junzheng")
    assert align_name("Chen", TEXT).status == "exact"
    assert align_name("Chan", TEXT).status == "not_found"  # 4 letters: below the fuzzy length guard
    assert align_name("Wang Junzhang", TEXT).status == "fuzzy"


def _result() -> ArticleExtraction:
    return ArticleExtraction.model_validate(
        {
            "article_id": "doc-1",
            "is_sanctions_news": True,
            "actions": [
                {
                    "authority": "us",
                    "action": "impose",
                    "measures": ["asset_freeze"],
                    "evidence": [
                        "the U.S. Department of the Treasury sanctioned Wang Junzheng and Chen Mingguo.",
                        "Treasury also froze the assets of the Xinjiang Production Corps.",  # invented
                    ],
                    "targets": [
                        {"name": "Wang Junzheng", "entity_type": "person"},
                        {"name": "Zhu Hailun", "entity_type": "person"},  # invented
                    ],
                },
                {
                    "authority": "eu",
                    "action": "impose",
                    "evidence": ["The Council of the EU adopted restrictive measures against four officials."],
                    "targets": [{"name": "Chen Mingguo", "entity_type": "person"}],
                },
            ],
        }
    )


def test_ground_counts_and_rate():
    grounding = ground(_result(), TEXT)
    assert [[s.status for s in a.evidence] for a in grounding.actions] == [["exact", "not_found"], ["not_found"]]
    assert [[s.status for s in a.targets] for a in grounding.actions] == [["exact", "not_found"], ["exact"]]
    assert grounding.evidence.model_dump() == {"exact": 1, "fuzzy": 0, "not_found": 2}
    assert grounding.names.model_dump() == {"exact": 2, "fuzzy": 0, "not_found": 1}
    assert grounding.rate == 0.5
    data = grounding.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["actions"][0]["targets"][0] == {
        "start": TEXT.index("Wang"),
        "end": TEXT.index("Wang") + len("Wang Junzheng"),
        "status": "exact",
        "score": 100.0,
    }


def test_ground_nothing_to_ground():
    grounding = ground(ExtractionAnswer(is_sanctions_news=False), TEXT)
    assert (grounding.rate, grounding.actions) == (None, [])


def test_require_grounding_drops_invented_names_and_actions():
    result = _result()
    result._meta = {"run": "r1"}
    kept = require_grounding(result, ground(result, TEXT))
    assert type(kept) is ArticleExtraction
    assert (kept.article_id, kept.is_sanctions_news, kept.meta) == ("doc-1", True, {"run": "r1"})
    assert [a.authority for a in kept.actions] == ["us"]
    assert [t.name for t in kept.actions[0].targets] == ["Wang Junzheng"]
    assert kept.actions[0].evidence == result.actions[0].evidence
    assert len(result.actions) == 2 and len(result.actions[0].targets) == 2  # the input is untouched


def test_require_grounding_with_nothing_found_is_not_sanctions_news():
    answer = ExtractionAnswer.model_validate(
        {
            "is_sanctions_news": True,
            "actions": [
                {"authority": "us", "action": "impose", "evidence": ["Canada imposed a price cap on crude."]},
                {"authority": "gb", "action": "impose", "evidence": []},
            ],
        }
    )
    kept = require_grounding(answer, ground(answer, TEXT))
    assert kept == ExtractionAnswer(is_sanctions_news=False, actions=[])


def test_require_grounding_rejects_a_mismatched_grounding():
    with pytest.raises(ValueError, match="actions"):
        require_grounding(_result(), ground(ExtractionAnswer(is_sanctions_news=False), TEXT))


def _refine_every_pair(needle: str, text: str, start: int, end: int) -> tuple[int, int, float]:
    """The edge refinement by scoring every nearby pair of edges (what `refine` must equal)."""
    import numpy as np
    from rapidfuzz import fuzz

    radius = min(max(2, len(needle) // 8), 16)
    shortfall = min(max(0, len(needle) - (end - start)), len(needle) // 5)
    edges = [(start, end)] + [
        (s, e)
        for s in range(max(0, start - radius - shortfall), min(end, start + radius + 1))
        for e in range(max(s + 1, end - radius), min(len(text), end + radius + shortfall) + 1)
    ]
    scores = np.array([fuzz.ratio(needle, text[s:e]) for s, e in edges])
    moved = np.array([abs(s - start) + abs(e - end) for s, e in edges])
    best = np.flatnonzero(scores == scores.max())
    pick = int(best[np.argmin(moved[best])])
    return edges[pick][0], edges[pick][1], float(scores[pick])


def test_edge_refinement_equals_scoring_every_pair():
    """The pruned refinement picks the same span and score as the exhaustive one, ties included."""
    import random

    from rapidfuzz import fuzz

    from extractor.core.grounding.refine import refine

    rng = random.Random(7)
    words = ["the", "treasury", "sanctioned", "acme", "shipping", "co", "vessel", "oil", "on", "of", "a"]
    checked = 0
    for _ in range(300):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(5, 80)))
        quote = text.split()
        i = rng.randrange(len(quote))
        needle_words = quote[i : i + rng.randint(1, 25)]
        for _ in range(rng.randint(0, 3)):  # respell, drop or add a word
            k = rng.randrange(len(needle_words))
            action = rng.choice(("respell", "drop", "add"))
            if action == "respell":
                needle_words[k] = needle_words[k][::-1]
            elif action == "drop" and len(needle_words) > 1:
                del needle_words[k]
            else:
                needle_words.insert(k, rng.choice(words))
        needle = " ".join(needle_words)
        hit = fuzz.partial_ratio_alignment(needle, text)
        if hit is None or hit.dest_end <= hit.dest_start:
            continue
        assert refine(needle, text, hit.dest_start, hit.dest_end) == _refine_every_pair(
            needle, text, hit.dest_start, hit.dest_end
        ), (needle, text)
        checked += 1
    assert checked > 250


def test_status_counts_equal_those_of_ground():
    """`grounding_counts` gives every quote and name the status `ground` gives it.

    Quotes are cut from the gold documents and edited (letters changed, dropped, inserted) so
    that all three statuses occur, fuzzy ones both found as the window and only after
    refinement, at several thresholds.
    """
    import random

    from extractor.core.grounding.align import _align, _Source, _status

    docs = sorted((ROOT / "evals" / "docs").glob("*.txt"))[:12]
    rng = random.Random(3)
    seen = set()
    for path in docs:
        text = path.read_text(encoding="utf-8")
        for _ in range(25):
            start = rng.randrange(max(1, len(text) - 300))
            quote = list(text[start : start + rng.randint(4, 260)])
            for _ in range(rng.randint(0, max(1, len(quote) // 6))):
                k = rng.randrange(len(quote)) if quote else 0
                edit = rng.random()
                if edit < 0.4 and quote:
                    quote[k] = rng.choice("abxyz ")
                elif edit < 0.7 and quote:
                    del quote[k]
                else:
                    quote.insert(k, rng.choice("qe "))
            needle = "".join(quote)
            for name in (False, True):
                for threshold in (80.0, FUZZY_THRESHOLD, 95.0):
                    source = _Source(text)
                    expected = _align(needle, source, threshold=threshold, start_hint=None, casefold=name,
                                      min_fuzzy_chars=6 if name else 0).status
                    assert _status(needle, source, threshold=threshold, casefold=name,
                                   min_fuzzy_chars=6 if name else 0) == expected, (needle, name, threshold)
                    seen.add(expected)
    assert seen == {"exact", "fuzzy", "not_found"}
    result = ExtractionAnswer.model_validate(
        {
            "is_sanctions_news": True,
            "actions": [
                {
                    "authority": "us",
                    "action": "impose",
                    "evidence": ["sanctioned Wang Junzheng", "These oficials are responsible for serius abuse",
                                 "a sentence that is nowhere"],
                    "targets": [{"name": "Chen Mingguo", "entity_type": "person"},
                                {"name": "Wang Junzhen", "entity_type": "person"},
                                {"name": "Nobody Atall", "entity_type": "person"}],
                }
            ],
        }
    )
    marks = ground(result, TEXT)
    assert grounding_counts(result, TEXT) == (marks.evidence, marks.names)


def test_window_cutoff_changes_no_status():
    """The status pass asks rapidfuzz only for windows that could matter (`window_floor`).

    On quotes from other documents (most then pruned), edited quotes and long ones: either
    the window is the one found with no cutoff, or it was pruned, and then `ground` finds
    nothing either. The bound itself is checked against every span of random short cases.
    """
    import random

    from rapidfuzz import fuzz

    from extractor.core.grounding.align import _align, _fuzzy_window, _Source, window_floor

    docs = sorted((ROOT / "evals" / "docs").glob("*.txt"))[:10]
    texts = [path.read_text(encoding="utf-8") for path in docs]
    rng = random.Random(5)
    pruned = kept = 0
    for i, text in enumerate(texts):
        other = texts[(i + 1) % len(texts)]
        for _ in range(20):
            source = rng.choice((text, other))  # a quote from this document or from another
            start = rng.randrange(max(1, len(source) - 300))
            quote = list(source[start : start + rng.choice((8, 30, 64, 65, 120, 250))])
            for _ in range(rng.randint(0, max(1, len(quote) // 8))):
                if quote:
                    quote[rng.randrange(len(quote))] = rng.choice("abxyz ")
            needle = "".join(quote)
            for name in (False, True):
                for threshold in (80.0, 90.0, 95.0):
                    src = _Source(text)
                    full = _fuzzy_window(needle, src, name, 0)
                    cut = _fuzzy_window(needle, src, name, 0, reach=threshold)
                    if cut is not None:
                        assert cut == full, (needle, name, threshold)
                        kept += 1
                        continue
                    pruned += 1
                    assert _align(needle, src, threshold=threshold, start_hint=None, casefold=name,
                                  min_fuzzy_chars=0).status == "not_found", (needle, name, threshold)
    assert pruned > 100 and kept > 100
    # The bound on every span of small random strings: whenever a span reaches t, some
    # window of the needle's length scores at least window_floor(t).
    for _ in range(300):
        text = "".join(rng.choice("abc ") for _ in range(rng.randint(8, 24)))
        needle = "".join(rng.choice("abc ") for _ in range(rng.randint(3, 8)))
        m = len(needle)
        windows = max(fuzz.ratio(needle, text[s : s + m]) for s in range(len(text) - m + 1))
        best = max(fuzz.ratio(needle, text[s:e]) for s in range(len(text)) for e in range(s + 1, len(text) + 1))
        for threshold in (60.0, 80.0, 90.0):
            if best >= threshold:
                assert windows >= window_floor(threshold), (needle, text, threshold)
