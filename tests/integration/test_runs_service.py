"""The run history through the service (`/v1/runs`, `eval --server`, the pages' login), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from extractor.cli import app as cli_app
from extractor.client import Client, ServiceError
from extractor.eval.goldset import load_gold_set
from extractor.eval.history.record import record_of
from extractor.eval.runs import load_run
from extractor.eval.score_run import tally_run
from extractor.testing.service import article
from tests.support import ROOT
from tests.support.review import login
from tests.support.services import Running, service_on

RUNS = ROOT / "evals" / "runs"
NAMES = ("smollm2-v1", "smollm2-v2", "smollm2-v3")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def running(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    tmp = tmp_path_factory.mktemp(f"runs-{request.param}")
    with service_on(request.param, tmp, key_name="runs") as running:
        yield running


@pytest.fixture(scope="module")
def payloads() -> dict[str, dict]:
    """The committed runs scored here, as `eval --server` sends them."""
    gold_set = load_gold_set(ROOT / "evals" / "gold", ROOT / "evals" / "docs")
    out = {}
    for name in NAMES:
        run = load_run(RUNS / name)
        out[name] = record_of(tally_run(run, gold_set), run, gold_set, source="service").to_payload()
    return out


def test_runs_api_records_lists_compares_and_deletes(running: Running, payloads: dict[str, dict]) -> None:
    with Client(running.service.url, running.key, timeout=60) as client:
        ids = {name: client.record_run(payload)["id"] for name, payload in payloads.items()}
        assert client.record_run(payloads["smollm2-v3"])["id"] == ids["smollm2-v3"]  # the same run replaces itself
        page = client.runs()
        assert page["total"] == 3 and {item["source"] for item in page["items"]} == {"service"}
        assert [item["prompt_id"] for item in client.runs(prompt="sanctions@v2")["items"]] == ["sanctions@v2"]
        assert client.runs(prompt="sanctions", since="2026-12-01")["total"] == 1
        assert [i["prompt_id"] for i in client.runs(sort="f1", limit=1)["items"]] == ["sanctions@v3"]
        detail = client.run(ids["smollm2-v3"][:6])
        report = json.loads((RUNS / "smollm2-v3" / "report.json").read_text(encoding="utf-8"))
        assert detail["micro_f1"] == report["micro"]["f1"] and detail["metrics"]["fields"] == report["fields"]

        compared = client.compare_runs(ids["smollm2-v1"], ids["smollm2-v3"])
        recorded = json.loads((RUNS / "compare-v1-v3" / "compare.json").read_text(encoding="utf-8"))
        for key in ("delta_f1", "ci_low", "ci_high", "wins", "ties", "losses", "sign_test_p", "fields", "documents"):
            assert compared[key] == recorded[key], key

        grid = running_grid(running, ids["smollm2-v1"])
        assert grid["prompts"] == ["sanctions@v1", "sanctions@v2", "sanctions@v3"]
        cells = {cell["prompt_id"]: cell for cell in grid["cells"]}
        assert cells["sanctions@v3"]["clear"]
        assert cells["sanctions@v3"]["delta"] == pytest.approx(recorded["delta_f1"], abs=1e-6)
        assert not cells["sanctions@v2"]["clear"] and cells["sanctions@v1"]["delta"] is None

        other = json.loads(json.dumps(payloads["smollm2-v2"]))
        other.update(id="0123456789ab", info={**other["info"], "gold_hash": "000000000000"})
        client.record_run(other)
        with pytest.raises(ServiceError) as refused:
            client.compare_runs(ids["smollm2-v1"], "0123456789ab")
        assert refused.value.status == 409 and "different gold sets" in refused.value.message
        bad = {**payloads["smollm2-v1"], "documents": {**payloads["smollm2-v1"]["documents"], "groups": ["x"]}}
        with pytest.raises(ServiceError) as invalid:
            client.record_run(bad)
        assert invalid.value.status == 422 and "groups" in invalid.value.message

        assert client.delete_run("0123456789ab") == {"deleted": "0123456789ab"}
        with pytest.raises(ServiceError) as missing:
            client.run("0123456789ab")
        assert missing.value.status == 404


def running_grid(running: Running, baseline: str) -> dict:
    with running.client() as http:
        response = http.get("/v1/runs/grid", params={"baseline": baseline})
        assert response.status_code == 200, response.text
        return response.json()


def _tiny_gold_set(root: Path) -> tuple[Path, Path]:
    """Three documents the fake model answers from their markers: one right, one half right, one invented."""
    gold, docs = root / "gold", root / "docs"
    gold.mkdir(parents=True)
    docs.mkdir()
    answers = {"ev-1": "Acme Shipping", "ev-2": "Borealis Trading"}
    for doc_id, target in [("ev-1", "Acme Shipping"), ("ev-2", "Acme Shipping"), ("ev-3", None)]:
        text = article(doc_id, target=target or "Nobody Ltd")["text"]
        (docs / f"{doc_id}.txt").write_text(text, encoding="utf-8")
        actions = [] if target is None else [{
            "authority": "us", "action": "impose", "measures": ["asset_freeze"], "date": "2024-03-05",
            "targets": [{"name": answers[doc_id], "entity_type": "company"}],
            "evidence": ["the authorities sanctioned"],
        }]
        (gold / f"{doc_id}.json").write_text(json.dumps({"article_id": doc_id, "is_sanctions_news": bool(actions),
                                                         "actions": actions}), encoding="utf-8")
    return gold, docs


def test_eval_through_the_service_is_recorded_there(running: Running, tmp_path: Path) -> None:
    gold, docs = _tiny_gold_set(tmp_path / "set")
    out = tmp_path / "run"
    result = CliRunner().invoke(cli_app, ["eval", "--server", running.service.url, "--gold", str(gold), "--docs",
                                          str(docs), "--out", str(out), "--n-boot", "200", "--name", "through-service"],
                                env={"EXTRACTOR_API_KEY": running.key, "COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    found = re.search(r"recorded as run ([0-9a-f]{12}) in " + re.escape(running.service.url), result.output)
    assert found, result.output
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    info = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert info["prompt_id"] == "sanctions@v3" and info["model"] == "fake-model" and info["backend"] == "service"
    with Client(running.service.url, running.key, timeout=60) as client:
        run = client.run(found.group(1))
    assert run["name"] == "through-service" and run["source"] == "service" and run["model"] == "fake-model"
    assert run["micro_f1"] == report["micro"]["f1"] and 0 < run["micro_f1"] < 1 and run["n_documents"] == 3
    assert run["predictions"] == str(out.resolve())
    both = CliRunner().invoke(cli_app, ["eval", "--server", running.service.url, "--predictions", str(out)],
                              env={"EXTRACTOR_API_KEY": running.key})
    assert both.exit_code == 2 and "neither --predictions nor --db" in both.output


def test_runs_pages_need_the_review_login_and_escape_names(running: Running, payloads: dict[str, dict]) -> None:
    hostile = {**payloads["smollm2-v3"], "id": "abcdefabcdef", "name": "<script>alert(1)</script>"}
    with Client(running.service.url, running.key, timeout=60) as client:
        client.record_run(hostile)
    with httpx.Client(base_url=running.service.url, timeout=60, follow_redirects=False) as browser:
        for path in ("/review/runs", "/review/runs/grid", "/review/runs/compare?a=x&b=y",
                     "/review/runs/documents?run=abcdef", "/review/runs/documents/ev-1?run=abcdef"):
            response = browser.get(path)
            assert response.status_code == 303 and response.headers["location"].startswith("/review/login"), path
        logged_in = login(browser, running.key, "/review/runs")
        assert logged_in.status_code == 303
        page = browser.get("/review/runs")
        assert page.status_code == 200 and "abcdefabcdef" in page.text
        assert "<script>alert(1)" not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert browser.get("/review/runs/compare?run=abcdefabcdef").status_code == 422  # one run is not a pair
        assert browser.get("/review/runs/compare?a=abcdefabcdef&b=ffffffffffff").status_code == 404
        assert browser.get("/review/runs/static/runs.js").status_code == 200
        assert browser.get("/review/fonts.js").headers["content-type"].startswith("text/javascript")
    with Client(running.service.url, running.key, timeout=60) as client:
        client.delete_run("abcdefabcdef")
