"""What email providers tell us about sent messages: ``POST /webhooks/email/{workspace_id}``.

The body is one event or a JSON array of up to 1,000 of them, in a generic shape that any
provider's webhook can be mapped to (a relay, a small script, or the provider's own templating):

    {"type": "bounce" | "complaint" | "delivered" | "opened",
     "message_id": "<Message-ID of our email>",   # as we sent it, angle brackets optional
     "email": "recipient@example.com",             # optional when message_id is known
     "hard": true,                                  # bounces only; true unless said otherwise
     "at": "2026-03-01T10:00:00Z",                  # optional, ISO 8601; now if left out
     "detail": "550 5.1.1 user unknown"}            # optional, kept with the event

It is signed: ``X-Cxloop-Signature: sha256=<hex HMAC-SHA256 of the raw body>`` with the
workspace's secret for platform ``email`` (``cxloop webhook secret email SECRET --workspace W``).
Every event becomes a ``DeliveryEvent``; a hard bounce marks its message ``bounced`` and denies
email consent with source ``bounce`` (when the address is still the customer's), a complaint
marks it ``complained`` and denies with source ``complaint``. The same event again (same
message, type and time) is recorded once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from cxloop import ingest, inputs, profiles, signing
from cxloop.channels.email import Delivery, notify
from cxloop.channels.models import DeliveryEvent, OutboundMessage
from cxloop.errors import InvalidInput
from cxloop.profiles import Customer
from cxloop.store.base import utcnow
from cxloop.store.db import Database
from cxloop.workspaces import get_workspace

PLATFORM = "email"
SIGNATURE_HEADER = signing.HEADER
MAX_EVENTS = 1000
MAX_BODY = 1024 * 1024
TYPES = {
    "bounce": "bounce",
    "bounced": "bounce",
    "complaint": "complained",
    "complained": "complained",
    "delivered": "delivered",
    "delivery": "delivered",
    "opened": "opened",
    "open": "opened",
}
ATTEMPTS = 3


@dataclass(frozen=True)
class ProviderEvent:
    """One event, checked: ``kind`` is delivered, opened, bounced, soft_bounced or complained."""

    kind: str
    message_id: str
    email: str
    at: dt.datetime
    detail: str


@dataclass
class Summary:
    """What a delivery of events changed."""

    received: int = 0
    recorded: int = 0
    duplicates: int = 0
    unmatched: int = 0
    consent_denied: list[int] = field(default_factory=list)

    def document(self) -> dict[str, Any]:
        """The JSON answer."""
        return {
            "status": "applied",
            "received": self.received,
            "recorded": self.recorded,
            "duplicates": self.duplicates,
            "unmatched": self.unmatched,
        }


def _normalise_message_id(value: str) -> str:
    value = value.strip()
    if value and not value.startswith("<"):
        value = f"<{value}>"
    return value[:200]


def _event(raw: Any, index: int) -> ProviderEvent:
    where = f"events[{index}]"
    if not isinstance(raw, dict):
        raise InvalidInput(where, "each event must be a JSON object", code="invalid_payload")
    kind = TYPES.get(str(raw.get("type", "")).strip().lower())
    if kind is None:
        raise InvalidInput(
            f"{where}.type",
            "type must be bounce, complaint, delivered or opened",
            code="invalid_payload",
        )
    message_id = raw.get("message_id") or ""
    email = raw.get("email") or ""
    if not isinstance(message_id, str) or not isinstance(email, str):
        raise InvalidInput(
            f"{where}.message_id", "message_id and email must be strings", code="invalid_payload"
        )
    if not message_id.strip() and "@" not in email:
        raise InvalidInput(
            f"{where}.message_id", "message_id or email is required", code="invalid_payload"
        )
    hard = raw.get("hard", True)
    if not isinstance(hard, bool):
        raise InvalidInput(f"{where}.hard", "hard must be true or false", code="invalid_payload")
    if kind == "bounce":
        kind = "bounced" if hard else "soft_bounced"
    at = utcnow()
    if raw.get("at") is not None:
        try:
            at = dt.datetime.fromisoformat(str(raw["at"]).replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput(
                f"{where}.at", "at must be an ISO 8601 time", code="invalid_payload"
            ) from None
        if at.tzinfo is None:
            raise InvalidInput(f"{where}.at", "at must carry its time zone", code="invalid_payload")
        at = inputs.utc_datetime(at, f"{where}.at")
    detail = raw.get("detail") or ""
    return ProviderEvent(
        kind=kind,
        message_id=_normalise_message_id(message_id),
        email=email.strip().lower()[:320],
        at=at,
        detail=str(detail)[:500],
    )


def parse_events(body: bytes) -> list[ProviderEvent]:
    """The events of a body (one object or an array); raises InvalidInput 400 or 422."""
    document = inputs.json_document(body, max_nodes=MAX_BODY)
    items = document if isinstance(document, list) else [document]
    if not items:
        raise InvalidInput("body", "no event in the body", code="invalid_payload")
    if len(items) > MAX_EVENTS:
        raise InvalidInput("body", f"at most {MAX_EVENTS} events", code="invalid_payload")
    return [_event(raw, index) for index, raw in enumerate(items)]


def _customer_for(
    session: Session, workspace_id: str, message: OutboundMessage | None, email: str
) -> Customer | None:
    if message is not None and message.customer_id is not None:
        return profiles.get_customer(session, workspace_id, message.customer_id)
    if not email:
        return None
    return profiles.find_by_email(session, workspace_id, email)


def _seen(
    session: Session, workspace_id: str, message: OutboundMessage | None, event: ProviderEvent
) -> bool:
    query = select(DeliveryEvent.data).where(
        DeliveryEvent.workspace_id == workspace_id,
        DeliveryEvent.kind == event.kind,
        DeliveryEvent.at == event.at,
    )
    if message is not None:
        return session.scalar(query.where(DeliveryEvent.message_id == message.id)) is not None
    rows = session.scalars(query.where(DeliveryEvent.message_id.is_(None))).all()
    return any((data or {}).get("email") == event.email for data in rows)


def apply_events(session: Session, workspace_id: str, events: Sequence[ProviderEvent]) -> Summary:
    """Record verified events in the caller's transaction: statuses, consent, hooks."""
    summary = Summary(received=len(events))
    for event in events:
        message = None
        if event.message_id:
            message = session.scalar(
                select(OutboundMessage).where(
                    OutboundMessage.message_id == event.message_id,
                    OutboundMessage.workspace_id == workspace_id,
                )
            )
        if message is None:
            summary.unmatched += 1
        if _seen(session, workspace_id, message, event):
            summary.duplicates += 1
            continue
        address = event.email or (message.to_address.lower() if message else "")
        session.add(
            DeliveryEvent(
                workspace_id=workspace_id,
                message_id=message.id if message else None,
                kind=event.kind,
                data={
                    "message_id": event.message_id,
                    "email": address,
                    "detail": event.detail,
                },
                at=event.at,
            )
        )
        summary.recorded += 1
        if message is not None:
            if event.kind == "bounced" and message.status != "complained":
                message.status = "bounced"
                message.error = f"bounced: {event.detail}"[:2000]
            elif event.kind == "complained":
                message.status = "complained"
        if event.kind in ("bounced", "complained"):
            customer = _customer_for(session, workspace_id, message, address)
            # A bounce only says this address is dead: a customer who has moved to another
            # address since keeps their consent. A complaint is about us, whatever the address.
            dead_address = (
                event.kind == "bounced"
                and customer is not None
                and bool(customer.email and customer.email.lower() != address)
            )
            if customer is not None and not dead_address:
                source = "bounce" if event.kind == "bounced" else "complaint"
                before = (customer.consent or {}).get("email", {}).get("status")
                profiles.set_consent(
                    session,
                    workspace_id,
                    customer.id,
                    "email",
                    "denied",
                    source=source,
                    detail=f"{address} {event.message_id} {event.detail}".strip()[:1000],
                )
                if before != "denied":
                    summary.consent_denied.append(customer.id)
        session.flush()
        if message is not None:
            notify(session, [Delivery.of(message)], event.kind, event.at)
    return summary


def _verify(session: Session, workspace_id: str, headers: Mapping[str, str], body: bytes) -> None:
    secret = ingest.webhook_secret(session, workspace_id, PLATFORM)
    if secret is None:
        raise InvalidInput(
            SIGNATURE_HEADER,
            "no email webhook secret is set for this workspace",
            status=401,
            code="unauthorized",
        )
    given = headers.get(SIGNATURE_HEADER.lower(), "").strip()
    if not given:
        raise InvalidInput(
            SIGNATURE_HEADER, "signature header missing", status=401, code="unauthorized"
        )
    if not signing.matches(given, signing.header_value(secret, body)):
        raise InvalidInput(
            SIGNATURE_HEADER, "signature does not match the body", status=401, code="unauthorized"
        )


def receive(db: Database, workspace_id: str, headers: Mapping[str, str], body: bytes) -> Summary:
    """Verify and apply one delivery of events in one transaction; raises InvalidInput.

    ``headers`` are keyed in lower case. Nothing is stored unless the signature is right.
    """
    for attempt in range(ATTEMPTS):
        try:
            with db.session() as session:
                if get_workspace(session, workspace_id) is None:
                    raise InvalidInput(
                        "workspace_id", "no such workspace", status=404, code="not_found"
                    )
                _verify(session, workspace_id, headers, body)
                return apply_events(session, workspace_id, parse_events(body))
        except OperationalError:
            # SQLite's writer lock was taken: a fresh transaction tries again.
            if attempt == ATTEMPTS - 1:
                raise
        except IntegrityError:
            if attempt == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


# The funnel ----------------------------------------------------------------------------------


def _first(
    firsts: Mapping[tuple[int, str], dt.datetime], ids: list[int], kind: str
) -> dt.datetime | None:
    times = [firsts[(i, kind)] for i in ids if (i, kind) in firsts]
    return min(times) if times else None


@dataclass(frozen=True)
class DeliveryStatus:
    """Where the email(s) sent under one related key stand; times are the first of each kind."""

    related_key: str
    message_id: int
    status: str
    messages: int
    sent_at: dt.datetime | None
    delivered_at: dt.datetime | None
    opened_at: dt.datetime | None
    bounced_at: dt.datetime | None
    complained_at: dt.datetime | None


def delivery_status(
    session: Session, workspace_id: str, related_keys: Sequence[str]
) -> dict[str, DeliveryStatus]:
    """For each related key that has email, its delivery status (latest message's status)."""
    keys = sorted(set(related_keys))
    out: dict[str, DeliveryStatus] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        rows = session.execute(
            select(
                OutboundMessage.id,
                OutboundMessage.related_key,
                OutboundMessage.status,
                OutboundMessage.sent_at,
            )
            .where(
                OutboundMessage.workspace_id == workspace_id,
                OutboundMessage.related_key.in_(chunk),
            )
            .order_by(OutboundMessage.id)
        ).all()
        if not rows:
            continue
        firsts: dict[tuple[int, str], dt.datetime] = {
            (message_id, kind): at
            for message_id, kind, at in session.execute(
                select(DeliveryEvent.message_id, DeliveryEvent.kind, func.min(DeliveryEvent.at))
                .where(DeliveryEvent.message_id.in_([r.id for r in rows]))
                .group_by(DeliveryEvent.message_id, DeliveryEvent.kind)
            )
            if message_id is not None
        }
        by_key: dict[str, list[Any]] = {}
        for row in rows:
            by_key.setdefault(row.related_key, []).append(row)
        for key, messages in by_key.items():
            ids = [m.id for m in messages]
            sent = [m.sent_at for m in messages if m.sent_at is not None]
            out[key] = DeliveryStatus(
                related_key=key,
                message_id=messages[-1].id,
                status=messages[-1].status,
                messages=len(messages),
                sent_at=min(sent) if sent else None,
                delivered_at=_first(firsts, ids, "delivered"),
                opened_at=_first(firsts, ids, "opened"),
                bounced_at=_first(firsts, ids, "bounced"),
                complained_at=_first(firsts, ids, "complained"),
            )
    return out
