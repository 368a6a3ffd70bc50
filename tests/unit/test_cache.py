"""Cache keys: every part that changes the answer changes the key; only valid answers are stored."""

from __future__ import annotations

import multiprocessing

import pytest

from extractor import ExtractionFailed, Extractor, Settings
from extractor.core.cache.disk import ResultCache
from extractor.core.cache.keys import cache_key
from extractor.testing.fake_openai import VALID_ANSWER, completion

BASE = {
    "backend": {"backend": "openai", "model": "m", "base_url": "http://x/v1", "mode": "json_schema"},
    "messages": [{"role": "user", "content": "hi"}],
    "schema": {"type": "object"},
    "params": {"temperature": 0.0, "max_tokens": 100},
    "prompt_hash": "abc",
}


@pytest.mark.parametrize("part,changed", [
    ("backend", {"backend": "openai", "model": "m2", "base_url": "http://x/v1", "mode": "json_schema"}),
    ("backend", {"backend": "openai", "model": "m", "base_url": "http://y/v1", "mode": "json_schema"}),
    ("backend", {"backend": "embedded", "model": "m", "weights": "1"}),
    ("messages", [{"role": "user", "content": "hi!"}]),
    ("schema", {"type": "object", "maxItems": 2}),
    ("params", {"temperature": 0.5, "max_tokens": 100}),
    ("prompt_hash", "abd"),
])
def test_any_key_part_changes_the_key(part, changed):
    assert cache_key(**{**BASE, part: changed}) != cache_key(**BASE)


def test_key_is_stable():
    assert cache_key(**BASE) == cache_key(**dict(reversed(list(BASE.items()))))


def test_repeat_hits_and_refresh_and_no_cache(fake, tmp_path):
    settings = Settings.from_env(model="m", base_url=fake.base_url, cache_dir=tmp_path / "c")
    first = Extractor(settings).extract("Treasury sanctioned Acme Shipping.", article_id="d")
    second = Extractor(settings).extract("Treasury sanctioned Acme Shipping.", article_id="d")
    assert (first.meta.cache_hit, second.meta.cache_hit) == (False, True)
    assert second.model_dump() == first.model_dump()
    assert second.meta.usage.total_tokens == 0
    assert len(fake.chat_requests()) == 1
    Extractor(settings.with_(refresh=True)).extract("Treasury sanctioned Acme Shipping.", article_id="d")
    Extractor(settings.with_(cache=False)).extract("Treasury sanctioned Acme Shipping.", article_id="d")
    assert len(fake.chat_requests()) == 3
    other = Extractor(settings, prompt="sanctions@v1").extract("Another article.", article_id="d")
    assert other.meta.cache_hit is False


def test_errors_are_not_cached(fake, tmp_path):
    fake.default = completion('{"is_sanctions_news": 3}')
    settings = Settings.from_env(model="m", base_url=fake.base_url, cache_dir=tmp_path / "c", validation_retries=0)
    with pytest.raises(ExtractionFailed):
        Extractor(settings).extract("Some text.", article_id="e")
    assert ResultCache(tmp_path / "c").stats()["entries"] == 0
    fake.default = completion(VALID_ANSWER)
    assert Extractor(settings).extract("Some text.", article_id="e").meta.cache_hit is False


def _writer(directory: str, start: int) -> None:
    cache = ResultCache(directory)
    for i in range(start, start + 50):
        cache.set(f"k{i}", {"answer": {"is_sanctions_news": i % 2 == 0, "actions": []}, "usage": {"total_tokens": i}})


def test_several_processes_share_one_cache(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), n * 50)) for n in range(3)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
    cache = ResultCache(tmp_path)
    assert cache.stats()["entries"] == 150
    entry = cache.get("k120")
    assert entry is not None and entry["answer"].is_sanctions_news is True and entry["usage"] == {"total_tokens": 120}
    assert cache.clear() == 150
