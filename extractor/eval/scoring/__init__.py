"""Scoring of extractions against gold: per-item scoring, aggregation, statistics.

Modules, one concern each:

- `normalize`: reduce names, free text, codes, measures and dates before comparing;
- `match`: similarity of single values (strict and lenient names, token F1, Jaccard);
- `align`: optimal assignment of predicted to gold list items (actions, targets, lists);
- `tally`, `fields`: counting rules and the comparison rule for each kind of value;
- `paths`: the field paths, the headline set and the document views;
- `document`, `views`: the score of one document;
- `metrics`, `corpus`: precision, recall, F1, micro and macro aggregation over a corpus;
- `stats`, `compare`: bootstrap intervals, paired comparison of two runs, regression gate.

No model is called anywhere in scoring.
"""

from .align import MIN_ACTION_SIMILARITY
from .corpus import CorpusScore, score_corpus
from .document import DocScore, Prediction, is_failure, score_document
from .match import NAME_THRESHOLD, TEXT_THRESHOLD
from .metrics import Counts
from .paired import (
    Comparison,
    DocDelta,
    FieldDelta,
    compare_counts,
    compare_headlines,
    compare_runs,
    is_regression,
    regression,
)
from .paths import FIELD_PATHS, HEADLINE_FIELDS, VIEW_PATHS
from .stats import Interval, PairedDelta, SignTest, bootstrap_f1, holm, paired_bootstrap, sign_test
from .tally import ErrorItem

__all__ = [
    "FIELD_PATHS",
    "HEADLINE_FIELDS",
    "MIN_ACTION_SIMILARITY",
    "NAME_THRESHOLD",
    "TEXT_THRESHOLD",
    "VIEW_PATHS",
    "Comparison",
    "CorpusScore",
    "Counts",
    "DocDelta",
    "DocScore",
    "ErrorItem",
    "FieldDelta",
    "Interval",
    "PairedDelta",
    "Prediction",
    "SignTest",
    "bootstrap_f1",
    "compare_counts",
    "compare_headlines",
    "compare_runs",
    "holm",
    "is_failure",
    "is_regression",
    "paired_bootstrap",
    "regression",
    "score_corpus",
    "score_document",
    "sign_test",
]
