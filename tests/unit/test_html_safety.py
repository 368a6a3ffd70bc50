"""HTML safety: article text, metadata and model output are escaped in every page the tool writes."""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from extractor.cli import app

runner = CliRunner()
SCRIPT = "<script>alert('pwned')</script>"
QUOTE = '"><img src=x onerror="alert(1)">'
JS_URL = "javascript:alert(document.cookie)"
TEXT = f"Treasury sanctioned Acme {SCRIPT} Shipping. The {QUOTE} company moved oil."
UNSAFE = [
    re.compile(r"<script>alert", re.IGNORECASE),
    re.compile(r"<img[^>]*onerror", re.IGNORECASE),
    re.compile(r"""(href|src|action)\s*=\s*["']?\s*javascript:""", re.IGNORECASE),
]


def _hostile_gold_set(root: Path) -> tuple[Path, Path]:
    gold, docs = root / "gold", root / "docs"
    gold.mkdir(parents=True)
    docs.mkdir()
    (docs / "h1.txt").write_text(TEXT, encoding="utf-8")
    manifest = [{"id": "h1", "title": f"Title {QUOTE} {SCRIPT}", "url": JS_URL, "publisher": SCRIPT}]
    (docs / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    action = {"authority": "us", "action": "impose", "measures": ["asset_freeze"],
              "targets": [{"name": f"Acme {SCRIPT} Shipping", "entity_type": "company"}],
              "evidence": [f"Treasury sanctioned Acme {SCRIPT} Shipping."]}
    (gold / "h1.json").write_text(json.dumps({"article_id": "h1", "is_sanctions_news": True, "actions": [action],
                                              "notes": f"note {SCRIPT}"}), encoding="utf-8")
    return gold, docs


def _hostile_predictions(path: Path) -> None:
    action = {"authority": "us", "action": "impose", "measures": ["asset_freeze"], "reasons": [QUOTE, JS_URL],
              "targets": [{"name": f"{QUOTE}{SCRIPT}", "entity_type": "company", "aliases": [JS_URL]}],
              "legal_basis": [SCRIPT], "evidence": [f"The {QUOTE} company moved oil.", f"{SCRIPT} invented"]}
    line = {"article_id": "h1", "is_sanctions_news": True, "actions": [action],
            "meta": {"prompt_id": f"p{SCRIPT}", "model": QUOTE, "endpoint": JS_URL, "prompt_hash": "h"}}
    path.write_text(json.dumps(line) + "\n", encoding="utf-8")


def test_every_page_escapes_hostile_content(tmp_path):
    gold, docs = _hostile_gold_set(tmp_path / "set")
    preds = tmp_path / "preds.jsonl"
    _hostile_predictions(preds)
    run_dir = tmp_path / "run"
    scored = runner.invoke(app, ["eval", "--predictions", str(preds), "--gold", str(gold), "--docs", str(docs),
                                 "--out", str(run_dir), "--n-boot", "100"])
    assert scored.exit_code == 0, scored.output
    compared = runner.invoke(app, ["compare", str(run_dir), str(preds), "--gold", str(gold), "--docs", str(docs),
                                   "--out", str(tmp_path / "cmp"), "--n-boot", "100"])
    assert compared.exit_code == 0, compared.output
    shown = runner.invoke(app, ["show", str(preds), "--doc", "h1", "--text", str(docs / "h1.txt"), "--out",
                                str(tmp_path / "show" / "h1.html")])
    assert shown.exit_code == 0, shown.output
    pages = [run_dir / "report.html", tmp_path / "cmp" / "compare.html", tmp_path / "show" / "h1.html"]
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert "Acme" in html  # the hostile document really is on the page ...
        assert "&lt;script&gt;alert(" in html or "&lt;script&gt;alert(&#39;pwned&#39;)" in html
        for pattern in UNSAFE:  # ... but only as text
            assert not pattern.search(html), f"{page.name}: {pattern.pattern}"
        # the one script a page may carry is its own, never one from the data
        assert html.lower().count("<script") <= 1
    markdown = [run_dir / "report.md", tmp_path / "cmp" / "compare.md"]
    for page in markdown:  # markdown is often rendered as HTML: raw tags must not pass through either
        text = page.read_text(encoding="utf-8")
        assert not UNSAFE[0].search(text) and not UNSAFE[1].search(text), page.name
