"""Alert rules and the alerts sent for them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cxloop.store.base import Base, BigId, JsonDoc, UTCDateTime, utcnow


class AlertRule(Base):
    """Tell someone at once: on answers that match ``filters``, or when invitations stop."""

    __tablename__ = "alert_rules"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    # "response" (a new answer matching filters) or "silence" (no invitation for N hours while
    # orders came in)
    kind: Mapped[str] = mapped_column(String(16))
    # e.g. {"max_score": 6, "channel": "email", "survey_id": 3, "silence_hours": 6}
    filters: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    # "email" or "webhook"
    target: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(500))
    # Shared secret that signs webhook bodies (HMAC-SHA256): kept as is, it must sign.
    secret: Mapped[str | None] = mapped_column(String(128), nullable=True)
    slack_format: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AlertDelivery(Base):
    """One alert sent (or tried) for one rule and one subject: sent once, retried if it fails."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (UniqueConstraint("rule_id", "subject_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    rule_id: Mapped[int] = mapped_column(ForeignKey("alert_rules.id", ondelete="CASCADE"))
    # "response:123" or "silence:2026-11-22T10"
    subject_key: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
