"""`/v1/events` (merged across sources, with FtM export), `/v1/alerts`, and the alerts' Atom feed.

Reading any of them needs a key of any role (reader and above). The feed at `/feeds/alerts.atom`
takes the API key as a Bearer token or as the password of HTTP Basic authentication, which every
feed reader can send (`https://any:KEY@host/feeds/alerts.atom`); either goes through the same
check as every other key (lockout, rate limit).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse

from extractor.monitor import queries
from extractor.monitor.atom import alerts_feed

from ..auth import bearer_token
from ..deps import SessionDep, StateDep, authenticate
from ..errors import ApiError
from ..openapi import errors
from ..params import MAX_ROW_ID, Offset, RowId, parse_date

router = APIRouter(tags=["monitoring"])
feed_router = APIRouter(include_in_schema=False)

Since = Annotated[str | None, Query(description="Events dated on or after (YYYY-MM-DD)",
                                    json_schema_extra={"format": "date"})]
Until = Annotated[str | None, Query(description="Events dated on or before (YYYY-MM-DD)",
                                    json_schema_extra={"format": "date"})]


Issuer = Annotated[str | None, Query(max_length=200, description="An issuing body: a registry id (us-ofac, "
                                   "us-treasury, eu-council) or a printed name (OFAC); finds its parts too")]


def _filters(authority: str | None, issuer: str | None, target: str | None, programme: str | None,
             since_text: str | None, until_text: str | None, conflicted: bool | None) -> queries.EventFilter:
    # `since` after `until` matches nothing, as on /v1/documents.
    since, until = parse_date("since", since_text), parse_date("until", until_text)
    return queries.EventFilter(authority=authority, issuer=issuer, target=target, programme=programme, since=since,
                               until=until, conflicted=conflicted)


@router.get("/events")
def list_events(
    session: SessionDep,
    authority: Annotated[str | None, Query(max_length=8, description="us, eu, gb, un, ...")] = None,
    issuer: Issuer = None,
    target: Annotated[str | None, Query(max_length=200, description="A target name, matched fuzzily")] = None,
    programme: Annotated[str | None, Query(max_length=100, description="A programme id, e.g. GLOMAG")] = None,
    since: Since = None,
    until: Until = None,
    conflicted: Annotated[bool | None, Query(description="Only events whose sources disagree (or agree)")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Events merged across sources, latest first."""
    filters = _filters(authority, issuer, target, programme, since, until, conflicted)
    rows, total = queries.list_events(session, filters, limit=limit, offset=offset)
    return {"total": total, "limit": limit, "offset": offset,
            "items": [queries.event_dict(row, full=False) for row in rows]}


@router.get("/events.ftm", response_class=StreamingResponse,
            responses={200: {"content": {"application/x-ndjson": {}}, "description": "FtM entities, one per line"}})
def events_ftm(
    state: StateDep,
    authority: Annotated[str | None, Query(max_length=8)] = None,
    issuer: Issuer = None,
    target: Annotated[str | None, Query(max_length=200)] = None,
    programme: Annotated[str | None, Query(max_length=100)] = None,
    since: Since = None,
    until: Until = None,
) -> StreamingResponse:
    """Events as FollowTheMoney entities: per target a `Sanction` with every source article as proof."""
    import orjson

    filters = _filters(authority, issuer, target, programme, since, until, None)
    store = state.store

    def lines() -> Iterator[bytes]:
        with store.read() as session:
            offset = 0
            while True:
                rows, _total = queries.list_events(session, filters, limit=200, offset=offset)
                for row in rows:
                    for entity in queries.event_entities(row):
                        yield orjson.dumps(entity.to_dict()) + b"\n"
                if len(rows) < 200:
                    return
                offset += 200

    return StreamingResponse(lines(), media_type="application/x-ndjson")


@router.get("/events/{event_id}", responses=errors(404))
def get_event(event_id: RowId, session: SessionDep) -> dict[str, Any]:
    """One event: every source document, the targets with who names each, and the sources' conflicts."""
    row = queries.get_event(session, event_id)
    if row is None:
        raise ApiError(404, "not_found", f"no event {event_id}")
    return queries.event_dict(row)


@router.get("/alerts")
def list_alerts(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
    watchlist: Annotated[
        int | None, Query(ge=0, le=MAX_ROW_ID, description="Only this watchlist entry's alerts")
    ] = None,
) -> dict[str, Any]:
    """Alerts, newest first."""
    return {"items": queries.list_alerts(session, limit=limit, offset=offset, watchlist_id=watchlist)}


@feed_router.get("/feeds/alerts.atom")
def alerts_atom(request: Request, state: StateDep, limit: Annotated[int, Query(ge=1, le=500)] = 100) -> Response:
    """The latest alerts as an Atom feed (any key, reader or above: Bearer, or the key as an HTTP Basic password)."""
    header = request.headers.get("authorization") or ""
    token = (lambda: _basic_password(header)) if header.lower().startswith("basic ") else (
        lambda: bearer_token(header or None))
    try:
        authenticate(request, state, token)
    except ApiError as exc:
        if exc.status != 401:
            raise
        # Feed readers ask for credentials on a Basic challenge.
        raise ApiError(exc.status, exc.code, exc.message, {"WWW-Authenticate": 'Basic realm="alerts"'}) from None
    with state.store.read() as session:
        alerts = queries.list_alerts(session, limit=limit)
    base = str(request.base_url).rstrip("/")
    body = alerts_feed(alerts, feed_url=f"{base}/feeds/alerts.atom", site_url=base)
    return Response(body, media_type="application/atom+xml")


def _basic_password(header: str) -> str:
    try:
        decoded = base64.b64decode(header.split(" ", 1)[1].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, IndexError):
        raise ApiError(401, "unauthorized", "malformed Basic credentials",
                       {"WWW-Authenticate": 'Basic realm="alerts"'}) from None
    return decoded.partition(":")[2]
