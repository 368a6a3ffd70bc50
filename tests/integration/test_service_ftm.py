"""The service's FtM export and list matching endpoints, against a real server started with `--list`."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from followthemoney import model

from extractor.testing.service import Service, article, fake_model, make_key
from tests.support import DATA
from tests.support.postgres import database_url

SDN = DATA / "sdn" / "sdn-sample.csv"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    tmp = tmp_path_factory.mktemp("service-ftm")
    db_url = database_url("sqlite", tmp)
    with fake_model() as fake:
        key = make_key(db_url, "ftm")
        service = Service(db_url, fake.base_url, tmp, workers=2, extra=("--list", str(SDN))).start()
        try:
            with httpx.Client(base_url=service.url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
                yield client
        finally:
            service.stop()


def test_ftm_of_a_stored_extraction(api: httpx.Client) -> None:
    doc = {**article("ftm-1", target="Banco Nacional de Cuba"), "url": "https://example.org/r", "title": "Release"}
    assert api.post("/v1/extract", json=doc).status_code == 200
    response = api.get("/v1/documents/ftm-1/ftm")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/x-ndjson")
    entities = [model.get_proxy(json.loads(line)) for line in response.text.splitlines()]
    schemata = {e.schema.name for e in entities}
    assert {"Article", "Sanction", "Company"} <= schemata
    company = next(e for e in entities if e.schema.name == "Company")
    assert company.get("name") == ["Banco Nacional de Cuba"]
    again = [json.loads(line)["id"] for line in api.get("/v1/documents/ftm-1/ftm").text.splitlines()]
    assert again == [e.id for e in entities]  # stable ids


def test_matches_against_the_servers_list(api: httpx.Client) -> None:
    api.post("/v1/extract", json=article("ftm-2", target="Banco Nacional de Cuba"))
    api.post("/v1/extract", json=article("ftm-3", target="Northwind Imaginary Traders"))
    listed = api.get("/v1/documents/ftm-2/matches").json()
    assert listed["matches"][0]["status"] == "listed"
    assert "306" in json.dumps(listed["matches"][0])  # the SDN entry number of BANCO NACIONAL DE CUBA
    unlisted = api.get("/v1/documents/ftm-3/matches").json()
    assert unlisted["matches"][0]["status"] == "not_listed"


def test_errors_are_json(api: httpx.Client) -> None:
    missing = api.get("/v1/documents/nope/ftm")
    assert missing.status_code == 404 and set(missing.json()) == {"error"}
    assert api.get("/v1/documents/ftm-1/ftm", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert api.get("/v1/documents/ftm-1/matches?extraction=99999").status_code == 404
