"""The review loop in a real browser (Playwright driving Debian's chromium) against a real server.

Open a document, delete a wrong target, add one by selecting text, approve; export gold; the
gold validates and `extractor eval` scores the reviewed answer 1.0. A document with a script
tag renders as text and no dialog fires. Skipped with the reason when chromium cannot start.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from extractor.core.schema import GoldFile
from extractor.testing.fake_openai import FakeOpenAI
from extractor.testing.service import Service, make_key
from tests.support import ROOT
from tests.support.browser import chromium, require_chromium
from tests.support.review import DOCUMENTS, login, scripted_reply

SCREENSHOTS = os.environ.get("REVIEW_SCREENSHOTS")  # a directory: save the pages' screenshots there


@dataclass
class Env:
    service: Service
    db_url: str
    key: str
    browser: Any


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    sync_api = require_chromium()
    tmp = tmp_path_factory.mktemp("review")
    db_url = f"sqlite:///{tmp / 'service.db'}"
    with FakeOpenAI(default=scripted_reply) as fake:  # type: ignore[arg-type]
        key = make_key(db_url, "alice")
        service = Service(db_url, fake.base_url, tmp).start()
        try:
            with httpx.Client(base_url=service.url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as api:
                for doc in DOCUMENTS:
                    response = api.post("/v1/extract", json=doc)
                    assert response.status_code == 200, response.text
            with chromium(sync_api) as browser:
                yield Env(service, db_url, key, browser)
        finally:
            service.stop()


def _login(env: Env, page: Any, next_path: str = "/review") -> None:
    page.goto(f"{env.service.url}{next_path}")
    assert "/review/login" in page.url
    page.fill("#key", env.key)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{next_path}")


def _select(page: Any, text: str) -> None:
    """Select `text` inside the document view, as a mouse drag would."""
    page.evaluate(
        """(needle) => {
            const root = document.getElementById('doctext');
            const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
            let node;
            while ((node = walker.nextNode())) {
                const at = node.data.indexOf(needle);
                if (at >= 0) {
                    const range = document.createRange();
                    range.setStart(node, at);
                    range.setEnd(node, at + needle.length);
                    const sel = window.getSelection();
                    sel.removeAllRanges();
                    sel.addRange(range);
                    document.dispatchEvent(new Event('selectionchange'));
                    return;
                }
            }
            throw new Error('text not found: ' + needle);
        }""",
        text,
    )


def _shot(page: Any, name: str) -> None:
    if SCREENSHOTS:
        page.evaluate("window.scrollTo(0, 0)")
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / name), full_page=False)


def test_review_loop_makes_gold_that_scores_one(env: Env, tmp_path: Path) -> None:
    context = env.browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    _login(env, page)
    cookie = next(c for c in context.cookies() if c["name"] == "sx_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert page.locator("#queue tbody tr").count() == 2
    _shot(page, "review-queue.png")

    # Keyboard: j selects the first row, Enter opens it.
    page.locator("body").press("j")
    page.keyboard.press("Enter")
    page.wait_for_url("**/review/documents/*")
    if "ofac-northwind" not in page.url:
        page.goto(f"{env.service.url}/review/documents/ofac-northwind")
    assert page.locator("#doctext mark.name").count() >= 2  # both model targets found in the text

    # Delete the wrong target.
    page.click("button[data-remove-target='Harbor Light Trading']")
    page.wait_for_load_state()
    names = page.locator("input[name$='.name']")
    assert [names.nth(i).input_value() for i in range(names.count())] == ["Northwind Maritime Ltd"]
    assert page.locator("#review-status").inner_text() == "in review"

    # Add the missing one by selecting it in the text.
    _select(page, "Pavel Sorokin")
    page.click("#a0 .from-selection[data-kind=target]")
    page.wait_for_load_state()
    assert page.locator("input[name='a0.t1.name']").input_value() == "Pavel Sorokin"
    page.select_option("select[name='a0.t1.entity_type']", "person")
    _shot(page, "review-document.png")
    # A wrong jurisdiction code is refused next to its field.
    page.fill("input[name='a0.t1.country']", "xx")
    page.click("#approve")
    page.wait_for_load_state()
    assert page.locator("#doctext mark:has-text('Harbor Light Trading')").count() == 0  # the draft's marks
    error = page.locator(".field-error[data-for='a0.t1.country']")
    assert "not a jurisdiction code" in error.inner_text()
    assert page.locator("#review-status").inner_text() == "in review"
    page.fill("input[name='a0.t1.country']", "ru")
    page.locator("#doctext").focus()
    page.keyboard.press("a")  # approve from the keyboard
    page.wait_for_url("**approved=1*")
    assert page.locator("#review-status").inner_text() == "approved"
    assert page.locator(".doctext mark.selected").count() == 1  # the selected name is marked at its offsets
    assert not dialogs

    gold_dir = tmp_path / "gold-out"
    _run("gold", "export", "--out", str(gold_dir), "--db", env.db_url)
    gold = GoldFile.model_validate_json((gold_dir / "gold" / "ofac-northwind.json").read_text())
    names_now = [(t.name, t.entity_type, t.country) for t in gold.actions[0].targets]
    assert names_now == [("Northwind Maritime Ltd", "company", "ae"), ("Pavel Sorokin", "person", "ru")]
    manifest = json.loads((gold_dir / "docs" / "manifest.json").read_text())
    assert manifest[0]["id"] == "ofac-northwind" and manifest[0]["published"] == "2024-03-05"
    assert "review by alice" in manifest[0]["source"]
    assert (gold_dir / "docs" / "ofac-northwind.txt").read_text() == DOCUMENTS[0]["text"]

    predictions = tmp_path / "reviewed.jsonl"
    predictions.write_text(json.dumps(gold.model_dump(mode="json", exclude={"notes"})) + "\n")
    _run("eval", "--gold", str(gold_dir / "gold"), "--docs", str(gold_dir / "docs"), "--predictions",
         str(predictions), "--out", str(tmp_path / "eval"), "--n-boot", "200")
    report = json.loads((tmp_path / "eval" / "report.json").read_text())
    assert report["n_documents"] == 1 and report["micro"]["f1"] == 1.0

    # What the reviewer fixed is kept and counted.
    stats = _run("review", "stats", "--db", env.db_url)
    assert "actions.targets" in stats and "1 approved review" in stats
    context.close()


def test_script_in_a_document_is_shown_as_text(env: Env) -> None:
    context = env.browser.new_context()
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    _login(env, page, "/review/documents/eu-bold")
    assert "<script>alert(1)</script>" in page.locator("#doctext").inner_text()
    assert page.locator("#doctext script, #doctext b").count() == 0
    name = page.locator("input[name='a0.t0.name']").input_value()
    assert name == "<b>Bold Corp</b><script>alert(2)</script>"
    page.goto(f"{env.service.url}/review")
    assert page.locator("td:has-text('<i>EU</i> note')").count() == 1
    page.wait_for_timeout(200)
    assert not dialogs
    context.close()


def test_api_docs_render_offline_from_this_server(env: Env) -> None:
    context = env.browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    hosts: set[str] = set()
    problems: list[str] = []
    page.on("request", lambda r: hosts.add(r.url.split("/")[2]))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    _login(env, page)
    page.goto(f"{env.service.url}/docs")
    page.wait_for_selector(".swagger-ui .info .title", timeout=20_000)
    assert "sanctions-extractor" in page.locator(".swagger-ui .info .title").inner_text()
    assert page.locator(".opblock-summary-path:has-text('/v1/extract')").count() >= 1
    _shot(page, "api-docs.png")
    assert hosts == {env.service.url.split("/")[2]}  # nothing from any other host
    assert not [p for p in problems if "Content Security Policy" in p]
    context.close()


def test_pages_need_a_session_and_forms_a_token(env: Env) -> None:
    url = env.service.url
    with httpx.Client(base_url=url, timeout=10) as anonymous:
        for path in ("/review", "/review/documents/ofac-northwind"):
            response = anonymous.get(path)
            assert response.status_code == 303 and response.headers["location"].startswith("/review/login")
        assert anonymous.post("/review/documents/ofac-northwind", data={"op": "approve"}).status_code == 303
        assert login(anonymous, "sx_wrong").status_code == 401
        # The open-redirect guard keeps `next` on this server.
        login_ = login(anonymous, env.key, "https://evil.example/")
        assert login_.status_code == 303 and login_.headers["location"] == "/review"
        page = anonymous.get("/review")
        assert page.status_code == 200
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert anonymous.get("/docs").status_code == 200 and anonymous.get("/openapi.json").status_code == 200
        forged = anonymous.post("/review/documents/ofac-northwind", data={"op": "save", "csrf": "nope"})
        assert forged.status_code == 403 and "Traceback" not in forged.text


def _run(*args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "extractor", *args], cwd=ROOT, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr
