"""API models of the analytics: a customer's scores, the RFM overview."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel


class CustomerScores(BaseModel):
    """One customer's scores as the last analytics run left them."""

    recency_days: int
    frequency: int
    monetary: float
    r: int
    f: int
    m: int
    rfm_segment: str
    clv_12m: float | None = None
    p_alive: float | None = None
    expected_orders_90d: float | None = None
    next_order_days: float | None = None
    churn_band: str | None = None
    propensity: float | None = None
    persona: str | None = None
    computed_at: dt.datetime


class SegmentFigures(BaseModel):
    """Customers of one segment and what they spent (orders not cancelled, less refunds)."""

    customers: int
    revenue: float


class GridCell(BaseModel):
    """One cell of the recency × frequency grid."""

    r: int
    f: int
    segment: str
    customers: int
    revenue: float


class RfmOverview(BaseModel):
    """The RFM picture of a workspace: segments, and the 5 × 5 grid of R and F scores."""

    computed_at: dt.datetime | None
    customers: int
    currency: str
    segments: dict[str, SegmentFigures]
    grid: list[GridCell]


class ScoredCustomer(BaseModel):
    """A customer of a console list (the highest values, the churn risks): who, the scores, and
    the usual days between two orders (None with a single order)."""

    customer_id: int
    name: str
    scores: CustomerScores
    usual_gap_days: float | None = None


class ModelReports(BaseModel):
    """The models' reports of the last analytics run: ``propensity`` (AUC, Brier score and
    calibration on the held-out months, against the first-order-value baseline; feature
    importance) and ``clv`` (the purchase model's predicted against actual repeat purchases in a
    holdout); each None before a run made it, or ``{"status": "too_little_data", "reason"}``."""

    computed_at: dt.datetime | None
    propensity: dict[str, Any] | None
    clv: dict[str, Any] | None
