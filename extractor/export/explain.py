"""Why a list entry matches a target or not: each feature compared and what it did to the score.

nomenklatura's logic-v2 scores the name (and identifiers) and then qualifies the score with
supporting or contradicting features. Its country qualifier takes 0.2 off whenever the two
countries differ, which turns the exact listed name of "Lu Hezheng" into 0.80 because the
model gave him the country of the programme (North Korea) and the list his nationality
(China). A model's country is a reading of the text, not evidence of identity, so here a
conflicting country still takes 0.2 off a name that is not exact, but never off an exact one;
a missing country takes nothing off. Every match carries its features and a line per feature
saying what it did, in the manner of yente's `features` and explanations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from followthemoney import EntityProxy, registry
from rigour.territories import territories_intersect

# A name score from which the name counts as the listed name itself (logic-v2 gives 1.0 to a literal match).
EXACT_NAME = 0.99
COUNTRY_PENALTY = 0.2  # logic-v2's own weight for a country mismatch


@dataclass(frozen=True)
class Explained:
    """A candidate's score with the features behind it and one line of explanation per feature."""

    score: float
    features: dict[str, float] = field(default_factory=dict)
    explanation: list[str] = field(default_factory=list)


def _countries(entity: EntityProxy) -> list[str]:
    return sorted(set(entity.get_type_values(registry.country)))


def explain(query: EntityProxy, listed: EntityProxy, result: Any, *, type_penalty: float) -> Explained:
    """The score and explanation of one comparison (`result`: logic-v2's, without its country qualifier)."""
    explanations = result.explanations
    features = {name: round(float(found.score), 3) for name, found in explanations.items() if found.score}
    name = explanations.get("name_match")
    name_score = float(name.score) if name is not None else 0.0
    lines = [_name_line(name_score, name)]
    score = float(result.score)

    ours, theirs = _countries(query), _countries(listed)
    if not ours or not theirs:
        lines.append(f"country: {'not stated by the text' if not ours else 'none on the list'}; not counted")
    elif territories_intersect(ours, theirs):
        lines.append(f"country: {', '.join(ours)} on both sides")
    else:
        features["country_mismatch"] = 1.0
        said = f"country: the text gives {', '.join(ours)}, the list {', '.join(theirs)}"
        if name_score >= EXACT_NAME:
            lines.append(f"{said}; not counted against an exact name")
        else:
            score -= COUNTRY_PENALTY
            lines.append(f"{said} (-{COUNTRY_PENALTY:.2f})")

    if type_penalty:
        features["type_mismatch"] = 1.0
        score -= type_penalty
        lines.append(f"type: {query.schema.name} against {listed.schema.name}, compared as legal entities "
                     f"(-{type_penalty:.2f})")
    else:
        lines.append(f"type: {query.schema.name} against {listed.schema.name}")
    dob = [explanations[k] for k in ("dob_day_disjoint", "dob_year_disjoint") if k in explanations]
    if any(d.score for d in dob):
        lines.append(f"birth date: {next(d.detail for d in dob if d.score)}")
    else:
        lines.append("birth date: not compared (the text gives none)"
                     if not query.get("birthDate", quiet=True) else "birth date: no conflict")
    identifiers = [n for n in features if n not in ("name_match", "country_mismatch", "type_mismatch")
                   and not n.startswith("dob_")]
    lines.append(f"identifiers: {', '.join(identifiers)} matched" if identifiers
                 else "identifiers: none compared (the text gives none)")
    return Explained(max(0.0, min(1.0, score)), features, lines)


def _name_line(score: float, name: Any) -> str:
    if name is None or not score:
        return "name: no name in common"
    said = "the listed name itself" if score >= EXACT_NAME else "similar"
    pair = f" ('{name.query}' ~ '{name.candidate}')" if name.query and name.candidate else ""
    return f"name: {score:.2f}, {said}{pair}"


def verdict(score: float, threshold: float, floor: float) -> str:
    """Why a score passes or fails: against the threshold (listed) and the floor (possible)."""
    if score >= threshold:
        return f"listed: {score:.2f} reaches the threshold {threshold:.2f}"
    if score >= floor:
        return f"possible: {score:.2f} is below the threshold {threshold:.2f} (at least the floor {floor:.2f})"
    return f"not listed: {score:.2f} is below the floor {floor:.2f}"
