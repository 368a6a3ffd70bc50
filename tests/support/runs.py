"""Run directories made from the gold set by seeded damage: several prompts × models without a model.

Each "model" keeps a share of the gold answers (`keep`); the rest is lost in ways a model
loses it: a missed action, a missed target, a wrong date, an invented action, a failed call.
Versions of a prompt differ in `keep` too, so a grid of them has clear and unclear
differences. Deterministic for a given seed.
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Any

from extractor.core.schema import SCHEMA_VERSION, schema_hash
from extractor.eval.goldset import GoldSet

MODELS = {"gpt-4o-mini": 0.9, "qwen2.5-7b": 0.7}
PROMPTS = {"sanctions@v1": -0.25, "sanctions@v2": -0.1, "sanctions@v3": 0.0}


def _damaged(gold: dict[str, Any], keep: float, rng: random.Random) -> dict[str, Any] | None:
    """The gold answer with a share of it lost; None for a failed call."""
    if rng.random() < (1 - keep) * 0.12:
        return None
    actions = []
    for action in gold["actions"]:
        if rng.random() < (1 - keep) * 0.5:
            continue  # a missed action
        action = dict(action)
        action["targets"] = [t for t in action.get("targets", []) if rng.random() < keep]
        if action.get("date") and rng.random() > keep:
            action["date"] = None
        if action.get("reasons") and rng.random() > keep:
            action["reasons"] = [" ".join(r.split()[: max(1, len(r.split()) // 2)]) for r in action["reasons"]]
        actions.append(action)
    if rng.random() < (1 - keep) * 0.4:  # an invented action
        actions.append({"authority": "ru", "action": "impose", "measures": [], "targets": [], "evidence": []})
    return {"article_id": gold["article_id"], "is_sanctions_news": bool(actions), "actions": actions}


def make_run(gold_set: GoldSet, out: Path, prompt_id: str, model: str, *, seed: int) -> Path:
    """A run directory `out` with predictions.jsonl for `prompt_id` on `model`."""
    keep = max(0.05, min(1.0, MODELS.get(model, 0.8) + PROMPTS.get(prompt_id, 0.0)))
    rng = random.Random(f"{seed}:{prompt_id}:{model}")
    meta = {"prompt_id": prompt_id, "prompt_hash": hashlib.sha256(prompt_id.encode()).hexdigest()[:12],
            "model": model, "backend": "openai", "schema_version": SCHEMA_VERSION, "schema_hash": schema_hash(),
            "usage": {"prompt_tokens": 2000, "completion_tokens": 300, "total_tokens": 2300}}
    out.mkdir(parents=True, exist_ok=True)
    lines = []
    for doc_id in gold_set.ids:
        gold = gold_set.gold[doc_id].model_dump(mode="json", exclude={"notes"})
        answer = _damaged(gold, keep, rng)
        if answer is None:
            error = {"type": "ExtractionFailed", "message": f"{doc_id}: no schema-valid answer"}
            lines.append({"article_id": doc_id, "error": error, "meta": meta})
        else:
            lines.append({**answer, "meta": meta})
    (out / "predictions.jsonl").write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines),
                                           encoding="utf-8")
    return out
