"""Scoring of one document: align actions and targets, then score every field path.

`score_document(gold, pred, text)` walks the schema: `is_sanctions_news`; the action
alignment (`align.align_actions`); for each matched action pair every action field and the
target alignment (lenient and strict) with the target sub-fields; unmatched actions as all
missing or all hallucinated; then the document views (`views`). Counting rules are in
`tally`, thresholds in `align` and `match`, the field paths and the headline in `paths`.

A prediction that is not an `ArticleExtraction` (None, a failure record, an exception) is a
failed extraction: it is scored as an empty prediction, so every gold value counts as
missing, and the document is marked `failed`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from extractor.core.schema import ArticleExtraction, SanctionAction, Target

from .align import ItemMatch, align_actions, align_targets
from .fields import code_set, flag, free_text, issuer, record, scalar, text_list
from .match import name_in_text
from .metrics import Counts, micro
from .normalize import code, date_matches, measure, normalized_text
from .paths import (
    ACTION,
    ACTIONS,
    AUTHORITY,
    COORDINATED_WITH,
    COUNTERMEASURE,
    DATE,
    ENTITY_TYPE,
    FIELD_PATHS,
    HEADLINE_FIELDS,
    IS_NEWS,
    ISSUER,
    LEGAL_BASIS,
    MEASURES,
    REASONS,
    ROLE,
    TARGET_COUNT,
    TARGET_COUNTRIES,
    TARGET_COUNTRY,
    TARGET_NAME,
    TARGET_NAME_STRICT,
    VIEW_PATHS,
)
from .tally import NOT_IN_TEXT, ErrorItem, Tally, Where
from .views import score_views

Prediction = ArticleExtraction | object | None
"""An extraction, or a failure marker: None, a results `Failure`, an `ExtractionFailed`, ..."""


@dataclass(frozen=True)
class TargetAlignment:
    """Targets of one matched action pair, aligned by name in both modes."""

    lenient: ItemMatch
    strict: ItemMatch


@dataclass
class DocScore:
    """The score of one document: counts per field path and view, error items, alignments."""

    article_id: str
    failed: bool
    fields: dict[str, Counts]
    views: dict[str, Counts]
    errors: list[ErrorItem] = field(default_factory=list)
    view_errors: list[ErrorItem] = field(default_factory=list)
    actions: ItemMatch = field(default_factory=ItemMatch)
    """Gold action index ↔ predicted action index (pairs carry the action similarity)."""
    targets: dict[tuple[int, int], TargetAlignment] = field(default_factory=dict)
    """Target alignment per matched (gold action, predicted action) pair."""

    @property
    def headline(self) -> Counts:
        """Counts summed over the headline field paths."""
        return micro(self.fields[path] for path in HEADLINE_FIELDS)

    @property
    def precision(self) -> float | None:
        return self.headline.precision

    @property
    def recall(self) -> float | None:
        return self.headline.recall

    @property
    def f1(self) -> float | None:
        return self.headline.f1

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: headline metrics, per-field and view counts, errors, alignment."""
        head = self.headline.to_dict()
        return {
            "precision": head["precision"],
            "recall": head["recall"],
            "f1": head["f1"],
            "failed": self.failed,
            "counts": {k: head[k] for k in ("tp", "fp", "fn")},
            "fields": {path: counts.to_dict() for path, counts in self.fields.items()},
            "views": {path: counts.to_dict() for path, counts in self.views.items()},
            "errors": [e.to_dict() for e in self.errors],
            "view_errors": [e.to_dict() for e in self.view_errors],
            "alignment": self._alignment_dict(),
        }

    def _alignment_dict(self) -> dict[str, Any]:
        pairs = []
        for g, p, similarity in self.actions.pairs:
            targets = self.targets[(g, p)]
            strict_pairs = {(tg, tp) for tg, tp, _ in targets.strict.pairs}
            pairs.append(
                {
                    "gold": g,
                    "pred": p,
                    "similarity": round(similarity, 6),
                    "targets": [
                        {
                            "gold": tg,
                            "pred": tp,
                            "similarity": round(s, 6),
                            "strict": (tg, tp) in strict_pairs,
                        }
                        for tg, tp, s in targets.lenient.pairs
                    ],
                    "unmatched_gold_targets": sorted(
                        targets.lenient.gold_only + [tg for tg, _, _ in targets.lenient.leftover_pairs]
                    ),
                    "unmatched_pred_targets": sorted(
                        targets.lenient.pred_only + [tp for _, tp, _ in targets.lenient.leftover_pairs]
                    ),
                }
            )
        return {
            "pairs": pairs,
            "unmatched_gold": self.actions.gold_only,
            "unmatched_pred": self.actions.pred_only,
        }


def is_failure(pred: object) -> bool:
    """True for anything that is not an extraction (None, a failure record, an exception)."""
    return not isinstance(pred, ArticleExtraction)


def _summary(action: SanctionAction) -> dict[str, Any]:
    """A short description of an action for error items at the `actions` level."""
    return {
        "authority": action.authority,
        "issuer": action.issuer,
        "action": action.action,
        "measures": list(action.measures),
        "targets": [t.name for t in action.targets],
    }


def _score_target(
    tally: Tally, gold: Target | None, pred: Target | None, where: Where, *, paired: bool
) -> None:
    """Score the sub-fields of one target (both given: a lenient name match)."""
    name = gold.name if gold is not None else pred.name if pred is not None else None
    where = Where(where.gold_action, where.pred_action, name)
    scalar(
        tally,
        ENTITY_TYPE,
        gold.entity_type if gold else None,
        pred.entity_type if pred else None,
        where,
        paired=paired,
    )
    scalar(
        tally,
        TARGET_COUNTRY,
        code(gold.country) if gold else None,
        code(pred.country) if pred else None,
        where,
        paired=paired,
    )
    free_text(tally, ROLE, gold.role if gold else None, pred.role if pred else None, where, paired=paired)


def _score_targets(
    tally: Tally,
    gold: list[Target],
    pred: list[Target],
    where: Where,
    *,
    paired: bool,
    text: str | None,
) -> TargetAlignment:
    """Align targets by name, score the name paths and every target's sub-fields."""
    # Invented names (absent from the text) are hallucinations, never "wrong values".
    invented = {j for j, t in enumerate(pred) if text is not None and not name_in_text(t.name, text)}
    notes = dict.fromkeys(invented, NOT_IN_TEXT)
    lenient = align_targets(gold, pred, strict=False, unpairable=invented)
    strict = align_targets(gold, pred, strict=True, unpairable=invented)
    gold_names, pred_names = [t.name for t in gold], [t.name for t in pred]
    record(tally, TARGET_NAME, lenient, gold_names, pred_names, where, paired=paired, notes=notes)
    record(tally, TARGET_NAME_STRICT, strict, gold_names, pred_names, where, paired=paired, notes=notes)

    for g, p, _ in lenient.pairs:
        _score_target(tally, gold[g], pred[p], where, paired=True)
    matched_gold = {g for g, _, _ in lenient.pairs}
    matched_pred = {p for _, p, _ in lenient.pairs}
    for g in (i for i in range(len(gold)) if i not in matched_gold):
        _score_target(tally, gold[g], None, where, paired=False)
    for p in (j for j in range(len(pred)) if j not in matched_pred):
        _score_target(tally, None, pred[p], where, paired=False)
    return TargetAlignment(lenient, strict)


def _score_action(
    tally: Tally,
    gold: SanctionAction | None,
    pred: SanctionAction | None,
    where: Where,
    text: str | None,
) -> TargetAlignment:
    """Score every field of an action pair; one side None for an unmatched action."""
    paired = gold is not None and pred is not None

    def get(action: SanctionAction | None, name: str, default: Any = None) -> Any:
        return getattr(action, name) if action is not None else default

    scalar(tally, AUTHORITY, code(get(gold, "authority")), code(get(pred, "authority")), where, paired=paired)
    issuer(tally, ISSUER, (get(gold, "issuer"), get(gold, "authority")), (get(pred, "issuer"), get(pred, "authority")),
           where, paired=paired)
    scalar(tally, ACTION, get(gold, "action"), get(pred, "action"), where, paired=paired)
    flag(
        tally,
        COUNTERMEASURE,
        get(gold, "is_countermeasure"),
        get(pred, "is_countermeasure"),
        where,
        paired=paired,
    )
    code_set(
        tally,
        MEASURES,
        get(gold, "measures", []),
        get(pred, "measures", []),
        where,
        normalize=measure,
        paired=paired,
    )
    targets = _score_targets(
        tally, get(gold, "targets", []), get(pred, "targets", []), where, paired=paired, text=text
    )
    code_set(
        tally,
        TARGET_COUNTRIES,
        get(gold, "target_countries", []),
        get(pred, "target_countries", []),
        where,
        normalize=code,
        paired=paired,
    )
    scalar(tally, TARGET_COUNT, get(gold, "target_count"), get(pred, "target_count"), where, paired=paired)
    text_list(
        tally, LEGAL_BASIS, get(gold, "legal_basis", []), get(pred, "legal_basis", []), where, paired=paired
    )
    text_list(tally, REASONS, get(gold, "reasons", []), get(pred, "reasons", []), where, paired=paired)
    scalar(tally, DATE, get(gold, "date"), get(pred, "date"), where, paired=paired, equal=date_matches)
    code_set(
        tally,
        COORDINATED_WITH,
        get(gold, "coordinated_with", []),
        get(pred, "coordinated_with", []),
        where,
        normalize=code,
        paired=paired,
    )
    return targets


def score_document(gold: ArticleExtraction, pred: Prediction, text: str | None = None) -> DocScore:
    """Score one predicted extraction against its gold.

    `pred` that is not an `ArticleExtraction` (None or a failure marker) is a failed
    extraction. `text`, when given, lets the scorer flag predicted target names that occur
    nowhere in the document as hallucinated.
    """
    failed = is_failure(pred)
    prediction = (
        pred
        if isinstance(pred, ArticleExtraction)
        else ArticleExtraction(article_id=gold.article_id, is_sanctions_news=False, actions=[])
    )
    # Only predicted target names are looked up in the text: without any, skip reducing it.
    has_names = any(action.targets for action in prediction.actions)
    norm_text = normalized_text(text) if text is not None and has_names else None
    tally = Tally(FIELD_PATHS)

    flag(tally, IS_NEWS, gold.is_sanctions_news, prediction.is_sanctions_news, Where())
    actions = align_actions(gold.actions, prediction.actions)
    if not gold.actions and not prediction.actions:
        tally.abstain(ACTIONS)
    targets: dict[tuple[int, int], TargetAlignment] = {}
    for g, p, _ in actions.pairs:
        tally.hit(ACTIONS)
        targets[(g, p)] = _score_action(tally, gold.actions[g], prediction.actions[p], Where(g, p), norm_text)
    for g in actions.gold_only:
        tally.missing(ACTIONS, _summary(gold.actions[g]), Where(gold_action=g))
        _score_action(tally, gold.actions[g], None, Where(gold_action=g), norm_text)
    for p in actions.pred_only:
        tally.hallucinated(ACTIONS, _summary(prediction.actions[p]), Where(pred_action=p))
        _score_action(tally, None, prediction.actions[p], Where(pred_action=p), norm_text)

    views = Tally(VIEW_PATHS)
    score_views(views, gold, prediction, norm_text)
    return DocScore(
        article_id=gold.article_id,
        failed=failed,
        fields=tally.counts,
        views=views.counts,
        errors=tally.errors,
        view_errors=views.errors,
        actions=actions,
        targets=targets,
    )
