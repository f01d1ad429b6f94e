"""Storing events: deduplicated by message id, linked to their customer."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cxloop.ingest.models import Event
from cxloop.store.base import utcnow


def _insert_ignoring_duplicates(session: Session) -> Insert:
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(Event).on_conflict_do_nothing(
            index_elements=["workspace_id", "message_id"]
        )
    return sqlite.insert(Event).on_conflict_do_nothing(
        index_elements=["workspace_id", "message_id"]
    )


def insert_events(session: Session, rows: Sequence[dict[str, Any]]) -> int:
    """Insert event rows (dicts of ``events`` columns); a message id seen before is skipped.

    Returns how many rows were new.
    """
    if not rows:
        return 0
    result: Any = session.execute(_insert_ignoring_duplicates(session), list(rows))
    count = result.rowcount
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
