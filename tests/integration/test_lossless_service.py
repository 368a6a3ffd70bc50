"""What an analyst approves is what the service serves; nothing lost, nothing silently changed, no 500.

Against one real `extractor serve` per database kind (SQLite, PostgreSQL), started with a
sanctions list (for /matches) and a second model (for a later model run).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from extractor.cli import app as cli_app
from extractor.testing.service import article, results, wait_job
from tests.support import DATA
from tests.support.review import approve_form, csrf_of, login
from tests.support.services import Running, service_on

DATABASES = ["sqlite", "postgresql"]
SDN = DATA / "sdn" / "sdn-sample.csv"


class Reviewing(Running):
    @contextmanager
    def browser(self) -> Iterator[httpx.Client]:
        """A client logged in to the review pages (session cookie, no Bearer header)."""
        with httpx.Client(base_url=self.service.url, timeout=30) as client:
            assert login(client, self.key).status_code == 303
            yield client


@pytest.fixture(scope="module", params=DATABASES)
def running(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reviewing]:
    tmp = tmp_path_factory.mktemp(f"lossless-{request.param}")
    with service_on(request.param, tmp, key_name="analyst",
                    extra=("--list", str(SDN), "--allow-model", "fake-model-2")) as started:
        yield Reviewing(started.service, started.fake, started.db_url, started.key)


@pytest.fixture
def api(running: Reviewing) -> Iterator[httpx.Client]:
    with running.client() as client:
        yield client


def error_of(response: httpx.Response) -> dict[str, str]:
    """The JSON error envelope of a 4xx, checking its shape."""
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    return body["error"]


def ids(api: httpx.Client, **params: str) -> set[str]:
    response = api.get("/v1/documents", params={"limit": "500", **params})
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


def ftm_names(api: httpx.Client, path: str) -> set[str]:
    """Names of the target entities in a document's FtM export (NDJSON lines, the Article's text aside)."""
    response = api.get(f"/v1/documents/{path}/ftm")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/x-ndjson")
    entities = [json.loads(line) for line in response.text.split("\n") if line.strip()]
    return {name for e in entities if e["schema"] != "Article" for name in e["properties"].get("name", [])}


def queue_row(html: str, document_id: str) -> str:
    start = html.index('<tr data-href="/review/documents/' + document_id + '"')
    return html[start:html.index("</tr>", start)]


def test_an_approved_review_is_what_every_view_serves(running: Reviewing, api: httpx.Client, tmp_path: Path) -> None:
    doc = article("rev-003", target="Imaginary Widgets GmbH", authority="gb")
    model_id = api.post("/v1/extract", json=doc).json()["meta"]["extraction_id"]
    assert "rev-003" in ids(api, authority="gb")
    with running.browser() as web:
        csrf = csrf_of(web.get("/review/documents/rev-003").text)
        form = approve_form(csrf, authority="us", target="Banco Nacional de Cuba",
                            evidence="the authorities sanctioned")
        assert web.post("/review/documents/rev-003", data=form, follow_redirects=False).status_code == 303
        row = queue_row(web.get("/review").text, "rev-003")
    assert '<span class="code">us</span>' in row and ">gb<" not in row and "approved" in row

    # Filters, FtM and matches serve the approved answer.
    assert "rev-003" not in ids(api, target="Imaginary Widgets GmbH") | ids(api, authority="gb")
    assert "rev-003" in ids(api, target="Banco Nacional de Cuba") & ids(api, authority="us")
    assert ftm_names(api, "rev-003") == {"Banco Nacional de Cuba"}
    matches = api.get("/v1/documents/rev-003/matches").json()
    assert matches["reviewed"] is True and [m["status"] for m in matches["matches"]] == ["listed"]

    # The document says which extraction is current; the model's original is kept for the diff and eval.
    detail = api.get("/v1/documents/rev-003").json()
    by_origin = {e["origin"]: e for e in detail["extractions"]}
    reviewed = by_origin["review"]
    assert detail["reviewed"] is True and detail["current_extraction_id"] == reviewed["id"] and reviewed["current"]
    assert reviewed["based_on"] == model_id and reviewed["result"]["actions"][0]["authority"] == "us"
    model = by_origin["model"]
    assert model["id"] == model_id and not model["current"] and model["review_status"] == "approved"
    assert model["result"]["actions"][0]["targets"][0]["name"] == "Imaginary Widgets GmbH"
    listed = api.get("/v1/documents", params={"target": "Banco Nacional de Cuba"}).json()["items"]
    assert [(i["id"], i["reviewed"], i["current_extraction_id"]) for i in listed] == [("rev-003", True, reviewed["id"])]

    # A later model run is stored beside the approval and says that it does not replace it.
    later = api.post("/v1/extract", json={**doc, "model": "fake-model-2"}).json()
    assert later["meta"]["stored"] is False and later["meta"]["current"] is False
    assert later["meta"]["current_extraction_id"] == reviewed["id"] and "approved review" in later["meta"]["note"]
    detail = api.get("/v1/documents/rev-003").json()
    assert detail["current_extraction_id"] == reviewed["id"] and len(detail["extractions"]) == 3
    assert "rev-003" in ids(api, target="Banco Nacional de Cuba") and "rev-003" not in ids(api, authority="gb")

    # A draft saved after the approval is not served until it is approved.
    with running.browser() as web:
        csrf = csrf_of(web.get("/review/documents/rev-003").text)
        draft = approve_form(csrf, authority="us", target="Draft Only Ltd", evidence="x", op="save")
        assert web.post("/review/documents/rev-003", data=draft, follow_redirects=False).status_code == 303
        assert "in review" in queue_row(web.get("/review").text, "rev-003")
    assert ftm_names(api, "rev-003") == {"Banco Nacional de Cuba"}
    exported = CliRunner().invoke(cli_app, ["gold", "export", "--db", running.db_url, "--out", str(tmp_path)])
    assert exported.exit_code == 0, exported.output
    gold = json.loads((tmp_path / "gold" / "rev-003.json").read_text())
    assert [t["name"] for t in gold["actions"][0]["targets"]] == ["Banco Nacional de Cuba"]


def test_jsonl_is_split_on_newline_only(api: httpx.Client) -> None:
    separators = ["\u2028", "\u2029", "\u0085"]  # str.splitlines() breaks at each of these
    docs = [{"id": f"sep-{n}", "text": f"Treasury{sep} sanctioned Sep Target {n}. [[target=Sep Target {n}]]"}
            for n, sep in enumerate(separators)]
    lines = [json.dumps(d, ensure_ascii=False) for d in docs]
    lines.insert(2, "{broken")
    body = ("\n".join(lines) + "\n").encode("utf-8")
    created = api.post("/v1/jobs", content=body, headers={"content-type": "application/x-ndjson"})
    assert created.status_code == 202, created.text
    job = created.json()
    assert (job["total"], job["accepted"]) == (4, 3) and [r["line"] for r in job["rejected"]] == [3]
    wait_job(api, job["id"])
    lines_out = results(api, job["id"])
    assert [line["article_id"] for line in lines_out] == ["sep-0", "sep-1", "line-3", "sep-2"]
    for doc in docs:
        assert api.get(f"/v1/documents/{doc['id']}").json()["text"] == doc["text"]


def test_a_document_deleted_while_its_job_runs_stays_deleted(running: Reviewing, api: httpx.Client) -> None:
    doc = article("gone-1", target="Vanishing Ltd")
    running.fake.delay = 2.0  # the model takes its time: the document is deleted while it waits
    try:
        job_id = api.post("/v1/jobs", json=[doc]).json()["id"]
        deadline = time.monotonic() + 30
        while api.get(f"/v1/jobs/{job_id}").json()["running"] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert api.delete("/v1/documents/gone-1").status_code == 200
        status = wait_job(api, job_id)
    finally:
        running.fake.delay = 0.0
    assert (status["done"], status["failed"]) == (0, 1)
    assert error_of(api.get("/v1/documents/gone-1"))["code"] == "not_found"
    assert "gone-1" not in ids(api) and "gone-1" not in ids(api, target="Vanishing Ltd")
    line = results(api, job_id)[0]
    assert line["article_id"] == "gone-1" and "deleted" in line["error"]["message"]


def test_a_nul_in_one_document_does_not_sink_the_job(api: httpx.Client) -> None:
    good, bad = article("nul-good"), {"id": "nul-bad", "text": "Treasury\u0000 sanctioned Acme Shipping."}
    created = api.post("/v1/jobs", json=[good, bad, {"id": "nul\u0000id", "text": "Treasury sanctioned Acme."}])
    assert created.status_code == 202, created.text
    job = created.json()
    assert job["accepted"] == 1 and [r["line"] for r in job["rejected"]] == [2, 3]
    assert all("NUL" in r["message"] for r in job["rejected"])
    wait_job(api, job["id"])
    assert ["error" in line for line in results(api, job["id"])] == [False, True, True]
    assert api.get("/v1/documents/nul-good").status_code == 200
    for body in ({"id": "n1", "text": "a\u0000b"}, {"id": "n\u00002", "text": "ab"},
                 {"text": "ab", "title": "t\u0000"}):
        assert "NUL" in error_of(api.post("/v1/extract", json=body))["message"]


def test_bad_input_is_a_4xx_json_error(running: Reviewing, api: httpx.Client) -> None:
    deep = b"[" * 200_000
    assert error_of(api.post("/v1/jobs", content=deep, headers={"content-type": "application/json"}))["code"] == \
        "invalid_json"
    jsonl = b"\n".join([json.dumps(article("deep-1")).encode(), deep, json.dumps(article("deep-3")).encode()])
    job = api.post("/v1/jobs", content=jsonl, headers={"content-type": "application/x-ndjson"}).json()
    assert job["accepted"] == 2 and [(r["line"], "nested" in r["message"]) for r in job["rejected"]] == [(2, True)]
    surrogate = b'{"id": "sur-1", "text": "Treasury sanctioned \\ud800 Acme."}'
    response = api.post("/v1/extract", content=surrogate, headers={"content-type": "application/json"})
    assert "surrogate" in error_of(response)["message"]
    job = api.post("/v1/jobs", content=b"[" + surrogate + b"]", headers={"content-type": "application/json"}).json()
    assert job["accepted"] == 0 and "surrogate" in job["rejected"][0]["message"]
    for path in ("/v1/documents?offset=99999999999999999999999", "/v1/documents?authority=%00",
                 "/v1/documents?until=0", "/v1/documents/x/ftm?extraction=99999999999999999999"):
        assert error_of(api.get(path))["code"] == "invalid_request", path
    for path in ("/v1/documents/a%00b", "/v1/jobs/a%00b", "/v1/jobs/a%00b/results", "/v1/documents/a%00b/ftm"):
        assert error_of(api.get(path))["code"] == "not_found", path
    assert error_of(api.delete("/v1/documents/a%00b"))["code"] == "not_found"
    assert error_of(api.post("/v1/extract", json={"text": "Treasury sanctioned Acme.", "prompt": "p" * 5000}))[
        "code"] == "unknown_prompt"

    assert api.post("/v1/extract", json=article("form-1")).status_code == 200
    with running.browser() as web:
        csrf = csrf_of(web.get("/review/documents/form-1").text)
        for count in ("²", "9" * 5000, "٣"):
            form = approve_form(csrf, authority="us", target="Acme Shipping", evidence="x",
                                **{"a0.target_count": count})
            assert web.post("/review/documents/form-1", data=form, follow_redirects=False).status_code == 303, count
            page = web.get("/review/documents/form-1")
            assert page.status_code == 200 and 'data-for="a0.target_count"' in page.text, count
        for odd in ({"op": "add_target:a" + "9" * 5000}, {"op": "add_target:a7"},
                    {"a" + "9" * 5000 + ".authority": "us"}, {"a0.t0.name_span": "1" * 5000 + ",2"}):
            form = {**approve_form(csrf, authority="us", target="Acme Shipping", evidence="x"), **odd}
            assert web.post("/review/documents/form-1", data=form, follow_redirects=False).status_code == 303, odd
        nul = approve_form(csrf, authority="us\u0000", target="Acme\u0000", evidence="x", notes="n\u0000")
        assert web.post("/review/documents/form-1", data=nul, follow_redirects=False).status_code == 400
        assert web.get("/review?authority=%00&page=" + "9" * 5000).status_code == 200
        assert web.get("/review/documents/a%00b").status_code == 404
    with httpx.Client(base_url=running.service.url, timeout=30) as fresh:
        logged_in = login(fresh, running.key, next_path="/review\r\nX: 1")
        assert logged_in.status_code == 303 and logged_in.headers["location"] == "/review"
    assert "Traceback" not in running.service.log.read_text()
    assert "internal error" not in running.service.log.read_text()


def test_every_id_is_reachable_or_refused(running: Reviewing, api: httpx.Client, tmp_path: Path) -> None:
    assert api.post("/v1/extract", json=article("slash/x", target="Slash Target")).status_code == 200
    for path in ("slash%2Fx", "slash/x"):
        assert api.get(f"/v1/documents/{path}").json()["id"] == "slash/x", path
    assert ftm_names(api, "slash%2Fx") == {"Slash Target"}
    assert api.get("/v1/documents/slash%2Fx/matches").json()["document"] == "slash/x"
    with running.browser() as web:
        page = web.get("/review/documents/slash%2Fx")
        assert page.status_code == 200 and "slash/x" in page.text
        form = approve_form(csrf_of(page.text), authority="us", target="Slash Target", evidence="x")
        approved = web.post("/review/documents/slash%2Fx", data=form, follow_redirects=False)
        assert approved.headers["location"] == "/review/documents/slash%2Fx?approved=1"
    assert api.get("/v1/documents/slash%2Fx").json()["reviewed"] is True
    assert api.delete("/v1/documents/slash%2Fx").json()["deleted"] == "slash/x"

    for bad in (".", "..", "x/ftm", "y/matches", "   "):
        error = error_of(api.post("/v1/extract", json={"id": bad, "text": "Treasury sanctioned Acme."}))
        assert error["code"] in ("invalid_document", "invalid_request"), (bad, error)
        job = api.post("/v1/jobs", json=[{"id": bad, "text": "Treasury sanctioned Acme."}]).json()
        assert job["accepted"] == 0 and job["rejected"], bad

    # The CLI names files that share a stem by their folders: `a/x`, `b/x`. Stored with --db, they are served.
    for folder in ("cli-a", "cli-b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "x.txt").write_text(article("x", target=f"Folder {folder}")["text"])
    cli = CliRunner().invoke(cli_app, ["extract", str(tmp_path / "cli-a" / "x.txt"), str(tmp_path / "cli-b" / "x.txt"),
                                       "--db", running.db_url, "--model", "fake-model", "--base-url",
                                       running.fake.base_url], env={"OPENAI_API_KEY": "test"})
    assert cli.exit_code == 0, cli.output
    assert api.get("/v1/documents/cli-a%2Fx").json()["id"] == "cli-a/x"
    assert ftm_names(api, "cli-b%2Fx") == {"Folder cli-b"}


def test_the_review_link_of_a_dotted_id_stays_on_its_document(running: Reviewing, api: httpx.Client) -> None:
    assert api.post("/v1/extract", json=article("../../docs")).status_code == 200
    with running.browser() as web:
        queue = web.get("/review").text
        assert 'href="/review/documents/..%2F..%2Fdocs"' in queue
        assert not re.search(r'href="/review/documents/\.\./', queue)
        page = web.get("/review/documents/..%2F..%2Fdocs")
        assert page.status_code == 200 and "<h1>../../docs</h1>" in page.text
