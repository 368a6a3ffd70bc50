"""The `extractor` command line: a thin layer over the library; each command calls one function.

Each command group lives in its own module and registers itself on the shared `app`.
"""

from __future__ import annotations

import sys

from . import (  # noqa: F401  (importing registers the commands)
    cache,
    evaluate,
    export,
    extract,
    keys,
    logs,
    match,
    prompts,
    review,
    runs,
    serve,
    watch,
)
from .common import app

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point."""
    import logging

    # instructor logs every failed attempt at ERROR; the CLI reports failures itself, once.
    logging.getLogger("instructor").addHandler(logging.NullHandler())
    logging.getLogger("instructor").propagate = False
    # The library warns through logging (an unusable cache, say); the CLI shows each as one line.
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("warning: %(message)s"))
    logging.getLogger("extractor").addHandler(handler)
    logging.getLogger("extractor").propagate = False
    try:
        app()
    except OSError as exc:
        # A file-system fault the commands did not foresee (disk full, permission denied) is
        # still the user's environment, not a bug: one line, no traceback.
        name = f" {exc.filename}" if getattr(exc, "filename", None) else ""
        print(f"error:{name} {exc.strerror or exc}", file=sys.stderr)
        raise SystemExit(1) from None
