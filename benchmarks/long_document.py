"""A 200,000-word document through chunking, extraction and merge: time and peak memory.

The model is the local fake OpenAI server from the tests (instant answers), so the table
measures the pipeline itself: splitting, prompts, validation, merging and grounding.
Run: `.venv/bin/python benchmarks/long_document.py [--words 200000]`.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from extractor import Extractor, Settings
from extractor.testing.fake_openai import FakeOpenAI

PARAGRAPH = ("The committee reviewed trade figures, shipping schedules and port calls for the quarter. " * 10).strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--words", type=int, default=200_000)
    args = parser.parse_args()
    per_paragraph = len(PARAGRAPH.split())
    text = "Treasury sanctioned Acme Shipping.\n\n" + "\n\n".join([PARAGRAPH] * (args.words // per_paragraph))
    print(f"{'words':>8} {'chars':>10} {'context':>8} {'chunks':>7} {'seconds':>8} {'peak RSS MB':>12}")
    for context in (8192, 32768):
        with FakeOpenAI() as fake, tempfile.TemporaryDirectory() as cache:
            settings = Settings(model="m", base_url=fake.base_url, api_key="k", cache_dir=Path(cache),
                                context_tokens=context, max_tokens=2048)
            extractor = Extractor(settings, prompt="sanctions@v3")
            started = time.perf_counter()
            result = extractor.extract(text, article_id="long")
            seconds = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        words, chunks = len(text.split()), result.meta.chunks
        print(f"{words:>8} {len(text):>10} {context:>8} {chunks:>7} {seconds:>8.1f} {peak:>12.0f}")


if __name__ == "__main__":
    main()
