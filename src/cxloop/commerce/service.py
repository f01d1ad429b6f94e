"""Commerce figures read from the operational store."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from sqlalchemy import ColumnElement, String, and_, case, cast, exists, func, literal, or_, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql import Subquery

from cxloop import profiles
from cxloop.commerce.models import Order, OrderItem, Product, Shipment
from cxloop.commerce.schemas import MonthRevenue, Overview
from cxloop.store.arrow import TIMESTAMP, Field, arrow_table
from cxloop.workspaces import get_workspace

# Revenue everywhere in cxloop: what orders that were not cancelled brought, less refunds.
NET_CENTS = Order.total_cents - Order.refunded_cents


def _month_of(session: Session) -> object:
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", Order.placed_at), "YYYY-MM")
    return func.strftime("%Y-%m", Order.placed_at)


def overview(session: Session, workspace_id: str) -> Overview:
    """Customers, orders, revenue, repeat buying, late parcels, and revenue by month."""
    workspace = get_workspace(session, workspace_id)
    if workspace is None:
        raise LookupError(workspace_id)
    customers = profiles.count_customers(session, workspace_id)
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


# Orders as other domains need them -----------------------------------------------------------


def touchpoint_query(
    workspace_id: str, trigger: str, *, since: dt.datetime, until: dt.datetime
) -> tuple[ColumnElement[str], Any]:
    """The moments a survey can ask about, as a query other domains can narrow further:
    ``order_placed`` (orders placed) or ``shipment_delivered`` (parcels delivered) in
    [since, until], each row (subject key, customer id, order id, shipment id or None, at).

    Returns the subject-key expression too, so a caller can leave out the keys it already
    planned (an anti-join in the same statement: planning stays one query)."""
    key: ColumnElement[str]
    query: Any
    if trigger == "order_placed":
        key = literal("order:") + cast(Order.id, String)
        query = select(key, Order.customer_id, Order.id, literal(None), Order.placed_at).where(
            Order.workspace_id == workspace_id,
            Order.placed_at >= since,
            Order.placed_at <= until,
        )
    else:
        key = literal("shipment:") + cast(Shipment.id, String)
        query = (
            select(key, Order.customer_id, Order.id, Shipment.id, Shipment.delivered_at)
            .join(Order, Order.id == Shipment.order_id)
            .where(
                Shipment.workspace_id == workspace_id,
                Shipment.delivered_at >= since,
                Shipment.delivered_at <= until,
            )
        )
    return key, query.where(Order.customer_id.is_not(None))


def order_problems(
    session: Session, order_ids: list[int], now: dt.datetime
) -> dict[int, tuple[str, str]]:
    """Why each of these orders should not be asked about now (cancelled, refunded, late)."""
    problems: dict[int, tuple[str, str]] = {}
    wanted = sorted(set(order_ids))
    seen: set[int] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        for oid, external, status, cancelled, total, refunded in session.execute(
            select(
                Order.id,
                Order.external_id,
                Order.status,
                Order.cancelled_at,
                Order.total_cents,
                Order.refunded_cents,
            ).where(Order.id.in_(chunk))
        ):
            seen.add(oid)
            if status == "cancelled" or cancelled is not None:
                problems[oid] = ("order_cancelled", f"order {external} was cancelled")
            elif status == "refunded" or (total and refunded >= total):
                problems[oid] = ("order_refunded", f"order {external} was refunded")
        for oid, parcel in session.execute(
            select(Shipment.order_id, Shipment.external_id).where(
                Shipment.order_id.in_(chunk),
                Shipment.delivered_at.is_(None),
                Shipment.promised_at < now,
                Shipment.status.not_in(("lost", "returned")),
            )
        ):
            problems.setdefault(
                oid, ("shipment_late", f"parcel {parcel} is late and not delivered yet")
            )
    for oid in wanted:
        if oid not in seen:
            problems[oid] = ("order_missing", "the order is gone")
    return problems


def order_facets(
    session: Session, order_ids: Sequence[int | None]
) -> dict[int, tuple[str | None, str]]:
    """Per order: the customer segment ("new" for a first order, else "returning"; None
    without a customer) and its product categories, sorted, as "|a|b|" ("" when none).

    Copied onto answers when they are recorded, so the dashboard never joins orders.
    """
    ids = sorted({i for i in order_ids if i})
    if not ids:
        return {}
    earlier = aliased(Order)
    before = exists().where(
        earlier.customer_id == Order.customer_id,
        earlier.placed_at < Order.placed_at,
        earlier.status != "cancelled",
    )
    segment = case((Order.customer_id.is_(None), None), (before, "returning"), else_="new")
    facets: dict[int, tuple[str | None, str]] = {
        order_id: (kind, "")
        for order_id, kind in session.execute(select(Order.id, segment).where(Order.id.in_(ids)))
    }
    names: dict[int, set[str]] = {}
    for order_id, category in session.execute(
        select(OrderItem.order_id, Product.category)
        .join(Product, Product.id == OrderItem.product_id)
        .where(OrderItem.order_id.in_(ids), Product.category != "")
        .distinct()
    ):
        names.setdefault(order_id, set()).add(category.replace("|", "/"))
    for order_id, found in names.items():
        kind = facets.get(order_id, (None, ""))[0]
        facets[order_id] = (kind, ("|" + "|".join(sorted(found)) + "|")[:500])
    return facets


def get_order(session: Session, workspace_id: str, order_id: int) -> Order | None:
    """The order with this id in this workspace (None if it belongs to another)."""
    order = session.get(Order, order_id)
    return order if order is not None and order.workspace_id == workspace_id else None


def orders_placed_since(session: Session, workspace_id: str, since: dt.datetime) -> int:
    """How many orders the workspace received since ``since``."""
    count = session.scalar(
        select(func.count())
        .select_from(Order)
        .where(Order.workspace_id == workspace_id, Order.placed_at >= since)
    )
    return int(count or 0)


def order_figures(session: Session, customer_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
    """Per customer: orders not cancelled, and revenue in cents (less refunds)."""
    rows = session.execute(
        select(Order.customer_id, func.count(), func.coalesce(func.sum(NET_CENTS), 0))
        .where(Order.customer_id.in_(list(customer_ids)), Order.status != "cancelled")
        .group_by(Order.customer_id)
    ).all()
    return {int(cid): (int(n), int(cents)) for cid, n, cents in rows if cid is not None}


def order_totals(workspace_id: str) -> Subquery:
    """Per customer of the workspace (``customer_id``): ``orders`` not cancelled and
    ``revenue_cents`` (less refunds), as a subquery the customer list joins to sort on."""
    return (
        select(
            Order.customer_id.label("customer_id"),
            func.count().label("orders"),
            func.coalesce(func.sum(NET_CENTS), 0).label("revenue_cents"),
        )
        .where(Order.workspace_id == workspace_id, Order.status != "cancelled")
        .group_by(Order.customer_id)
        .subquery("order_totals")
    )


def order_spans(
    session: Session, customer_ids: Sequence[int]
) -> dict[int, tuple[dt.datetime, dt.datetime]]:
    """Per customer: the first and the last order not cancelled (when placed)."""
    rows = session.execute(
        select(Order.customer_id, func.min(Order.placed_at), func.max(Order.placed_at))
        .where(Order.customer_id.in_(list(customer_ids)), Order.status != "cancelled")
        .group_by(Order.customer_id)
    ).all()
    return {int(cid): (first, last) for cid, first, last in rows if cid is not None}


def orders_of(
    session: Session, workspace_id: str, customer_id: int, *, limit: int
) -> list[tuple[str, str, int, str, dt.datetime]]:
    """A customer's latest orders: (external id, status, total cents, currency, placed at)."""
    rows = session.execute(
        select(Order.external_id, Order.status, Order.total_cents, Order.currency, Order.placed_at)
        .where(Order.workspace_id == workspace_id, Order.customer_id == customer_id)
        .order_by(Order.placed_at.desc())
        .limit(limit)
    )
    return [(e, s, t, c, at) for e, s, t, c, at in rows]


def shipments_of(
    session: Session, workspace_id: str, customer_id: int, *, limit: int
) -> list[tuple[str, str | None, str, dt.datetime | None, dt.datetime | None, dt.datetime | None]]:
    """A customer's parcels, newest first: (external id, carrier, status, promised, delivered,
    shipped at)."""
    rows = session.execute(
        select(
            Shipment.external_id,
            Shipment.carrier,
            Shipment.status,
            Shipment.promised_at,
            Shipment.delivered_at,
            Shipment.shipped_at,
        )
        .join(Order, Order.id == Shipment.order_id)
        .where(Shipment.workspace_id == workspace_id, Order.customer_id == customer_id)
        .order_by(Shipment.id.desc())
        .limit(limit)
    )
    return [(e, c, s, p, d, sh) for e, c, s, p, d, sh in rows]


def orders_for_export(
    workspace_id: str, since: dt.datetime | None, *, columns: Sequence[str]
) -> tuple[Any, Any]:
    """The workspace's orders placed since ``since`` (all if None), in time order, with these
    columns; and the query that counts them (the Parquet export)."""
    where = [Order.workspace_id == workspace_id]
    if since is not None:
        where.append(Order.placed_at >= since)
    table = Order.metadata.tables["orders"]
    rows = (
        select(*(table.c[name] for name in columns))
        .where(*where)
        .order_by(Order.placed_at, Order.id)
    )
    return rows, select(func.count()).select_from(Order).where(*where)


def order_items_for_export(workspace_id: str, since: dt.datetime | None) -> tuple[Any, Any]:
    """The items of those orders, with their order's external id, currency and time; and the
    query that counts them."""
    where = [Order.workspace_id == workspace_id]
    if since is not None:
        where.append(Order.placed_at >= since)
    joined = OrderItem.__table__.join(Order.__table__, OrderItem.order_id == Order.id)
    rows = (
        select(
            OrderItem.id,
            OrderItem.order_id,
            Order.external_id.label("order_external_id"),
            OrderItem.product_id,
            OrderItem.sku,
            OrderItem.title,
            OrderItem.quantity,
            OrderItem.unit_price_cents,
            OrderItem.total_cents,
            Order.currency,
            Order.placed_at,
        )
        .select_from(joined)
        .where(*where)
        .order_by(Order.placed_at, Order.id, OrderItem.id)
    )
    return rows, select(func.count()).select_from(joined).where(*where)


# Facts for the analytics warehouse, as Arrow tables ---------------------------------------
#
# A sync asks for the rows added since the last one (``after_id``: ids only grow) and for the
# rows changed since a moment (``changed_since``): an order's ``updated_at`` moves with its
# status, cancellation and refunds. An order travels with all its items, so that a warehouse
# can replace an order's lines whole.


def _orders_changed(workspace_id: str, after_id: int, changed_since: dt.datetime | None) -> Any:
    fresh = Order.id > after_id
    changed = fresh if changed_since is None else or_(fresh, Order.updated_at >= changed_since)
    return and_(Order.workspace_id == workspace_id, changed)


def export_orders(
    session: Session, workspace_id: str, *, after_id: int = 0, changed_since: dt.datetime | None
) -> pa.Table:
    """Orders with an id above ``after_id`` or updated since ``changed_since``, as Arrow."""
    fields: list[Field] = [
        ("id", Order.id, pa.int64()),
        ("customer_id", Order.customer_id, pa.int64()),
        ("status", Order.status, pa.string()),
        ("currency", Order.currency, pa.string()),
        ("subtotal_cents", Order.subtotal_cents, pa.int64()),
        ("shipping_cents", Order.shipping_cents, pa.int64()),
        ("discount_cents", Order.discount_cents, pa.int64()),
        ("total_cents", Order.total_cents, pa.int64()),
        ("refunded_cents", Order.refunded_cents, pa.int64()),
        ("coupon_code", Order.coupon_code, pa.string()),
        ("source", Order.source, pa.string()),
        ("shipping_country", Order.shipping_country, pa.string()),
        ("placed_at", Order.placed_at, TIMESTAMP),
        ("cancelled_at", Order.cancelled_at, TIMESTAMP),
        ("updated_at", Order.updated_at, TIMESTAMP),
    ]
    query = select(Order.id).where(_orders_changed(workspace_id, after_id, changed_since))
    return arrow_table(session, query, fields)


def export_order_items(
    session: Session, workspace_id: str, *, after_id: int = 0, changed_since: dt.datetime | None
) -> pa.Table:
    """Every item of the orders ``export_orders`` serves for the same arguments, with its
    product's category ('' when the product is unknown), as Arrow."""
    fields: list[Field] = [
        ("id", OrderItem.id, pa.int64()),
        ("order_id", OrderItem.order_id, pa.int64()),
        ("product_id", OrderItem.product_id, pa.int64()),
        ("quantity", OrderItem.quantity, pa.int64()),
        ("total_cents", OrderItem.total_cents, pa.int64()),
        ("category", func.coalesce(Product.category, ""), pa.string()),
    ]
    query = (
        select(OrderItem.id)
        .join(Order, Order.id == OrderItem.order_id)
        .outerjoin(Product, Product.id == OrderItem.product_id)
        .where(_orders_changed(workspace_id, after_id, changed_since))
    )
    return arrow_table(session, query, fields)


def export_shipments(
    session: Session,
    workspace_id: str,
    *,
    after_id: int = 0,
    changed_since: dt.datetime | None,
    again: Sequence[int] = (),
) -> pa.Table:
    """Parcels with an id above ``after_id``, delivered since ``changed_since``, or among
    ``again`` (a parcel has no update time: the caller names those it saw on their way), as
    Arrow."""
    changed: Any = Shipment.id > after_id
    if changed_since is not None:
        changed = or_(changed, Shipment.delivered_at >= changed_since)
    if again:
        changed = or_(changed, Shipment.id.in_(list(again)))
    fields: list[Field] = [
        ("id", Shipment.id, pa.int64()),
        ("order_id", Shipment.order_id, pa.int64()),
        ("status", Shipment.status, pa.string()),
        ("shipped_at", Shipment.shipped_at, TIMESTAMP),
        ("promised_at", Shipment.promised_at, TIMESTAMP),
        ("delivered_at", Shipment.delivered_at, TIMESTAMP),
    ]
    query = select(Shipment.id).where(Shipment.workspace_id == workspace_id, changed)
    return arrow_table(session, query, fields)


def live_figures(
    session: Session, workspace_id: str, customer_ids: Sequence[int], as_of: dt.datetime
) -> dict[int, dict[str, Any]]:
    """The order and parcel facts of a few customers, from the operational store now (the
    warehouse's figures for a real-time trigger): orders not cancelled and placed by ``as_of``,
    their revenue less refunds, days since the last and the first, parcels, late ones
    (delivered after the promise, or undelivered past it), whether the last shipped was late.
    Customers with no order are absent, as in the warehouse's facts."""
    ids = list(customer_ids)
    if not ids:
        return {}
    live = (
        Order.workspace_id == workspace_id,
        Order.customer_id.in_(ids),
        Order.status != "cancelled",
        Order.placed_at <= as_of,
    )
    found: dict[int, dict[str, Any]] = {}
    for cid, count, cents, last_at, first_at in session.execute(
        select(
            Order.customer_id,
            func.count(),
            func.sum(case((NET_CENTS > 0, NET_CENTS), else_=0)),
            func.max(Order.placed_at),
            func.min(Order.placed_at),
        )
        .where(*live)
        .group_by(Order.customer_id)
    ):
        if cid is None:
            continue
        last = _as_utc(last_at)
        first = _as_utc(first_at)
        found[int(cid)] = {
            "orders.count": float(count),
            "orders.revenue": int(cents or 0) / 100.0,
            "orders.last_days": float((as_of - last).days) if last else None,
            "orders.first_days": float((as_of - first).days) if first else None,
            "shipments.count": 0.0,
            "shipments.late": 0.0,
            "shipments.last_late": None,
        }
    parcels = session.execute(
        select(Order.customer_id, Shipment.id, Shipment.promised_at, Shipment.delivered_at)
        .join(Order, Order.id == Shipment.order_id)
        .where(*live, Shipment.workspace_id == workspace_id)
        .order_by(Order.customer_id, Shipment.id)
    ).all()
    for cid, _sid, promised, delivered in parcels:
        facts = found.get(int(cid)) if cid is not None else None
        if facts is None:
            continue
        promised_at = _as_utc(promised)
        late = promised_at is not None and (_as_utc(delivered) or as_of) > promised_at
        facts["shipments.count"] += 1
        facts["shipments.late"] += 1 if late else 0
        facts["shipments.last_late"] = late
    return found


def _as_utc(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def moments_between(
    session: Session, workspace_id: str, start: dt.datetime, end: dt.datetime
) -> list[tuple[str, str, int, dt.datetime]]:
    """What happened to orders in [start, end), as the event names a store's webhooks give them:
    (event, order external id, customer id, time) for ``Order Completed`` (placed),
    ``Order Shipped`` and ``Order Delivered`` (a parcel), oldest first. A replay's input."""
    found: list[tuple[str, str, int, dt.datetime]] = []
    for external_id, customer_id, placed_at in session.execute(
        select(Order.external_id, Order.customer_id, Order.placed_at).where(
            Order.workspace_id == workspace_id,
            Order.customer_id.is_not(None),
            Order.placed_at >= start,
            Order.placed_at < end,
        )
    ):
        found.append(
            ("Order Completed", external_id, int(customer_id or 0), _as_utc(placed_at) or start)
        )
    parcels = session.execute(
        select(Order.external_id, Order.customer_id, Shipment.shipped_at, Shipment.delivered_at)
        .join(Order, Order.id == Shipment.order_id)
        .where(Shipment.workspace_id == workspace_id, Order.customer_id.is_not(None))
        .where(
            ((Shipment.shipped_at >= start) & (Shipment.shipped_at < end))
            | ((Shipment.delivered_at >= start) & (Shipment.delivered_at < end))
        )
    )
    for external_id, customer_id, shipped, delivered in parcels:
        for name, at in (
            ("Order Shipped", _as_utc(shipped)),
            ("Order Delivered", _as_utc(delivered)),
        ):
            if at is not None and start <= at < end:
                found.append((name, external_id, int(customer_id or 0), at))
    return sorted(found, key=lambda m: (m[3], m[0]))


def orders_in_windows(
    session: Session,
    workspace_id: str,
    customer_ids: Sequence[int],
    start: dt.datetime,
    end: dt.datetime,
) -> list[tuple[int, dt.datetime, int]]:
    """Orders not cancelled of these customers placed in [start, end): (customer id, placed
    at, revenue in cents less refunds), oldest first. A comparison's input."""
    found: list[tuple[int, dt.datetime, int]] = []
    ids = sorted({int(c) for c in customer_ids})
    for begin in range(0, len(ids), 5000):
        for cid, placed, cents in session.execute(
            select(Order.customer_id, Order.placed_at, NET_CENTS).where(
                Order.workspace_id == workspace_id,
                Order.customer_id.in_(ids[begin : begin + 5000]),
                Order.status != "cancelled",
                Order.placed_at >= start,
                Order.placed_at < end,
            )
        ):
            if cid is not None:
                found.append((int(cid), _as_utc(placed) or start, max(int(cents or 0), 0)))
    return sorted(found, key=lambda row: row[1])


@dataclass(frozen=True)
class ParcelStatus:
    """A parcel of an order, as a customer asking about it reads it."""

    carrier: str
    status: str
    tracking_number: str | None
    shipped_at: dt.datetime | None
    promised_at: dt.datetime | None
    delivered_at: dt.datetime | None


@dataclass(frozen=True)
class OrderStatus:
    """An order as a customer asking about it reads it: what, when, and where the parcels are."""

    external_id: str
    customer_id: int | None
    status: str
    placed_at: dt.datetime
    total_cents: int
    currency: str
    items: tuple[tuple[str, int], ...]  # (title, quantity)
    parcels: tuple[ParcelStatus, ...]


def order_status(
    session: Session,
    workspace_id: str,
    *,
    external_ids: Sequence[str] = (),
    customer_id: int | None = None,
) -> OrderStatus | None:
    """The order with one of these external ids (spellings of one number), else the customer's
    latest order; None when there is none."""
    query = select(Order).where(Order.workspace_id == workspace_id)
    if external_ids:
        query = query.where(Order.external_id.in_(list(external_ids)))
        if customer_id is not None:
            query = query.where(Order.customer_id == customer_id)
    elif customer_id is not None:
        query = query.where(Order.customer_id == customer_id)
    else:
        return None
    order = session.scalar(query.order_by(Order.placed_at.desc()).limit(1))
    if order is None:
        return None
    items = session.execute(
        select(OrderItem.title, OrderItem.quantity)
        .where(OrderItem.order_id == order.id)
        .order_by(OrderItem.id)
    ).all()
    parcels = session.scalars(
        select(Shipment).where(Shipment.order_id == order.id).order_by(Shipment.id)
    ).all()
    return OrderStatus(
        external_id=order.external_id,
        customer_id=order.customer_id,
        status=order.status,
        placed_at=order.placed_at,
        total_cents=order.total_cents,
        currency=order.currency,
        items=tuple((title, quantity) for title, quantity in items),
        parcels=tuple(
            ParcelStatus(
                p.carrier,
                p.status,
                p.tracking_number,
                p.shipped_at,
                p.promised_at,
                p.delivered_at,
            )
            for p in parcels
        ),
    )
