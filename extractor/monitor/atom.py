"""The alerts as an Atom feed (RFC 4287), for any feed reader."""

from __future__ import annotations

import datetime as dt
from typing import Any
from xml.etree import ElementTree as ET

ATOM = "http://www.w3.org/2005/Atom"


def alerts_feed(alerts: list[dict[str, Any]], *, feed_url: str, site_url: str) -> bytes:
    """An Atom document of `alerts` (newest first), as produced by `alert_dict`."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    _text(feed, "title", "Sanctions alerts")
    _text(feed, "id", feed_url)
    updated = alerts[0]["created_at"] if alerts else dt.datetime.now(dt.UTC).isoformat()
    _text(feed, "updated", _rfc3339(updated))
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="self", href=feed_url)
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    _text(author, "name", "sanctions-extractor")
    for alert in alerts:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        _text(entry, "id", f"{feed_url}#alert-{alert['id']}")
        what = {"target": "names", "programme": "is under", "authority": "by", "country": "concerns"}.get(
            alert["field"], "matches")
        _text(entry, "title", f"{alert['matched']}: {alert.get('event_title') or 'event'} ({alert['field']} {what} "
                              f"{alert['value']}, score {alert['score']:.2f})")
        _text(entry, "updated", _rfc3339(alert["created_at"]))
        ET.SubElement(entry, f"{{{ATOM}}}link", rel="alternate", href=f"{site_url}/review/events/{alert['event_id']}")
        _text(entry, "summary", alert.get("evidence") or alert.get("event_title") or "")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def _text(parent: ET.Element, tag: str, text: str) -> None:
    ET.SubElement(parent, f"{{{ATOM}}}{tag}").text = text


def _rfc3339(value: str) -> str:
    moment = dt.datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
