"""Storing events: deduplicated by message id, linked to their customer."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pyarrow as pa
from sqlalchemy import Insert, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cxloop import profiles
from cxloop.ingest.models import Event
from cxloop.ingest.segment import Message
from cxloop.store.arrow import TIMESTAMP, Field, arrow_table
from cxloop.store.base import utcnow

# Core table, not the ORM class: a multi-row insert through Core reports its row count.
EVENTS = Event.metadata.tables["events"]  # the Table, for Core inserts


def _insert_ignoring_duplicates(session: Session) -> Insert:
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(EVENTS).on_conflict_do_nothing(
            index_elements=["workspace_id", "message_id"]
        )
    return sqlite.insert(EVENTS).on_conflict_do_nothing(
        index_elements=["workspace_id", "message_id"]
    )


# Events older than this are history (an import, a replay, a very late webhook): the hooks that
# act on news (journeys, cases, segments) leave them alone.
NEWS = dt.timedelta(hours=48)


def is_news(row: Mapping[str, Any], now: dt.datetime | None = None) -> bool:
    """Whether a stored event (an ``events`` row) happened within ``NEWS`` of now."""
    at = row.get("timestamp")
    if not isinstance(at, dt.datetime):
        return True
    aware = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
    return aware >= (now or utcnow()) - NEWS


# Told (session, rows) in the transaction that stores events, with the rows written (``events``
# columns; a replayed message id among them, the hook's own store must drop it): journeys listen
# to them. Connected by ``cxloop.wiring``.
EventsHook = Callable[[Session, Sequence[dict[str, Any]]], object]
_events_hooks: list[EventsHook] = []


def on_events(hook: EventsHook) -> EventsHook:
    """Register ``hook(session, rows)`` once, at start-up (``cxloop.wiring``)."""
    if hook not in _events_hooks:
        _events_hooks.append(hook)
    return hook


def insert_events(session: Session, rows: Sequence[dict[str, Any]]) -> int:
    """Insert event rows (dicts of ``events`` columns); a message id seen before is skipped.

    Returns how many rows were new.
    """
    if not rows:
        return 0
    result: Any = session.execute(_insert_ignoring_duplicates(session), list(rows))
    count = result.rowcount
    for hook in _events_hooks:
        hook(session, rows)
    return int(count) if count is not None and count >= 0 else len(rows)


def record_event(
    session: Session,
    workspace_id: str,
    *,
    message_id: str,
    event_type: str,
    event: str | None,
    timestamp: dt.datetime,
    properties: dict[str, Any] | None = None,
    context: dict[str, Any] | None = None,
    customer_id: int | None = None,
    user_id: str | None = None,
    anonymous_id: str | None = None,
    received_at: dt.datetime | None = None,
) -> bool:
    """Store one event unless its message id is already known; True if it was new."""
    row = {
        "workspace_id": workspace_id,
        "message_id": message_id,
        "type": event_type,
        "event": event,
        "customer_id": customer_id,
        "user_id": user_id,
        "anonymous_id": anonymous_id,
        "properties": properties or {},
        "context": context or {},
        "timestamp": timestamp,
        "sent_at": None,
        "received_at": received_at or utcnow(),
    }
    return insert_events(session, [row]) == 1


def _needs_resolution(message: Message, known: dict[tuple[str, str], int]) -> bool:
    if message.type in ("identify", "alias"):
        return True
    if message.user_id is None:
        return False  # anonymous: joins a customer only once someone names it
    owner = known.get(("user_id", message.user_id))
    if owner is None:
        return True
    if message.anonymous_id is None:
        return False
    return known.get(("anonymous_id", message.anonymous_id)) != owner


def _customer_for(session: Session, workspace_id: str, message: Message, source: str) -> int | None:
    if message.type == "alias":
        assert message.previous_id is not None and message.user_id is not None
        return profiles.alias(
            session,
            workspace_id,
            previous_id=message.previous_id,
            user_id=message.user_id,
            source=source,
            at=message.timestamp,
            claim=claim_anonymous_events,
        ).id
    customer = profiles.resolve(
        session,
        workspace_id,
        profiles.Keys(user_id=message.user_id, anonymous_id=message.anonymous_id),
        source=source,
        at=message.timestamp,
        traits=message.traits if message.type == "identify" else None,
        claim=claim_anonymous_events,
    )
    return customer.id if customer is not None else None


def store_messages(session: Session, workspace_id: str, messages: Sequence[Message]) -> int:
    """Resolve each call's customer, then store the calls; returns how many were new."""
    pairs: set[tuple[str, str]] = set()
    for message in messages:
        if message.user_id:
            pairs.add(("user_id", message.user_id))
        if message.anonymous_id:
            pairs.add(("anonymous_id", message.anonymous_id))
    known = profiles.lookup_identities(session, workspace_id, pairs)
    merges_at_start = session.info.get("cx_merges", 0)
    rows: list[dict[str, Any]] = []
    for message in messages:
        if _needs_resolution(message, known):
            merges_before = session.info.get("cx_merges", 0)
            customer_id = _customer_for(
                session, workspace_id, message, f"{message.type}:{message.message_id}"
            )
            if session.info.get("cx_merges", 0) != merges_before:
                known = profiles.lookup_identities(session, workspace_id, pairs)
            elif customer_id is not None:
                for pair in (("user_id", message.user_id), ("anonymous_id", message.anonymous_id)):
                    if pair[1] and pair not in known:
                        known[(pair[0], pair[1])] = customer_id
        elif message.user_id:
            customer_id = known[("user_id", message.user_id)]
        else:
            customer_id = known.get(("anonymous_id", message.anonymous_id or ""))
        rows.append(
            {
                "workspace_id": workspace_id,
                "message_id": message.message_id,
                "type": message.type,
                "event": message.event,
                "customer_id": customer_id,
                "user_id": message.user_id,
                "anonymous_id": message.anonymous_id,
                "properties": message.properties,
                "context": message.context,
                "timestamp": message.timestamp,
                "sent_at": message.sent_at,
                "received_at": message.received_at,
            }
        )
    # Calls earlier in the batch may have been named, or their customer merged away, by calls
    # later in it (an anonymous page view, then the identify): settle every row on the final map.
    if session.info.get("cx_merges", 0) != merges_at_start:
        known = profiles.lookup_identities(session, workspace_id, pairs)
    for row in rows:
        final = known.get(("user_id", row["user_id"])) if row["user_id"] else None
        if final is None and row["anonymous_id"]:
            final = known.get(("anonymous_id", row["anonymous_id"]))
        if final is not None:
            row["customer_id"] = final
    seen: dict[int, dt.datetime] = {}
    for row in rows:
        cid = row["customer_id"]
        if cid is not None and (cid not in seen or seen[cid] < row["timestamp"]):
            seen[cid] = row["timestamp"]
    inserted = insert_events(session, rows)
    if seen:
        profiles.touch_customers(session, seen)
    return inserted


def claim_anonymous_events(
    session: Session, workspace_id: str, customer_id: int, anonymous_ids: list[str]
) -> None:
    """Link the events waiting under these anonymous ids to the customer they now belong to."""
    session.execute(
        update(Event)
        .where(
            Event.workspace_id == workspace_id,
            Event.anonymous_id.in_(anonymous_ids),
            Event.customer_id.is_(None),
        )
        .values(customer_id=customer_id)
    )


def event_count(session: Session, customer_id: int) -> int:
    """How many events a customer has."""
    count = session.scalar(
        select(func.count()).select_from(Event).where(Event.customer_id == customer_id)
    )
    return int(count or 0)


def latest_events(
    session: Session, customer_id: int, *, limit: int, workspace_id: str | None = None
) -> list[tuple[str, str, str | None, dt.datetime, dict[str, Any] | None]]:
    """A customer's latest events, newest first: (message id, type, event, timestamp, props)."""
    query = select(Event.message_id, Event.type, Event.event, Event.timestamp, Event.properties)
    query = query.where(Event.customer_id == customer_id)
    if workspace_id is not None:
        query = query.where(Event.workspace_id == workspace_id)
    rows = session.execute(query.order_by(Event.timestamp.desc(), Event.id.desc()).limit(limit))
    return [(m, t, e, ts, p) for m, t, e, ts, p in rows]


def visitor_events(
    session: Session, workspace_id: str, anonymous_id: str, since: dt.datetime, *, limit: int
) -> list[tuple[str, str | None, dt.datetime, dict[str, Any]]]:
    """A visitor's events since ``since`` by their anonymous id, oldest first, at most the
    ``limit`` newest: (type, event, timestamp, properties)."""
    query = (
        select(Event.type, Event.event, Event.timestamp, Event.properties)
        .where(
            Event.workspace_id == workspace_id,
            Event.anonymous_id == anonymous_id,
            Event.timestamp >= since,
        )
        .order_by(Event.timestamp.desc(), Event.id.desc())
        .limit(limit)
    )
    return [(t, e, ts, p or {}) for t, e, ts, p in reversed(session.execute(query).all())]


def product_signals(
    session: Session, workspace_id: str, events: Sequence[str], since: dt.datetime
) -> list[tuple[int, str, str, dt.datetime]]:
    """Known customers' product events of these names since ``since`` (views, carts): (customer
    id, product id, event, timestamp)."""
    rows = session.execute(
        select(Event.customer_id, Event.event, Event.timestamp, Event.properties).where(
            Event.workspace_id == workspace_id,
            Event.event.in_(list(events)),
            Event.customer_id.is_not(None),
            Event.timestamp >= since,
        )
    )
    found = []
    for customer_id, event, at, properties in rows:
        product = (properties or {}).get("product_id") or (properties or {}).get("sku")
        if isinstance(product, str | int) and str(product):
            found.append((int(customer_id), str(product)[:100], str(event), at))
    return found


def event_moments(
    session: Session,
    workspace_id: str,
    event: str,
    since: dt.datetime,
    *,
    anonymous_ids: Sequence[str] = (),
    customer_ids: Sequence[int] = (),
) -> list[tuple[str | None, int | None, dt.datetime, dict[str, Any]]]:
    """When the named event happened since ``since`` for these visitors or customers:
    (anonymous id, customer id, timestamp, properties), oldest first."""
    found: list[tuple[str | None, int | None, dt.datetime, dict[str, Any]]] = []
    base = select(Event.anonymous_id, Event.customer_id, Event.timestamp, Event.properties).where(
        Event.workspace_id == workspace_id, Event.event == event, Event.timestamp >= since
    )
    for column, values in ((Event.anonymous_id, anonymous_ids), (Event.customer_id, customer_ids)):
        listed = list(values)
        for start in range(0, len(listed), 500):
            rows = session.execute(base.where(column.in_(listed[start : start + 500])))
            found += [(a, c, ts, p or {}) for a, c, ts, p in rows]
    return sorted(_once(found), key=lambda row: row[2])


def _once(
    rows: list[tuple[str | None, int | None, dt.datetime, dict[str, Any]]],
) -> list[tuple[str | None, int | None, dt.datetime, dict[str, Any]]]:
    """The rows once each (an event may match both by visitor and by customer)."""
    seen: set[tuple[str | None, int | None, dt.datetime]] = set()
    kept = []
    for row in rows:
        if row[:3] not in seen:
            seen.add(row[:3])
            kept.append(row)
    return kept


def export_events(session: Session, workspace_id: str, *, after_id: int = 0) -> pa.Table:
    """Events with an id above ``after_id`` (the log only grows), as Arrow: who did what, when.
    Properties stay in the log and in the Parquet export."""
    fields: list[Field] = [
        ("id", Event.id, pa.int64()),
        ("customer_id", Event.customer_id, pa.int64()),
        ("type", Event.type, pa.string()),
        ("event", Event.event, pa.string()),
        ("timestamp", Event.timestamp, TIMESTAMP),
    ]
    query = select(Event.id).where(Event.workspace_id == workspace_id, Event.id > after_id)
    return arrow_table(session, query, fields)
