"""Commerce figures read from the operational store."""

from __future__ import annotations

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from cxloop.commerce.models import Order, Shipment
from cxloop.commerce.schemas import MonthRevenue, Overview
from cxloop.profiles.models import Customer
from cxloop.workspaces.models import Workspace

# Revenue everywhere in cxloop: what orders that were not cancelled brought, less refunds.
NET_CENTS = Order.total_cents - Order.refunded_cents


def _month_of(session: Session) -> object:
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", Order.placed_at), "YYYY-MM")
    return func.strftime("%Y-%m", Order.placed_at)


def overview(session: Session, workspace_id: str) -> Overview:
    """Customers, orders, revenue, repeat buying, late parcels, and revenue by month."""
    workspace = session.get(Workspace, workspace_id)
    if workspace is None:
        raise LookupError(workspace_id)
    customers = (
        session.scalar(
            select(func.count()).select_from(Customer).where(Customer.workspace_id == workspace_id)
        )
        or 0
    )
    live = (Order.workspace_id == workspace_id) & (Order.status != "cancelled")
    orders, revenue_cents = session.execute(
        select(func.count(), func.coalesce(func.sum(NET_CENTS), 0)).where(live)
    ).one()
    per_buyer = (
        select(Order.customer_id, func.count().label("n"))
        .where(live, Order.customer_id.is_not(None))
        .group_by(Order.customer_id)
        .subquery()
    )
    buyers, repeaters = session.execute(
        select(func.count(), func.coalesce(func.sum(case((per_buyer.c.n > 1, 1), else_=0)), 0))
    ).one()
    delivered, late = session.execute(
        select(
            func.count(),
            func.coalesce(
                func.sum(case((Shipment.delivered_at > Shipment.promised_at, 1), else_=0)), 0
            ),
        ).where(Shipment.workspace_id == workspace_id, Shipment.delivered_at.is_not(None))
    ).one()
    month = _month_of(session)
    rows = session.execute(
        select(month, func.count(), func.sum(NET_CENTS))  # type: ignore[call-overload]
        .where(live)
        .group_by(month)
        .order_by(month)
    ).all()
    return Overview(
        currency=workspace.currency,
        customers=int(customers),
        buyers=int(buyers),
        orders=int(orders),
        revenue=round(int(revenue_cents) / 100, 2),
        average_order_value=round(int(revenue_cents) / 100 / orders, 2) if orders else 0.0,
        repeat_buyer_share=round(int(repeaters) / buyers, 4) if buyers else 0.0,
        late_shipment_share=round(int(late) / delivered, 4) if delivered else 0.0,
        months=[
            MonthRevenue(month=str(m), orders=int(n), revenue=round(int(c or 0) / 100, 2))
            for m, n, c in rows
        ],
    )
