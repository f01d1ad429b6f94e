"""The event log."""

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
