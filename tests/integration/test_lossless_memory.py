"""Listings read what they show, one page of it: checked on the SQL the service issues, on SQLite and PostgreSQL.

Memory is asserted structurally, not measured: with 250 documents of 20,000 characters
stored, the SQL behind `GET /v1/documents`, the review queue and a review page is recorded
(the app runs in-process on a real database, so every statement can be seen) and checked
to select no document text and no extraction result, and to read a bounded page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from extractor.core.documents import Document
from extractor.core.settings import Settings
from extractor.service import ServiceConfig, create_app
from extractor.store import ExtractionKey, Store
from extractor.store.documents import ensure_document, save_extraction
from extractor.testing.service import make_key
from tests.support.postgres import database_url
from tests.support.review import login

DATABASES = ["sqlite", "postgresql"]
DOCUMENTS = 250
TEXT_CHARS = 20_000
HEAVY = ("documents.text", "extractions.result")  # the columns that grow with what is stored
# A WHERE that names one document (a selectin load of its extractions binds one id).
ONE_DOCUMENT = re.compile(r"WHERE (documents\.id = |extractions\.document_id IN \([^,)]*\))")


@dataclass
class App:
    client: TestClient
    statements: list[str] = field(default_factory=list)

    def sql_of(self, path: str) -> list[str]:
        """The statements on documents, extractions and reviews that a GET of `path` issued."""
        self.statements.clear()
        response = self.client.get(path)
        assert response.status_code == 200, response.text[:300]
        return [s for s in self.statements if re.search(r"\b(documents|extractions|reviews)\b", s)]


def _fill(store: Store) -> None:
    key = ExtractionKey("sanctions@v3", "hash", "fake-model", "schema")
    with store.write() as session:
        for n in range(DOCUMENTS):
            doc = Document(id=f"mem-{n:04d}", text=f"Treasury sanctioned Target {n}. " + "x" * TEXT_CHARS,
                           title=f"Release {n}", published="2024-03-05")
            ensure_document(session, doc)
            action = {"authority": "us" if n % 2 else "gb", "action": "impose", "measures": ["asset_freeze"],
                      "targets": [{"name": f"Target {n}", "entity_type": "company"}], "evidence": ["sanctioned"]}
            line = {"article_id": doc.id, "is_sanctions_news": True, "actions": [action],
                    "meta": {"grounding": {"rate": (n % 10) / 10}, "padding": "y" * TEXT_CHARS}}
            save_extraction(session, doc.id, key, line)


@pytest.fixture(scope="module", params=DATABASES)
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    tmp: Path = tmp_path_factory.mktemp(f"memory-{request.param}")
    try:
        db_url = database_url(request.param, tmp)
    except LookupError as reason:
        pytest.skip(f"PostgreSQL unavailable: {reason}")
    key = make_key(db_url, "reader")
    store = Store(db_url)
    _fill(store)
    recorded = App(client=None)  # type: ignore[arg-type]

    @event.listens_for(store.engine, "before_cursor_execute")
    def _record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        recorded.statements.append(" ".join(statement.split()))

    settings = Settings(model="fake-model", base_url="http://127.0.0.1:9/v1", api_key="unused", cache=False)
    # No monitor: its background digest reads stored extractions in batches, which is not the
    # request's doing, and these tests look at the statements each request issues.
    config = ServiceConfig(db_url=db_url, settings=settings, workers=1, poll_s=5.0, watch=False)
    with TestClient(create_app(config, store=store), headers={"Authorization": f"Bearer {key}"},
                    follow_redirects=False) as client:
        assert login(client, key).status_code == 303
        recorded.client = client
        yield recorded


def _heavy(statements: list[str]) -> list[str]:
    return [s for s in statements if any(column in s for column in HEAVY)]


def test_the_document_list_reads_no_text(app: App) -> None:
    sql = app.sql_of("/v1/documents?limit=500")
    assert sql and not _heavy(sql), _heavy(sql)
    page = app.client.get("/v1/documents?limit=500").json()
    assert page["total"] == DOCUMENTS and len(page["items"]) == DOCUMENTS
    assert not _heavy(app.sql_of("/v1/documents?authority=us&target=Target%2017&limit=500"))


def test_a_queue_page_reads_one_page(app: App) -> None:
    sql = app.sql_of("/review?sort=grounding&desc=1")
    assert not _heavy(sql), _heavy(sql)
    # Every statement over the documents either counts or reads one page (LIMIT).
    unbounded = [s for s in sql if "FROM documents" in s and "LIMIT" not in s and "count(" not in s.lower()]
    assert not unbounded, unbounded
    html = app.client.get("/review?sort=grounding&desc=1").text
    assert html.count('<tr data-href="/review/documents/') == 100 and "page 1 of 3" in html
    last = app.client.get("/review?page=3").text
    assert last.count('<tr data-href="/review/documents/') == DOCUMENTS - 200


def test_a_review_page_reads_its_document_not_the_queue(app: App) -> None:
    sql = app.sql_of("/review/documents/mem-0100")
    # The text is read for this one document; every other statement on documents reads one row.
    heavy = _heavy(sql)
    assert heavy and all(ONE_DOCUMENT.search(s) for s in heavy), heavy
    others = [s for s in sql if "FROM documents" in s and s not in heavy]
    assert all("LIMIT" in s or "documents.id =" in s for s in others), others
    html = app.client.get("/review/documents/mem-0100").text
    assert 'href="/review/documents/mem-0099"' in html and 'href="/review/documents/mem-0101"' in html
