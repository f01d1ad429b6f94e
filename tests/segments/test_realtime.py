"""Dynamic segments kept current as customers act: a stored order reconsiders its customer's
segments (entries and exits written, journeys started), without waiting for an analytics run."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from cxloop.channels.models import OutboundMessage
from cxloop.commerce import records
from cxloop.ingest.service import record_event
from cxloop.journeys import service as journeys
from cxloop.segments import service
from cxloop.segments.models import SegmentChange
from cxloop.segments.schemas import SegmentCreate
from cxloop.store.base import utcnow
from cxloop.store.db import Database
from tests.helpers.journeys import awake

THANKS = """
key: second_order
trigger: {segment: repeat}
steps:
  - send: {subject: "Merci pour votre fidélité", body: "Merci !", marketing: false}
"""


def _order(db: Database, ws: str, user_id: str, number: str, *, status: str = "paid") -> None:
    with db.session() as session:
        records.upsert_order(
            session,
            ws,
            records.OrderData(
                external_id=number,
                placed_at=utcnow() - dt.timedelta(minutes=1),
                currency="EUR",
                items=(),
                subtotal_cents=3000,
                shipping_cents=0,
                discount_cents=0,
                total_cents=3000,
                status=status,
                customer=records.CustomerData(user_id=user_id, email=f"{user_id}@example.com"),
            ),
            platform="shopify",
            track=record_event,
        )


def test_a_second_order_enters_the_segment_and_its_journey_at_once(
    db: Database, make_workspace: Any, worker: Any
) -> None:
    ws = make_workspace().workspace_id
    awake(db, ws)
    with db.session() as session:
        service.create_segment(
            session,
            ws,
            SegmentCreate(key="repeat", name="Repeat", condition="orders.count >= 2"),
            actor="t",
        )
        journeys.create_journey(session, ws, THANKS, actor="t", status="active")
    _order(db, ws, "lou", "#1")
    worker.settle()
    with db.session() as session:
        assert service.segments_of(session, ws, _customer(session, ws)) == []
    _order(db, ws, "lou", "#2")
    worker.settle()
    with db.session() as session:
        cid = _customer(session, ws)
        assert service.segments_of(session, ws, cid) == ["repeat"]
        assert [m.subject for m in session.scalars(select(OutboundMessage))] == [
            "Merci pour votre fidélité"
        ]
    # The second order cancelled: back under two orders, out of the segment.
    _order(db, ws, "lou", "#2", status="cancelled")
    worker.settle()
    with db.session() as session:
        assert service.segments_of(session, ws, cid) == []
        changes = [
            c.change for c in session.scalars(select(SegmentChange).order_by(SegmentChange.id))
        ]
        segment = service.get_segment(session, ws, "repeat")
    assert changes == ["entered", "left"]
    assert segment is not None and segment.members == 0


def _customer(session: Any, ws: str) -> int:
    from cxloop.profiles import service as profiles

    found = profiles.customer_id_of(session, ws, "lou")
    assert found is not None
    return found
