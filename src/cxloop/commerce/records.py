"""Writing what a store sells and sold: products, orders with their lines, refunds, shipments.

Every function takes the caller's session (the caller owns the transaction) and finds rows by
the store's own ids within the workspace (product SKU, order id, refund id, shipment id), so
that applying the same data again updates instead of duplicating. Customers are found or made
only through identity resolution (``profiles.service.resolve``).

Orders and shipments also land in the event log as Segment e-commerce ``track`` events:

- ``Order Completed``: once per order, at the time it was placed;
- ``Order Updated``: when a later version changes its status, money, lines or customer, at the
  store's update time (for a file, which has none, the latest date it gives for the order);
- ``Order Cancelled``: once, at the cancellation time;
- ``Order Refunded``: once per refund, at its date;
- ``Order Shipped`` and ``Order Delivered``: once per shipment each, when it leaves and when it
  arrives. Segment's spec stops at the order; these two are named in its style.

Message ids are UUIDv5 digests of what the event is about (the order's, refund's or shipment's
store id and the fact), not of the route the data came by: replaying a webhook, re-importing a
file, or learning of one order through a webhook and an import stores each event once.

Stores deliver webhooks out of order: a version of an order older than the stored one is not
applied, and a parcel never goes back a stage.

Money is in integer minor units (cents); amounts in event properties follow Segment's spec
(decimal numbers in the currency), like the demo store's events.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from cxloop import __version__, inputs, profiles
from cxloop.commerce import coupons
from cxloop.commerce.models import (
    ORDER_STATUSES,
    SHIPMENT_STATUSES,
    Order,
    OrderItem,
    OrderRefund,
    Product,
    Shipment,
)
from cxloop.errors import InvalidInput
from cxloop.profiles import Customer, Keys, resolve
from cxloop.store.base import utcnow

# What records an event in the event log (``cxloop.ingest``'s ``record_event``), handed in by
# the caller so that commerce does not depend on ingest: (session, workspace_id, *,
# message_id, event_type, event, timestamp, properties, context, customer_id, user_id) -> new?
Track = Callable[..., bool]

Outcome = Literal["created", "updated", "unchanged"]

# How far a parcel got; "lost" and "delivered" are both ends of the road, "returned" after.
_PARCEL_STAGE = {"pending": 0, "in_transit": 1, "delivered": 2, "lost": 2, "returned": 3}

# Fixed for ever: changing it would give every past event a new message id.
_EVENT_NAMESPACE = uuid.UUID("5b0f8c1e-6a55-4f51-9d0a-3c1f2a7e9b40")


def to_cents(amount: object) -> int:
    """Minor units of a decimal amount (``"12.90"``, ``12.9``, ``Decimal``), half away from 0.

    Raises ValueError for anything but a finite amount within ``inputs.MAX_AMOUNT``.
    """
    try:
        value = inputs.amount(amount)
    except InvalidInput as exc:
        raise ValueError(f"{exc.message}: {str(amount)[:40]!r}") from None
    return int((value * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _units(cents: int) -> float:
    return round(cents / 100, 2)


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.astimezone(dt.UTC).isoformat() if moment is not None else None


def _clip(text: str | None, size: int) -> str | None:
    if text is None:
        return None
    return text.strip()[:size]


def message_id(*parts: str) -> str:
    """The deterministic event message id of a fact, from its parts (kind, store ids, ...)."""
    return str(uuid.uuid5(_EVENT_NAMESPACE, "\x1f".join(parts)))


@dataclass(frozen=True)
class CustomerData:
    """A store's view of a customer: its identifiers and reserved traits."""

    user_id: str | None = None
    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    country: str | None = None
    city: str | None = None
    locale: str | None = None
    traits: Mapping[str, Any] = field(default_factory=dict)

    def keys(self) -> Keys:
        """The identifiers, for identity resolution."""
        return Keys(user_id=self.user_id, email=self.email, phone=self.phone)

    def segment_traits(self) -> dict[str, Any]:
        """The traits under Segment's reserved names, custom traits kept."""
        traits: dict[str, Any] = dict(self.traits)
        for name, value in (
            ("email", self.email),
            ("phone", self.phone),
            ("firstName", self.first_name),
            ("lastName", self.last_name),
            ("locale", self.locale),
        ):
            if value:
                traits[name] = value
        address = {k: v for k, v in (("city", self.city), ("country", self.country)) if v}
        if address:
            traits["address"] = address
        return traits


@dataclass(frozen=True)
class ProductData:
    """A catalog entry as a store or a feed describes it, keyed by SKU."""

    sku: str
    title: str
    price_cents: int
    currency: str
    description: str = ""
    category: str = ""
    brand: str = ""
    color: str | None = None
    sizes: tuple[str, ...] = ()
    gender: str | None = None
    age_group: str | None = None
    sale_price_cents: int | None = None
    availability: str = "in_stock"
    url: str | None = None
    image_url: str | None = None
    gtin: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ItemData:
    """One order line; ``product_skus`` are other SKUs the catalog may know the product by."""

    sku: str
    title: str
    quantity: int
    unit_price_cents: int
    product_skus: tuple[str, ...] = ()

    @property
    def total_cents(self) -> int:
        """The line's amount before order-level discounts."""
        return self.quantity * self.unit_price_cents


@dataclass(frozen=True)
class RefundData:
    """Money given back on an order; ``amount_cents`` is positive."""

    external_id: str
    amount_cents: int
    refunded_at: dt.datetime
    reason: str = ""


@dataclass(frozen=True)
class ShipmentData:
    """A parcel of an order. ``method`` None keeps what is known (``standard`` for a new one)."""

    external_id: str
    order_external_id: str
    status: str = "pending"
    carrier: str = ""
    method: str | None = None
    tracking_number: str | None = None
    shipped_at: dt.datetime | None = None
    promised_at: dt.datetime | None = None
    delivered_at: dt.datetime | None = None


@dataclass(frozen=True)
class OrderData:
    """An order as the store knows it now: the whole picture, not a change.

    ``status`` is the store's status before cxloop's rules: a cancellation time makes it
    ``cancelled``, refunds covering the total make it ``refunded``. ``total_cents`` is what the
    customer paid (lines less discount plus delivery, plus taxes when the store adds them).
    ``refunds`` and ``shipments`` are added to or updated, never removed.
    """

    external_id: str
    placed_at: dt.datetime
    currency: str
    items: tuple[ItemData, ...]
    subtotal_cents: int
    shipping_cents: int
    discount_cents: int
    total_cents: int
    status: str = "placed"
    customer: CustomerData | None = None
    coupon_code: str | None = None
    shipping_country: str | None = None
    channel: str = "web"
    cancelled_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    refunds: tuple[RefundData, ...] = ()
    shipments: tuple[ShipmentData, ...] = ()


@dataclass(frozen=True)
class OrderResult:
    """The order row after an upsert, and whether it was created, changed or left as it was."""

    order: Order
    outcome: Outcome


def upsert_customer(
    session: Session,
    workspace_id: str,
    data: CustomerData,
    *,
    source: str,
    at: dt.datetime | None = None,
) -> Customer | None:
    """The customer a store names, found, linked or merged by identity resolution."""
    return resolve(
        session, workspace_id, data.keys(), source=source, at=at, traits=data.segment_traits()
    )


def _assign(row: object, values: Mapping[str, Any]) -> bool:
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


def upsert_product(
    session: Session, workspace_id: str, data: ProductData, *, at: dt.datetime | None = None
) -> Outcome:
    """Create or update the product with this SKU; attributes from other sources are kept."""
    at = at or utcnow()
    sku = _clip(data.sku, 100) or ""
    product = session.scalar(
        select(Product).where(Product.workspace_id == workspace_id, Product.sku == sku)
    )
    values: dict[str, Any] = {
        "title": _clip(data.title, 300),
        "description": data.description.strip()[:20_000],
        "category": _clip(data.category, 100),
        "brand": _clip(data.brand, 100),
        "color": _clip(data.color, 50),
        "sizes": [s.strip()[:20] for s in data.sizes if s.strip()],
        "gender": _clip(data.gender, 20),
        "age_group": _clip(data.age_group, 20),
        "price_cents": data.price_cents,
        "sale_price_cents": data.sale_price_cents,
        "currency": data.currency,
        "availability": _clip(data.availability, 20),
        "url": _clip(data.url, 500),
        "image_url": _clip(data.image_url, 2000),
        "gtin": _clip(data.gtin, 20),
    }
    if product is None:
        session.add(
            Product(
                workspace_id=workspace_id,
                sku=sku,
                attributes=dict(data.attributes),
                created_at=at,
                updated_at=at,
                **values,
            )
        )
        session.flush()
        return "created"
    values["attributes"] = {**(product.attributes or {}), **data.attributes}
    if _assign(product, values):
        product.updated_at = at
        return "updated"
    return "unchanged"


def _find_order(session: Session, workspace_id: str, external_id: str) -> Order | None:
    return session.scalar(
        select(Order).where(Order.workspace_id == workspace_id, Order.external_id == external_id)
    )


def _product_ids(session: Session, workspace_id: str, items: Sequence[ItemData]) -> dict[str, int]:
    skus = {s for item in items for s in (item.sku, *item.product_skus) if s}
    if not skus:
        return {}
    rows = session.execute(
        select(Product.sku, Product.id).where(
            Product.workspace_id == workspace_id, Product.sku.in_(skus)
        )
    ).all()
    return {str(sku): int(pid) for sku, pid in rows}


def _sync_items(
    session: Session, workspace_id: str, order: Order, items: Sequence[ItemData]
) -> bool:
    """Make the order's lines equal to ``items``; True if they changed."""
    known = _product_ids(session, workspace_id, items)
    wanted = []
    for item in items:
        product_id = next((known[s] for s in (item.sku, *item.product_skus) if s in known), None)
        wanted.append(
            (
                product_id,
                _clip(item.sku, 100) or "",
                _clip(item.title, 300) or "",
                item.quantity,
                item.unit_price_cents,
                item.total_cents,
            )
        )
    lines = list(
        session.scalars(
            select(OrderItem).where(OrderItem.order_id == order.id).order_by(OrderItem.id)
        )
    )
    current = [(i.sku, i.title, i.quantity, i.unit_price_cents, i.total_cents) for i in lines]
    if current == [line[1:] for line in wanted]:
        # The same lines: only a product that joined the catalog since gets linked.
        for line, (product_id, *_rest) in zip(lines, wanted, strict=True):
            if product_id is not None and line.product_id != product_id:
                line.product_id = product_id
        return False
    # Lines carry no id of their own in every source: a changed order gets its lines anew.
    session.execute(delete(OrderItem).where(OrderItem.order_id == order.id))
    session.add_all(
        OrderItem(
            workspace_id=workspace_id,
            order_id=order.id,
            product_id=pid,
            sku=sku,
            title=title,
            quantity=quantity,
            unit_price_cents=unit,
            total_cents=total,
        )
        for pid, sku, title, quantity, unit, total in wanted
    )
    session.flush()
    return True


def _track(
    session: Session,
    order: Order,
    *,
    event: str,
    key: Sequence[str],
    at: dt.datetime,
    properties: dict[str, Any],
    platform: str,
    track: Track,
) -> bool:
    user_id = None
    if order.customer_id is not None:
        user_id = profiles.user_id_of(session, order.customer_id)
    return track(
        session,
        order.workspace_id,
        message_id=message_id(*key),
        event_type="track",
        event=event,
        timestamp=at,
        properties=properties,
        context={"library": {"name": f"cxloop-{platform}", "version": __version__}},
        customer_id=order.customer_id,
        user_id=user_id,
    )


def _order_properties(session: Session, order: Order) -> dict[str, Any]:
    lines = session.scalars(
        select(OrderItem).where(OrderItem.order_id == order.id).order_by(OrderItem.id)
    ).all()
    properties: dict[str, Any] = {
        "order_id": order.external_id,
        "total": _units(order.total_cents),
        "subtotal": _units(order.subtotal_cents),
        "revenue": _units(order.subtotal_cents - order.discount_cents),
        "shipping": _units(order.shipping_cents),
        "discount": _units(order.discount_cents),
        "currency": order.currency,
        "status": order.status,
        "products": [
            {
                "product_id": line.sku,
                "sku": line.sku,
                "name": line.title,
                "price": _units(line.unit_price_cents),
                "quantity": line.quantity,
            }
            for line in lines
        ],
    }
    if order.coupon_code:
        properties["coupon"] = order.coupon_code
    return properties


def _refunded_cents(session: Session, order: Order) -> int:
    total = session.scalar(
        select(func.coalesce(func.sum(OrderRefund.amount_cents), 0)).where(
            OrderRefund.order_id == order.id
        )
    )
    return int(total or 0)


def _settle(session: Session, order: Order, status: str) -> None:
    """Apply cxloop's status rules and the refunds' sum to ``order``."""
    order.refunded_cents = _refunded_cents(session, order)
    if order.cancelled_at is not None:
        status = "cancelled"
    elif 0 < order.total_cents <= order.refunded_cents:
        status = "refunded"
    if status not in ORDER_STATUSES:
        raise ValueError(f"unknown order status {status!r}")
    order.status = status


def _upsert_refund(
    session: Session, order: Order, refund: RefundData
) -> tuple[OrderRefund, Outcome]:
    external_id = _clip(refund.external_id, 100) or ""
    row = session.scalar(
        select(OrderRefund).where(
            OrderRefund.order_id == order.id, OrderRefund.external_id == external_id
        )
    )
    reason = _clip(refund.reason, 500) or ""
    if row is not None:
        # The first date known is kept: some stores give none and cxloop falls back to another.
        changed = _assign(row, {"amount_cents": refund.amount_cents, "reason": reason})
        return row, "updated" if changed else "unchanged"
    row = OrderRefund(
        workspace_id=order.workspace_id,
        order_id=order.id,
        external_id=external_id,
        amount_cents=refund.amount_cents,
        reason=reason,
        refunded_at=refund.refunded_at,
    )
    session.add(row)
    session.flush()
    return row, "created"


def _refund_event(
    session: Session, order: Order, row: OrderRefund, *, platform: str, track: Track
) -> None:
    properties: dict[str, Any] = {
        "order_id": order.external_id,
        "refund_id": row.external_id,
        "total": _units(row.amount_cents),
        "currency": order.currency,
    }
    if row.reason:
        properties["reason"] = row.reason
    _track(
        session,
        order,
        event="Order Refunded",
        key=("refund", order.external_id, row.external_id),
        at=row.refunded_at,
        properties=properties,
        platform=platform,
        track=track,
    )


def _state(order: Order) -> tuple[Any, ...]:
    return (
        order.status,
        order.customer_id,
        order.currency,
        order.subtotal_cents,
        order.shipping_cents,
        order.discount_cents,
        order.total_cents,
        order.refunded_cents,
        order.coupon_code,
        order.shipping_country,
        order.placed_at,
        order.cancelled_at,
    )


def _digest(state: tuple[Any, ...], items: Sequence[ItemData]) -> str:
    document = [repr(part) for part in state] + [repr(item) for item in items]
    return hashlib.sha256(json.dumps(document).encode()).hexdigest()[:16]


def _latest_date(data: OrderData) -> dt.datetime:
    dates = [data.placed_at, data.cancelled_at]
    dates += [r.refunded_at for r in data.refunds]
    dates += [d for s in data.shipments for d in (s.shipped_at, s.delivered_at)]
    return max(d for d in dates if d is not None)


def upsert_order(
    session: Session, workspace_id: str, data: OrderData, *, platform: str, track: Track
) -> OrderResult:
    """Create or update an order with its lines, refunds and shipments, and record its events.

    ``platform`` (shopify, woocommerce, import) names where the data came from, for identity
    sources and event context.
    """
    order = _find_order(session, workspace_id, data.external_id)
    if (
        order is not None
        and data.updated_at is not None
        and order.updated_at is not None
        and data.updated_at < order.updated_at
    ):
        # Stores do not deliver webhooks in order: an older version of the order changes nothing.
        return OrderResult(order=order, outcome="unchanged")
    created = order is None
    customer = None
    if data.customer is not None:
        customer = upsert_customer(
            session, workspace_id, data.customer, source=platform, at=data.placed_at
        )
    values: dict[str, Any] = {
        "currency": data.currency,
        "subtotal_cents": data.subtotal_cents,
        "shipping_cents": data.shipping_cents,
        "discount_cents": data.discount_cents,
        "total_cents": data.total_cents,
        "coupon_code": _clip(data.coupon_code, 64) or None,
        "source": _clip(data.channel, 32) or "web",
        "shipping_country": data.shipping_country,
        "placed_at": data.placed_at,
    }
    if customer is not None:
        values["customer_id"] = customer.id
    if order is None:
        order = Order(workspace_id=workspace_id, external_id=_clip(data.external_id, 100))
        session.add(order)
        before: tuple[Any, ...] = ()
    else:
        before = _state(order)
    _assign(order, values)
    cancelled = data.cancelled_at is not None or data.status == "cancelled"
    if cancelled:
        # The first cancellation time known is kept: some stores only say "cancelled".
        order.cancelled_at = order.cancelled_at or data.cancelled_at or data.updated_at or utcnow()
    else:
        order.cancelled_at = None  # restored (a WooCommerce order back from the bin)
    session.flush()
    items_changed = _sync_items(session, workspace_id, order, data.items)
    refunds = [_upsert_refund(session, order, refund)[0] for refund in data.refunds]
    _settle(session, order, data.status)
    changed = created or items_changed or _state(order) != before
    # Files give no update time: the latest date they do give stands for it.
    updated_at = data.updated_at or _latest_date(data)
    if changed:
        keep = not created and order.updated_at is not None and order.updated_at > updated_at
        order.updated_at = order.updated_at if keep else updated_at
    session.flush()
    coupons.redeem(session, order)
    properties = _order_properties(session, order)
    _track(
        session,
        order,
        event="Order Completed",
        key=("order", order.external_id, "completed"),
        at=order.placed_at,
        properties=properties,
        platform=platform,
        track=track,
    )
    if changed and not created:
        stamp = data.updated_at.isoformat() if data.updated_at else ""
        _track(
            session,
            order,
            event="Order Updated",
            key=("order", order.external_id, "updated", stamp, _digest(_state(order), data.items)),
            at=updated_at,
            properties=properties,
            platform=platform,
            track=track,
        )
    if order.status == "cancelled" and order.cancelled_at is not None:
        _cancelled_event(session, order, platform=platform, track=track)
    for row in refunds:
        _refund_event(session, order, row, platform=platform, track=track)
    for shipment in data.shipments:
        _upsert_shipment(session, order, shipment, platform=platform, track=track)
    outcome: Outcome = "created" if created else ("updated" if changed else "unchanged")
    return OrderResult(order=order, outcome=outcome)


def _cancelled_event(session: Session, order: Order, *, platform: str, track: Track) -> None:
    assert order.cancelled_at is not None
    _track(
        session,
        order,
        event="Order Cancelled",
        key=("order", order.external_id, "cancelled"),
        at=order.cancelled_at,
        properties={
            "order_id": order.external_id,
            "total": _units(order.total_cents),
            "currency": order.currency,
        },
        platform=platform,
        track=track,
    )


def cancel_order(
    session: Session,
    workspace_id: str,
    external_id: str,
    *,
    at: dt.datetime,
    platform: str,
    track: Track,
) -> Outcome | None:
    """Mark the order cancelled (kept, not deleted); None if cxloop does not know it."""
    order = _find_order(session, workspace_id, external_id)
    if order is None:
        return None
    if order.status == "cancelled":
        return "unchanged"
    order.cancelled_at = order.cancelled_at or at
    _settle(session, order, "cancelled")
    order.updated_at = max(at, order.updated_at) if order.updated_at else at
    session.flush()
    _cancelled_event(session, order, platform=platform, track=track)
    return "updated"


def record_refund(
    session: Session,
    workspace_id: str,
    order_external_id: str,
    refund: RefundData,
    *,
    platform: str,
    track: Track,
) -> Outcome | None:
    """Add or update one refund of an order; None if cxloop does not know the order."""
    order = _find_order(session, workspace_id, order_external_id)
    if order is None:
        return None
    row, outcome = _upsert_refund(session, order, refund)
    _settle(session, order, order.status)
    if outcome != "unchanged" and (order.updated_at is None or row.refunded_at > order.updated_at):
        order.updated_at = row.refunded_at
    session.flush()
    _refund_event(session, order, row, platform=platform, track=track)
    return outcome


def upsert_shipment(
    session: Session, workspace_id: str, data: ShipmentData, *, platform: str, track: Track
) -> Outcome | None:
    """Create or update a parcel of a known order; None if cxloop does not know the order."""
    order = _find_order(session, workspace_id, data.order_external_id)
    if order is None:
        return None
    return _upsert_shipment(session, order, data, platform=platform, track=track)


def _upsert_shipment(
    session: Session, order: Order, data: ShipmentData, *, platform: str, track: Track
) -> Outcome:
    if data.status not in SHIPMENT_STATUSES:
        raise ValueError(f"unknown shipment status {data.status!r}")
    external_id = _clip(data.external_id, 100) or ""
    shipment = session.scalar(
        select(Shipment).where(
            Shipment.workspace_id == order.workspace_id, Shipment.external_id == external_id
        )
    )
    status, delivered_at = data.status, data.delivered_at
    if shipment is not None:
        if _PARCEL_STAGE[status] < _PARCEL_STAGE[shipment.status]:
            # Stores do not deliver webhooks in order: a parcel never goes back a stage.
            status, delivered_at = shipment.status, shipment.delivered_at
        elif status == "delivered" and shipment.delivered_at is not None:
            # It arrives once: later updates of the same parcel (which some stores stamp
            # with their own update time) do not move the delivery.
            delivered_at = shipment.delivered_at
    values: dict[str, Any] = {
        "order_id": order.id,
        "carrier": _clip(data.carrier, 50) or "",
        "tracking_number": _clip(data.tracking_number, 100) or None,
        "status": status,
        "shipped_at": (shipment.shipped_at if shipment else None) or data.shipped_at,
        "promised_at": data.promised_at or (shipment.promised_at if shipment else None),
        "delivered_at": delivered_at if status == "delivered" else None,
    }
    if data.method is not None:
        values["method"] = _clip(data.method, 50) or "standard"
    outcome: Outcome
    if shipment is None:
        shipment = Shipment(workspace_id=order.workspace_id, external_id=external_id, **values)
        session.add(shipment)
        outcome = "created"
    else:
        outcome = "updated" if _assign(shipment, values) else "unchanged"
    session.flush()
    properties: dict[str, Any] = {
        "order_id": order.external_id,
        "shipment_id": external_id,
        "carrier": shipment.carrier,
        "tracking_number": shipment.tracking_number,
        "status": shipment.status,
        "promised_at": _iso(shipment.promised_at),
    }
    if shipment.shipped_at is not None:
        _track(
            session,
            order,
            event="Order Shipped",
            key=("shipment", external_id, "shipped"),
            at=shipment.shipped_at,
            properties=properties,
            platform=platform,
            track=track,
        )
    if shipment.delivered_at is not None:
        late = shipment.promised_at is not None and shipment.delivered_at > shipment.promised_at
        _track(
            session,
            order,
            event="Order Delivered",
            key=("shipment", external_id, "delivered"),
            at=shipment.delivered_at,
            properties={
                **properties,
                "delivered_at": _iso(shipment.delivered_at),
                "late": late,
            },
            platform=platform,
            track=track,
        )
    return outcome
