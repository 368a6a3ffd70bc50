"""Reading events and alerts: filters (authority, issuer, target, programme, dates), pages, one event, FtM entities."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from followthemoney import EntityProxy, model
from rapidfuzz import fuzz, process, utils
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from extractor.core.schema import Target
from extractor.export.ftm import SCHEMATA, id_name, target_entity, validate_entity
from extractor.store.issuers import issuer_filter_id
from extractor.store.monitor import AlertRow, EventRow, EventTargetRow, WatchlistRow

from .alerts import alert_dict


@dataclass(frozen=True)
class EventFilter:
    """Filters of `GET /v1/events`."""

    authority: str | None = None
    issuer: str | None = None  # a registry id ("us-treasury") or a printed name ("OFAC"): that body and its parts
    target: str | None = None
    programme: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None
    conflicted: bool | None = None
    min_score: float = 85.0


def _filtered(session: Session, filters: EventFilter) -> Select[Any] | None:
    query = select(EventRow).where(EventRow.merged_into.is_(None), EventRow.sources > 0)
    if filters.authority:
        query = query.where(EventRow.authority == filters.authority.strip().lower())
    if filters.issuer:
        body = issuer_filter_id(filters.issuer, filters.authority)
        if body is None:
            return None  # no registered body by that name: no event can have it
        query = query.where(EventRow.issuers.like(f"%,{body},%"))
    if filters.programme:
        query = query.where(EventRow.programmes.like(f"%,{filters.programme.strip().upper()},%"))
    if filters.since:
        query = query.where(or_(EventRow.date_to >= filters.since, EventRow.date_to.is_(None)))
    if filters.until:
        query = query.where(or_(EventRow.date_from <= filters.until, EventRow.date_from.is_(None)))
    if filters.conflicted is not None:
        query = query.where(EventRow.conflicted.is_(filters.conflicted))
    if filters.target:
        names = session.scalars(select(EventTargetRow.name).distinct()).all()
        matches = process.extract(filters.target, names, scorer=fuzz.WRatio, processor=utils.default_process,
                                  score_cutoff=filters.min_score, limit=500)
        found = [m[0] for m in matches]
        if not found:
            return None
        query = query.where(EventRow.id.in_(select(EventTargetRow.event_id).where(EventTargetRow.name.in_(found))))
    return query


def list_events(session: Session, filters: EventFilter, *, limit: int, offset: int) -> tuple[Sequence[EventRow], int]:
    """One page of live events (latest date first, undated last) and the number matching in all."""
    query = _filtered(session, filters)
    if query is None:
        return [], 0
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows: Sequence[EventRow] = session.scalars(
        query.order_by(EventRow.date_from.is_(None), EventRow.date_from.desc(), EventRow.id.desc())
        .limit(limit).offset(offset)
    ).all()
    return rows, total


def get_event(session: Session, event_id: int) -> EventRow | None:
    """An event by id; an id that was merged into another event gives that event."""
    row = session.get(EventRow, event_id)
    if row is not None and row.merged_into is not None:
        row = session.get(EventRow, row.merged_into)
    return row


def event_dict(row: EventRow, *, full: bool = True) -> dict[str, Any]:
    """An event as the API shows it: the merged summary, or its headline fields only."""
    summary = row.summary or {}
    head = {
        "id": row.id, "title": row.title, "authority": row.authority, "action": row.action,
        "date_from": row.date_from.isoformat() if row.date_from else None,
        "date_to": row.date_to.isoformat() if row.date_to else None,
        "issuer": summary.get("issuer"), "sources": row.sources, "conflicted": row.conflicted,
        "measures": summary.get("measures", []), "programmes": summary.get("programmes", []),
        "targets": len(summary.get("targets", [])), "updated_at": row.updated_at.isoformat(),
    }
    if not full:
        return head
    return {**head, "targets": summary.get("targets", []), "documents": summary.get("documents", []),
            "legal_basis": summary.get("legal_basis", []), "target_countries": summary.get("target_countries", []),
            "conflicts": summary.get("conflicts", [])}


def list_alerts(
    session: Session, *, limit: int, offset: int = 0, watchlist_id: int | None = None
) -> list[dict[str, Any]]:
    """Alerts, newest first, with their event's title and the watchlist entry."""
    query = (select(AlertRow, EventRow, WatchlistRow)
             .outerjoin(EventRow, EventRow.id == AlertRow.event_id)
             .outerjoin(WatchlistRow, WatchlistRow.id == AlertRow.watchlist_id))
    if watchlist_id is not None:
        query = query.where(AlertRow.watchlist_id == watchlist_id)
    rows = session.execute(query.order_by(AlertRow.id.desc()).limit(limit).offset(offset)).all()
    out = []
    for alert, event, watch in rows:
        live = session.get(EventRow, event.merged_into) if event is not None and event.merged_into else event
        label = {"id": watch.id, "kind": watch.kind, "value": watch.value} if watch is not None else None
        item = alert_dict(alert, event, label)
        item["event_title"] = live.title if live is not None else item["event_title"]
        out.append(item)
    return out


def event_entities(row: EventRow) -> Iterator[EntityProxy]:
    """An event as FtM entities: per target a `Sanction` with every source article as proof."""
    summary = row.summary or {}
    articles = []
    seen: set[str] = set()
    for source in summary.get("documents", []):
        if source["document_id"] in seen:
            continue
        seen.add(source["document_id"])
        article = model.make_entity("Article")
        article.make_id("article", source["document_id"])
        title = source.get("title") or source["document_id"]
        article.add("title", title)
        article.add("name", title)
        article.add("publishedAt", source.get("published"))
        article.add("sourceUrl", source.get("url"))
        articles.append(article)
    yield from articles
    for target in summary.get("targets", []):
        kind: Any = target.get("entity_type") if target.get("entity_type") in SCHEMATA else "other"
        party = target_entity(f"event-{row.id}", Target(name=target["name"], entity_type=kind,
                                                        aliases=[n for n in target["names"] if n != target["name"]]),
                              listed=row.action != "lift")
        sanction = model.make_entity("Sanction")
        sanction.make_id("event", str(row.id), id_name(target["name"]))
        sanction.add("entity", party.id)
        # The issuing body by its registry name (as the per-article export does), else the jurisdiction's.
        sanction.add("authority", (summary.get("issuer") or {}).get("name") or summary.get("authority_name")
                     or row.authority)
        sanction.add("country", row.authority)
        sanction.add("program", summary.get("legal_basis", []))
        sanction.add("programId", summary.get("programmes", []))
        sanction.add("provisions", [m.replace("_", " ") for m in summary.get("measures", [])])
        sanction.add("endDate" if row.action == "lift" else "startDate", summary.get("date_from"))
        sanction.add("summary", row.title)
        sanction.add("proof", [a.id for a in articles])
        sanction.add("sourceUrl", [s.get("url") for s in summary.get("documents", []) if s.get("url")])
        for entity in (party, sanction):
            validate_entity(entity)
            yield entity
