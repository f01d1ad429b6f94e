"""Shopify webhooks: the documented payloads (REST Admin API shapes) and their mapping.

Choices where Shopify's data does not say it all:

- Customers: the Shopify customer id is the user id (what Segment's Shopify integrations send
  as ``userId``); email and phone link it to customers known from other sources.
- Catalog: one product row per variant, keyed by the variant's SKU (``shopify-<variant id>``
  when it has none), the Shopify product id kept as ``item_group_id`` — the shape of the
  store's Google Merchant feed. ``compare_at_price`` above ``price`` makes ``price`` a sale.
- Orders: lines at their unit price before discounts; the subtotal is their sum, the discount
  ``total_discounts``, delivery ``total_shipping_price_set.shop_money.amount``, the total
  ``total_price`` (what the customer paid). Amounts are in the shop's currency.
- Shipments are fulfillments. Shopify has no standard promised date: ``estimated_delivery_at``
  is used when present. It has no delivery date either: the first update that reports
  ``shipment_status: delivered`` dates the delivery (its ``updated_at``).
- A refund or fulfillment for an order cxloop has not seen (placed before the webhooks were
  set up) is recorded as skipped: the next ``orders/updated`` carries it within the order.
"""

from __future__ import annotations

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
    record_refund,
    to_cents,
    upsert_customer,
    upsert_order,
    upsert_product,
    upsert_shipment,
)
from cxloop.ingest.adapters import (
    COLOR_NAMES,
    SIZE_NAMES,
    Amount,
    Applied,
    AwareUtc,
    OptionalAmount,
    OptionalAwareUtc,
    Payload,
    Platform,
    SignedAmount,
    StoreContext,
    Text,
    country_or_none,
    first_option,
    gtin_or_none,
    parse,
    plain_text,
    url_or_none,
)
from cxloop.ingest.service import record_event

PLATFORM = "shopify"
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]


class Address(Payload):
    """A postal address (only what cxloop keeps)."""

    first_name: Text = None
    last_name: Text = None
    city: Text = None
    country_code: Text = None
    phone: Text = None


class Customer(Payload):
    """A Shopify customer."""

    id: int
    email: Text = None
    phone: Text = None
    first_name: Text = None
    last_name: Text = None
    default_address: Address | None = None
    created_at: OptionalAwareUtc = None
    updated_at: OptionalAwareUtc = None


class LineItem(Payload):
    """An order line."""

    id: int
    product_id: int | None = None
    variant_id: int | None = None
    sku: Text = None
    title: str = ""
    variant_title: Text = None
    quantity: int = Field(ge=0)
    price: Amount


class ShopMoney(Payload):
    """An amount in the shop's currency."""

    amount: Amount


class MoneySet(Payload):
    """An amount in shop and presentment currencies."""

    shop_money: ShopMoney


class ShippingLine(Payload):
    """A delivery method chosen at checkout."""

    title: str = ""
    price: OptionalAmount = None


class DiscountCode(Payload):
    """A discount code used on the order."""

    code: str = ""


class Transaction(Payload):
    """A money movement; refunds are ``kind: refund``."""

    kind: Text = None
    status: Text = None
    amount: Amount


class RefundLine(Payload):
    """A refunded order line."""

    subtotal: OptionalAmount = None
    total_tax: OptionalAmount = None


class OrderAdjustment(Payload):
    """A refund of something other than lines (delivery, mostly); negative amounts."""

    amount: SignedAmount
    tax_amount: SignedAmount | None = None


class Refund(Payload):
    """A refund (``refunds/create``, or inside an order)."""

    id: int
    order_id: int
    created_at: AwareUtc
    processed_at: OptionalAwareUtc = None
    note: Text = None
    transactions: tuple[Transaction, ...] = ()
    refund_line_items: tuple[RefundLine, ...] = ()
    order_adjustments: tuple[OrderAdjustment, ...] = ()


class Fulfillment(Payload):
    """A fulfillment: a parcel on its way."""

    id: int
    order_id: int
    status: Text = None
    shipment_status: Text = None
    tracking_company: Text = None
    tracking_number: Text = None
    tracking_numbers: tuple[str, ...] = ()
    created_at: AwareUtc
    updated_at: OptionalAwareUtc = None
    estimated_delivery_at: OptionalAwareUtc = None


class Order(Payload):
    """An order (``orders/create``, ``orders/updated``, ``orders/cancelled``)."""

    id: int
    name: Text = None
    email: Text = None
    contact_email: Text = None
    phone: Text = None
    customer: Customer | None = None
    line_items: tuple[LineItem, ...] = ()
    total_price: Amount
    total_discounts: OptionalAmount = None
    total_shipping_price_set: MoneySet | None = None
    shipping_lines: tuple[ShippingLine, ...] = ()
    currency: Currency
    created_at: AwareUtc
    updated_at: OptionalAwareUtc = None
    cancelled_at: OptionalAwareUtc = None
    financial_status: Text = None
    fulfillment_status: Text = None
    source_name: Text = None
    shipping_address: Address | None = None
    billing_address: Address | None = None
    discount_codes: tuple[DiscountCode, ...] = ()
    refunds: tuple[Refund, ...] = ()
    fulfillments: tuple[Fulfillment, ...] = ()


class Variant(Payload):
    """A product variant: the sellable unit."""

    id: int
    title: str = ""
    price: Amount
    compare_at_price: OptionalAmount = None
    sku: Text = None
    barcode: Text = None
    option1: Text = None
    option2: Text = None
    option3: Text = None
    inventory_quantity: int | None = None
    inventory_policy: Text = None
    inventory_management: Text = None
    image_id: int | None = None


class Option(Payload):
    """A product option (Size, Color...), in position order."""

    name: str
    position: int | None = None


class Image(Payload):
    """A product image."""

    id: int | None = None
    src: str


class Product(Payload):
    """A product with its variants (``products/create``, ``products/update``)."""

    id: int
    title: str
    body_html: Text = None
    vendor: Text = None
    product_type: Text = None
    handle: Text = None
    status: Text = None
    variants: tuple[Variant, ...] = ()
    options: tuple[Option, ...] = ()
    images: tuple[Image, ...] = ()
    image: Image | None = None
    updated_at: OptionalAwareUtc = None


def customer_data(customer: Customer | None, order: Order | None = None) -> CustomerData | None:
    """The identifiers and traits of the person behind a customer record or an order."""
    person = customer or Customer(id=0)
    address = person.default_address
    if order is not None:
        address = address or order.billing_address or order.shipping_address
    names = address or Address()
    data = CustomerData(
        user_id=str(customer.id) if customer else None,
        email=(order.email or order.contact_email if order else None) or person.email,
        phone=person.phone or (order.phone if order else None),
        first_name=person.first_name or names.first_name,
        last_name=person.last_name or names.last_name,
        country=country_or_none(address.country_code if address else None),
        city=address.city if address else None,
    )
    if not (data.user_id or data.email or data.phone):
        return None
    return data


def _sku(sku: str | None, variant_id: int | None, product_id: int | None) -> str:
    if sku:
        return sku.strip()
    if variant_id is not None:
        return f"shopify-{variant_id}"
    return f"shopify-p{product_id}" if product_id is not None else "shopify-unknown"


def refund_data(refund: Refund) -> RefundData:
    """A refund's amount: its successful refund transactions, else its lines and adjustments."""
    moved = [
        t.amount
        for t in refund.transactions
        if (t.kind or "refund") == "refund" and (t.status or "success") == "success"
    ]
    if moved:
        cents = sum(to_cents(a) for a in moved)
    else:
        cents = sum(
            to_cents(line.subtotal or 0) + to_cents(line.total_tax or 0)
            for line in refund.refund_line_items
        )
        # Adjustments are negative when they give money back (delivery refunds).
        cents += sum(
            -to_cents(a.amount) - to_cents(a.tax_amount or 0) for a in refund.order_adjustments
        )
    return RefundData(
        external_id=str(refund.id),
        amount_cents=max(cents, 0),
        refunded_at=refund.processed_at or refund.created_at,
        reason=refund.note or "",
    )


IN_TRANSIT = {
    "confirmed",
    "in_transit",
    "out_for_delivery",
    "attempted_delivery",
    "ready_for_pickup",
    "picked_up",
    "carrier_picked_up",
}


def shipment_data(fulfillment: Fulfillment, method: str | None = None) -> ShipmentData:
    """A fulfillment as a parcel: status, carrier, tracking, shipped, promised, delivered."""
    tracking = fulfillment.shipment_status
    if fulfillment.status in ("error", "failure") or tracking == "failure":
        status = "lost"
    elif tracking == "delivered":
        status = "delivered"
    elif tracking in IN_TRANSIT or (fulfillment.status == "success" and tracking is None):
        status = "in_transit"
    else:  # pending, open, cancelled, or a label only printed
        status = "pending"
    number = fulfillment.tracking_number or next(iter(fulfillment.tracking_numbers), None)
    return ShipmentData(
        external_id=str(fulfillment.id),
        order_external_id=str(fulfillment.order_id),
        status=status,
        carrier=fulfillment.tracking_company or "",
        method=method,
        tracking_number=number,
        shipped_at=fulfillment.created_at if status in ("in_transit", "delivered") else None,
        promised_at=fulfillment.estimated_delivery_at,
        delivered_at=(fulfillment.updated_at or fulfillment.created_at)
        if status == "delivered"
        else None,
    )


def _status(order: Order) -> str:
    if order.cancelled_at is not None:
        return "cancelled"
    if order.financial_status == "refunded":
        return "refunded"
    if order.fulfillment_status == "fulfilled":
        return "fulfilled"
    if order.financial_status in ("paid", "partially_paid", "partially_refunded"):
        return "paid"
    return "placed"


def order_data(order: Order) -> OrderData:
    """A Shopify order as cxloop's order, with its lines, refunds and fulfillments."""
    items = tuple(
        ItemData(
            sku=_sku(line.sku, line.variant_id, line.product_id),
            title=line.title + (f" – {line.variant_title}" if line.variant_title else ""),
            quantity=line.quantity,
            unit_price_cents=to_cents(line.price),
            product_skus=tuple(
                s for s in (_sku(None, line.variant_id, line.product_id),) if line.variant_id
            ),
        )
        for line in order.line_items
    )
    if order.total_shipping_price_set is not None:
        shipping = to_cents(order.total_shipping_price_set.shop_money.amount)
    else:
        shipping = sum(to_cents(s.price or 0) for s in order.shipping_lines)
    method = next((s.title for s in order.shipping_lines if s.title.strip()), None)
    return OrderData(
        external_id=str(order.id),
        placed_at=order.created_at,
        currency=order.currency,
        items=items,
        subtotal_cents=sum(item.total_cents for item in items),
        shipping_cents=shipping,
        discount_cents=to_cents(order.total_discounts or 0),
        total_cents=to_cents(order.total_price),
        status=_status(order),
        customer=customer_data(order.customer, order),
        coupon_code=next((d.code for d in order.discount_codes if d.code.strip()), None),
        shipping_country=country_or_none(
            order.shipping_address.country_code if order.shipping_address else None
        ),
        channel=order.source_name or "web",
        cancelled_at=order.cancelled_at,
        updated_at=order.updated_at,
        refunds=tuple(refund_data(r) for r in order.refunds),
        shipments=tuple(shipment_data(f, method) for f in order.fulfillments),
    )


def product_data(product: Product, store: StoreContext) -> list[ProductData]:
    """One catalog row per variant, grouped by the Shopify product id."""
    names = [o.name for o in sorted(product.options, key=lambda o: o.position or 0)]
    images = {image.id: image.src for image in product.images if image.id is not None}
    cover = product.image.src if product.image else next(iter(images.values()), None)
    description = plain_text(product.body_html)
    rows = []
    for variant in product.variants:
        options = dict(
            zip(names, (variant.option1, variant.option2, variant.option3), strict=False)
        )
        price, sale = to_cents(variant.price), None
        if variant.compare_at_price is not None and to_cents(variant.compare_at_price) > price:
            price, sale = to_cents(variant.compare_at_price), price
        tracked = "inventory_management" not in variant.model_fields_set or bool(
            variant.inventory_management
        )
        in_stock = (
            not tracked
            or variant.inventory_policy == "continue"
            or variant.inventory_quantity is None
            or variant.inventory_quantity > 0
        )
        active = product.status in (None, "active")
        url = None
        if store.shop_domain and product.handle:
            url = url_or_none(
                f"https://{store.shop_domain}/products/{product.handle}?variant={variant.id}"
            )
        single = len(product.variants) == 1 or variant.title in ("", "Default Title")
        size = first_option(options, *SIZE_NAMES)
        rows.append(
            ProductData(
                sku=_sku(variant.sku, variant.id, product.id),
                title=product.title if single else f"{product.title} – {variant.title}",
                price_cents=price,
                sale_price_cents=sale,
                currency=store.currency,
                description=description,
                category=product.product_type or "",
                brand=product.vendor or "",
                color=first_option(options, *COLOR_NAMES),
                sizes=(size,) if size else (),
                availability="in_stock" if in_stock and active else "out_of_stock",
                url=url,
                image_url=url_or_none(
                    (images.get(variant.image_id) if variant.image_id else None) or cover
                ),
                gtin=gtin_or_none(variant.barcode),
                attributes={
                    "item_group_id": str(product.id),
                    "shopify_product_id": product.id,
                    "shopify_variant_id": variant.id,
                },
            )
        )
    return rows


def _on_order(session: Session, store: StoreContext, payload: dict[str, Any]) -> Applied:
    order = parse(Order, payload)
    upsert_order(
        session, store.workspace_id, order_data(order), platform=PLATFORM, track=record_event
    )
    return Applied(f"order {order.id}")


def _on_refund(session: Session, store: StoreContext, payload: dict[str, Any]) -> Applied:
    refund = parse(Refund, payload)
    done = record_refund(
        session,
        store.workspace_id,
        str(refund.order_id),
        refund_data(refund),
        platform=PLATFORM,
        track=record_event,
    )
    subject = f"refund {refund.id} of order {refund.order_id}"
    return Applied(subject, None if done else "order not known yet")


def _on_fulfillment(session: Session, store: StoreContext, payload: dict[str, Any]) -> Applied:
    fulfillment = parse(Fulfillment, payload)
    done = upsert_shipment(
        session,
        store.workspace_id,
        shipment_data(fulfillment),
        platform=PLATFORM,
        track=record_event,
    )
    subject = f"fulfillment {fulfillment.id} of order {fulfillment.order_id}"
    return Applied(subject, None if done else "order not known yet")


def _on_customer(session: Session, store: StoreContext, payload: dict[str, Any]) -> Applied:
    customer = parse(Customer, payload)
    data = customer_data(customer)
    assert data is not None  # a Shopify customer always has its id
    upsert_customer(
        session,
        store.workspace_id,
        data,
        source=PLATFORM,
        at=customer.updated_at or customer.created_at,
    )
    return Applied(f"customer {customer.id}")


def _on_product(session: Session, store: StoreContext, payload: dict[str, Any]) -> Applied:
    product = parse(Product, payload)
    for row in product_data(product, store):
        upsert_product(session, store.workspace_id, row, at=product.updated_at)
    return Applied(f"product {product.id}")


SHOPIFY = Platform(
    name=PLATFORM,
    label="Shopify",
    signature_header="X-Shopify-Hmac-Sha256",
    topic_header="X-Shopify-Topic",
    delivery_header="X-Shopify-Webhook-Id",
    domain_header="X-Shopify-Shop-Domain",
    topics={
        "orders/create": _on_order,
        "orders/updated": _on_order,
        "orders/cancelled": _on_order,
        # Same order document as orders/updated: accepted so that either set of hooks works.
        "orders/paid": _on_order,
        "orders/fulfilled": _on_order,
        "orders/partially_fulfilled": _on_order,
        "refunds/create": _on_refund,
        "fulfillments/create": _on_fulfillment,
        "fulfillments/update": _on_fulfillment,
        "customers/create": _on_customer,
        "customers/update": _on_customer,
        "products/create": _on_product,
        "products/update": _on_product,
    },
)
