"""The scores the analytics write back to the operational store, one row per customer."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from cxloop.store.base import Base, BigId, JsonDoc, UTCDateTime


class CustomerScore(Base):
    """A customer's RFM figures, scores (1 to 5) and segment, and the model scores that later
    steps fill (CLV, P(alive), churn band, propensity, persona); NULL until a step sets them.

    Rewritten whole for a workspace by each analytics run (``service.write_scores``).
    """

    __tablename__ = "customer_scores"
    __table_args__ = (
        Index("ix_customer_scores_segment", "workspace_id", "rfm_segment"),
        # Rewritten by every run: room on each page for HOT updates (migration 0017).
        {"postgresql_with": {"fillfactor": 70}},
    )

    # No key to workspaces: a score goes with its customer, whose rows go with the workspace
    # (one check fewer per score written; migration 0015).
    workspace_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    recency_days: Mapped[int] = mapped_column(Integer)
    frequency: Mapped[int] = mapped_column(Integer)
    monetary_cents: Mapped[int] = mapped_column(BigInteger)
    r: Mapped[int] = mapped_column(SmallInteger)
    f: Mapped[int] = mapped_column(SmallInteger)
    m: Mapped[int] = mapped_column(SmallInteger)
    rfm_segment: Mapped[str] = mapped_column(String(24))
    clv_12m: Mapped[float | None] = mapped_column(Float, nullable=True)
    p_alive: Mapped[float | None] = mapped_column(Float, nullable=True)
    expected_orders_90d: Mapped[float | None] = mapped_column(Float, nullable=True)
    next_order_days: Mapped[float | None] = mapped_column(Float, nullable=True)
    churn_band: Mapped[str | None] = mapped_column(String(16), nullable=True)
    propensity: Mapped[float | None] = mapped_column(Float, nullable=True)
    persona: Mapped[str | None] = mapped_column(String(32), nullable=True)
    computed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class AnalyticsReport(Base):
    """What a run learnt about the workspace as a whole, one document per kind (``clv`` holdout
    calibration, ``propensity`` AUC and calibration, ``personas``, ``experience`` against
    revenue): the latest run's, replaced by each run (``service.write_scores``)."""

    __tablename__ = "analytics_reports"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    body: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    computed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
