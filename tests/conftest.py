"""Shared fixtures: an isolated environment, a local fake OpenAI server, the embedded model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from extractor import Extractor, Settings
from extractor.testing.fake_openai import FakeOpenAI

INTEGRATION = Path(__file__).resolve().parent / "integration"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests under tests/integration/ (servers, browser, PostgreSQL, Redis, Ray, the real model) are `integration`."""
    for item in items:
        if INTEGRATION in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No real endpoint or key leaks in; every test gets its own cache directory and run-history database."""
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "EXTRACTOR_MODEL", "EXTRACTOR_MODE", "EXTRACTOR_PROMPTS_DIR",
                 "EXTRACTOR_PRICE_IN", "EXTRACTOR_PRICE_OUT", "EXTRACTOR_MAX_TOKENS"):
        monkeypatch.delenv(name, raising=False)
    # The fake server answers single-call prompts; split-prompt tests name their prompt.
    monkeypatch.setenv("EXTRACTOR_PROMPT", "sanctions@v3")
    cache = tmp_path / "cache"
    monkeypatch.setenv("EXTRACTOR_CACHE_DIR", str(cache))
    monkeypatch.setenv("EXTRACTOR_SESSION_SECRET_FILE", str(tmp_path / "session-secret"))
    monkeypatch.delenv("EXTRACTOR_SESSION_SECRET", raising=False)
    # `extractor eval` records each run: into a database of the test's own, never the user's.
    monkeypatch.setenv("EXTRACTOR_DB_URL", f"sqlite:///{tmp_path / 'runs.db'}")
    # Scripted fake servers answer documents, not endpoint probes, and a command's call log is a
    # database of its own: the tests of the probe and of `extractor logs` turn each back on.
    monkeypatch.setenv("EXTRACTOR_PROBE", "off")
    monkeypatch.setenv("EXTRACTOR_CALL_LOG", "off")
    return cache


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    """A running fake OpenAI-compatible server on 127.0.0.1."""
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def remote(fake: FakeOpenAI, tmp_path: Path) -> Extractor:
    """An extractor pointed at the fake server, with fast transport retries."""
    settings = Settings.from_env(model="fake-model", base_url=fake.base_url, api_key="test", cache_dir=tmp_path / "c",
                                 transport_budget=20.0)
    return Extractor(settings)
