"""New extractions into events: merged, stored, and checked against the watchlists, in one transaction.

Every stored extraction (from a watched source, a job or a single request) is digested once:
its actions are placed into events (`EventIndex`), the events it touched are rewritten, and the
watchlists are checked for alerts. Only the holder of the monitor lease digests, so one process
writes events at a time; the extraction, its events and its alerts commit together.

A document extracted again (another prompt or model) replaces its earlier actions in events.
An event left with none of its actions is the same measure as where its documents' new actions
went: a new event there takes its id, an existing one absorbs it (its id then answers with that
event). So a re-extraction keeps event ids, and the alerts an event raised are not raised again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from extractor.core.issuers import within
from extractor.store.models import ActionRow, DocumentRow, ExtractionRow, utcnow
from extractor.store.monitor import DigestedRow, EventActionRow, EventRow, EventTargetRow

from .events import ActionFacts, EventIndex
from .summary import summarise

BATCH = 200

# Called with (session, [(action, event id)]) for each digested batch: the watchlist check.
Placed = list[tuple[ActionFacts, int]]
AfterDigest = Callable[[Session, Placed], int]


@dataclass
class DigestReport:
    """What one digest did."""

    extractions: int = 0
    actions: int = 0
    events_created: int = 0
    events_updated: int = 0
    alerts: int = 0
    placed: Placed = field(default_factory=list)


def pending(session: Session, limit: int = BATCH) -> list[tuple[int, str]]:
    """Extractions not digested yet, oldest first: (extraction id, document id)."""
    digested = select(DigestedRow.extraction_id).where(DigestedRow.extraction_id == ExtractionRow.id).exists()
    rows = session.execute(
        select(ExtractionRow.id, ExtractionRow.document_id).where(~digested).order_by(ExtractionRow.id).limit(limit)
    ).all()
    return [(int(i), str(d)) for i, d in rows]


def digest_batch(session: Session, batch: list[tuple[int, str]], after: AfterDigest | None = None) -> DigestReport:
    """Digest a batch of `pending` extractions (those digested meanwhile are passed over)."""
    report = DigestReport()
    done = set(session.scalars(select(DigestedRow.extraction_id).where(
        DigestedRow.extraction_id.in_([extraction_id for extraction_id, _ in batch]))))
    batch = [item for item in batch if item[0] not in done]
    if not batch:
        return report
    latest: dict[str, int] = {}
    for extraction_id, document_id in batch:
        latest[document_id] = max(extraction_id, latest.get(document_id, 0))
    # A document extracted again: its earlier actions leave their events, which are summarised anew.
    stale = (EventActionRow.document_id.in_(list(latest)),
             EventActionRow.extraction_id.not_in(list(latest.values())))
    left: dict[int, set[tuple[str, int]]] = defaultdict(set)  # event → (document, position) of its stale actions
    for event_id, document_id, position in session.execute(
            select(EventActionRow.event_id, EventActionRow.document_id, EventActionRow.position).where(*stale)):
        left[event_id].add((document_id, position))
    session.execute(delete(EventActionRow).where(*stale))
    actions = new_actions(session, list(latest.values()))
    emptied_authorities = set(session.scalars(select(EventRow.authority).where(EventRow.id.in_(left))))
    index = _load(session, {a.authority for a in actions} | emptied_authorities)
    index.touched |= set(left) & set(index.events)
    before = set(index.events)
    placed_raw = [(action, index.add(action)) for action in actions]
    gone = {eid: left[eid] for eid in sorted(left) if eid not in index.events}
    revived, absorbed = _successors(session, index, gone, placed_raw)
    ids = _save(session, index, before, revived)
    now = utcnow()
    for event_id in gone:
        into = ids[index.resolve(absorbed[event_id])] if event_id in absorbed else None
        values = {"sources": 0, "updated_at": now} if into is None else {"merged_into": into, "sources": 0,
                                                                         "updated_at": now}
        if event_id not in revived.values():
            session.execute(update(EventRow).where(EventRow.id == event_id).values(**values))
        if into is not None:
            session.execute(update(EventRow).where(EventRow.merged_into == event_id).values(merged_into=into))
            session.execute(delete(EventTargetRow).where(EventTargetRow.event_id == event_id))
    report.placed = [(action, ids[index.resolve(eid)]) for action, eid in placed_raw]
    report.extractions, report.actions = len(batch), len(actions)
    report.events_created = sum(1 for eid in index.events if eid < 0 and eid not in revived)
    report.events_updated = sum(1 for eid in index.touched if eid > 0 and eid in index.events)
    session.add_all(DigestedRow(extraction_id=extraction_id) for extraction_id, _ in batch)
    if after is not None and report.placed:
        report.alerts = after(session, report.placed)
    return report


def new_actions(session: Session, extraction_ids: list[int]) -> list[ActionFacts]:
    """The actions of these extractions, in order."""
    rows = session.execute(
        select(ActionRow.id, ActionRow.extraction_id, ActionRow.document_id, ActionRow.position, ExtractionRow.result)
        .join(ExtractionRow, ExtractionRow.id == ActionRow.extraction_id)
        .where(ActionRow.extraction_id.in_(extraction_ids))
        .order_by(ActionRow.extraction_id, ActionRow.position)
    ).all()
    out = []
    for action_id, extraction_id, document_id, position, result in rows:
        data = (result.get("actions") or [])[position]
        out.append(ActionFacts.of(action_id, document_id, extraction_id, position, data))
    return out


def _load(session: Session, authorities: set[str]) -> EventIndex:
    """The live events of these authorities, with their actions."""
    index = EventIndex()
    if not authorities:
        return index
    rows = session.execute(
        select(EventActionRow).join(EventRow, EventRow.id == EventActionRow.event_id)
        .where(EventRow.authority.in_(authorities), EventRow.merged_into.is_(None))
        .order_by(EventActionRow.event_id, EventActionRow.document_id, EventActionRow.position)
    ).scalars()
    members: dict[int, list[ActionFacts]] = defaultdict(list)
    for row in rows:
        members[row.event_id].append(
            ActionFacts.of(row.action_id, row.document_id, row.extraction_id, row.position, row.action))
    for event_id, facts in members.items():
        index.load(event_id, facts)
    index.touched.clear()
    return index


def _successors(
    session: Session, index: EventIndex, gone: dict[int, set[tuple[str, int]]], placed: list[tuple[ActionFacts, int]]
) -> tuple[dict[int, int], dict[int, int]]:
    """Where the measures of emptied events went: (new event → emptied id it takes, emptied id → live event).

    An emptied event follows its documents' new actions of the same authority and kind, the one at
    the same position first: into a new event (which takes the emptied id, the oldest first) or
    into a live one (which absorbs it).
    """
    revived: dict[int, int] = {}
    absorbed: dict[int, int] = {}
    if not gone:
        return revived, absorbed
    kinds = {eid: (authority, kind) for eid, authority, kind in session.execute(
        select(EventRow.id, EventRow.authority, EventRow.action).where(EventRow.id.in_(list(gone))))}
    for event_id, members in gone.items():
        homes = [(0 if (action.document_id, action.position) in members else 1, index.resolve(eid))
                 for action, eid in placed
                 if any(action.document_id == doc for doc, _ in members)
                 and (action.authority, action.kind) == kinds.get(event_id)]
        if not homes:
            continue  # its documents no longer report this measure: it stays empty
        home = min(homes)[1]
        if home < 0 and home not in revived:
            revived[home] = event_id
        else:
            absorbed[event_id] = home
    return revived, absorbed


def _save(session: Session, index: EventIndex, before: set[int], revived: dict[int, int]) -> dict[int, int]:
    """Write the touched events back (a revived new event under its old id); returns local event id → stored id."""
    ids = {eid: eid for eid in index.events if eid > 0}
    ids.update(revived)
    now = utcnow()
    for eid in sorted(index.events, reverse=True):
        if eid < 0 and eid not in revived:
            row = EventRow(authority=index.events[eid].authority, action=index.events[eid].kind, title="",
                           created_at=now, updated_at=now, summary={}, sources=0)
            session.add(row)
            session.flush()
            ids[eid] = row.id
    for absorbed, into in index.merged.items():
        if absorbed > 0:
            ids[absorbed] = ids[index.resolve(into)]
            session.execute(update(EventRow).where(EventRow.id == absorbed).values(
                merged_into=ids[absorbed], sources=0, updated_at=now))
            session.execute(update(EventRow).where(EventRow.merged_into == absorbed).values(merged_into=ids[absorbed]))
            session.execute(delete(EventTargetRow).where(EventTargetRow.event_id == absorbed))
    touched = [eid for eid in index.events if eid in index.touched or eid < 0]
    if not touched:
        return ids
    documents = _document_meta(session, {a.document_id for eid in touched for a in index.events[eid].actions})
    action_ids = [a.action_id for eid in touched for a in index.events[eid].actions]
    for start in range(0, len(action_ids), 500):
        session.execute(delete(EventActionRow).where(EventActionRow.action_id.in_(action_ids[start:start + 500])))
    session.execute(delete(EventTargetRow).where(EventTargetRow.event_id.in_([ids[e] for e in touched])))
    for eid in touched:
        event, stored = index.events[eid], ids[eid]
        summary = summarise(event, documents)
        session.add_all(
            EventActionRow(action_id=a.action_id, event_id=stored, extraction_id=a.extraction_id,
                           document_id=a.document_id, position=a.position, action=a.data)
            for a in event.actions
        )
        session.add_all(EventTargetRow(event_id=stored, name=t["name"][:500]) for t in summary["targets"])
        session.execute(update(EventRow).where(EventRow.id == stored).values(**_columns(summary), updated_at=now))
    return ids


def _columns(summary: dict[str, Any]) -> dict[str, Any]:
    import datetime as dt

    def day(value: str | None) -> dt.date | None:
        return dt.date.fromisoformat(value) if value else None

    return {
        "title": summary["title"], "date_from": day(summary["date_from"]), "date_to": day(summary["date_to"]),
        "programmes": "," + "".join(f"{p}," for p in summary["programmes"]),
        "measures": "," + "".join(f"{m}," for m in summary["measures"]),
        "issuers": "," + "".join(f"{i}," for i in within(summary["issuer"]["id"])) if summary["issuer"] else ",",
        "sources": len({d["document_id"] for d in summary["documents"]}),
        "conflicted": bool(summary["conflicts"]), "summary": summary,
    }


def _document_meta(session: Session, document_ids: set[str]) -> dict[str, dict[str, Any]]:
    meta: dict[str, dict[str, Any]] = {}
    ids = sorted(document_ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        rows = session.execute(select(DocumentRow.id, DocumentRow.doc_meta).where(DocumentRow.id.in_(chunk)))
        meta.update((doc_id, dict(doc_meta or {})) for doc_id, doc_meta in rows)
    return meta
