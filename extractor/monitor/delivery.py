"""Webhooks: every new alert POSTed to each hook, signed with HMAC-SHA256, retried with backoff, each try logged.

The body is the alert as JSON. `X-Extractor-Signature: t=<unix time>,v1=<hex>` carries
HMAC-SHA256 over `<unix time>.<body>` with the hook's secret, so a receiver can check both that
the alert came from this service and that it is fresh (`verify`). A delivery that fails (an
error status, a timeout, a refused connection) is tried again after 2, 4, 8, ... times the base
delay, up to `MAX_ATTEMPTS`; every attempt is recorded in the delivery's log.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from extractor.core.errors import ConfigError
from extractor.store import Store
from extractor.store.models import utcnow
from extractor.store.monitor import AlertRow, DeliveryRow, EventRow, WebhookRow

from .alerts import alert_dict

MAX_ATTEMPTS = 8
MAX_DELAY_S = 3600.0
SIGNATURE_HEADER = "x-extractor-signature"


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The signature header value for `body` sent at `timestamp`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, body: bytes, header: str, *, tolerance_s: float = 300.0) -> bool:
    """True if `header` signs `body` with `secret` and is at most `tolerance_s` old (for receivers)."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    if not parts.get("t", "").isdigit() or "v1" not in parts:
        return False
    timestamp = int(parts["t"])
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts["v1"]) and abs(time.time() - timestamp) <= tolerance_s


@dataclass(frozen=True)
class Webhook:
    """A webhook as listed (the secret is shown only when it is created)."""

    id: int
    url: str
    created_at: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"id": self.id, "url": self.url, "created_at": self.created_at}


def add_webhook(session: Session, url: str, secret: str | None = None) -> tuple[Webhook, str]:
    """Register a webhook; returns it and its signing secret (generated unless given)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{url!r}: a webhook must be an http(s) URL")
    if session.scalar(select(WebhookRow.id).where(WebhookRow.url == url.strip())) is not None:
        raise ConfigError(f"{url}: already a webhook")
    secret = secret or secrets.token_urlsafe(32)
    row = WebhookRow(url=url.strip(), secret=secret)
    session.add(row)
    session.flush()
    return Webhook(row.id, row.url, row.created_at.isoformat()), secret


def list_webhooks(session: Session) -> list[Webhook]:
    """Every webhook."""
    rows = session.scalars(select(WebhookRow).order_by(WebhookRow.id))
    return [Webhook(r.id, r.url, r.created_at.isoformat()) for r in rows]


def remove_webhook(session: Session, webhook_id: int) -> None:
    """Remove a webhook and its pending deliveries."""
    row = session.get(WebhookRow, webhook_id)
    if row is None:
        raise ConfigError(f"no webhook {webhook_id}")
    session.delete(row)


@dataclass(frozen=True)
class _Due:
    delivery_id: int
    url: str
    secret: str
    body: bytes
    attempts: int


def _due(session: Session, now: dt.datetime, limit: int) -> list[_Due]:
    rows = session.execute(
        select(DeliveryRow, WebhookRow, AlertRow, EventRow)
        .join(WebhookRow, WebhookRow.id == DeliveryRow.webhook_id)
        .join(AlertRow, AlertRow.id == DeliveryRow.alert_id)
        .outerjoin(EventRow, EventRow.id == AlertRow.event_id)
        .where(DeliveryRow.status == "pending", DeliveryRow.next_at <= now)
        .order_by(DeliveryRow.next_at, DeliveryRow.id).limit(limit)
    ).all()
    return [
        _Due(delivery.id, hook.url, hook.secret,
             json.dumps({"type": "alert", "alert": alert_dict(alert, event)}, ensure_ascii=False).encode(),
             delivery.attempts)
        for delivery, hook, alert, event in rows
    ]


async def deliver_due(store: Store, client: httpx.AsyncClient, *, base_delay_s: float = 2.0,
                      timeout_s: float = 10.0, limit: int = 100) -> int:
    """Send the deliveries that are due; the number delivered now."""
    with store.read() as session:
        due = _due(session, utcnow(), limit)
    outcomes = await asyncio.gather(*(_send(client, item, timeout_s) for item in due))
    with store.write() as session:
        for item, (ok, entry) in zip(due, outcomes, strict=True):
            row = session.get(DeliveryRow, item.delivery_id)
            if row is None or row.status != "pending":
                continue
            row.attempts = item.attempts + 1
            row.log = [*(row.log or []), entry]
            if ok:
                row.status, row.delivered_at = "delivered", utcnow()
            elif row.attempts >= MAX_ATTEMPTS:
                row.status = "failed"
            else:
                delay = min(base_delay_s * 2 ** (row.attempts - 1), MAX_DELAY_S)
                row.next_at = utcnow() + dt.timedelta(seconds=delay)
    return sum(1 for ok, _ in outcomes if ok)


async def _send(client: httpx.AsyncClient, item: _Due, timeout_s: float) -> tuple[bool, dict[str, Any]]:
    stamp = int(time.time())
    headers = {"content-type": "application/json", SIGNATURE_HEADER: sign(item.secret, item.body, stamp),
               "x-extractor-delivery": str(item.delivery_id)}
    entry: dict[str, Any] = {"at": utcnow().isoformat(), "attempt": item.attempts + 1}
    try:
        response = await client.post(item.url, content=item.body, headers=headers, timeout=timeout_s)
    except httpx.HTTPError as exc:
        entry["error"] = f"{type(exc).__name__}: {exc or 'no detail'}"[:500]
        return False, entry
    entry["status"] = response.status_code
    return response.is_success, entry
