"""Attacks on `extractor serve` (SQLite and PostgreSQL) and on the CLI, each one refused.

One real server per database kind for the whole module. Tests that fail keys on purpose
connect from their own loopback address (127.0.0.x), so the lockout they cause never
touches the other tests.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import create_engine, inspect, text

from extractor.testing.fake_openai import FakeOpenAI, error
from extractor.testing.service import Service, article, fake_model, make_key, revoke, wait_job
from tests.support.postgres import database_url
from tests.support.review import login

DATABASES = ["sqlite", "postgresql"]
FAILURES = 5  # the test server's lockout: 5 failed keys per address
MARKER = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Sec:
    service: Service
    fake: FakeOpenAI
    db_url: str
    workdir: Path
    keys: dict[str, str]

    def client(self, who: str = "admin", *, source: str = "127.0.0.1", key: str | None = None) -> httpx.Client:
        """A client with a role's key (or `key`), connecting from loopback address `source`."""
        token = key if key is not None else self.keys[who]
        return httpx.Client(base_url=self.service.url, headers={"Authorization": f"Bearer {token}"}, timeout=30,
                            transport=httpx.HTTPTransport(local_address=source))

    def browser(self, source: str = "127.0.0.1") -> httpx.Client:
        """A cookie-keeping client without a key, like a browser."""
        return httpx.Client(base_url=self.service.url, timeout=30, transport=httpx.HTTPTransport(local_address=source))


@pytest.fixture(scope="module", params=DATABASES)
def sec(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sec]:
    tmp = tmp_path_factory.mktemp(f"security-{request.param}")
    try:
        db_url = database_url(request.param, tmp)
    except LookupError as reason:
        pytest.skip(f"PostgreSQL unavailable: {reason}")
    with fake_model() as fake:
        keys = {role: make_key(db_url, role, role=role.rstrip("2")) for role in ("admin", "reviewer", "reader",
                                                                                 "reader2")}
        service = Service(db_url, fake.base_url, tmp,
                          extra=("--auth-failures", str(FAILURES), "--auth-window", "600")).start()
        try:
            yield Sec(service, fake, db_url, tmp, keys)
        finally:
            service.stop()


def _csrf(page: httpx.Response) -> str:
    found = MARKER.search(page.text)
    assert found is not None, page.text[:300]
    return found.group(1)


# -- 1. no code from the cache ------------------------------------------------------------


class Planted:
    """A pickle that creates a file when loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.system, (f"touch {self.marker}",))


def test_a_pickle_planted_in_a_shared_cache_never_runs(fake: FakeOpenAI, tmp_path: Path) -> None:
    doc, cache, marker = tmp_path / "doc.txt", tmp_path / "shared-cache", tmp_path / "PWNED"
    doc.write_text("Treasury sanctioned Acme Shipping today.", encoding="utf-8")
    env = {**os.environ, "OPENAI_BASE_URL": fake.base_url, "EXTRACTOR_MODEL": "m", "OPENAI_API_KEY": "k",
           "EXTRACTOR_CACHE_DIR": str(cache)}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "extractor", *args], env=env, cwd=tmp_path, capture_output=True,
                              text=True, timeout=120, check=False)

    first = cli("extract", str(doc))
    assert first.returncode == 0, first.stderr
    # The attacker can write the cache's SQLite file: every answer becomes a pickle, flagged as one.
    with sqlite3.connect(cache / "cache.db") as db:
        rows = db.execute("UPDATE Cache SET mode = 4, filename = NULL, value = ?",
                          (pickle.dumps(Planted(marker)),)).rowcount
    assert rows >= 1
    second = cli("extract", str(doc))
    assert second.returncode == 0, second.stderr
    assert not marker.exists()
    line = json.loads(second.stdout)
    assert line["meta"]["cache_hit"] is False and line["actions"] == json.loads(first.stdout)["actions"]
    assert "not a valid cached answer" in second.stderr
    stats = json.loads(cli("cache", "stats").stdout)
    assert stats["rejected"] >= 1
    assert len(fake.chat_requests()) == 2  # the planted entry was a miss: the model was asked again


# -- 2. no file from a request --------------------------------------------------------------


def test_a_prompt_named_by_path_is_refused_without_reading_it(sec: Sec, tmp_path: Path) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    source = (Path(__file__).resolve().parents[2] / "prompts" / "sanctions" / "v3.yaml").read_text()
    (folder / "v1.yaml").write_text(source + "\n# SECRET-PROMPT-CONTENT\n")
    broken = tmp_path / "b"
    broken.mkdir()
    (broken / "v1.yaml").write_text("system: [SECRET-BROKEN\n")
    asked = [str(folder), f"{folder}@v1", "../" * 12 + str(folder).lstrip("/") + "@v1", f"{broken}@v1"]
    with sec.client("reader") as api:
        for prompt in asked:
            response = api.post("/v1/extract", json={**article("path-1"), "prompt": prompt})
            body = response.text
            assert response.status_code == 400 and response.json()["error"]["code"] == "unknown_prompt", body
            assert "SECRET" not in body and "yaml" not in body.lower()
            job = api.post("/v1/jobs", json={"documents": [article("path-2")], "prompt": prompt})
            assert job.status_code == 400 and "SECRET" not in job.text
        assert api.post("/v1/extract", json={**article("path-3"), "prompt": "sanctions@v0003"}).status_code == 200


# -- 3. sessions and keys --------------------------------------------------------------------


def test_no_session_secret_in_the_database_and_private_files(sec: Sec) -> None:
    with sec.client() as api:
        assert api.post("/v1/extract", json=article("files-1")).status_code == 200
    engine = create_engine(sec.db_url)
    with engine.connect() as connection:
        tables = inspect(connection).get_table_names()
        values = [str(v) for table in tables if "secret" in table
                  for row in connection.execute(text(f"SELECT * FROM {table}")) for v in row]
        admin_id = connection.execute(text("SELECT id FROM api_keys WHERE name = 'admin'")).scalar()
    engine.dispose()
    # Whatever the database holds, no cookie forged from it opens a session.
    for value in values or ["no-secret-in-the-database"]:
        for salt in ("extractor-review-session",):
            forged = URLSafeTimedSerializer(value, salt=salt).dumps({"k": admin_id, "c": "x", "t": "x"})
            with sec.browser() as browser:
                browser.cookies.set("sx_session", forged)
                response = browser.get("/review")
            assert response.status_code == 303 and response.headers["location"].startswith("/review/login")
    assert not values
    secret = sec.workdir / "session-secret"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    private = [secret, sec.workdir / "cache" / "cache.db"]
    if sec.db_url.startswith("sqlite"):
        private.append(Path(sec.db_url.removeprefix("sqlite:///")))
    for path in private:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_logout_ends_the_session_on_the_server(sec: Sec) -> None:
    with sec.browser() as browser:
        assert login(browser, sec.keys["reader"]).status_code == 303
        cookie = browser.cookies["sx_session"]
        page = browser.get("/review")
        assert page.status_code == 200
        assert browser.post("/review/logout", data={"csrf": _csrf(page)}).status_code == 303
    with sec.browser() as replay:  # a copy of the cookie kept from before logging out
        replay.cookies.set("sx_session", cookie)
        response = replay.get("/review")
        assert response.status_code == 303 and response.headers["location"].startswith("/review/login")
        assert replay.get("/docs").status_code == 401


def test_a_cross_site_page_cannot_log_a_browser_in(sec: Sec) -> None:
    cross_site = {"origin": "https://evil.example", "sec-fetch-site": "cross-site"}
    with sec.browser() as browser:
        # The attacker's page posts its own key, without the login form's token (it cannot read it).
        response = browser.post("/review/login", data={"key": sec.keys["reader"], "next": "/review"},
                                headers=cross_site)
        assert response.status_code == 403 and "sx_session" not in response.cookies
        # Even with a token of its own, the browser's login cookie is not sent cross-site.
        with sec.browser() as attacker:
            token = _csrf(attacker.get("/review/login"))
        response = browser.post("/review/login", data={"key": sec.keys["reader"], "csrf": token},
                                headers=cross_site)
        assert response.status_code == 403 and "sx_session" not in response.cookies
        assert browser.get("/review").status_code == 303


def test_failed_keys_lock_the_address_out_on_bearer_and_login(sec: Sec) -> None:
    with sec.client(key="sx_wrong", source="127.0.0.2") as guesser:
        codes = [guesser.get("/v1/documents").status_code for _ in range(FAILURES)]
        assert codes == [401] * FAILURES
        locked = guesser.get("/v1/documents", headers={"Authorization": f"Bearer {sec.keys['admin']}"})
        assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0
        assert locked.json()["error"]["code"] == "locked_out"
    with sec.browser(source="127.0.0.2") as browser:  # the login form shares the lockout
        assert login(browser, sec.keys["admin"]).status_code == 429
    with sec.browser(source="127.0.0.3") as browser:
        assert [login(browser, f"sx_wrong{n}").status_code for n in range(FAILURES)] == [401] * FAILURES
        assert login(browser, sec.keys["admin"]).status_code == 429
    with sec.client(source="127.0.0.3") as same:
        assert same.get("/v1/documents").status_code == 429
    with sec.client() as other:  # another address is not locked out
        assert other.get("/v1/documents").status_code == 200


def test_unknown_and_revoked_keys_get_one_message(sec: Sec) -> None:
    make_key(sec.db_url, "gone")
    gone = make_key(sec.db_url, "gone-too")
    revoke(sec.db_url, "gone-too")
    with sec.client(key="sx_never-existed", source="127.0.0.4") as unknown, \
            sec.client(key=gone, source="127.0.0.4") as revoked:
        a, b = unknown.get("/v1/documents"), revoked.get("/v1/documents")
    assert a.status_code == b.status_code == 401 and a.json() == b.json()
    with sec.browser(source="127.0.0.5") as browser:
        pages = [login(browser, k) for k in ("sx_never-existed", gone)]
    assert [p.status_code for p in pages] == [401, 401]
    messages = [re.search(r'class="error"[^>]*>([^<]+)<', p.text) for p in pages]
    assert messages[0] and messages[1] and messages[0].group(1) == messages[1].group(1)


# -- 4. roles and ownership ---------------------------------------------------------------


def test_roles_and_job_ownership(sec: Sec) -> None:
    with sec.client("reader") as reader, sec.client("reader2") as other, sec.client("reviewer") as reviewer, \
            sec.client("admin") as admin:
        job = reader.post("/v1/jobs", json=[article("own-1"), article("own-2")])
        assert job.status_code == 202
        job_id = job.json()["id"]
        assert wait_job(reader, job_id)["done"] == 2
        for path in (f"/v1/jobs/{job_id}", f"/v1/jobs/{job_id}/results"):
            assert other.get(path).status_code == 404  # another key's job does not exist for it
            assert reviewer.get(path).status_code == 404
            assert admin.get(path).status_code == 200
        for client in (reader, reviewer):
            denied = client.delete("/v1/documents/own-1")
            assert denied.status_code == 403 and denied.json()["error"]["code"] == "forbidden"
        assert reader.get("/v1/documents/own-1").status_code == 200
        assert admin.delete("/v1/documents/own-1").status_code == 200
    # The review pages: any key may look, only a reviewer may save or approve.
    for who, expected in (("reader", 403), ("reviewer", 303)):
        with sec.browser() as browser:
            assert login(browser, sec.keys[who]).status_code == 303
            page = browser.get("/review/documents/own-2")
            assert page.status_code == 200
            assert ('id="read-only"' in page.text) == (who == "reader")
            response = browser.post("/review/documents/own-2", data={"op": "save", "csrf": _csrf(page),
                                                                     "is_sanctions_news": "on"})
            assert response.status_code == expected


def test_keys_create_takes_a_role_and_defaults_to_reader(sec: Sec) -> None:
    def keys(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "extractor", "keys", *args, "--db", sec.db_url],
                              capture_output=True, text=True, timeout=60, check=False)

    made = keys("create", "cli-reviewer", "--role", "reviewer")
    assert made.returncode == 0 and "reviewer" in made.stderr
    plain = keys("create", "cli-default")
    assert plain.returncode == 0 and "reader" in plain.stderr
    assert keys("create", "cli-bad", "--role", "root").returncode != 0
    with sec.client(key=plain.stdout.strip()) as client:
        assert client.delete("/v1/documents/own-2").status_code == 403


# -- 5. leaks and the offline docs page ------------------------------------------------------


def test_no_internal_details_in_responses(sec: Sec) -> None:
    with sec.client() as api:
        line = api.post("/v1/extract", json=article("leak-1")).json()
        assert "endpoint" not in line["meta"] and "cache_key" not in line["meta"]
        stored = api.get("/v1/documents/leak-1").json()["extractions"][0]["result"]["meta"]
        assert "endpoint" not in stored and "cache_key" not in stored
        job = api.post("/v1/jobs", json=[article("leak-2")]).json()
        wait_job(api, job["id"])
        result = api.get(f"/v1/jobs/{job['id']}/results").text
        assert sec.fake.base_url not in result and "cache_key" not in result
        # A failing model endpoint: a 502 that says so, without its URL or its error text.
        sec.fake.script = [error(401, "UPSTREAM-SECRET-DETAIL")]
        failed = api.post("/v1/extract", json=article("leak-3"))
        sec.fake.script = []
        assert failed.status_code == 502
        assert sec.fake.base_url not in failed.text and "127.0.0.1" not in failed.text
        assert "UPSTREAM-SECRET-DETAIL" not in failed.text
        # The Host header never comes back in a redirect.
        moved = api.get("/v1/documents/", headers={"host": "evil.example"}, follow_redirects=False)
        assert moved.status_code in (307, 404)
        assert "evil.example" not in moved.headers.get("location", "") and "evil.example" not in moved.text


def test_docs_page_serves_its_assets_under_a_strict_policy(sec: Sec) -> None:
    with sec.client("reader") as api:
        page = api.get("/docs")
        assert page.status_code == 200
        policy = page.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-eval" not in policy
        assert "script-src 'self' 'unsafe-inline'" not in policy
        sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert sources and all(s.startswith("/") for s in sources), sources
        assert "<script>" not in page.text  # no inline script
        for source in sources:
            assert api.get(source).status_code == 200, source


# -- 6. one model call for identical concurrent requests ----------------------------------------


def test_identical_concurrent_extracts_make_one_model_call(sec: Sec) -> None:
    doc = article("flight-1", target="Single Flight Ltd")
    before = len(sec.fake.chat_requests())
    sec.fake.delay = 1.0
    try:
        with sec.client() as api, ThreadPoolExecutor(20) as pool:
            responses = list(pool.map(lambda _: api.post("/v1/extract", json=doc), range(20)))
    finally:
        sec.fake.delay = 0.0
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses if r.status_code != 200]
    assert len({r.json()["meta"]["extraction_id"] for r in responses}) == 1
    assert len(sec.fake.chat_requests()) - before == 1
