"""The monitoring pages of the review UI: events merged across sources, one event, and the alerts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from extractor.monitor import queries

from ..deps import get_state
from .routes import _error, _login_redirect, _page, _user
from .views import render

router = APIRouter(prefix="/review", include_in_schema=False)


def _day(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


@router.get("/events")
def events_page(request: Request, authority: str | None = None, issuer: str | None = None,
                target: str | None = None, programme: str | None = None, since: str | None = None,
                until: str | None = None, conflicted: bool | None = None) -> Response:
    """Events, latest first, filterable by authority, issuing body, target, programme and dates."""
    user = _user(request)
    if user is None:
        return _login_redirect(request)
    info, browser = user
    params: dict[str, Any] = {"authority": (authority or "").strip().lower()[:8], "issuer": (issuer or "")[:200],
                              "target": (target or "")[:200],
                              "programme": (programme or "")[:100], "since": since or "", "until": until or "",
                              "conflicted": conflicted}
    filters = queries.EventFilter(authority=params["authority"] or None, issuer=params["issuer"] or None,
                                  target=params["target"] or None,
                                  programme=params["programme"] or None, since=_day(since), until=_day(until),
                                  conflicted=conflicted)
    with get_state(request).store.read() as session:
        rows, total = queries.list_events(session, filters, limit=200, offset=0)
        items = [queries.event_dict(row) for row in rows]
    return _page(render("events.html.j2", items=items, total=total, params=params, user=info,
                        csrf=browser.csrf))


@router.get("/events/{event_id}")
def event_page(request: Request, event_id: int) -> Response:
    """One event: its sources, its targets with who names each, and the sources' conflicts."""
    user = _user(request)
    if user is None:
        return _login_redirect(request)
    info, browser = user
    with get_state(request).store.read() as session:
        row = queries.get_event(session, event_id)
        event = queries.event_dict(row) if row is not None else None
        alerts = [a for a in queries.list_alerts(session, limit=500) if a["event_id"] == event_id] if event else []
    if event is None:
        return _error(404, "Not found", f"No event {event_id}.", info, browser.csrf)
    return _page(render("event.html.j2", event=event, alerts=alerts, user=info, csrf=browser.csrf))


@router.get("/alerts")
def alerts_page(request: Request) -> Response:
    """The latest alerts, with the watchlist entry, what matched and the evidence."""
    user = _user(request)
    if user is None:
        return _login_redirect(request)
    info, browser = user
    with get_state(request).store.read() as session:
        alerts = queries.list_alerts(session, limit=200)
    return _page(render("alerts.html.j2", alerts=alerts, user=info, csrf=browser.csrf))
