"""Messages sent to customers (the outbox) and what happened to them; consent changes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cxloop.store.base import Base, BigId, JsonDoc, UTCDateTime, utcnow


class OutboundMessage(Base):
    """An email (or later SMS) as sent: kept whole, so the console shows it like a mailbox."""

    __tablename__ = "outbound_messages"
    __table_args__ = (
        Index("ix_outbound_messages_workspace_created", "workspace_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), nullable=True
    )
    channel: Mapped[str] = mapped_column(String(16), default="email")
    # nps_invitation, nps_reminder, alert, …
    purpose: Mapped[str] = mapped_column(String(32))
    related_key: Mapped[str] = mapped_column(String(100), default="")
    to_address: Mapped[str] = mapped_column(String(320))
    from_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(500))
    html: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    headers: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    # The Message-ID header: how bounces and complaints find their message.
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    # queued, sent (to SMTP), outbox (kept locally), failed, bounced, complained
    status: Mapped[str] = mapped_column(String(16), default="queued")
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # When a sender last took it (status ``sending``): one left there by a process that died
    # is sent again, with the same Message-ID, once this is old enough.
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class DeliveryEvent(Base):
    """Something that happened to a sent message: delivered, bounced, complained, unsubscribed."""

    __tablename__ = "delivery_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbound_messages.id", ondelete="CASCADE"), index=True, nullable=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    data: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class WebhookCall(Base):
    """A signed JSON POST to a merchant's endpoint (a helpdesk, a CRM), sent once after the
    transaction that asked for it; ``idempotency_key`` goes in the request so that a receiver
    can drop a repeat."""

    __tablename__ = "webhook_calls"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), nullable=True
    )
    url: Mapped[str] = mapped_column(Text)
    body: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    # queued, sending, sent, failed
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    response_status: Mapped[int | None] = mapped_column(nullable=True)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Suppression(Base):
    """An address no customer message goes to, whatever consent says (a merchant's list)."""

    __tablename__ = "suppressions"
    __table_args__ = (
        Index("uq_suppressions_address", "workspace_id", "channel", "address", unique=True),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(320))
    reason: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SmsProvider(Base):
    """How a workspace sends SMS: a Twilio-compatible API or a generic JSON endpoint, the
    sender, and the credentials, sealed (``cxloop.sealing``)."""

    __tablename__ = "sms_providers"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    # twilio, generic
    kind: Mapped[str] = mapped_column(String(16))
    url: Mapped[str] = mapped_column(String(300))
    account: Mapped[str] = mapped_column(String(100), default="")
    sender: Mapped[str] = mapped_column(String(40))
    credentials: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PushSubscription(Base):
    """A browser's web push subscription (RFC 8030): where to post, and the keys to encrypt
    for it (RFC 8291). A visitor who subscribes becomes a customer (their anonymous id is the
    identity), so that journeys reach them."""

    __tablename__ = "push_subscriptions"
    __table_args__ = (
        UniqueConstraint("workspace_id", "endpoint_hash"),
        Index("ix_push_subscriptions_customer", "workspace_id", "customer_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    anonymous_id: Mapped[str] = mapped_column(String(200), default="")
    endpoint: Mapped[str] = mapped_column(Text)
    endpoint_hash: Mapped[str] = mapped_column(String(64))
    p256dh: Mapped[str] = mapped_column(String(120))
    auth: Mapped[str] = mapped_column(String(40))
    # active, gone (the push service said 404 or 410: the browser dropped it)
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
