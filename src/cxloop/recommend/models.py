"""Each workspace's placement settings: the strategy of every placement, whether it may show
what the customer bought before, and its pinned and banned products."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from cxloop.store.base import Base, JsonDoc, UTCDateTime, utcnow


class PlacementSettings(Base):
    """A workspace's settings per placement (only what differs from the defaults)."""

    __tablename__ = "recommend_settings"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    placements: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
