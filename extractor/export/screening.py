"""Screening extraction results against a sanctions list: one JSON-ready row per distinct target.

A target named in several actions of one document is matched once; the row lists the actions
("us:impose") that name it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from extractor.core.schema import ArticleExtraction, Target

from .ftm import id_name
from .matching import Matcher, MatchResult


def distinct_targets(result: ArticleExtraction) -> list[tuple[Target, list[str]]]:
    """The document's targets, once per normalised name and type, with the actions naming each."""
    found: dict[tuple[str, str], tuple[Target, list[str]]] = {}
    for action in result.actions:
        label = f"{action.authority}:{action.action}"
        for target in action.targets:
            key = (id_name(target.name), target.entity_type)
            if key not in found:
                found[key] = (target, [])
            if label not in found[key][1]:
                found[key][1].append(label)
    return list(found.values())


def screen(matcher: Matcher, results: Iterable[ArticleExtraction]) -> Iterator[tuple[MatchResult, dict[str, Any]]]:
    """(match, row) per distinct target of each result; the row adds `article_id` and `actions`."""
    for result in results:
        for target, actions in distinct_targets(result):
            match = matcher.match(target)
            yield match, {"article_id": result.article_id, "actions": actions, **match.to_dict()}
