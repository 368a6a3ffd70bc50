"""Alerts: a watchlist match on an event's action, stored once, with the field, score and evidence quote.

An alert is unique per watchlist entry, event (and the events merged into it), field and
matched value: a feed re-listing an article, a changed text, or a second source reporting the
same event adds nothing. Each new alert is queued for every webhook in the same transaction.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from extractor.core.issuers import within
from extractor.core.schema import Target
from extractor.export.programs import program_ids
from extractor.store.monitor import AlertRow, DeliveryRow, EventRow, WebhookRow

from .events import ActionFacts
from .watchlists import WatchIndex

# (watchlist id, field, value, value key, matched entry, score, evidence quote)
Match = tuple[int, str, str, str, str, float, str | None]


def find_matches(index: WatchIndex, actions: list[ActionFacts]) -> dict[int, list[Match]]:
    """The watchlist matches of each action (by action id); run before the write transaction, as name
    matching takes a while and must not hold the database's write lock."""
    if index.empty:
        return {}
    return {action.action_id: found for action in actions if (found := _matches(index, action))}


def store_alerts(session: Session, matches: dict[int, list[Match]], placed: list[tuple[ActionFacts, int]]) -> list[int]:
    """Store the alerts of the placed actions' matches (once each) and queue their webhooks; the new ids."""
    new: list[AlertRow] = []
    for action, event_id in placed:
        for watchlist_id, field, value, key, matched, score, evidence in matches.get(action.action_id, []):
            if _exists(session, watchlist_id, event_id, field, key):
                continue
            row = AlertRow(watchlist_id=watchlist_id, event_id=event_id, document_id=action.document_id,
                           field=field, value=value[:500], value_key=key[:500], matched=matched[:500],
                           score=round(score, 3), evidence=evidence)
            session.add(row)
            session.flush()
            new.append(row)
    hooks = list(session.scalars(select(WebhookRow.id)))
    session.add_all(DeliveryRow(alert_id=alert.id, webhook_id=hook, status="pending", attempts=0, log=[])
                    for alert in new for hook in hooks)
    return [alert.id for alert in new]


def _exists(session: Session, watchlist_id: int, event_id: int, field: str, key: str) -> bool:
    family = select(EventRow.id).where(or_(EventRow.id == event_id, EventRow.merged_into == event_id))
    return session.scalar(
        select(AlertRow.id).where(AlertRow.watchlist_id == watchlist_id, AlertRow.event_id.in_(family),
                                  AlertRow.field == field, AlertRow.value_key == key).limit(1)
    ) is not None


def _matches(index: WatchIndex, action: ActionFacts) -> list[Match]:
    """(watchlist id, field, value, key, matched, score, evidence) for each watched thing the action names."""
    data = action.data
    found: list[Match] = []
    for target in targets_of(action):
        for watchlist_id, matcher in index.matchers:
            result = matcher.match(target)
            best = result.best
            if result.listed and best is not None:
                matched = index.labels.get(best.entry_id, best.caption)
                owner = watchlist_id if watchlist_id is not None else int(best.list_name)
                found.append((owner, "target", target.name, best.entry_id, matched, best.score,
                              _quote(data, target.name)))
        if target.country and target.country in index.countries:
            found.append((index.countries[target.country], "country", target.country, target.country,
                          target.country, 1.0, _quote(data, target.name)))
    for programme in program_ids(data.get("legal_basis") or [], action.authority):
        if programme.upper() in index.programmes:
            found.append((index.programmes[programme.upper()], "programme", programme, programme.upper(),
                          programme.upper(), 1.0, _quote(data, None)))
    # An authority watch is a jurisdiction ("eu") or an issuing body ("us-treasury"): the action's
    # authority, its issuer's registry id and every body above it ("us-ofac", "us-treasury", "us").
    for watched in dict.fromkeys([action.authority, *(within(action.issuer) if action.issuer else [])]):
        if watched in index.authorities:
            value = action.authority if watched == action.authority else str(data.get("issuer") or watched)
            found.append((index.authorities[watched], "authority", value, watched, watched, 1.0, _quote(data, None)))
    for country in data.get("target_countries") or []:
        if country in index.countries:
            found.append((index.countries[country], "country", country, country, country, 1.0, _quote(data, None)))
    return found


def targets_of(action: ActionFacts) -> list[Target]:
    """The action's targets that are valid `Target`s (the ones matched against watched names)."""
    found = []
    for raw in action.data.get("targets") or []:
        try:
            found.append(Target.model_validate(raw))
        except ValidationError:
            continue
    return found


def _quote(data: dict[str, Any], name: str | None) -> str | None:
    """The evidence sentence that names `name`, else the action's first evidence sentence."""
    evidence = [e for e in data.get("evidence") or [] if isinstance(e, str)]
    if name:
        folded = name.casefold()
        for sentence in evidence:
            if folded in sentence.casefold():
                return sentence
    return evidence[0] if evidence else None


def alert_dict(row: AlertRow, event: EventRow | None, watch: dict[str, Any] | None = None) -> dict[str, Any]:
    """An alert as the API, the webhooks and the Atom feed show it."""
    return {
        "id": row.id, "created_at": row.created_at.isoformat(), "watchlist_id": row.watchlist_id,
        "watchlist": watch, "event_id": (event.merged_into or event.id) if event is not None else row.event_id,
        "event_title": event.title if event is not None else None, "document_id": row.document_id,
        "field": row.field, "value": row.value, "matched": row.matched, "score": row.score,
        "evidence": row.evidence,
    }
