"""Screenshot HTML reports in headless Chromium, to look at them as a reader would.

Needs Debian's `chromium` package (`apt-get install chromium`). Example:

    .venv/bin/extractor show results.jsonl --doc ID --out /tmp/doc.html
    .venv/bin/python scripts/screenshot.py /tmp/doc.html evals/runs/smollm2-v2/report.html --out /tmp/shots
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

# No background traffic: this machine's network is closed and Chromium would keep trying.
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def screenshot(page: Path, png: Path, width: int, height: int) -> None:
    """Render `page` to `png` at the given window size."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise SystemExit("chromium not found: apt-get install chromium")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [browser, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}",
             f"--screenshot={png}", page.resolve().as_uri()],
            check=True, capture_output=True, timeout=120,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pages", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=Path("screenshots"))
    parser.add_argument("--width", type=int, default=1300)
    parser.add_argument("--height", type=int, default=1800)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for page in args.pages:
        png = args.out / f"{page.parent.name}-{page.stem}.png"
        screenshot(page, png, args.width, args.height)
        print(png)


if __name__ == "__main__":
    main()
