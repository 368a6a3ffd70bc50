"""The `extractor` command line: a thin layer over the library; each command calls one function.

Each command group lives in its own module and registers itself on the shared `app`.
"""

from __future__ import annotations

from . import cache, evaluate, export, extract, match, prompts  # noqa: F401  (importing registers the commands)
from .common import app

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point."""
    import logging

    # instructor logs every failed attempt at ERROR; the CLI reports failures itself, once.
    logging.getLogger("instructor").addHandler(logging.NullHandler())
    logging.getLogger("instructor").propagate = False
    app()
