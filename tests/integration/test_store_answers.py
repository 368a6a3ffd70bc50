"""The store on SQLite and PostgreSQL: issuer ids indexed (old rows by the migration), filters by body, call logs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from extractor.core.calls.log import CallRecord
from extractor.core.documents import Document
from extractor.store import DocumentFilter, ExtractionKey, Store
from extractor.store import documents as docs
from extractor.store.calls import StoreCallLog, list_calls
from extractor.store.migrate import upgrade
from extractor.store.models import ActionRow
from tests.support.postgres import database_url

KEY = ExtractionKey(prompt_id="sanctions@v3", prompt_hash="h", model="m", schema_hash="s")


def _line(*issuers: tuple[str, str | None]) -> dict:
    return {"is_sanctions_news": True, "actions": [
        {"authority": authority, "issuer": issuer, "action": "impose",
         "targets": [{"name": "X", "entity_type": "other"}]}
        for authority, issuer in issuers]}


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    try:
        return database_url(request.param, tmp_path)
    except LookupError as exc:
        pytest.skip(str(exc))


def test_the_migration_fills_issuer_ids_of_stored_actions(db_url: str) -> None:
    engine = create_engine(db_url)
    upgrade(engine, "0002")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO documents (id, sha256, text, metadata, first_seen) VALUES "
                          "('old', 'x', 't', '{}', :now)"), {"now": dt.datetime.now(dt.UTC)})
        conn.execute(text("INSERT INTO extractions (id, document_id, prompt_id, prompt_hash, model, schema_hash, "
                          "result, meta, created_at, review_status) VALUES (1, 'old', 'p', 'h', 'm', 's', :result, "
                          "'{}', :now, 'unreviewed')"),
                     {"result": '{"actions": [{"authority": "us", "issuer": "OFAC", "action": "impose"}, '
                                '{"authority": "gb", "issuer": "Nobody Known", "action": "impose"}]}',
                      "now": dt.datetime.now(dt.UTC)})
        for position, authority in enumerate(("us", "gb")):
            conn.execute(text("INSERT INTO extraction_actions (extraction_id, document_id, position, authority, "
                              "action, measures) VALUES (1, 'old', :p, :a, 'impose', ',')"),
                         {"p": position, "a": authority})
    engine.dispose()
    store = Store(db_url)  # migrates to the latest revision
    with store.read() as session:
        rows = session.query(ActionRow).order_by(ActionRow.position).all()
        assert [(r.issuer, r.issuer_id, r.issuer_ids) for r in rows] == [
            ("OFAC", "us-ofac", ",us-ofac,us-treasury,us,"), ("Nobody Known", None, ",")]
    store.close()


def test_documents_filter_by_issuing_body_and_calls_are_logged(db_url: str) -> None:
    store = Store(db_url)
    with store.write() as session:
        for doc_id, line in (
            ("ofac", _line(("us", "U.S. Department of the Treasury’s Office of Foreign Assets Control (OFAC)"))),
            ("treasury", _line(("us", "Treasury"))),
            ("state", _line(("us", "Department of State"))),
            ("hmt", _line(("gb", "HM Treasury"), ("eu", "Council of the EU"))),
            ("unknown", _line(("us", "The Sanctions Desk"))),
        ):
            docs.ensure_document(session, Document(id=doc_id, text=doc_id))
            docs.save_extraction(session, doc_id, KEY, line)

    def ids(issuer: str, authority: str | None = None) -> list[str]:
        with store.read() as session:
            rows, total = docs.list_documents(session, DocumentFilter(issuer=issuer, authority=authority),
                                              limit=50, offset=0)
            assert total == len(rows)
            return sorted(r.id for r in rows)

    assert ids("us-ofac") == ids("OFAC") == ["ofac"]
    assert ids("us-treasury") == ["ofac", "treasury"]  # OFAC is part of the Treasury
    assert ids("us") == ["ofac", "state", "treasury"]  # the U.S. government: every U.S. body the registry knows
    assert ids("Treasury", authority="gb") == ["hmt"] and ids("eu-council") == ["hmt"]
    assert ids("the sanctions desk") == ["unknown"]  # not in the registry: the printed form
    assert ids("nobody at all") == []

    log = StoreCallLog(store)
    log.record(CallRecord(article_id="ofac", prompt_id="p", model="m", endpoint="e", mode="json_schema", step=None,
                          request={"messages": [{"role": "user", "content": "…"}]}, response=None,
                          error="APIConnectionError: down", status="error", prompt_tokens=0, completion_tokens=0,
                          latency_s=0.5, finish_reason=None))
    log.close()
    with store.read() as session:
        [call] = list_calls(session, article_id="ofac", failed=True)
        assert call.status == "error" and call.request["messages"][0]["content"] == "…"
    store.close()
