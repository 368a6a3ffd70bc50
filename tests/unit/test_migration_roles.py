"""Migrating a database from before roles: its keys become admins, its session secret leaves the database."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, inspect, text

from extractor.store import Store
from extractor.store.keys import find_key
from extractor.store.migrate import upgrade


def test_existing_keys_become_admins_and_the_secret_table_goes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    upgrade(engine, "0002")
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO api_keys (name, prefix, key_hash, rate_limit, created_at) "
                                "VALUES ('old', 'sx_', :h, 60, CURRENT_TIMESTAMP)"), {"h": "a" * 64})
        connection.execute(text("INSERT INTO service_secrets (name, value, created_at) "
                                "VALUES ('session-signing-key', 'old-secret', CURRENT_TIMESTAMP)"))
    engine.dispose()
    store = Store(url)  # migrates to the latest revision
    with store.read() as session:
        info = find_key(session, "a" * 64)
        tables = inspect(session.connection()).get_table_names()
    assert info is not None and info.role == "admin" and info.allows("admin")
    assert "service_secrets" not in tables and "browser_sessions" in tables
    store.close()
