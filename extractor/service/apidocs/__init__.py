"""`/openapi.json` and `/docs`: the interactive API page, its assets served from the installed package.

Swagger UI's files come from the `swagger-ui-bundle` package (under `/docs/static`), and
the page's own start-up code is a file too, so the page works offline and runs under a
policy that allows scripts from this server only (see `limits.DOCS_POLICY`). The page
and the API description need a key or a logged-in session, like everything else but the
probes; the vendor files are public, like the review stylesheet.
"""

from __future__ import annotations

from pathlib import Path

import swagger_ui_bundle
from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from ..deps import require_key_or_session

STATIC_DIR = Path(__file__).resolve().parent / "static"
VENDOR_DIR = Path(swagger_ui_bundle.swagger_ui_path)

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="/docs/static/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/static/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/static/swagger-ui-bundle.js"></script>
<script src="/docs/static/swagger-ui-standalone-preset.js"></script>
<script src="/docs/page/init.js"></script>
</body>
</html>
"""


def install(app: FastAPI) -> None:
    """Add the API description, the docs page and their static files to `app`."""
    router = APIRouter(dependencies=[Depends(require_key_or_session)], include_in_schema=False)

    @router.get("/openapi.json")
    def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @router.get("/docs")
    def docs() -> HTMLResponse:
        title = f"{app.title} · API".replace("<", "&lt;")
        return HTMLResponse(PAGE.format(title=title), headers={"cache-control": "no-store"})

    app.include_router(router)
    app.mount("/docs/static", StaticFiles(directory=VENDOR_DIR), name="docs-vendor")
    app.mount("/docs/page", StaticFiles(directory=STATIC_DIR), name="docs-page")
