"""Cost of grounded decoding: the embedded model under the plain schema and under the per-document one.

For each document: candidate extraction time, enum sizes, grammar size and build time, then one
greedy completion of the single-call prompt with each schema (tokens, seconds, tokens/s).
Run: `.venv/bin/python benchmarks/grounded_grammar.py [FILES...]` (default: the two seeds).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from llama_cpp.llama_grammar import json_schema_to_gbnf  # noqa: E402

from extractor import Extractor, Settings  # noqa: E402
from extractor.core.documents import make_document  # noqa: E402
from extractor.core.grounding.candidates import find_candidates  # noqa: E402
from extractor.core.grounding.decoding import grounded_answer_model  # noqa: E402


def complete(extractor: Extractor, messages: list[dict[str, str]], schema: dict) -> tuple[int, float]:
    backend = extractor.backend
    started = time.perf_counter()
    completion = backend.create(
        messages=messages,
        response_format={"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}},
        **extractor.params(),
    )
    return completion.usage.completion_tokens, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--prompt", default="sanctions@v3")
    args = parser.parse_args()
    files = args.files or sorted((ROOT / "seeds").glob("*.txt"))
    extractor = Extractor(Settings(model="embedded", cache=False, guided_reading=False), prompt=args.prompt)
    find_candidates("Warm up rigour's territory index: United States.")  # its first lookup loads the index
    print("| document | names | evidence | grammar chars | build s | plain tok | plain s | plain tok/s | "
          "grounded tok | grounded s | grounded tok/s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for path in files:
        document = make_document(path.read_text(encoding="utf-8"), article_id=path.stem)
        started = time.perf_counter()
        found = find_candidates(document.text, document.published)
        model = grounded_answer_model(document, extractor.response_model)
        schema = model.model_json_schema()
        grammar = json_schema_to_gbnf(json.dumps(schema))
        build = time.perf_counter() - started
        messages = extractor.messages(document)
        plain_tokens, plain_s = complete(extractor, messages, extractor.json_schema)
        tokens, seconds = complete(extractor, messages, schema)
        print(f"| {path.stem} | {len(found.names)} | {len(found.evidence)} | {len(grammar)} | {build:.2f} | "
              f"{plain_tokens} | {plain_s:.1f} | {plain_tokens / plain_s:.1f} | {tokens} | {seconds:.1f} | "
              f"{tokens / seconds:.1f} |", flush=True)


if __name__ == "__main__":
    main()
