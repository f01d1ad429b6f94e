"""Customers and identities."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cxloop.store.base import Base, BigId, JsonDoc, UTCDateTime, utcnow

IDENTITY_KINDS = ("user_id", "anonymous_id", "email", "phone")


class Customer(Base):
    """One person buying from a store, known by one or more identities."""

    __tablename__ = "customers"
    __table_args__ = (
        UniqueConstraint("workspace_id", "user_id"),
        Index("ix_customers_workspace_email", "workspace_id", "email"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(40), nullable=True)
    first_name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    last_name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    locale: Mapped[str | None] = mapped_column(String(8), nullable=True)
    country: Mapped[str | None] = mapped_column(String(2), nullable=True)
    city: Mapped[str | None] = mapped_column(String(100), nullable=True)
    timezone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    traits: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    # Per channel: {"email": {"status": "granted"|"denied", "source": ..., "at": iso time}}
    consent: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    first_seen_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Identity(Base):
    """An identifier (user id, anonymous id, email, phone) that resolves to a customer."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("workspace_id", "kind", "value"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(320))
    source: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CustomerMerge(Base):
    """Two customers found to be one: which identity linked them, from what source, when."""

    __tablename__ = "customer_merges"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    # The merged-away customer no longer exists: its id is kept as a plain number.
    from_customer_id: Mapped[int] = mapped_column(BigId)
    into_customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    identity_kind: Mapped[str] = mapped_column(String(16))
    identity_value: Mapped[str] = mapped_column(String(320))
    source: Mapped[str] = mapped_column(String(200), default="")
    moved: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ConsentChange(Base):
    """A change of a customer's consent for a channel, with where it came from and when."""

    __tablename__ = "consent_changes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(16))
    # granted or denied
    status: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(100))
    detail: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
