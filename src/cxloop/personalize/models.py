"""The site's campaigns (banners and messages, their definitions) and what each showed to whom:
one row per decision, the holdout's included, with the click when there was one."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cxloop.store.base import Base, BigId, UTCDateTime, utcnow


class Campaign(Base):
    """A banner or message campaign: its definition (YAML, versioned) and whether it runs."""

    __tablename__ = "site_campaigns"
    __table_args__ = (UniqueConstraint("workspace_id", "key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(64))
    # draft (not shown), active, paused, archived
    status: Mapped[str] = mapped_column(String(16), default="draft")
    version: Mapped[int] = mapped_column(Integer, default=1)
    source: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Impression(Base):
    """One decision for one visitor: the variant shown, or the holdout (nothing shown)."""

    __tablename__ = "site_impressions"
    __table_args__ = (
        Index("ix_site_impressions_visitor", "workspace_id", "visitor", "shown_at"),
        Index("ix_site_impressions_campaign", "campaign_id", "shown_at"),
        UniqueConstraint("token"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    campaign_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("site_campaigns.id", ondelete="CASCADE")
    )
    variant: Mapped[str] = mapped_column(String(64))
    held_out: Mapped[bool] = mapped_column(Boolean, default=False)
    # The anonymous id the visitor's browser keeps, and the customer when known.
    visitor: Mapped[str] = mapped_column(String(200))
    customer_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    token: Mapped[str] = mapped_column(String(32))
    shown_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    clicked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
