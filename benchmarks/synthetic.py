"""Synthetic evaluation corpora: unique documents, gold and predictions built from the real gold set.

Every synthetic document starts from one of the hand-labelled gold documents and becomes
unique in three ways, so that no cache (rigour's, the scorer's, the grounding memo) can hide
a per-document cost:

- every target name and alias is replaced by a generated name, the same way in the gold, the
  prediction and the text (so names still occur in the text and still match);
- the sentences of the text are shuffled (evidence quotes stay whole sentences);
- a reference line with the document number is added.

Predictions come from the committed eval runs (real model output, renamed the same way) or
are perturbed copies of the gold (targets dropped, names misspelt, a measure or an authority
changed), so the scorer meets matches, near misses and hallucinations in realistic shares.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
GOLD_DIR = ROOT / "evals" / "gold"
DOCS_DIR = ROOT / "evals" / "docs"
RUNS = [ROOT / "evals" / "runs" / name / "predictions.jsonl" for name in ("smollm2-v1", "smollm2-v2", "smollm2-v3")]

_SYLLABLES = ["ka", "lo", "mir", "zan", "tor", "vel", "ash", "qui", "ren", "dov", "sol", "bek", "nar", "ul", "fen",
              "gri", "hal", "jun", "pra", "sek", "tam", "wes", "yor", "zel", "ost", "ima", "cor", "dru", "ev", "lin"]
_ORG_SUFFIX = ["Trading LLC", "Shipping Co.", "Holdings Ltd", "Industries", "Bank", "Group"]
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class Item:
    """One synthetic document: its id, text, gold (a dict in GoldFile form) and prediction line."""

    doc_id: str
    text: str
    gold: dict[str, Any]
    prediction: dict[str, Any]


def _load_base() -> list[tuple[dict[str, Any], str, list[dict[str, Any]]]]:
    """The gold files, their texts and every committed prediction of each."""
    runs: dict[str, list[dict[str, Any]]] = {}
    for path in RUNS:
        if not path.exists():
            continue
        for raw in path.read_text(encoding="utf-8").splitlines():
            line = json.loads(raw)
            if "error" not in line:
                runs.setdefault(line["article_id"], []).append(line)
    base = []
    for gold_path in sorted(GOLD_DIR.glob("*.json")):
        gold = json.loads(gold_path.read_text(encoding="utf-8"))
        text = (DOCS_DIR / f"{gold_path.stem}.txt").read_text(encoding="utf-8")
        base.append((gold, text, runs.get(gold_path.stem, [])))
    return base


def _fresh_name(rng: random.Random, entity_type: str, number: int) -> str:
    words = ["".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3))).title() for _ in range(2)]
    name = " ".join(words)
    if entity_type in ("organization", "company", "vessel", "organisation"):
        name = f"{words[0]} {rng.choice(_ORG_SUFFIX)}"
    # The number keeps names unique across the corpus, spelt as letters so tokenisers keep it.
    return f"{name} {_letters(number)}"


def _letters(number: int) -> str:
    out = ""
    number += 26
    while number:
        number, rest = divmod(number, 26)
        out = chr(ord("a") + rest) + out
    return out.title()


def _rename_map(gold: dict[str, Any], rng: random.Random, number: int) -> dict[str, str]:
    names: dict[str, str] = {}
    for action in gold.get("actions", []):
        for target in action.get("targets", []):
            for form in [target["name"], *target.get("aliases", [])]:
                if form and form not in names and len(form) > 2:
                    names[form] = _fresh_name(rng, target.get("entity_type", ""), number * 1000 + len(names))
    return names


def _apply(value: str, names: dict[str, str], pattern: re.Pattern[str] | None) -> str:
    if pattern is None:
        return value
    return pattern.sub(lambda m: names[m.group(0)], value)


def _rename(obj: Any, names: dict[str, str], pattern: re.Pattern[str] | None) -> Any:
    if isinstance(obj, str):
        return _apply(obj, names, pattern)
    if isinstance(obj, list):
        return [_rename(v, names, pattern) for v in obj]
    if isinstance(obj, dict):
        return {k: (v if k in ("article_id", "meta") else _rename(v, names, pattern)) for k, v in obj.items()}
    return obj


def _perturb(gold: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """A plausible model answer: the gold with some values dropped, misspelt or changed."""
    pred = json.loads(json.dumps(gold))
    pred.pop("notes", None)
    for action in pred.get("actions", []):
        targets = action.get("targets", [])
        action["targets"] = [t for t in targets if rng.random() > 0.2]
        for target in action["targets"]:
            target.pop("aliases", None)
            if rng.random() < 0.15 and len(target["name"]) > 6:  # one letter dropped: a near miss
                cut = rng.randrange(1, len(target["name"]) - 1)
                target["name"] = target["name"][:cut] + target["name"][cut + 1 :]
            if rng.random() < 0.3:
                target["role"] = None
        if rng.random() < 0.2 and action.get("measures"):
            action["measures"] = action["measures"][:-1]
        if rng.random() < 0.1:
            action["authority"] = "eu" if action.get("authority") != "eu" else "us"
        if rng.random() < 0.3:
            action["reasons"] = action.get("reasons", [])[:1]
    return pred


def _shuffled(text: str, rng: random.Random, number: int) -> str:
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    head, body = paragraphs[:1], paragraphs[1:]
    sentences = [s for p in body for s in _SENTENCE.split(p.strip()) if s]
    rng.shuffle(sentences)
    size = max(1, len(sentences) // max(1, len(body)))
    regrouped = [" ".join(sentences[i : i + size]) for i in range(0, len(sentences), size)]
    return "\n\n".join([*head, *regrouped, f"Reference SYN-{number:07d}."])


def generate(n: int, *, seed: int = 0, model_share: float = 0.5) -> Iterator[Item]:
    """`n` unique synthetic documents; `model_share` of predictions come from committed runs."""
    base = _load_base()
    rng = random.Random(seed)
    for number in range(n):
        gold, text, committed = base[number % len(base)]
        names = _rename_map(gold, rng, number)
        pattern = re.compile("|".join(map(re.escape, sorted(names, key=len, reverse=True)))) if names else None
        doc_id = f"syn-{number:07d}"
        new_gold = {**_rename(gold, names, pattern), "article_id": doc_id}
        if committed and rng.random() < model_share:
            line = rng.choice(committed)
            prediction = {**_rename(line, names, pattern), "article_id": doc_id, "meta": {}}
        else:
            prediction = {**_perturb(new_gold, rng), "article_id": doc_id, "meta": {}}
        yield Item(doc_id, _shuffled(_apply(text, names, pattern), rng, number), new_gold, prediction)


def write_corpus(out: Path, n: int, *, seed: int = 0) -> tuple[Path, Path, Path]:
    """Write gold/, docs/ and predictions.jsonl for `n` synthetic documents under `out`."""
    gold_dir, docs_dir, predictions = out / "gold", out / "docs", out / "predictions.jsonl"
    gold_dir.mkdir(parents=True, exist_ok=True)
    docs_dir.mkdir(parents=True, exist_ok=True)
    with predictions.open("w", encoding="utf-8") as sink:
        for item in generate(n, seed=seed):
            (gold_dir / f"{item.doc_id}.json").write_text(json.dumps(item.gold, ensure_ascii=False), encoding="utf-8")
            (docs_dir / f"{item.doc_id}.txt").write_text(item.text, encoding="utf-8")
            sink.write(json.dumps(item.prediction, ensure_ascii=False) + "\n")
    return gold_dir, docs_dir, predictions


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Write a synthetic eval corpus (gold/, docs/, predictions.jsonl).")
    parser.add_argument("out", type=Path)
    parser.add_argument("-n", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(*write_corpus(args.out, args.n, seed=args.seed), sep="\n")
