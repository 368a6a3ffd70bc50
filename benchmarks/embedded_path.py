"""The embedded path against raw llama.cpp: tokens/s of `extract` vs `create_chat_completion` on a seed.

Both get the same messages and the same JSON schema (llama.cpp grammar); the model is loaded
once, before anything is timed, and shared (the pipeline reuses the process's loaded model).
Cache off, guided reading off (the model answers). Prints one table; run from the repository root:

    python benchmarks/embedded_path.py [SEED.txt] [--runs 2]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from extractor import Extractor, Settings
from extractor.core.documents import Document

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("seed", nargs="?", type=Path, default=ROOT / "seeds" / "000_80d2deb23aa53b94.txt")
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    document = Document(id=args.seed.stem, text=args.seed.read_text(encoding="utf-8"))
    extractor = Extractor(Settings(model="embedded", cache=False, guided_reading=False), prompt="sanctions@v3")
    backend = extractor.backend
    started = time.perf_counter()
    llama = backend._llama  # type: ignore[attr-defined]  # the load, timed apart
    load_s = time.perf_counter() - started
    messages = extractor.messages(document)
    schema = extractor.answer_model_for(document).model_json_schema()

    def raw() -> tuple[float, int]:
        t = time.perf_counter()
        out = llama.create_chat_completion(messages=messages, response_format={"type": "json_object", "schema": schema},
                                           temperature=0.0, max_tokens=extractor.max_tokens, seed=0)
        return time.perf_counter() - t, int(out["usage"]["total_tokens"])

    def pipeline() -> tuple[float, int]:
        t = time.perf_counter()
        result = extractor.extract_document(document)
        return time.perf_counter() - t, int(result.meta.usage.total_tokens)

    rows = []
    raw()  # warm-up: the shared prefix is now in llama.cpp's context
    for cache in ("prefix cached", "cold context"):
        for name, run in (("raw llama.cpp", raw), ("extract (pipeline)", pipeline)):
            samples = []
            for _ in range(args.runs):
                if cache == "cold context":
                    llama.reset()  # forget the evaluated prefix: the whole prompt is read again
                samples.append(run())
            best = min(samples)
            rows.append((cache, name, best[0], best[1]))
    print(f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; model load {load_s:.2f} s (once per process, "
          "not in any row)")
    print("| context | path | seconds (best of runs) | tokens | tokens/s |")
    print("|---|---|--:|--:|--:|")
    for cache, name, seconds, tokens in rows:
        print(f"| {cache} | {name} | {seconds:.2f} | {tokens} | {tokens / seconds:.0f} |")
    for i in (0, 2):
        print(f"{rows[i][0]}: pipeline / raw {rows[i + 1][2] / rows[i][2]:.2f}x")


if __name__ == "__main__":
    main()
