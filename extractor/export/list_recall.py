"""List recall, an eval view: which gold and which predicted targets are on a sanctions list.

For each document whose gold has targets, gold and predicted targets are matched against the
list. A gold target on the list is *recalled* when a predicted target of the same document is
matched to the same list entry, so "recall of listed targets" reads next to F1 without any
name alignment of its own: the list entry is the identity.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from extractor.core.schema import ArticleExtraction

from .matching import Matcher
from .screening import distinct_targets

LIST_RECALL = "list_recall.json"


def _listed(matcher: Matcher, result: ArticleExtraction) -> dict[str, str]:
    """List entry id → the target name that matched it, for the result's listed targets."""
    found: dict[str, str] = {}
    for target, _actions in distinct_targets(result):
        match = matcher.match(target)
        if match.listed and match.best is not None:
            found.setdefault(match.best.entry_id, target.name)
    return found


def list_recall(
    matcher: Matcher, gold: dict[str, ArticleExtraction], predictions: dict[str, Any]
) -> dict[str, Any]:
    """Per-document and total counts of listed gold targets, listed predicted targets and recalled ones.

    `predictions` maps article ids to results; failures (anything not an `ArticleExtraction`)
    count as documents with no predicted targets.
    """
    documents = []
    totals: dict[str, int] = {"documents": 0, "gold_targets": 0, "gold_listed": 0, "predicted_listed": 0, "recalled": 0}
    for doc_id in sorted(gold):
        expected = gold[doc_id]
        if not any(action.targets for action in expected.actions):
            continue
        gold_listed = _listed(matcher, expected)
        predicted = predictions.get(doc_id)
        failed = not isinstance(predicted, ArticleExtraction)
        predicted_listed = _listed(matcher, predicted) if isinstance(predicted, ArticleExtraction) else {}
        recalled = sorted(set(gold_listed) & set(predicted_listed))
        row: dict[str, Any] = {
            "article_id": doc_id,
            "failed": failed,
            "gold_targets": len(distinct_targets(expected)),
            "gold_listed": len(gold_listed),
            "predicted_listed": len(predicted_listed),
            "recalled": len(recalled),
            "missed": sorted(gold_listed[e] for e in set(gold_listed) - set(predicted_listed)),
            "listed_not_in_gold": sorted(predicted_listed[e] for e in set(predicted_listed) - set(gold_listed)),
        }
        documents.append(row)
        totals["documents"] += 1
        for key in ("gold_targets", "gold_listed", "predicted_listed", "recalled"):
            totals[key] += row[key]
    recall = totals["recalled"] / totals["gold_listed"] if totals["gold_listed"] else None
    precision = totals["recalled"] / totals["predicted_listed"] if totals["predicted_listed"] else None
    return {
        "list": matcher.list_name,
        "source": matcher.index.source,
        "threshold": matcher.threshold,
        "recall_listed": recall,
        "precision_listed": precision,
        "totals": totals,
        "documents": documents,
    }


def write_list_recall(report: dict[str, Any], run_dir: Path) -> Path:
    """Write `list_recall.json` into the run directory."""
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / LIST_RECALL
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
