"""The runs pages in a real browser (Playwright driving Debian's chromium) against a real server, and the
static reports opened from disk with the network cut off.

Six recorded runs (three prompts × two models, made from the gold set by seeded damage) fill
the history, the grid and the per-document view. Screenshots go to $REVIEW_SCREENSHOTS when
it is set (docs/img for the docs). Skipped with the reason when chromium cannot start.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from extractor.eval.goldset import load_gold_set
from extractor.eval.history.book import save
from extractor.eval.history.record import record_of
from extractor.eval.runs import load_run
from extractor.eval.score_run import tally_run
from extractor.store import Store
from extractor.testing.fake_openai import FakeOpenAI
from extractor.testing.service import Service, make_key
from tests.support import ROOT
from tests.support.browser import chromium, require_chromium
from tests.support.runs import MODELS, PROMPTS, make_run

SCREENSHOTS = os.environ.get("REVIEW_SCREENSHOTS")

# Whether this browser draws CJK text, asked the way an oracle would: an ideograph drawn like an
# unassigned code point means no font has it. The pages' own check must agree.
CJK_MISSING = """() => {
  const c = document.createElement('canvas'); c.width = 40; c.height = 40;
  const x = c.getContext('2d'); x.textBaseline = 'top';
  const draw = (ch) => { x.clearRect(0, 0, 40, 40); x.font = '28px ' + getComputedStyle(document.body).fontFamily;
                         x.fillText(ch, 2, 2); return x.getImageData(0, 0, 40, 40).data.join(','); };
  return draw('\\u6f22') === draw('\\u{10FFFD}');
}"""


@dataclass
class Env:
    service: Service
    key: str
    browser: Any
    runs: dict[tuple[str, str], str]
    """(prompt, model) → run id."""


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    sync_api = require_chromium()
    tmp = tmp_path_factory.mktemp("runs-browser")
    db_url = f"sqlite:///{tmp / 'service.db'}"
    gold_set = load_gold_set(ROOT / "evals" / "gold", ROOT / "evals" / "docs")
    store = Store(db_url)
    runs = {}
    for prompt in PROMPTS:
        for model in MODELS:
            run = load_run(make_run(gold_set, tmp / f"{prompt.replace('@', '-')}-{model}", prompt, model, seed=7))
            runs[(prompt, model)] = save(store, record_of(tally_run(run, gold_set), run, gold_set)).id
    store.close()
    with FakeOpenAI() as fake:
        key = make_key(db_url, "carol")
        service = Service(db_url, fake.base_url, tmp).start()
        try:
            with chromium(sync_api) as browser:
                yield Env(service, key, browser, runs)
        finally:
            service.stop()


def _page(env: Env, path: str) -> Any:
    """A fresh logged-in page at `path`; page errors and dialogs are collected on it."""
    context = env.browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.problems = []
    page.on("pageerror", lambda exc: page.problems.append(str(exc)))
    page.on("dialog", lambda d: (page.problems.append(d.message), d.dismiss()))
    page.goto(f"{env.service.url}{path}")
    page.fill("#key", env.key)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{path.split('?')[0]}*")
    return page


def _shot(page: Any, name: str, full: bool = False) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / name), full_page=full)


def _f1s(page: Any) -> list[float]:
    return [float(t.split()[0]) for t in page.locator("#runs tbody td:nth-child(6)").all_inner_texts()]


def test_history_sorts_and_filters_by_prompt_model_and_date(env: Env) -> None:
    page = _page(env, "/review/runs")
    assert page.locator("#runs tbody tr").count() == 6
    page.click("th a.sort:has-text('Micro-F1')")
    page.wait_for_url("**sort=f1*")
    f1s = _f1s(page)
    assert f1s == sorted(f1s, reverse=True) and len(set(f1s)) > 1
    page.click("th a.sort:has-text('Micro-F1')")  # again: ascending
    page.wait_for_url("**desc=0*")
    assert _f1s(page) == sorted(f1s)
    page.select_option("select[name=model]", "qwen2.5-7b")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**model=qwen2.5-7b*")
    models = page.locator("#runs tbody td:nth-child(4)").all_inner_texts()
    assert models == ["qwen2.5-7b"] * 3
    page.select_option("select[name=prompt]", "sanctions@v2")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**prompt=sanctions%40v2*")
    assert page.locator("#runs tbody tr").count() == 1
    page.fill("input[name=since]", "2001-01-01")
    page.fill("input[name=until]", "2001-12-31")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**until=2001-12-31*")
    assert "No runs match these filters" in page.locator("#runs tbody").inner_text()
    page.click("a:has-text('Clear')")
    page.wait_for_url("**/review/runs")
    assert page.locator("#runs tbody tr").count() == 6
    compare_button = page.locator("#compare-picked")
    assert compare_button.is_disabled()
    boxes = page.locator("#runs tbody input[name=run]")
    boxes.nth(0).check()
    boxes.nth(1).check()
    assert compare_button.is_enabled() and page.locator("#runs tbody tr.picked").count() == 2
    page.evaluate("window.scrollTo(0, 0)")
    _shot(page, "runs-history.png")
    compare_button.click()
    page.wait_for_url("**/review/runs/compare?*")
    assert "→" in page.locator("#compare-title").inner_text()
    assert not page.problems
    page.context.close()


def test_grid_colours_cells_and_any_two_open_the_paired_comparison(env: Env) -> None:
    baseline = env.runs[("sanctions@v1", "qwen2.5-7b")]
    page = _page(env, f"/review/runs/grid?baseline={baseline}")
    cells = page.locator("#grid td.cell[data-run]")
    assert cells.count() == 6
    classes = {cells.nth(i).get_attribute("data-run"): cells.nth(i).get_attribute("class") for i in range(6)}
    assert "base" in classes[baseline].split()
    shades = {c.split()[1] for run, c in classes.items() if run != baseline}
    assert "same" in shades and any(s.startswith("up") for s in shades)  # grey where the interval includes zero
    for run, css in classes.items():  # the colour follows the printed interval of the difference
        if run == baseline:
            continue
        delta = page.locator(f"td.cell[data-run='{run}'] .delta").inner_text()
        low, high = (float(x.replace("−", "-")) for x in re.findall(r"[−-]?\d\.\d{3}", delta)[1:3])
        assert ("same" in css) == (low <= 0 <= high), (delta, css)
    _shot(page, "runs-grid.png")
    a, b = env.runs[("sanctions@v2", "qwen2.5-7b")], env.runs[("sanctions@v3", "gpt-4o-mini")]
    page.click(f"td.cell[data-run='{a}'] .f1")  # a click anywhere on a cell picks it
    page.click(f"td.cell[data-run='{b}'] .f1")
    assert page.locator("td.cell.picked").count() == 2 and page.locator("#compare-picked").is_enabled()
    page.click("#compare-picked")
    page.wait_for_url("**/review/runs/compare?*")
    title = page.locator("#compare-title").inner_text()
    assert re.fullmatch(r"sanctions@v2 · qwen2\.5-7b \d\.\d{3} → sanctions@v3 · gpt-4o-mini \d\.\d{3} "
                        r"\([+−]\d\.\d{3} \[[−]?\d\.\d{3}, [−]?\d\.\d{3}\]\)", title), title
    assert page.locator("table.fields tbody tr").count() == 18
    assert page.locator("#changes tbody tr").count() == 30
    _shot(page, "runs-compare.png")
    page.go_back()
    page.click(f"td.cell[data-run='{env.runs[('sanctions@v3', 'qwen2.5-7b')]}'] a.open")  # one cell vs the baseline
    page.wait_for_url(f"**a={baseline}*")
    assert page.locator("#compare-title").inner_text().startswith("v1 ")
    assert not page.problems
    page.context.close()


def test_one_document_shows_gold_and_each_run_side_by_side(env: Env) -> None:
    ids = [env.runs[("sanctions@v1", "qwen2.5-7b")], env.runs[("sanctions@v3", "qwen2.5-7b")],
           env.runs[("sanctions@v3", "gpt-4o-mini")]]
    query = "&".join(f"run={i}" for i in ids)
    page = _page(env, f"/review/runs/documents?{query}&only=disagree")
    listed = page.locator("#documents tbody tr[data-href]")
    disagreeing = listed.count()
    assert 0 < disagreeing < 30
    page.click("#only a:has-text('All documents')")
    page.wait_for_url("**only=all*")
    assert page.locator("#documents tbody tr[data-href]").count() == 30
    page.click("#only a:has-text('Where a run fails')")
    page.wait_for_url("**only=failed*")
    failing = page.locator("#documents tbody tr[data-href]")
    assert all("failed" in failing.nth(i).inner_text() for i in range(failing.count()))
    page.click("#only a:has-text('Where the runs disagree')")
    page.wait_for_url("**only=disagree*")
    page.locator("body").press("j")
    page.keyboard.press("Enter")
    page.wait_for_url("**/review/runs/documents/*")
    first = page.url
    assert page.locator("#side thead th").count() == 4  # gold and three runs
    assert page.locator("#doctext mark.gold").count() > 0  # the gold evidence underlined
    assert f"1 of {disagreeing}" in page.locator("#position").inner_text()
    marked = page.locator("#doctext mark.pred").count()
    page.click("#runchips a.chip.run >> nth=2")  # highlight the third run's quotes and names instead
    page.wait_for_url("**mark=2*")
    assert page.locator("#side thead th.marked").inner_text() == page.locator("#runchips a.marked b").inner_text()
    assert page.locator("#doctext mark.pred").count() >= 0 and marked >= 0
    page.locator("body").press("n")  # the next document where the runs disagree
    page.wait_for_url(lambda url: url != first and "mark=2" in url)
    assert f"2 of {disagreeing}" in page.locator("#position").inner_text()
    page.locator("body").press("p")
    page.wait_for_url(lambda url: url.split("?")[0] == first.split("?")[0])
    assert not page.problems
    # A Japanese document: the font check says where CJK text has no font, exactly when none renders.
    page.goto(f"{env.service.url}/review/runs/documents/ja-1573-ofac-cuba-wbc?{query}&only=all&mark=1")
    page.wait_for_selector("#doctext")
    missing = page.evaluate(CJK_MISSING)
    assert page.locator(".font-note").count() == (1 if missing else 0)
    assert (page.locator("#doctext.cjk-missing, #doctext .cjk-missing").count() > 0) == missing
    _shot(page, "runs-document-ja.png")
    page.goto(f"{env.service.url}/review/runs/documents/tr-2021-12-10-jy0526?{query}&only=all&mark=1")
    page.wait_for_selector("#side")
    rows = page.locator("#side tbody tr")
    assert rows.count() >= 5  # a row per gold action (five here), then actions the gold does not have
    assert page.locator("#side .card.empty:has-text('missed')").count() + page.locator(
        "#side tbody tr td:nth-child(2) .card").count() > 0
    _shot(page, "runs-document.png")
    assert not page.problems
    page.context.close()


def test_static_reports_work_offline_with_the_font_check(env: Env) -> None:
    context = env.browser.new_context(viewport={"width": 1300, "height": 900})
    requests: list[str] = []
    context.route("**/*", lambda route: (requests.append(route.request.url),
                                         route.continue_() if route.request.url.startswith("file:")
                                         else route.abort()))
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    for report in (ROOT / "evals" / "runs" / "smollm2-v3" / "report.html",
                   ROOT / "evals" / "runs" / "compare-v1-v3" / "compare.html"):
        page.goto(report.as_uri())
        page.wait_for_load_state("load")
        missing = page.evaluate(CJK_MISSING)
        assert page.locator(".font-note").count() == (1 if missing else 0), report
    assert all(url.startswith("file:") for url in requests), requests  # nothing fetched from anywhere
    page.goto((ROOT / "evals" / "runs" / "smollm2-v3" / "report.html").as_uri())
    page.click("#doc-tr-2017-09-26-sm0165 > summary")  # the document's section (the three worst open by themselves)
    more = page.locator("#doc-tr-2017-09-26-sm0165 details.more").first
    hidden = more.locator("table.errors tr")
    assert not hidden.first.is_visible()
    more.locator("summary").click()  # "show all": plain <details>, no script needed
    assert hidden.first.is_visible()
    page.locator("#doc-tr-2017-09-26-sm0165 h3:has-text('Errors')").scroll_into_view_if_needed()
    page.evaluate("window.scrollBy(0, -8)")
    _shot(page, "report-errors.png")
    assert not problems
    context.close()
