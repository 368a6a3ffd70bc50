"""Can the packaged model answer short questions? Its yes-probability against the gold set, as an AUC.

The guided reading of the embedded default (`extractor/core/calls/guided.py`) could ask the
model one short question at a time. This measures whether the answers would carry any signal,
on the 30 gold documents:

- **targets**: for each name the reading finds (in a target's place, and the other names of
  the sentences that report actions, at most 12 per document), "does this sentence say that
  NAME was sanctioned or designated?"; a name is positive when the gold lists it (or an alias);
- **screen**: for each document (its first 1,500 characters), "does this article report that
  a government imposed, lifted or changed sanctions?"; positive when the gold says
  `is_sanctions_news`.

P(yes) is read from the first generated token's log-probabilities (yes against no), and the
AUC says how well it ranks positives above negatives (0.5 is chance). One answer token per
question, temperature 0. Run: `.venv/bin/python benchmarks/embedded_questions.py [--model smollm2]`
(about 7 minutes for SmolLM2 on 2 cores; Gemma's 262k-token vocabulary makes it far slower).
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path
from typing import Any

from extractor.core.backends.embedded import MODELS
from extractor.core.reading.frame import read
from extractor.eval.goldset import load_gold_set
from extractor.eval.scoring.normalize import token_key

ROOT = Path(__file__).resolve().parent.parent
PER_DOCUMENT = 12


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="smollm2", choices=list(MODELS))
    args = parser.parse_args()
    from llama_cpp import Llama

    path = MODELS[args.model].path(Path(tempfile.gettempdir()) / "extractor-bench" / "cache")
    llama = Llama(model_path=str(path), n_ctx=4096, logits_all=True, verbose=False)

    def p_yes(user: str) -> float:
        out: Any = llama.create_chat_completion(
            messages=[{"role": "system", "content": "Answer yes or no."}, {"role": "user", "content": user}],
            max_tokens=1, logprobs=True, top_logprobs=20, temperature=0)
        top = out["choices"][0]["logprobs"]["content"][0]["top_logprobs"]
        found = {t["token"].strip().lower(): t["logprob"] for t in top}
        yes, no = math.exp(found.get("yes", -30.0)), math.exp(found.get("no", -30.0))
        return yes / (yes + no)

    gold_set = load_gold_set(ROOT / "evals" / "gold", ROOT / "evals" / "docs")
    targets: list[tuple[float, bool]] = []
    screen: list[tuple[float, bool]] = []
    started = time.perf_counter()
    for _, gold, document in gold_set.items():
        keys = {token_key(n) for a in gold.actions for t in a.targets for n in (t.name, *t.aliases)}
        reading = read(document)
        asked = [(t.name, a.evidence[0] if a.evidence else "") for a in reading.actions for t in a.targets]
        asked += [(m.name, m.sentence) for m in reading.mentions]
        for name, sentence in asked[:PER_DOCUMENT]:
            question = (f"Sentence: {sentence}\nQuestion: does this sentence say that {name} was sanctioned or "
                        "designated? Answer yes or no.")
            targets.append((p_yes(question), token_key(name) in keys))
        question = (f"Article:\n{document.text[:1500]}\n\nQuestion: does this article report that a government "
                    "imposed, lifted or changed sanctions? Answer yes or no.")
        screen.append((p_yes(question), gold.is_sanctions_news))
    print(f"model {args.model}, {time.perf_counter() - started:.0f} s")
    print(f"{'question':<10} {'positives':>9} {'negatives':>9} {'AUC':>6} {'mean P(yes) pos / neg':>22}")
    for label, rows in (("targets", targets), ("screen", screen)):
        pos = [p for p, truth in rows if truth]
        neg = [p for p, truth in rows if not truth]
        pairs = len(pos) * len(neg)
        auc = sum((a > b) + 0.5 * (a == b) for a in pos for b in neg) / pairs if pairs else float("nan")
        means = f"{sum(pos) / max(len(pos), 1):.2f} / {sum(neg) / max(len(neg), 1):.2f}"
        print(f"{label:<10} {len(pos):>9} {len(neg):>9} {auc:>6.3f} {means:>22}")


if __name__ == "__main__":
    main()
