"""The field paths the scorer reports, and which of them form the headline.

Paths name schema fields: `actions[]` is any action, `[]` after a list field is any item of
it. `actions` itself is the action level: a matched (gold, predicted) action pair is one TP.
`actions[].targets[].name` is the lenient name match; `actions[].targets[].name@strict` the
strict one. The target sub-fields (`entity_type`, `country`, `role`) are scored on targets
matched leniently by name.

Headline (`HEADLINE_FIELDS`): every action-level path, that is all of `FIELD_PATHS` except
`is_sanctions_news` (a document-level classification, reported on its own) and
`actions[].targets[].name@strict` (a stricter duplicate of the lenient name field). The
headline micro-F1 sums TP/FP/FN over these 16 paths and over all documents; the macro-F1 is
the mean F1 of the same 16 paths.

Document views (`VIEW_PATHS`) do not depend on how actions are grouped and are outside the
headline: `doc.target_names` (set of target names in the document, lenient match),
`doc.authorities` (set of authority codes), `doc.tuples` ((authority, target, measure)
tuples; see `views`).
"""

from __future__ import annotations

IS_NEWS = "is_sanctions_news"
ACTIONS = "actions"
AUTHORITY = "actions[].authority"
ISSUER = "actions[].issuer"
ACTION = "actions[].action"
COUNTERMEASURE = "actions[].is_countermeasure"
MEASURES = "actions[].measures[]"
TARGET_NAME = "actions[].targets[].name"
TARGET_NAME_STRICT = "actions[].targets[].name@strict"
ENTITY_TYPE = "actions[].targets[].entity_type"
TARGET_COUNTRY = "actions[].targets[].country"
ROLE = "actions[].targets[].role"
TARGET_COUNTRIES = "actions[].target_countries[]"
TARGET_COUNT = "actions[].target_count"
LEGAL_BASIS = "actions[].legal_basis[]"
REASONS = "actions[].reasons[]"
DATE = "actions[].date"
COORDINATED_WITH = "actions[].coordinated_with[]"

FIELD_PATHS: tuple[str, ...] = (
    IS_NEWS,
    ACTIONS,
    AUTHORITY,
    ISSUER,
    ACTION,
    COUNTERMEASURE,
    MEASURES,
    TARGET_NAME,
    TARGET_NAME_STRICT,
    ENTITY_TYPE,
    TARGET_COUNTRY,
    ROLE,
    TARGET_COUNTRIES,
    TARGET_COUNT,
    LEGAL_BASIS,
    REASONS,
    DATE,
    COORDINATED_WITH,
)

HEADLINE_FIELDS: tuple[str, ...] = tuple(p for p in FIELD_PATHS if p not in (IS_NEWS, TARGET_NAME_STRICT))

FREE_TEXT_FIELDS: tuple[str, ...] = (ISSUER, ROLE, LEGAL_BASIS, REASONS)
"""Scored by token F1 with fractional credit (see `tally`)."""

VIEW_TARGET_NAMES = "doc.target_names"
VIEW_AUTHORITIES = "doc.authorities"
VIEW_TUPLES = "doc.tuples"
VIEW_PATHS: tuple[str, ...] = (VIEW_TARGET_NAMES, VIEW_AUTHORITIES, VIEW_TUPLES)
