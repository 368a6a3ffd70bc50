"""A throwaway PostgreSQL for the service tests, from Debian's `postgresql` package.

`initdb`/`pg_ctl` run as the `postgres` user (root cannot run them) on a free loopback port,
once per test session; without PostgreSQL the tests that need it are skipped with the reason.
"""

from __future__ import annotations

import atexit
import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

from extractor.testing.service import free_port


class _Postgres:
    """One throwaway cluster per test session; `database()` makes a fresh database in it."""

    def __init__(self) -> None:
        self.port = 0
        self.root: Path | None = None
        self.bindir: Path | None = None
        self.skip_reason: str | None = None
        self._started = False

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        return subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=60, check=False)

    def start(self) -> None:
        if self._started or self.skip_reason:
            return
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not found:
            self.skip_reason = "PostgreSQL is not installed (apt-get install -y postgresql)"
            return
        self.bindir = Path(found[-1]).parent
        self.root = Path(tempfile.mkdtemp(prefix="extractor-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        data = self.root / "data"
        init = self._run(str(self.bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync")
        if init.returncode != 0:
            self.skip_reason = f"initdb failed: {init.stderr.strip()[-300:]}"
            return
        self.port = free_port()
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        started = self._run(str(self.bindir / "pg_ctl"), "-D", str(data), "-o", options,
                            "-l", str(self.root / "log"), "-w", "-t", "30", "start")
        if started.returncode != 0:
            self.skip_reason = f"pg_ctl start failed: {(started.stderr or started.stdout).strip()[-300:]}"
            return
        self._started = True
        atexit.register(self.stop)

    def stop(self) -> None:
        if self._started and self.bindir and self.root:
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop")
            self._started = False
            shutil.rmtree(self.root, ignore_errors=True)

    def database(self) -> str:
        """A new empty database; its SQLAlchemy URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"


POSTGRES = _Postgres()


def database_url(kind: str, tmp: Path) -> str:
    """A fresh database of `kind` ("sqlite" or "postgresql"); raises `LookupError(reason)` if unavailable."""
    if kind == "sqlite":
        return f"sqlite:///{tmp / 'service.db'}"
    POSTGRES.start()
    if POSTGRES.skip_reason:
        raise LookupError(POSTGRES.skip_reason)
    return POSTGRES.database()
