"""The merged view of an event: every source, the union of targets with who names each, and conflicts.

Sources disagree: one release says "asset freeze" where a news report says "financial
restrictions", one gives a date the other does not. Where the sources give different dates,
measures, target counts or programmes, the event lists each value with the documents that
give it, and is flagged for review. The issuing body is the registry's (`extractor.core.issuers`):
the most specific body the sources name ("OFAC" where one says "Treasury" and another "OFAC").
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from extractor.core.issuers import issuer_body, registry
from extractor.export.ftm import authority_name
from extractor.export.programs import program_ids

from .events import ActionFacts, Event, target_keys

_VERBS = {"impose": "imposes", "lift": "lifts", "amend": "amends"}


def summarise(event: Event, documents: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The event as the API shows it; `documents` gives each source's title, URL and date."""
    actions = sorted(event.actions, key=lambda a: (a.document_id, a.position))
    targets = merged_targets(actions)
    programmes = sorted({p for a in actions for p in program_ids(a.data.get("legal_basis") or [], a.authority)})
    measures = sorted({m for a in actions for m in a.measures})
    starts = [a.date_from for a in actions if a.date_from is not None]
    ends = [a.date_to for a in actions if a.date_to is not None]
    issuer = most_specific(event.issuers)
    body = issuer_body(issuer) if issuer else None
    return {
        "authority": event.authority,
        "authority_name": authority_name(event.authority),
        "issuer": {"id": body.id, "name": body.name} if body is not None else None,
        "action": event.kind,
        "title": title(event.authority, event.kind, measures, [t["name"] for t in targets]),
        "date_from": min(starts).isoformat() if starts else None,
        "date_to": max(ends).isoformat() if ends else None,
        "measures": measures,
        "programmes": programmes,
        "legal_basis": _unique(b for a in actions for b in a.data.get("legal_basis") or []),
        "target_countries": sorted({c for a in actions for c in a.data.get("target_countries") or []}),
        "targets": targets,
        "documents": [_source(a, documents.get(a.document_id, {})) for a in actions],
        "conflicts": conflicts(actions),
    }


def most_specific(issuers: set[str]) -> str | None:
    """The deepest of an event's issuer ids (they are one line of bodies: OFAC within the Treasury within "us")."""
    if not issuers:
        return None
    return max(sorted(issuers), key=lambda body_id: len(registry().ancestors(body_id)))


def _source(action: ActionFacts, meta: dict[str, Any]) -> dict[str, Any]:
    data = action.data
    return {
        "document_id": action.document_id, "title": meta.get("title"), "url": meta.get("url"),
        "published": meta.get("published"), "extraction_id": action.extraction_id, "position": action.position,
        "issuer": data.get("issuer"), "issuer_id": action.issuer, "date": data.get("date"),
        "measures": data.get("measures") or [], "target_count": data.get("target_count"),
        "evidence": (data.get("evidence") or [None])[0],
    }


def merged_targets(actions: list[ActionFacts]) -> list[dict[str, Any]]:
    """Targets of every source, one entry per target named in any spelling, with the documents naming it."""
    mentions = [(a.document_id, t) for a in actions for t in a.data.get("targets") or [] if t.get("name")]
    parent = list(range(len(mentions)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[str, int] = {}
    for index, (_doc, target) in enumerate(mentions):
        for key in target_keys(target):
            if key in first:
                parent[root(index)] = root(first[key])
            else:
                first[key] = index
    groups: dict[int, list[int]] = {}
    for index in range(len(mentions)):
        groups.setdefault(root(index), []).append(index)
    out = []
    for members in groups.values():
        names = Counter(mentions[i][1]["name"] for i in members)
        name = max(names, key=lambda n: (names[n], len(n)))
        types = Counter(mentions[i][1].get("entity_type") or "other" for i in members)
        countries = [mentions[i][1].get("country") for i in members if mentions[i][1].get("country")]
        out.append({
            "name": name,
            "names": sorted(names),
            "entity_type": types.most_common(1)[0][0],
            "country": Counter(countries).most_common(1)[0][0] if countries else None,
            "sources": sorted({mentions[i][0] for i in members}),
        })
    return sorted(out, key=lambda t: (-len(t["sources"]), t["name"].lower()))


def conflicts(actions: list[ActionFacts]) -> list[dict[str, Any]]:
    """Where sources disagree: dates, measures, target counts, programmes (each value with its documents)."""
    found = []
    checks = {
        "date": lambda a: a.data.get("date") if a.date_from == a.date_to else None,
        "measures": lambda a: ", ".join(sorted(a.measures)) or None,
        "target_count": lambda a: a.count,
        "programmes": lambda a: ", ".join(program_ids(a.data.get("legal_basis") or [], a.authority)) or None,
    }
    for name, value_of in checks.items():
        values: dict[Any, list[str]] = {}
        for action in actions:
            value = value_of(action)
            if value is not None:
                values.setdefault(value, [])
                if action.document_id not in values[value]:
                    values[value].append(action.document_id)
        if len(values) > 1:
            found.append({"field": name,
                          "values": [{"value": v, "documents": docs} for v, docs in sorted(values.items(), key=str)]})
    return found


def title(authority: str, kind: str, measures: list[str], names: list[str]) -> str:
    """A one-line title: "United States imposes asset freeze on Wang Junzheng, Chen Mingguo"."""
    what = ", ".join(m.replace("_", " ") for m in measures) or "sanctions"
    head = f"{authority_name(authority)} {_VERBS.get(kind, kind)} {what}"
    if not names:
        return head[:500]
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    return f"{head} on {shown}"[:500]


def _unique(values: Any) -> list[str]:
    seen: dict[str, str] = {}
    for value in values:
        if isinstance(value, str) and value.strip():
            seen.setdefault(" ".join(value.lower().split()), value)
    return list(seen.values())
