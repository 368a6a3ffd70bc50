"""A running service on a database kind for a test module: `extractor serve` with a fake model and a key."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from extractor.testing.fake_openai import FakeOpenAI
from extractor.testing.service import Service, fake_model, make_key

from .postgres import database_url


@dataclass
class Running:
    """A running service with its fake model, database and a working key."""

    service: Service
    fake: FakeOpenAI
    db_url: str
    key: str

    def client(self, key: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key or self.key}"}
        return httpx.Client(base_url=self.service.url, headers=headers, timeout=30)


@contextmanager
def service_on(
    kind: str, tmp: Path, *, key_name: str = "main", extra: tuple[str, ...] = ()
) -> Iterator[Running]:
    """The service on a fresh "sqlite" or "postgresql" database; the test is skipped without one."""
    try:
        db_url = database_url(kind, tmp)
    except LookupError as reason:
        pytest.skip(f"PostgreSQL unavailable: {reason}")
    with fake_model() as fake:
        key = make_key(db_url, key_name)
        service = Service(db_url, fake.base_url, tmp, extra=extra).start()
        try:
            yield Running(service, fake, db_url, key)
        finally:
            service.stop()
