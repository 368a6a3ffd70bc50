"""`/v1/sources`, `/v1/watchlists`, `/v1/webhooks`: what the monitor watches and where alerts go.

Roles (`require_role`, reader < reviewer < admin): any key reads the sources and the
watchlists. Watchlists are what a team's analysts follow, so a reviewer may add and remove
them, except a watchlist that is a file of names on the server (the server reads any path it
is given): that needs an admin. Sources make the server fetch URLs and feed the model, and webhooks make it POST alerts
(with their signing secrets) to URLs: adding, removing and even listing webhooks needs an admin,
as do adding and removing sources.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from extractor.core.errors import ConfigError
from extractor.monitor import sources as src
from extractor.monitor import watchlists as wl
from extractor.monitor.delivery import add_webhook, list_webhooks, remove_webhook
from extractor.store.keys import KeyInfo

from ..deps import SessionDep, StateDep, require_role
from ..errors import ApiError
from ..openapi import errors
from ..params import RowId

router = APIRouter(tags=["monitoring"])


class SourceIn(BaseModel):
    """A source to watch."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=2000, description="An RSS/Atom feed, or an index page with a pattern")
    name: str | None = Field(default=None, max_length=200)
    every: str = Field(default="15m", max_length=20, description="Poll interval: 90s, 15m, 2h, 1d")
    pattern: str | None = Field(default=None, max_length=500,
                                description="For an index page: a regex its article URLs match")
    kind: Literal["feed", "page"] | None = None
    timeout_s: float | None = Field(default=None, gt=0, le=600)
    max_bytes: int | None = Field(default=None, ge=1024)
    recheck: str | None = Field(default=None, max_length=20, description="How often known articles are fetched again "
                                "(conditional GET) to notice a changed text: 1d by default")


class WatchlistIn(BaseModel):
    """A watchlist entry: a name, programme, authority or country, or a file of names on the server."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["name", "programme", "authority", "country", "file"]
    value: str = Field(min_length=1, max_length=1000)
    label: str | None = Field(default=None, max_length=200)


class WebhookIn(BaseModel):
    """A URL to POST every new alert to; the secret signs them (generated when absent)."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=2000)
    secret: str | None = Field(default=None, min_length=16, max_length=200)


def _write(state: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
    with state.store.write() as session:
        try:
            return fn(session, *args, **kwargs)
        except ConfigError as exc:
            missing = str(exc).startswith("no ")
            raise ApiError(404 if missing else 422, "not_found" if missing else "invalid_request", str(exc)) from None


@router.get("/sources")
def get_sources(session: SessionDep) -> dict[str, Any]:
    """Watched sources with their schedule and last error."""
    return {"items": [s.to_dict() for s in src.list_sources(session)]}


@router.post("/sources", status_code=201, responses=errors(403), dependencies=[Depends(require_role("admin"))])
async def post_source(body: SourceIn, state: StateDep) -> dict[str, Any]:
    """Watch a feed or an index page; it is polled at once."""
    found = await asyncio.to_thread(_write, state, src.add_source, body.url, name=body.name, every=body.every,
                                    pattern=body.pattern, kind=body.kind, timeout_s=body.timeout_s,
                                    max_bytes=body.max_bytes, recheck=body.recheck)
    if state.monitor is not None:
        state.monitor.notify()
    return dict(found.to_dict())


@router.delete("/sources/{ref}", responses=errors(403, 404), dependencies=[Depends(require_role("admin"))])
async def delete_source(ref: str, state: StateDep) -> dict[str, Any]:
    """Stop watching a source (by id or name)."""
    found = await asyncio.to_thread(_write, state, src.remove_source, ref)
    return {"deleted": found.name}


@router.get("/watchlists")
def get_watchlists(session: SessionDep) -> dict[str, Any]:
    """Every watchlist entry."""
    return {"items": [w.to_dict() for w in wl.list_watchlists(session)]}


@router.post("/watchlists", status_code=201, responses=errors(403))
async def post_watchlist(
    body: WatchlistIn, state: StateDep, key: Annotated[KeyInfo, Depends(require_role("reviewer"))]
) -> dict[str, Any]:
    """Watch a name, a programme (GLOMAG), an authority (eu), a country (cn), or a file of names."""
    if body.kind == "file":
        require_role("admin")(key)  # the server reads a file of its own: an admin's call
    found = await asyncio.to_thread(_write, state, wl.add_watchlist, body.kind, body.value, body.label)
    return dict(found.to_dict())


@router.delete("/watchlists/{watchlist_id}", responses=errors(403, 404),
               dependencies=[Depends(require_role("reviewer"))])
async def delete_watchlist(watchlist_id: RowId, state: StateDep) -> dict[str, Any]:
    """Remove a watchlist entry and its alerts."""
    found = await asyncio.to_thread(_write, state, wl.remove_watchlist, watchlist_id)
    return {"deleted": found.id}


@router.get("/webhooks", responses=errors(403), dependencies=[Depends(require_role("admin"))])
def get_webhooks(session: SessionDep) -> dict[str, Any]:
    """Registered webhooks (their secrets are not shown again)."""
    return {"items": [w.to_dict() for w in list_webhooks(session)]}


@router.post("/webhooks", status_code=201, responses=errors(403), dependencies=[Depends(require_role("admin"))])
async def post_webhook(body: WebhookIn, state: StateDep) -> dict[str, Any]:
    """Register a webhook; the answer holds its signing secret, shown this once."""
    hook, secret = await asyncio.to_thread(_write, state, add_webhook, body.url, body.secret)
    return {**hook.to_dict(), "secret": secret}


@router.delete("/webhooks/{webhook_id}", responses=errors(403, 404), dependencies=[Depends(require_role("admin"))])
async def delete_webhook(webhook_id: RowId, state: StateDep) -> dict[str, Any]:
    """Remove a webhook."""
    await asyncio.to_thread(_write, state, remove_webhook, webhook_id)
    return {"deleted": webhook_id}

