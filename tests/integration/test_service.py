"""The service's HTTP API against a real uvicorn process, on SQLite and (where it starts) PostgreSQL."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from extractor.cli import app as cli_app
from extractor.client import Client, ServiceError
from extractor.testing.service import article, make_key, results, revoke, wait_job
from tests.support.services import Running, service_on

DATABASES = ["sqlite", "postgresql"]


@pytest.fixture(scope="module", params=DATABASES)
def running(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """One server per database kind for this module (starting a process costs a second or two)."""
    tmp = tmp_path_factory.mktemp(f"service-{request.param}")
    with service_on(request.param, tmp, extra=("--max-text-chars", "50000")) as running:
        yield running


@pytest.fixture
def api(running: Running) -> Iterator[httpx.Client]:
    with running.client() as client:
        yield client


def error_of(response: httpx.Response) -> dict[str, str]:
    """The error envelope's body, checking its shape."""
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message"}, body
    assert "Traceback" not in response.text
    return body["error"]


def test_extract_then_served_from_store(running: Running, api: httpx.Client) -> None:
    doc = {**article("ex-1", target="Orion Metals"), "title": "Sanctions", "published": "2024-03-05"}
    calls = len(running.fake.chat_requests())
    first = api.post("/v1/extract", json=doc)
    assert first.status_code == 200, first.text
    line = first.json()
    assert line["article_id"] == "ex-1"
    assert line["actions"][0]["targets"][0]["name"] == "Orion Metals"
    assert line["meta"]["stored"] is False and line["meta"]["prompt_id"] == "sanctions@v3"
    assert len(running.fake.chat_requests()) == calls + 1
    again = api.post("/v1/extract", json=doc).json()
    assert again["meta"]["stored"] is True
    assert again["meta"]["extraction_id"] == line["meta"]["extraction_id"]
    assert {k: v for k, v in again.items() if k != "meta"} == {k: v for k, v in line.items() if k != "meta"}
    assert len(running.fake.chat_requests()) == calls + 1  # the model was not asked again


def test_extract_without_id_uses_the_text(api: httpx.Client) -> None:
    doc = {"text": article("anon", target="Nameless Ltd")["text"]}
    first = api.post("/v1/extract", json=doc).json()
    assert first["article_id"].startswith("doc-")
    assert api.post("/v1/extract", json=doc).json()["meta"]["stored"] is True


def test_same_id_other_text_is_a_conflict(api: httpx.Client) -> None:
    assert api.post("/v1/extract", json=article("conflict-1")).status_code == 200
    response = api.post("/v1/extract", json={"id": "conflict-1", "text": "Entirely different text."})
    assert response.status_code == 409
    assert error_of(response)["code"] == "document_conflict"


def test_job_of_50_documents_through_to_results(api: httpx.Client) -> None:
    docs = [article(f"job50-{n:02d}", target=f"Fleet Vessel {n}") for n in range(50)]
    created = api.post("/v1/jobs", json=docs)
    assert created.status_code == 202, created.text
    job = created.json()
    assert job["total"] == job["accepted"] == 50 and job["rejected"] == []
    status = wait_job(api, job["id"])
    assert (status["done"], status["failed"], status["queued"], status["running"]) == (50, 0, 0, 0)
    lines = results(api, job["id"])
    assert [line["article_id"] for line in lines] == [d["id"] for d in docs]  # submission order
    assert all("error" not in line and line["meta"]["prompt_id"] == "sanctions@v3" for line in lines)
    assert lines[7]["actions"][0]["targets"][0]["name"] == "Fleet Vessel 7"


def test_document_filters(api: httpx.Client) -> None:
    docs = [
        article("flt-borealis", target="Borealis Bank", authority="eu", measure="travel_ban", date="2023-05"),
        article("flt-caspian", target="Caspian Trading LLC", authority="gb", measure="export_controls",
                date="2024-07-14"),
        article("flt-caspian2", target="Caspian Trading", authority="us", measure="price_cap", date="2025",
                issuer="Treasury's Office of Foreign Assets Control (OFAC)"),
    ]
    wait_job(api, api.post("/v1/jobs", json=docs).json()["id"])

    def ids(**params: str) -> list[str]:
        response = api.get("/v1/documents", params={"limit": "500", **params})
        assert response.status_code == 200, response.text
        return sorted(item["id"] for item in response.json()["items"])

    assert ids(target="borealis bnk") == ["flt-borealis"]  # fuzzy: case and a typo
    assert ids(target="Caspian Trading") == ["flt-caspian", "flt-caspian2"]
    assert ids(target="Caspian Trading", authority="gb") == ["flt-caspian"]
    assert ids(target="Caspian Trading", measure="price_cap") == ["flt-caspian2"]
    assert ids(authority="eu") == ["flt-borealis"]
    assert ids(measure="export_controls") == ["flt-caspian"]
    assert ids(issuer="us-ofac") == ids(issuer="us-treasury") == ids(issuer="OFAC") == ["flt-caspian2"]
    assert ids(issuer="us-state") == []
    assert ids(target="Caspian", since="2025-01-01") == ["flt-caspian2"]
    assert ids(target="Borealis Bank", since="2023-05-31", until="2023-05-31") == ["flt-borealis"]  # a month
    assert ids(target="Borealis Bank", since="2023-06-01") == []
    assert ids(target="Zanzibar Unknown Holdings") == []
    page = api.get("/v1/documents", params={"target": "Caspian Trading", "limit": "1", "offset": "1"}).json()
    assert page["total"] == 2 and len(page["items"]) == 1 and page["offset"] == 1
    bad = api.get("/v1/documents", params={"measure": "teleportation"})
    assert bad.status_code == 422 and "measure" in error_of(bad)["message"]
    bad = api.get("/v1/documents", params={"since": "yesterday"})
    assert bad.status_code == 422


def test_document_detail_and_delete(api: httpx.Client) -> None:
    html = '<script>alert("x")</script> <b>Treasury</b> sanctioned Acme.'
    assert api.post("/v1/extract", json={"id": "del-1", "text": html, "title": "<i>t</i>"}).status_code == 200
    detail = api.get("/v1/documents/del-1")
    assert detail.status_code == 200
    assert detail.headers["content-type"].startswith("application/json")
    assert detail.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in detail.headers["content-security-policy"]
    body = detail.json()
    assert body["text"] == html and body["metadata"] == {"title": "<i>t</i>"}
    assert len(body["extractions"]) == 1 and body["extractions"][0]["result"]["article_id"] == "del-1"
    deleted = api.delete("/v1/documents/del-1")
    assert deleted.json() == {"deleted": "del-1", "extractions": 1}
    assert error_of(api.get("/v1/documents/del-1"))["code"] == "not_found"
    assert api.delete("/v1/documents/del-1").status_code == 404


def test_auth_is_required_on_every_v1_route(running: Running) -> None:
    spec = running.client().get("/openapi.json").json()
    routes = [(method, path) for path, ops in spec["paths"].items() for method in ops]
    assert ("post", "/v1/extract") in routes and ("get", "/v1/documents") in routes
    for method, path in routes:
        url = running.service.url + path.replace("{job_id}", "x").replace("{document_id}", "x")
        response = httpx.request(method, url, timeout=10)
        if path in ("/health", "/ready"):
            assert response.status_code == 200
            continue
        assert path.startswith("/v1/"), path
        assert response.status_code == 401, (method, path, response.text)
        assert error_of(response)["code"] == "unauthorized"
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_wrong_and_revoked_keys(running: Running) -> None:
    with running.client("sx_not-a-key") as client:
        response = client.get("/v1/documents")
        assert response.status_code == 401 and error_of(response)["message"] == "invalid or revoked API key"
    with httpx.Client(base_url=running.service.url) as client:
        response = client.get("/v1/documents", headers={"Authorization": "Basic abc"})
        assert response.status_code == 401 and "Bearer" in error_of(response)["message"]
    key = make_key(running.db_url, "to-revoke")
    with running.client(key) as client:
        assert client.get("/v1/documents").status_code == 200
        revoke(running.db_url, "to-revoke")
        response = client.get("/v1/documents")
        # One message for both: a guesser cannot tell a revoked key from one that never existed.
        assert response.status_code == 401 and error_of(response)["message"] == "invalid or revoked API key"


def test_rate_limit_gives_429_with_retry_after(running: Running) -> None:
    key = make_key(running.db_url, "slow", rate_limit=3)
    with running.client(key) as client:
        assert [client.get("/v1/documents").status_code for _ in range(3)] == [200, 200, 200]
        response = client.get("/v1/documents")
    assert response.status_code == 429
    assert error_of(response)["code"] == "rate_limited"
    assert 1 <= int(response.headers["retry-after"]) <= 60


def test_bad_input_gets_clear_json_errors(running: Running, api: httpx.Client) -> None:
    cases = [
        (api.post("/v1/extract", json={"text": ""}), 422, "invalid_request", "empty"),
        (api.post("/v1/extract", json={"text": "  \n\t "}), 422, "invalid_request", "whitespace"),
        (api.post("/v1/extract", json={"txt": "hello"}), 422, "invalid_request", "text"),
        (api.post("/v1/extract", content=b'{"text": "unterminated', headers={"content-type": "application/json"}),
         400, "invalid_json", "JSON"),
        (api.post("/v1/extract", content=b"text=hello", headers={"content-type": "text/plain"}),
         415, "unsupported_media_type", "application/json"),
        (api.post("/v1/extract", json={"text": "x" * 60_000}), 413, "text_too_long", "limit"),
        (api.post("/v1/extract", json={"text": "Treasury sanctioned Acme.", "prompt": "nosuch"}),
         400, "unknown_prompt", "nosuch"),
        (api.post("/v1/extract", json={"text": "Treasury sanctioned Acme.", "published": "last week"}),
         422, "invalid_request", "published"),
        (api.post("/v1/extract", json={"text": "Treasury sanctioned Acme.", "model": "gpt-9"}),
         400, "unknown_model", "gpt-9"),
        (api.post("/v1/jobs", json=[]), 422, "invalid_request", "no documents"),
        (api.post("/v1/jobs", content=b"a,b", headers={"content-type": "text/csv"}), 415, "unsupported_media_type",
         "x-ndjson"),
        (api.get("/v1/jobs/nosuchjob"), 404, "not_found", "nosuchjob"),
        (api.get("/v1/nowhere"), 404, "not_found", "/v1/nowhere"),
        (api.put("/v1/extract", json={}), 405, "method_not_allowed", "PUT"),
    ]
    for response, status, code, words in cases:
        assert response.status_code == status, (code, response.text)
        error = error_of(response)
        assert error["code"] == code and words in error["message"], error
    huge = api.post("/v1/extract", content=b'{"text": "' + b"a" * (20 * 1024 * 1024) + b'"}',
                    headers={"content-type": "application/json"})
    assert huge.status_code == 413 and error_of(huge)["code"] == "body_too_large"
    assert httpx.get(f"{running.service.url}/health").json() == {"status": "ok"}
    assert api.post("/v1/extract", json=article("after-bad-input")).status_code == 200  # still serving


def test_jsonl_upload_with_a_bad_line(api: httpx.Client) -> None:
    lines = [json.dumps(article("up-1")), "{not json", json.dumps({"id": "up-3", "text": "   "}),
             json.dumps(article("up-4"))]
    upload = ("\n".join(lines) + "\n").encode()
    created = api.post("/v1/jobs", files={"file": ("feed.jsonl", upload, "application/x-ndjson")})
    assert created.status_code == 202, created.text
    job = created.json()
    assert job["total"] == 4 and job["accepted"] == 2
    assert [(r["line"], r["article_id"]) for r in job["rejected"]] == [(2, "line-2"), (3, "up-3")]
    assert "invalid JSON" in job["rejected"][0]["message"]
    assert "whitespace" in job["rejected"][1]["message"]
    wait_job(api, job["id"])
    lines_out = results(api, job["id"])
    assert [line["article_id"] for line in lines_out] == ["up-1", "line-2", "up-3", "up-4"]
    assert [("error" in line) for line in lines_out] == [False, True, True, False]
    raw = api.post("/v1/jobs?prompt=sanctions@v3", content=upload, headers={"content-type": "application/x-ndjson"})
    assert raw.status_code == 202 and raw.json()["accepted"] == 2


def test_openapi_docs_and_ready(running: Running) -> None:
    for path in ("/openapi.json", "/docs"):
        anonymous = httpx.get(f"{running.service.url}{path}")
        assert anonymous.status_code == 401 and error_of(anonymous)["code"] == "unauthorized"
        forged = httpx.get(f"{running.service.url}{path}", cookies={"sx_session": "eyJrIjoxfQ.forged.sig"})
        assert forged.status_code == 401
    spec = running.client().get("/openapi.json").json()
    assert "bearerAuth" in json.dumps(spec) or "HTTPBearer" in json.dumps(spec)
    assert not any(path.startswith("/review") for path in spec["paths"])
    assert running.client().get("/docs").status_code == 200
    ready = httpx.get(f"{running.service.url}/ready").json()
    assert ready["status"] == "ready" and ready["database"] == "ok"


def test_python_client_and_cli(running: Running, tmp_path: Path) -> None:
    with Client(running.service.url, running.key) as client:
        line = client.extract(article("cl-1")["text"], id="cl-1")
        assert line["article_id"] == "cl-1"
        job = client.submit([article("cl-2"), article("cl-3")])
        assert client.wait(job, timeout=30, poll=0.1)["done"] == 2
        assert [r["article_id"] for r in client.results(job)] == ["cl-2", "cl-3"]
        assert client.document("cl-2")["id"] == "cl-2"
        with pytest.raises(ServiceError) as raised:
            client.extract("   ")
        assert raised.value.status == 422
    with Client(running.service.url, "sx_wrong") as client, pytest.raises(ServiceError) as raised:
        client.documents()
    assert raised.value.status == 401 and raised.value.code == "unauthorized"

    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(json.dumps(article(f"cli-{n}")) for n in range(3)) + "\n")
    out = tmp_path / "out.jsonl"
    runner = CliRunner()
    result = runner.invoke(cli_app, ["extract", str(source), "--server", running.service.url, "--out", str(out),
                                     "-j", "2"], env={"EXTRACTOR_API_KEY": running.key})
    assert result.exit_code == 0, result.output
    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(line["article_id"] for line in written) == ["cli-0", "cli-1", "cli-2"]
    again = runner.invoke(cli_app, ["extract", str(source), "--server", running.service.url, "--out", str(out)],
                          env={"EXTRACTOR_API_KEY": running.key})
    assert again.exit_code == 0 and "3 document(s) already" in again.output
    no_key = runner.invoke(cli_app, ["extract", str(source), "--server", running.service.url],
                           env={"EXTRACTOR_API_KEY": ""})
    assert no_key.exit_code == 2 and "API key" in no_key.output


def test_the_service_logs_every_model_call(running: Running, api: httpx.Client) -> None:
    assert api.post("/v1/extract", json=article("log-1", target="Logged Holdings")).status_code == 200
    calls: list[dict] = []
    for _ in range(50):  # the service writes its log from a background thread: at most ~10 s
        result = CliRunner().invoke(cli_app, ["logs", "--db", running.db_url, "--doc", "log-1", "--json"])
        assert result.exit_code == 0, result.output
        calls = [json.loads(line) for line in result.stdout.splitlines()]
        if calls:
            break
        time.sleep(0.2)
    [call] = calls
    assert call["status"] == "ok" and call["prompt_id"] == "sanctions@v3" and call["model"] == "fake-model"
    assert "Logged Holdings" in call["request"]["messages"][-1]["content"]
    assert "Logged Holdings" in call["response"]["choices"][0]["message"]["content"]


def test_keys_cli(running: Running) -> None:
    runner = CliRunner()
    created = runner.invoke(cli_app, ["keys", "create", "cli-key", "--rate-limit", "50", "--db", running.db_url])
    assert created.exit_code == 0, created.output
    key = created.stdout.strip().splitlines()[0]
    assert key.startswith("sx_")
    with running.client(key) as client:
        assert client.get("/v1/documents").status_code == 200
    listed = runner.invoke(cli_app, ["keys", "list", "--db", running.db_url])
    assert "cli-key" in listed.output and key not in listed.output
    duplicate = runner.invoke(cli_app, ["keys", "create", "cli-key", "--db", running.db_url])
    assert duplicate.exit_code == 2 and "exists already" in duplicate.output
    assert runner.invoke(cli_app, ["keys", "revoke", "cli-key", "--db", running.db_url]).exit_code == 0
    with running.client(key) as client:
        assert client.get("/v1/documents").status_code == 401
    missing = runner.invoke(cli_app, ["keys", "revoke", "nobody", "--db", running.db_url])
    assert missing.exit_code == 2 and "no key named" in missing.output
