"""The customer list and one customer's timeline, in the console."""

from __future__ import annotations

import datetime as dt

from fastapi import FastAPI
from fastapi.testclient import TestClient

from cxloop.commerce.models import Order, Shipment
from cxloop.ingest.segment import Message
from cxloop.ingest.writer import IngestWriter
from cxloop.profiles.models import Customer
from cxloop.store.db import Database
from tests.helpers.console import login

T0 = dt.datetime(2026, 4, 2, 9, 0, tzinfo=dt.UTC)


def _track(user_id: str, event: str, at: dt.datetime, message_id: str) -> Message:
    return Message(
        type="track",
        message_id=message_id,
        user_id=user_id,
        anonymous_id=None,
        event=event,
        properties={},
        traits={},
        context={},
        timestamp=at,
        sent_at=None,
        received_at=at,
    )


def _store(db: Database, workspace_id: str) -> int:
    writer = IngestWriter(db)
    writer.write_now(
        workspace_id,
        [_track("lou", "Product Viewed", T0, "m1"), _track("max", "Product Viewed", T0, "m2")],
    )
    with db.session() as session:
        lou = session.query(Customer).filter_by(user_id="lou").one()
        lou.first_name, lou.email = "Lou", "lou@example.com"
        order = Order(
            workspace_id=workspace_id,
            external_id="#1001",
            customer_id=lou.id,
            status="paid",
            total_cents=5990,
            placed_at=T0 + dt.timedelta(hours=1),
        )
        session.add(order)
        session.flush()
        session.add(
            Shipment(
                workspace_id=workspace_id,
                order_id=order.id,
                external_id="S-1",
                carrier="Colissimo",
                status="delivered",
                promised_at=T0 + dt.timedelta(days=2),
                delivered_at=T0 + dt.timedelta(days=4),
            )
        )
        return lou.id


def test_the_list_searches_and_the_timeline_tells_the_story(
    app: FastAPI, db: Database, make_workspace, make_user
) -> None:
    creds = make_workspace()
    make_user("owner@example.com", creds.workspace_id)
    lou_id = _store(db, creds.workspace_id)
    with TestClient(app) as client:
        login(client, "owner@example.com")
        everyone = client.get(f"/w/{creds.workspace_id}/customers").text
        found = client.get(f"/w/{creds.workspace_id}/customers?q=LOU@").text
        page = client.get(f"/w/{creds.workspace_id}/customers/{lou_id}").text
    assert "Lou" in everyone and "max" in everyone
    assert "Lou" in found and "max" not in found
    # newest first: the late parcel, the order, then the product view
    positions = [page.index(text) for text in ("Parcel S-1", "Order #1001", "Product viewed")]
    assert positions == sorted(positions)
    assert "<em>late</em>" in page
    assert "lou@example.com" in found
    assert "<h1>Lou</h1>" in page


def test_a_customer_of_another_workspace_is_not_found(
    app: FastAPI, db: Database, make_workspace, make_user
) -> None:
    mine, other = make_workspace("Mine"), make_workspace("Other")
    make_user("owner@example.com", mine.workspace_id)
    theirs = _store(db, other.workspace_id)
    with TestClient(app) as client:
        login(client, "owner@example.com")
        response = client.get(f"/w/{mine.workspace_id}/customers/{theirs}")
        listed = client.get(f"/w/{mine.workspace_id}/customers").text
    assert response.status_code == 404
    assert "Lou" not in listed
