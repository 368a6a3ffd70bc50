"""The Redis result cache: same interface as the disk cache, chosen by EXTRACTOR_CACHE_URL."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from extractor import ExtractionFailed, Extractor, Settings
from extractor.cli import app
from extractor.core.cache import open_cache
from extractor.core.cache.disk import ResultCache
from extractor.core.errors import ConfigError
from extractor.testing.fake_openai import VALID_ANSWER, completion
from tests.support.redisserver import redis_server

redis = pytest.importorskip("redis", reason="the redis client is not installed (pip install -e '.[redis]')")
TEXT = "Treasury sanctioned Acme Shipping."


@pytest.fixture
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh redis-server on a free loopback port (skipped with the reason if it cannot start)."""
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


def test_interface_round_trip_stats_and_clear_only_own_keys(redis_url):
    cache = open_cache(Settings(cache_url=redis_url))
    assert cache is not None and type(cache).__name__ == "RedisCache"
    assert cache.get("k1") is None
    cache.set("k1", {"answer": {"is_sanctions_news": True, "actions": []}, "usage": {"total_tokens": 5}})
    cache.set("k2", {"answer": {"is_sanctions_news": False, "actions": []}, "usage": {}})
    got = cache.get("k1")
    assert got is not None and got["answer"].model_dump(mode="json") == {"is_sanctions_news": True, "actions": []}
    assert got["usage"] == {"total_tokens": 5}
    other = redis.Redis.from_url(redis_url)
    other.set("someone-else:key", "kept")
    stats = cache.stats()
    assert (stats["entries"], stats["hits"], stats["misses"]) == (2, 1, 1)
    assert stats["size_bytes"] > 50 and stats["url"] == redis_url
    assert cache.clear() == 2
    assert cache.stats()["entries"] == 0
    assert other.get("someone-else:key") == b"kept"
    # Stored as JSON, readable by any client: no pickles on a shared server.
    cache.set("k3", {"answer": {"is_sanctions_news": False, "actions": []}, "usage": {}, "incomplete": ["é"]})
    raw = other.get("sanctions-extractor:result:k3")
    assert json.loads(raw)["incomplete"] == ["é"]
    cache.close()


def test_entries_that_are_not_valid_answers_are_counted_misses(redis_url, fake, tmp_path):
    """Whoever can write the Redis server can plant anything: it is validated like a model's answer."""
    import pickle

    cache = open_cache(Settings(cache_url=redis_url))
    assert cache is not None
    cache.clear()
    other = redis.Redis.from_url(redis_url)
    other.set("sanctions-extractor:result:p", pickle.dumps({"answer": 1}))
    other.set("sanctions-extractor:result:bad", json.dumps({"answer": {"is_sanctions_news": 3}}))
    assert cache.get("p") is None and cache.get("bad") is None
    assert cache.stats()["rejected"] == 2
    # Through the pipeline: a planted invalid answer is a miss, the model is asked, the entry repaired.
    settings = Settings.from_env(model="m", base_url=fake.base_url, api_key="t", cache_url=redis_url,
                                 cache_dir=tmp_path / "disk")
    first = Extractor(settings).extract(TEXT, article_id="d")
    other.set("sanctions-extractor:result:" + first.meta.cache_key, json.dumps({"answer": {"actions": "x"}}))
    again = Extractor(settings).extract(TEXT, article_id="d")
    assert again.meta.cache_hit is False and again.model_dump() == first.model_dump()
    assert Extractor(settings).extract(TEXT, article_id="d").meta.cache_hit is True
    cache.close()


def test_env_selects_redis_and_second_extractor_is_served_from_it(redis_url, fake, tmp_path, monkeypatch):
    monkeypatch.setenv("EXTRACTOR_CACHE_URL", redis_url)
    settings = Settings.from_env(model="m", base_url=fake.base_url, api_key="t", cache_dir=tmp_path / "disk")
    assert settings.cache_url == redis_url
    first = Extractor(settings).extract(TEXT, article_id="d")
    second = Extractor(settings).extract(TEXT, article_id="d")
    assert (first.meta.cache_hit, second.meta.cache_hit) == (False, True)
    assert second.model_dump() == first.model_dump()
    assert len(fake.chat_requests()) == 1
    # Nothing went to the disk cache.
    assert ResultCache(tmp_path / "disk").stats()["entries"] == 0


def test_errors_are_never_cached(redis_url, fake, tmp_path):
    settings = Settings.from_env(model="m", base_url=fake.base_url, api_key="t", cache_url=redis_url,
                                 validation_retries=0)
    fake.default = completion('{"is_sanctions_news": 3}')
    with pytest.raises(ExtractionFailed):
        Extractor(settings).extract(TEXT, article_id="e")
    cache = open_cache(settings)
    assert cache is not None and cache.stats()["entries"] == 0
    fake.default = completion(VALID_ANSWER)
    assert Extractor(settings).extract(TEXT, article_id="e").meta.cache_hit is False
    assert cache.stats()["entries"] == 1


def test_server_gone_mid_run_goes_on_uncached(tmp_path_factory, fake, caplog):
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        extractor = Extractor(Settings.from_env(model="m", base_url=fake.base_url, api_key="t", cache_url=url))
        assert extractor.extract(TEXT, article_id="a").meta.cache_hit is False
    # The server is stopped now: reads miss, writes are dropped, one warning, documents still succeed.
    with caplog.at_level("WARNING"):
        assert extractor.extract(TEXT + " More.", article_id="b").meta.cache_hit is False
        assert extractor.extract(TEXT + " Again.", article_id="c").meta.cache_hit is False
    warnings = [r for r in caplog.records if "going on without the cache" in r.getMessage()]
    assert len(warnings) == 1


def test_unreachable_server_is_one_clear_error_without_the_password():
    port = 1  # nothing listens on port 1 of the loopback
    with pytest.raises(ConfigError) as info:
        open_cache(Settings(cache_url=f"redis://user:s3cret@127.0.0.1:{port}/0"))
    message = str(info.value)
    assert "is not usable" in message and "s3cret" not in message and "user:***@127.0.0.1:1" in message


def test_bad_scheme_and_missing_client(monkeypatch):
    with pytest.raises(ConfigError, match="EXTRACTOR_CACHE_URL must start with redis://"):
        Settings.from_env(cache_url="memcached://x")
    monkeypatch.setitem(sys.modules, "redis", None)
    with pytest.raises(ConfigError, match=r"pip install 'sanctions-extractor\[redis\]'"):
        open_cache(Settings(cache_url="redis://127.0.0.1:6379/0"))


def test_cache_off_opens_nothing(redis_url):
    assert open_cache(Settings(cache=False, cache_url=redis_url)) is None


def test_cache_commands_use_redis(redis_url, monkeypatch):
    monkeypatch.setenv("EXTRACTOR_CACHE_URL", redis_url)
    cache = open_cache(Settings.from_env())
    assert cache is not None
    cache.set("k", {"answer": {}})
    runner = CliRunner()
    stats = runner.invoke(app, ["cache", "stats"])
    assert stats.exit_code == 0, stats.output
    assert json.loads(stats.stdout)["entries"] == 1
    cleared = runner.invoke(app, ["cache", "clear"])
    assert cleared.exit_code == 0 and f"removed 1 cached answer(s) from {redis_url}" in cleared.stdout
    monkeypatch.setenv("EXTRACTOR_CACHE_URL", "redis://127.0.0.1:1/0")
    broken = runner.invoke(app, ["cache", "stats"])
    assert broken.exit_code == 1 and "is not usable" in broken.output and "Traceback" not in broken.output
