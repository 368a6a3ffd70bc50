"""Opening a database made by another version of the project."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from extractor.core.errors import ConfigError
from extractor.store import Store


def test_a_database_at_an_unknown_revision_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)")
        db.execute("INSERT INTO alembic_version VALUES ('0099_from_elsewhere')")
    with pytest.raises(ConfigError, match=r"revision this version of extractor does not have.*0099_from_elsewhere"):
        Store(f"sqlite:///{path}")
