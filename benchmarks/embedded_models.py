"""Which embedded model: the candidates measured on the two seed articles against their gold.

For each packaged GGUF model: schema-valid answers, micro-F1 against the seed gold files,
latency and generation speed. Run: `.venv/bin/python benchmarks/embedded_models.py`.
No cache is used, so every number is a fresh generation. The models answer the schema
themselves (guided reading off, as `EXTRACTOR_GUIDED_READING=off`): the default reads by rules
and would give every model the same answers.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from extractor import ExtractionFailed, Extractor, Settings
from extractor.core.backends.embedded import MODELS
from extractor.eval.goldset import load_gold_set
from extractor.eval.scoring import score_corpus

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ["000_80d2deb23aa53b94", "003_fa7d954e684493c1"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prompt", action="append", help="prompt id(s); default sanctions@v1 and sanctions@v3")
    args = parser.parse_args()
    prompts = args.prompt or ["sanctions@v1", "sanctions@v3"]
    gold_set = load_gold_set(ROOT / "evals" / "gold", ROOT / "evals" / "docs")
    golds = {i: gold_set.gold[i] for i in SEEDS}
    # out tok/s divides output tokens by the whole call time, prompt processing included.
    print(f"{'model':<10} {'prompt':<14} {'valid':>6} {'micro F1':>9} {'latency s':>10} {'out tok/s':>10}")
    for key in MODELS:
        for prompt in prompts:
            settings = Settings(model=f"embedded:{key}", cache=False, guided_reading=False)
            extractor = Extractor(settings, prompt=prompt)
            preds: dict = {}
            latency, out_tokens = 0.0, 0
            for doc_id in SEEDS:
                started = time.perf_counter()
                try:
                    result = extractor.extract_document(gold_set.documents[doc_id])
                except ExtractionFailed:
                    preds[doc_id] = None
                else:
                    preds[doc_id] = result
                    out_tokens += result.meta.usage.completion_tokens
                latency += time.perf_counter() - started
            score = score_corpus(golds, preds, n_boot=200)
            valid = sum(p is not None for p in preds.values())
            f1 = score.micro.f1 or 0.0
            rate = out_tokens / latency if latency else 0.0
            mean = latency / len(SEEDS)
            print(f"{key:<10} {prompt:<14} {valid:>4}/{len(SEEDS)} {f1:>9.3f} {mean:>10.1f} {rate:>10.1f}")


if __name__ == "__main__":
    main()
