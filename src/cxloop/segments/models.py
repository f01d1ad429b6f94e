"""Segments, their members, and each customer's entries and exits."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cxloop.store.base import Base, BigId, UTCDateTime, utcnow


class Segment(Base):
    """A named group of customers: ``dynamic`` (those a condition holds for, as of the last
    refresh) or ``static`` (a list given by hand or by a CSV upload)."""

    __tablename__ = "segments"
    __table_args__ = (UniqueConstraint("workspace_id", "key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    # What journeys and the API call it: lower case, digits and underscores.
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    condition: Mapped[str | None] = mapped_column(Text, nullable=True)
    members: Mapped[int] = mapped_column(Integer, default=0)
    refreshed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SegmentMember(Base):
    """A customer in a segment now, since ``entered_at``."""

    __tablename__ = "segment_members"
    __table_args__ = (Index("ix_segment_members_customer", "workspace_id", "customer_id"),)

    segment_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("segments.id", ondelete="CASCADE"), primary_key=True
    )
    customer_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    workspace_id: Mapped[str] = mapped_column(String(32))
    entered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class SegmentChange(Base):
    """A customer entering or leaving a segment: its history, for the customer page and the
    journeys triggered by an entry."""

    __tablename__ = "segment_changes"
    __table_args__ = (
        Index("ix_segment_changes_customer", "workspace_id", "customer_id", "at"),
        Index("ix_segment_changes_segment", "segment_id", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    segment_id: Mapped[int] = mapped_column(BigId, ForeignKey("segments.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id", ondelete="CASCADE"))
    # "entered" or "left"
    change: Mapped[str] = mapped_column(String(8))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
