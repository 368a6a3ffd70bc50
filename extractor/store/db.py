"""Engine and sessions: SQLite (WAL) by default under the user data directory, any SQLAlchemy URL otherwise.

SQLite allows one writer at a time. A transaction that reads first and writes later can
fail at once with "database is locked" if another writer committed in between, so write
transactions start with `BEGIN IMMEDIATE` (they queue for the lock, up to the busy timeout),
while read transactions stay `BEGIN DEFERRED` and never block writers in WAL mode.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import platformdirs
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from extractor.core.errors import ConfigError

log = logging.getLogger("extractor.store")
DB_ENV = "EXTRACTOR_DB_URL"
SQLITE_BUSY_TIMEOUT_S = 30
SQLITE_POOL, SQLITE_OVERFLOW = 32, 64
# Every SQLite connection keeps its own page cache (2 MiB by default), and a busy server holds
# one connection per request in flight: 80 connections filled 160 MiB as the database grew,
# which looked like a leak. The budget bounds all of them together; reads past it come from
# the operating system's file cache, shared by every connection.
SQLITE_CACHE_BUDGET_KIB = 32 * 1024


def default_url() -> str:
    """$EXTRACTOR_DB_URL, else an SQLite file in the user data directory."""
    env = os.environ.get(DB_ENV)
    if env:
        return env
    path = Path(platformdirs.user_data_dir("sanctions-extractor")) / "service.db"
    return f"sqlite:///{path}"


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys, a busy timeout and IMMEDIATE write transactions."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"--db / {DB_ENV}: {url!r} is not a database URL (e.g. sqlite:///path.db)") from None
    if parsed.get_backend_name() != "sqlite":
        try:
            return create_engine(parsed, pool_pre_ping=True, pool_size=16, max_overflow=48)
        except (ArgumentError, ImportError) as exc:
            raise ConfigError(f"--db {parsed.render_as_string(hide_password=True)}: {exc}") from None
    if parsed.database and parsed.database != ":memory:":
        private_file(Path(parsed.database).expanduser())
    # SQLite connections are cheap: enough for every worker and request thread without waiting.
    engine = create_engine(
        parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False},
        pool_size=SQLITE_POOL, max_overflow=SQLITE_OVERFLOW,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" hook below issue BEGIN itself (the pysqlite driver's own
        # transaction handling would otherwise start every transaction as DEFERRED).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
        # A page cache per connection, of a size that keeps the whole pool's within the budget.
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_BUDGET_KIB // (SQLITE_POOL + SQLITE_OVERFLOW)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get("sqlite_immediate", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def private_file(path: Path) -> None:
    """Create an SQLite file readable by its owner only (0600; SQLite gives its -wal and -shm the same mode).

    It holds the documents, the extractions and the reviews. A file that exists keeps its
    mode, with a warning when others may read it.
    """
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            log.warning("database %s may be read by other users (mode %o): chmod 600 %s", path,
                        path.stat().st_mode & 0o777, path)
    except OSError:
        pass  # SQLite reports what is wrong with the path when it opens it


class Store:
    """The database: an engine with read and write sessions, migrated to the latest schema on open."""

    def __init__(self, url: str | None = None, *, migrate: bool = True) -> None:
        self.url = url or default_url()
        self.engine = make_engine(self.url)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        writer = self.engine.execution_options(sqlite_immediate=True) if self.is_sqlite else self.engine
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(writer, expire_on_commit=False)
        if migrate:
            self.migrate()

    @property
    def display_url(self) -> str:
        """The URL with any password hidden, for logs and messages."""
        return self.engine.url.render_as_string(hide_password=True)

    def migrate(self) -> None:
        """Bring the schema up to the latest Alembic revision, then the data the new schema expects."""
        from alembic.util.exc import CommandError

        from .migrate import upgrade
        from .reviews import promote_approved, unpromoted

        try:
            upgrade(self.engine)
            # Reviews approved before they became current extractions become so now (one read query after).
            with self.read() as session:
                pending = unpromoted(session)
            if pending:
                with self.write() as session:
                    promote_approved(session)
        except OperationalError as exc:
            raise ConfigError(f"database {self.display_url}: cannot connect or migrate ({exc.orig})") from None
        except CommandError as exc:  # a revision this installation does not know: another version made the file
            raise ConfigError(f"database {self.display_url}: its schema is at a revision this version of extractor "
                              f"does not have ({exc}); use another --db or EXTRACTOR_DB_URL, or the version "
                              "that made it") from None

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for queries (rolled back at the end: nothing it does is kept)."""
        with self._read() as session:
            try:
                yield session
            finally:
                session.rollback()

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session whose changes are committed at the end, or rolled back on an exception."""
        with self._write() as session, session.begin():
            yield session

    def ping(self) -> bool:
        """True if the database answers."""
        try:
            with self.read() as session:
                session.connection().exec_driver_sql("SELECT 1")
        except OperationalError:
            return False
        return True

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
