"""Factories for NPS tests: a store with customers, orders and parcels, and surveys."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from sqlalchemy import select

from cxloop.commerce.models import Order, OrderItem, Shipment
from cxloop.profiles.models import Customer
from cxloop.store.db import Database
from cxloop.surveys import service
from cxloop.surveys.definitions import default_definition
from cxloop.surveys.models import Invitation, Survey
from cxloop.themes import service as tagging

_numbers = itertools.count(1000)


def customer(db: Database, workspace_id: str, **fields: Any) -> int:
    """A customer with an email (unless told otherwise); returns its id."""
    n = next(_numbers)
    values: dict[str, Any] = {
        "user_id": f"c{n}",
        "email": f"c{n}@example.com",
        "locale": "fr",
        "timezone": "Europe/Paris",
        **fields,
    }
    with db.session() as session:
        row = Customer(workspace_id=workspace_id, **values)
        session.add(row)
        session.flush()
        return row.id


def order(
    db: Database,
    workspace_id: str,
    customer_id: int,
    placed_at: dt.datetime,
    *,
    delivered_at: dt.datetime | None = None,
    promised_at: dt.datetime | None = None,
    **fields: Any,
) -> tuple[int, int | None]:
    """An order, with a parcel when a delivery or promise date is given; returns both ids."""
    n = next(_numbers)
    with db.session() as session:
        row = Order(
            workspace_id=workspace_id,
            external_id=f"#{n}",
            customer_id=customer_id,
            placed_at=placed_at,
            **{"status": "paid", "total_cents": 4990, **fields},
        )
        session.add(row)
        session.flush()
        shipment_id = None
        if delivered_at is not None or promised_at is not None:
            parcel = Shipment(
                workspace_id=workspace_id,
                order_id=row.id,
                external_id=f"S{n}",
                carrier="Colissimo",
                status="delivered" if delivered_at else "in_transit",
                promised_at=promised_at or placed_at,
                delivered_at=delivered_at,
            )
            session.add(parcel)
            session.flush()
            shipment_id = parcel.id
        return row.id, shipment_id


def survey(
    db: Database,
    workspace_id: str,
    trigger: str = "shipment_delivered",
    created_at: dt.datetime | None = None,
    **changes: Any,
) -> int:
    """A survey from the default definition with ``changes``; returns its id."""
    definition = default_definition(trigger).model_copy(update=changes)  # type: ignore[arg-type]
    with db.session() as session:
        row = service.save_survey(session, workspace_id, definition, actor="test")
        if created_at is not None:
            row.created_at = created_at
        return row.id


def survey_row(db: Database, survey_id: int) -> Survey:
    """A survey, detached."""
    with db.session() as session:
        row = session.get(Survey, survey_id)
        assert row is not None
        return row


def sent_invitation(db: Database, workspace_id: str, now: dt.datetime) -> str:
    """A survey, a customer whose parcel came four days ago, and her invitation sent: its token."""
    survey(db, workspace_id, created_at=now - dt.timedelta(days=30), send_hours=(0, 24))
    cid = customer(db, workspace_id, locale="en")
    order(
        db, workspace_id, cid, now - dt.timedelta(days=6), delivered_at=now - dt.timedelta(days=4)
    )
    with db.session() as session:
        service.plan(session, workspace_id, now)
        [invitation] = session.scalars(select(Invitation)).all()
        service.mark_sent(session, invitation, now)
        return invitation.token


def sent_invitations(
    db: Database, workspace_id: str, count: int, now: dt.datetime
) -> list[tuple[str, str]]:
    """``count`` new customers (French and English in turn), each with a parcel delivered four
    days ago and the invitation the workspace's active surveys plan for it, sent: the user id
    and token of each."""
    with db.session() as session:
        customers = []
        for i in range(count):
            n = next(_numbers)
            customers.append(
                Customer(
                    workspace_id=workspace_id,
                    user_id=f"c{n}",
                    email=f"c{n}@example.com",
                    locale=("fr", "en")[i % 2],
                    timezone="Europe/Paris",
                )
            )
        session.add_all(customers)
        session.flush()
        orders = [
            Order(
                workspace_id=workspace_id,
                external_id=f"#{c.user_id}",
                customer_id=c.id,
                placed_at=now - dt.timedelta(days=6),
                status="paid",
                total_cents=4990,
            )
            for c in customers
        ]
        session.add_all(orders)
        session.flush()
        session.add_all(
            Shipment(
                workspace_id=workspace_id,
                order_id=o.id,
                external_id=f"S{o.external_id}",
                carrier="Colissimo",
                status="delivered",
                promised_at=now - dt.timedelta(days=5),
                delivered_at=now - dt.timedelta(days=4),
            )
            for o in orders
        )
        session.flush()
        service.plan(session, workspace_id, now)
        user_ids = {c.id: c.user_id for c in customers}
        planned = session.scalars(
            select(Invitation)
            .where(Invitation.customer_id.in_(user_ids), Invitation.status == "scheduled")
            .order_by(Invitation.id)
        ).all()
        for invitation in planned:
            service.mark_sent(session, invitation, now)
        return [(user_ids[i.customer_id or 0], i.token) for i in planned]


def answer(
    db: Database, workspace_id: str, score: int, comment: str, now: dt.datetime | None = None
) -> int:
    """A confirmed answer with a comment, recorded and tagged as the survey page records it,
    from a new customer whose parcel came four days before ``now``; returns its id."""
    from cxloop.alerts.service import alert_after_commit  # alerts sit above surveys

    now = now or dt.datetime.now(dt.UTC)
    with db.session() as session:
        if session.scalar(select(Survey.id)) is None:
            survey(db, workspace_id, created_at=now - dt.timedelta(days=30))
    cid = customer(db, workspace_id, first_name="Lou")
    order(
        db, workspace_id, cid, now - dt.timedelta(days=6), delivered_at=now - dt.timedelta(days=4)
    )
    with db.session() as session:
        service.plan(session, workspace_id, now)
        invitation = session.scalars(select(Invitation).where(Invitation.customer_id == cid)).one()
        service.mark_sent(session, invitation, now)
        return service.record_answer(
            session,
            invitation,
            score,
            confirmed=True,
            comment=comment,
            now=now,
            tag=tagging.tags_for,
            on_confirmed=alert_after_commit,
        ).response.id


def order_items(
    db: Database,
    workspace_id: str,
    order_id: int,
    lines: list[tuple[str, str, int]],
    unit_cents: int = 1000,
) -> None:
    """Lines (sku, title, quantity) on an order, at ``unit_cents`` a unit."""
    with db.session() as session:
        for sku, title, quantity in lines:
            session.add(
                OrderItem(
                    workspace_id=workspace_id,
                    order_id=order_id,
                    sku=sku,
                    title=title,
                    quantity=quantity,
                    unit_price_cents=unit_cents,
                    total_cents=unit_cents * quantity,
                )
            )
