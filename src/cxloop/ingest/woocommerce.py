"""WooCommerce webhooks: the REST API v3 order and product documents and their mapping.

Choices where WooCommerce's data does not say it all:

- Customers: the WordPress user id (``customer_id``, 0 for guests) is the user id; the billing
  email and phone link it to customers known from other sources.
- Statuses: pending, on-hold, failed and checkout-draft are ``placed``; processing is ``paid``;
  completed is ``fulfilled``; cancelled and trash are ``cancelled``; refunded is ``refunded``.
- ``order.deleted`` (the order went to the bin, where it can be restored from) cancels the
  order in cxloop rather than deleting it; an ``order.updated`` after a restore revives it.
- Lines at their unit price before discounts (``subtotal / quantity``), the subtotal their sum,
  the discount ``discount_total``, delivery ``shipping_total``, the total ``total``.
- Refunds in the order document carry no date: the order's ``date_modified_gmt`` when cxloop
  first sees them.
- WooCommerce has no shipments of its own. The official Shipment Tracking extension's order
  meta (``_wc_shipment_tracking_items``) becomes parcels in transit, with their carrier,
  tracking number and shipping date; there is no promised or delivery date to read.
- Catalog: one product row per WooCommerce product, keyed by its SKU (``woo-<id>`` when it has
  none); the parent id of a variation is kept as ``item_group_id``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import Field
from sqlalchemy.orm import Session

from cxloop.commerce import (
    CustomerData,
    ItemData,
    OrderData,
    ProductData,
    RefundData,
    ShipmentData,
    cancel_order,
    to_cents,
    upsert_order,
    upsert_product,
)
from cxloop.ingest.adapters import (
    COLOR_NAMES,
    SIZE_NAMES,
    Amount,
    Applied,
    EpochSeconds,
    OptionalAmount,
    OptionalUtcDatetime,
    Payload,
    Platform,
    SignedAmount,
    StoreContext,
    Text,
    UtcDatetime,
    country_or_none,
    first_option,
    gtin_or_none,
    parse,
    plain_text,
    url_or_none,
)
from cxloop.ingest.service import record_event
from cxloop.store.base import utcnow

PLATFORM = "woocommerce"
TRACKING_META = "_wc_shipment_tracking_items"
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
_PING = re.compile(rb"^webhook_id=\d+$")
STATUSES = {
    "pending": "placed",
    "on-hold": "placed",
    "failed": "placed",
    "checkout-draft": "placed",
    "processing": "paid",
    "completed": "fulfilled",
    "cancelled": "cancelled",
    "trash": "cancelled",
    "refunded": "refunded",
}


class Billing(Payload):
    """The billing contact."""

    first_name: Text = None
    last_name: Text = None
    email: Text = None
    phone: Text = None
    city: Text = None
    country: Text = None


class Shipping(Payload):
    """The delivery address (only its country)."""

    country: Text = None


class LineItem(Payload):
    """An order line."""

    id: int
    product_id: int | None = None
    variation_id: int | None = None
    sku: Text = None
    name: str = ""
    quantity: int = Field(ge=0)
    price: OptionalAmount = None
    subtotal: OptionalAmount = None
    total: OptionalAmount = None


class CouponLine(Payload):
    """A coupon used on the order."""

    code: str = ""


class Refund(Payload):
    """A refund as listed in the order; ``total`` is negative."""

    id: int
    reason: Text = None
    total: SignedAmount


class ShippingLine(Payload):
    """A delivery method chosen at checkout."""

    method_title: str = ""


class Meta(Payload):
    """An order meta entry (extensions keep their data there)."""

    key: str = ""
    value: Any = None


class TrackingItem(Payload):
    """One parcel of the Shipment Tracking extension."""

    tracking_id: str
    tracking_provider: Text = None
    custom_tracking_provider: Text = None
    tracking_number: Text = None
    date_shipped: EpochSeconds | None = None


class Order(Payload):
    """An order (``order.created``, ``order.updated``)."""

    id: int
    number: Text = None
    status: str
    currency: Currency
    date_created_gmt: UtcDatetime
    date_modified_gmt: OptionalUtcDatetime = None
    total: Amount
    shipping_total: OptionalAmount = None
    discount_total: OptionalAmount = None
    customer_id: int = 0
    billing: Billing | None = None
    shipping: Shipping | None = None
    line_items: tuple[LineItem, ...] = ()
    coupon_lines: tuple[CouponLine, ...] = ()
    shipping_lines: tuple[ShippingLine, ...] = ()
    refunds: tuple[Refund, ...] = ()
    created_via: Text = None
    meta_data: tuple[Meta, ...] = ()


class Deleted(Payload):
    """What ``order.deleted`` sends: the id alone."""

    id: int


class Category(Payload):
    """A product category."""

    name: str = ""


class Image(Payload):
    """A product image."""

    src: str = ""


class Attribute(Payload):
    """A product attribute (Color, Size...) and its values."""

    name: str = ""
    option: Text = None
    options: tuple[str, ...] = ()


class Product(Payload):
    """A product (``product.created``, ``product.updated``)."""

    id: int
    parent_id: int = 0
    name: str
    status: Text = None
    permalink: Text = None
    description: Text = None
    short_description: Text = None
    sku: Text = None
    global_unique_id: Text = None
    price: OptionalAmount = None
    regular_price: OptionalAmount = None
    sale_price: OptionalAmount = None
    stock_status: Text = None
    categories: tuple[Category, ...] = ()
    brands: tuple[Category, ...] = ()
    images: tuple[Image, ...] = ()
    attributes: tuple[Attribute, ...] = ()
    date_modified_gmt: OptionalUtcDatetime = None


def _sku(sku: str | None, item_id: int | None) -> str:
    return sku.strip() if sku else f"woo-{item_id}"


def customer_data(order: Order) -> CustomerData | None:
    """The person behind an order: WordPress user id, billing email and phone, names."""
    billing = order.billing or Billing()
    data = CustomerData(
        user_id=str(order.customer_id) if order.customer_id > 0 else None,
        email=billing.email,
        phone=billing.phone,
        first_name=billing.first_name,
        last_name=billing.last_name,
        country=country_or_none(billing.country),
        city=billing.city,
    )
    if not (data.user_id or data.email or data.phone):
        return None
    return data


def _item(line: LineItem) -> ItemData:
    quantity = line.quantity
    if line.subtotal is not None:
        unit = round(to_cents(line.subtotal) / quantity) if quantity else to_cents(line.subtotal)
    else:
        unit = to_cents(line.price or 0)
    candidates = [f"woo-{i}" for i in (line.variation_id, line.product_id) if i]
    return ItemData(
        sku=_sku(line.sku, line.variation_id or line.product_id),
        title=line.name,
        quantity=quantity,
        unit_price_cents=unit,
        product_skus=tuple(candidates),
    )


def _shipments(order: Order, method: str | None) -> tuple[ShipmentData, ...]:
    parcels = []
    for meta in order.meta_data:
        if meta.key != TRACKING_META or not isinstance(meta.value, list):
            continue
        for raw in meta.value:
            item = parse(TrackingItem, raw)
            shipped = (
                dt.datetime.fromtimestamp(item.date_shipped, dt.UTC) if item.date_shipped else None
            )
            parcels.append(
                ShipmentData(
                    external_id=f"woo-{order.id}-{item.tracking_id}",
                    order_external_id=str(order.id),
                    status="in_transit" if shipped else "pending",
                    carrier=item.custom_tracking_provider or item.tracking_provider or "",
                    method=method,
                    tracking_number=item.tracking_number,
                    shipped_at=shipped,
                )
            )
    return tuple(parcels)


def order_data(order: Order) -> OrderData:
    """A WooCommerce order as cxloop's order, with its lines, refunds and parcels."""
    items = tuple(_item(line) for line in order.line_items)
    when = order.date_modified_gmt or order.date_created_gmt
    status = STATUSES.get(order.status, "placed")
    method = next((s.method_title for s in order.shipping_lines if s.method_title.strip()), None)
    country = order.shipping.country if order.shipping else None
    return OrderData(
        external_id=str(order.id),
        placed_at=order.date_created_gmt,
        currency=order.currency,
        items=items,
        subtotal_cents=sum(item.total_cents for item in items),
        shipping_cents=to_cents(order.shipping_total or 0),
        discount_cents=to_cents(order.discount_total or 0),
        total_cents=to_cents(order.total),
        status=status,
        customer=customer_data(order),
        coupon_code=next((c.code for c in order.coupon_lines if c.code.strip()), None),
        shipping_country=country_or_none(country)
        or country_or_none(order.billing.country if order.billing else None),
        channel="web"
        if order.created_via in (None, "checkout", "store-api")
        else order.created_via,
        cancelled_at=when if status == "cancelled" else None,
        updated_at=when,
        refunds=tuple(
            RefundData(
                external_id=str(r.id),
                amount_cents=abs(to_cents(r.total)),
                refunded_at=when,
                reason=r.reason or "",
            )
            for r in order.refunds
        ),
        shipments=_shipments(order, method),
    )


def product_data(product: Product, store: StoreContext) -> ProductData:
    """A WooCommerce product as a catalog row."""
    regular = product.regular_price if product.regular_price is not None else product.price
    price = to_cents(regular or 0)
    sale = to_cents(product.sale_price) if product.sale_price is not None else None
    if sale is not None and sale >= price:
        sale = None
    options: dict[str, str | None] = {}
    sizes: tuple[str, ...] = ()
    for attribute in product.attributes:
        values = [attribute.option] if attribute.option else attribute.options
        options[attribute.name] = values[0] if values else None
        if attribute.name.strip().lower() in SIZE_NAMES:
            sizes = tuple(v for v in values if v)
    availability = {
        "instock": "in_stock",
        "outofstock": "out_of_stock",
        "onbackorder": "backorder",
    }.get(product.stock_status or "instock", "in_stock")
    if product.status not in (None, "publish"):
        availability = "out_of_stock"
    return ProductData(
        sku=_sku(product.sku, product.id),
        title=product.name,
        price_cents=price,
        sale_price_cents=sale,
        currency=store.currency,
        description=plain_text(product.short_description or product.description),
        category=next((c.name for c in product.categories if c.name.strip()), ""),
        brand=next((b.name for b in product.brands if b.name.strip()), ""),
        color=first_option(options, *COLOR_NAMES),
        sizes=sizes,
        availability=availability,
        url=url_or_none(product.permalink),
        image_url=url_or_none(next((i.src for i in product.images if i.src), None)),
        gtin=gtin_or_none(product.global_unique_id),
        attributes={
            "item_group_id": str(product.parent_id or product.id),
            "woocommerce_product_id": product.id,
        },
    )


def is_ping(headers: Mapping[str, str], body: bytes) -> bool:
    """WooCommerce's check of a new webhook: ``webhook_id=N``, unsigned, without a topic."""
    return "x-wc-webhook-topic" not in headers and bool(_PING.match(body.strip()))


def _on_order(session: Session, store: StoreContext, payload: dict[str, Any]) -> Applied:
    order = parse(Order, payload)
    upsert_order(
        session, store.workspace_id, order_data(order), platform=PLATFORM, track=record_event
    )
    return Applied(f"order {order.id}")


def _on_deleted(session: Session, store: StoreContext, payload: dict[str, Any]) -> Applied:
    deleted = parse(Deleted, payload)
    done = cancel_order(
        session,
        store.workspace_id,
        str(deleted.id),
        at=utcnow(),
        platform=PLATFORM,
        track=record_event,
    )
    return Applied(f"order {deleted.id}", None if done else "order not known")


def _on_product(session: Session, store: StoreContext, payload: dict[str, Any]) -> Applied:
    product = parse(Product, payload)
    upsert_product(
        session, store.workspace_id, product_data(product, store), at=product.date_modified_gmt
    )
    return Applied(f"product {product.id}")


WOOCOMMERCE = Platform(
    name=PLATFORM,
    label="WooCommerce",
    signature_header="X-WC-Webhook-Signature",
    topic_header="X-WC-Webhook-Topic",
    delivery_header="X-WC-Webhook-Delivery-ID",
    topics={
        "order.created": _on_order,
        "order.updated": _on_order,
        "order.restored": _on_order,
        "order.deleted": _on_deleted,
        "product.created": _on_product,
        "product.updated": _on_product,
        "product.restored": _on_product,
    },
    is_ping=is_ping,
)
