"""A running service for tests and benchmarks: `extractor serve` as a real process, keys, a fake model.

Every wait is bounded in time.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from extractor.service.auth import new_key
from extractor.store import Store
from extractor.store.keys import add_key, revoke_key
from extractor.testing.fake_openai import FakeOpenAI, completion

SPEC = re.compile(r"\[\[(.*?)\]\]")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def article(doc_id: str, *, target: str = "Acme Shipping", authority: str = "us", measure: str = "asset_freeze",
            date: str | None = "2024-03-05", issuer: str | None = None) -> dict[str, str]:
    """A document whose text tells the fake model what to answer (see `spec_reply`)."""
    spec = f"target={target}|authority={authority}|measure={measure}|date={date or ''}|issuer={issuer or ''}"
    text = f"{doc_id}: the authorities sanctioned {target} today. [[{spec}]]"
    return {"id": doc_id, "text": text}


def spec_reply(body: dict[str, Any]) -> dict[str, Any]:
    """The fake model's answer: the action described by the [[...]] marker in the article text."""
    user = next((m["content"] for m in reversed(body.get("messages", [])) if m.get("role") == "user"), "")
    found = SPEC.findall(str(user))
    fields = dict(part.split("=", 1) for part in found[-1].split("|")) if found else {}
    action = {
        "authority": fields.get("authority", "us"), "action": "impose",
        "measures": [fields.get("measure", "asset_freeze")],
        "targets": [{"name": fields.get("target", "Acme Shipping"), "entity_type": fields.get("type", "company")}],
        "date": fields.get("date") or None,
        "issuer": fields.get("issuer") or None,
        "evidence": ["the authorities sanctioned"],
    }
    return completion(json.dumps({"is_sanctions_news": True, "actions": [action]}))


def fake_model(delay: float = 0.0) -> FakeOpenAI:
    """A fake OpenAI-compatible server answering from the article markers, after `delay` seconds."""
    return FakeOpenAI(default=spec_reply, delay=delay)  # type: ignore[arg-type]


def make_key(db_url: str, name: str | None = None, rate_limit: int = 100_000, role: str = "admin") -> str:
    """Create an API key in the database directly (an admin unless `role` says otherwise); returns the key."""
    store = Store(db_url)
    key, prefix, digest = new_key()
    with store.write() as session:
        add_key(session, name=name or f"key-{uuid.uuid4().hex[:8]}", prefix=prefix, key_hash=digest,
                rate_limit=rate_limit, role=role)
    store.close()
    return key


def revoke(db_url: str, name: str) -> None:
    """Revoke a key by name."""
    store = Store(db_url)
    with store.write() as session:
        revoke_key(session, name)
    store.close()


class Service:
    """`python -m extractor serve` as a real process on a free loopback port."""

    def __init__(self, db_url: str, model_url: str, workdir: Path, *, workers: int = 8, lease: float = 1.0,
                 extra: tuple[str, ...] = (), env: dict[str, str] | None = None) -> None:
        self.db_url = db_url
        self.model_url = model_url
        self.workdir = workdir
        self.workers = workers
        self.lease = lease
        self.extra = extra
        self.env = env or {}  # environment variables for the server, over the defaults below
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = workdir / "service.log"

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> Service:
        """Start the server and wait (bounded) until /ready answers."""
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "EXTRACTOR_"))}
        env.update({"OPENAI_API_KEY": "test", "EXTRACTOR_PROMPT": "sanctions@v3", "EXTRACTOR_RETRY_BUDGET": "5",
                    "EXTRACTOR_CACHE_DIR": str(self.workdir / "cache"),
                    "EXTRACTOR_SESSION_SECRET_FILE": str(self.workdir / "session-secret"), **self.env})
        command = [sys.executable, "-m", "extractor", "serve", "--port", str(self.port), "--db", self.db_url,
                   "--model", "fake-model", "--base-url", self.model_url, "--workers", str(self.workers),
                   "--lease", str(self.lease), "--log-level", "warning", *self.extra]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(command, cwd=self.workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited ({self.proc.returncode}):\n{self.log.read_text()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/ready", timeout=2).status_code == 200:
                    return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the server did not become ready in {timeout:g} s:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        """kill -9: no shutdown, no cleanup, as in a crash."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        """An orderly stop (SIGTERM), then SIGKILL if it does not end within 15 s."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()

    def alive(self) -> bool:
        """True while the process runs."""
        return self.proc is not None and self.proc.poll() is None


def wait_job(client: httpx.Client, job_id: str, timeout: float = 60.0) -> dict[str, Any]:
    """Poll a job until it is finished (bounded)."""
    deadline = time.monotonic() + timeout
    status: dict[str, Any] = {}
    while time.monotonic() < deadline:
        status = client.get(f"/v1/jobs/{job_id}").json()
        if status.get("status") == "finished":
            return status
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} not finished in {timeout:g} s: {status}")


def results(client: httpx.Client, job_id: str) -> list[dict[str, Any]]:
    """A job's result lines."""
    response = client.get(f"/v1/jobs/{job_id}/results")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    return [json.loads(line) for line in response.text.split("\n") if line.strip()]
