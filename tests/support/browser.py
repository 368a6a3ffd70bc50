"""Headless Chromium for the browser tests: Debian's chromium driven by Playwright, or a skip saying why."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]


def require_chromium() -> Any:
    """Playwright's sync API, after checking that it and chromium are installed (else the test is skipped)."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    return sync_api


@contextmanager
def chromium(sync_api: Any) -> Iterator[Any]:
    """A launched browser, closed at the end; a browser that cannot start skips the test with its reason."""
    with sync_api.sync_playwright() as pw:
        try:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, timeout=30_000)
        except Exception as exc:  # any launch failure is a reason to skip
            pytest.skip(f"chromium cannot start: {str(exc).splitlines()[0]}")
        try:
            yield browser
        finally:
            browser.close()
