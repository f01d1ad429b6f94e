"""The catalog as other domains read it: its products, how fresh it is, what sells."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cxloop.commerce.models import Order, OrderItem, Product


def catalog_products(session: Session, workspace_id: str) -> list[Product]:
    """Every product of the workspace's catalog, in SKU order."""
    return list(
        session.scalars(
            select(Product).where(Product.workspace_id == workspace_id).order_by(Product.sku)
        )
    )


def catalog_stamp(session: Session, workspace_id: str) -> tuple[int, str]:
    """What changes whenever the catalog does: its size and its latest update."""
    count, latest = session.execute(
        select(func.count(), func.max(Product.updated_at)).where(
            Product.workspace_id == workspace_id
        )
    ).one()
    return int(count), str(latest or "")


def units_sold(session: Session, workspace_id: str, since: dt.datetime) -> dict[str, int]:
    """Units sold per SKU in orders placed since ``since`` (cancelled orders left out)."""
    rows = session.execute(
        select(OrderItem.sku, func.sum(OrderItem.quantity))
        .join(Order, Order.id == OrderItem.order_id)
        .where(
            OrderItem.workspace_id == workspace_id,
            Order.placed_at >= since,
            Order.status != "cancelled",
        )
        .group_by(OrderItem.sku)
    )
    return {sku: int(units or 0) for sku, units in rows}


def purchases(
    session: Session, workspace_id: str, since: dt.datetime
) -> list[tuple[int, str, dt.datetime, int]]:
    """Order lines of known customers since ``since``, cancelled orders left out:
    (customer id, SKU, placed at, quantity), oldest first."""
    rows = session.execute(
        select(Order.customer_id, OrderItem.sku, Order.placed_at, OrderItem.quantity)
        .join(Order, Order.id == OrderItem.order_id)
        .where(
            OrderItem.workspace_id == workspace_id,
            Order.customer_id.is_not(None),
            Order.placed_at >= since,
            Order.status != "cancelled",
        )
        .order_by(Order.placed_at, OrderItem.id)
    )
    return [(int(c or 0), sku, at, int(q or 1)) for c, sku, at, q in rows]


def orders_stamp(session: Session, workspace_id: str) -> tuple[int, int]:
    """What changes whenever an order line is added: their count and the latest line's id."""
    count, latest = session.execute(
        select(func.count(), func.max(OrderItem.id)).where(OrderItem.workspace_id == workspace_id)
    ).one()
    return int(count or 0), int(latest or 0)
