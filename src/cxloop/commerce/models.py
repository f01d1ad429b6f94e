"""Products, orders, order items and shipments. Money is kept in minor units (cents)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cxloop.store.base import Base, BigId, JsonDoc, UTCDateTime, utcnow

ORDER_STATUSES = ("placed", "paid", "fulfilled", "cancelled", "refunded")
SHIPMENT_STATUSES = ("pending", "in_transit", "delivered", "lost", "returned")


class Product(Base):
    """A catalog entry; ``translations`` holds titles and descriptions in other languages."""

    __tablename__ = "products"
    __table_args__ = (UniqueConstraint("workspace_id", "sku"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    sku: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    translations: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    category: Mapped[str] = mapped_column(String(100), default="")
    brand: Mapped[str] = mapped_column(String(100), default="")
    color: Mapped[str | None] = mapped_column(String(50), nullable=True)
    sizes: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    gender: Mapped[str | None] = mapped_column(String(20), nullable=True)
    age_group: Mapped[str | None] = mapped_column(String(20), nullable=True)
    price_cents: Mapped[int] = mapped_column(Integer)
    sale_price_cents: Mapped[int | None] = mapped_column(Integer, nullable=True)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    availability: Mapped[str] = mapped_column(String(20), default="in_stock")
    url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    image_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    gtin: Mapped[str | None] = mapped_column(String(20), nullable=True)
    attributes: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Order(Base):
    """A customer's order and its money."""

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("workspace_id", "external_id"),
        Index("ix_orders_workspace_placed", "workspace_id", "placed_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    external_id: Mapped[str] = mapped_column(String(100))
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True, nullable=True
    )
    status: Mapped[str] = mapped_column(String(16), default="placed")
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    subtotal_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    shipping_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    discount_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    total_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    coupon_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    source: Mapped[str] = mapped_column(String(32), default="web")
    shipping_country: Mapped[str | None] = mapped_column(String(2), nullable=True)
    placed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class OrderItem(Base):
    """One line of an order."""

    __tablename__ = "order_items"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int | None] = mapped_column(
        ForeignKey("products.id", ondelete="SET NULL"), index=True, nullable=True
    )
    sku: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    unit_price_cents: Mapped[int] = mapped_column(Integer)
    total_cents: Mapped[int] = mapped_column(BigInteger)


class Shipment(Base):
    """A parcel: promised and actual delivery dates tell whether it was late."""

    __tablename__ = "shipments"
    __table_args__ = (UniqueConstraint("workspace_id", "external_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    external_id: Mapped[str] = mapped_column(String(100))
    carrier: Mapped[str] = mapped_column(String(50), default="")
    method: Mapped[str] = mapped_column(String(50), default="standard")
    tracking_number: Mapped[str | None] = mapped_column(String(100), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    shipped_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    promised_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class OrderRefund(Base):
    """Money given back on an order, keyed by the store's refund id.

    An order's ``refunded_cents`` is the sum of its refunds, so that the same refund seen twice
    (in ``refunds/create`` and again inside ``orders/updated``) counts once.
    """

    __tablename__ = "order_refunds"
    __table_args__ = (UniqueConstraint("workspace_id", "order_id", "external_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    external_id: Mapped[str] = mapped_column(String(100))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(500), default="")
    refunded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Coupon(Base):
    """A single-use code given to one customer: percent off, an amount off, or free shipping.

    ``store_status`` follows its write-back to the store (Shopify, WooCommerce): ``none`` when no
    store is configured, ``pending`` until written, ``written`` or ``failed``."""

    __tablename__ = "coupons"
    __table_args__ = (
        UniqueConstraint("workspace_id", "code"),
        Index("ix_coupons_customer", "workspace_id", "customer_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(32))
    # percent, fixed, free_shipping
    kind: Mapped[str] = mapped_column(String(16))
    # percent: 0-100; fixed: minor units (cents); free_shipping: 0
    value: Mapped[int] = mapped_column(Integer, default=0)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), nullable=True
    )
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # What gave it: journey:<key>, case:<id>, manual
    source: Mapped[str] = mapped_column(String(100), default="manual")
    # The idempotency key of the step that created it, unique when set.
    key: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    redeemed_order_id: Mapped[int | None] = mapped_column(
        ForeignKey("orders.id", ondelete="SET NULL"), nullable=True
    )
    redeemed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    store_status: Mapped[str] = mapped_column(String(16), default="none")
    store_ref: Mapped[str] = mapped_column(String(100), default="")
    store_error: Mapped[str] = mapped_column(Text, default="")
    store_attempts: Mapped[int] = mapped_column(Integer, default=0)
    store_claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class StoreConnection(Base):
    """How cxloop reaches a workspace's store to write to it (coupons): the platform, its
    address and its credentials, sealed (``cxloop.sealing``)."""

    __tablename__ = "store_connections"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    # shopify, woocommerce
    platform: Mapped[str] = mapped_column(String(16))
    base_url: Mapped[str] = mapped_column(String(300))
    credentials: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
