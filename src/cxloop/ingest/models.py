"""The event log, store webhook secrets and deliveries, and order refunds."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cxloop.store.base import Base, BigId, JsonDoc, UTCDateTime, utcnow

EVENT_TYPES = ("identify", "track", "page", "screen", "group", "alias")


class Event(Base):
    """One Segment-spec event (track, page, identify…), deduplicated by ``message_id``."""

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("workspace_id", "message_id"),
        Index("ix_events_customer_ts", "customer_id", "timestamp"),
        Index("ix_events_workspace_ts", "workspace_id", "timestamp"),
        # Claiming an anonymous visitor's earlier events when she logs in.
        Index("ix_events_workspace_anonymous", "workspace_id", "anonymous_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    message_id: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(16))
    event: Mapped[str | None] = mapped_column(String(200), nullable=True)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), nullable=True
    )
    user_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    anonymous_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    properties: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    context: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    timestamp: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class WebhookSecret(Base):
    """The shared secret a store platform signs its webhooks with, per workspace and platform.

    Kept in clear on purpose: verifying an HMAC needs the secret itself, so it cannot be
    hashed like the admin keys are. Anyone who can read this table can forge webhooks; the
    store's file or database must be protected accordingly.
    """

    __tablename__ = "webhook_secrets"
    __table_args__ = (UniqueConstraint("workspace_id", "platform"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # The unique constraint's leading column serves lookups by workspace: no extra index.
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(16))
    secret: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class WebhookDelivery(Base):
    """One webhook delivery accepted from a platform: a replay of the same id is applied once."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("workspace_id", "platform", "delivery_id"),
        Index("ix_webhook_deliveries_workspace_received", "workspace_id", "received_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(16))
    delivery_id: Mapped[str] = mapped_column(String(100))
    topic: Mapped[str] = mapped_column(String(100))
    # applied, ignored (a topic cxloop does not use) or skipped (nothing to apply it to).
    status: Mapped[str] = mapped_column(String(16))
    # What the delivery was about, e.g. "order 450789469", and why it was skipped if it was.
    subject: Mapped[str] = mapped_column(String(200), default="")
    body_sha256: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
