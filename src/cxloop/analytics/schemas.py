"""API models of the analytics: a customer's scores, the RFM overview."""

from __future__ import annotations

import datetime as dt

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


class PersonaFeature(BaseModel):
    """A feature that sets a persona apart: its code (``orders``, ``category:Toys``…), whether
    the persona is higher or lower than the population, both means in natural units, and the
    difference in standard deviations."""

    feature: str
    direction: str
    value: float | None
    population: float | None
    difference: float


class PersonaPublic(BaseModel):
    """One persona: code, name and description in the asked locale, size, revenue share,
    average 12-month value (None until computed), feature means and distinguishing features."""

    code: str
    name: str
    description: str
    customers: int
    share: float
    revenue_share: float
    average_clv_12m: float | None = None
    means: dict[str, float | None]
    distinct: list[PersonaFeature]


class PersonasOverview(BaseModel):
    """The personas of the last analytics run: the number of clusters k chosen by BIC (0 and a
    ``reason`` when none were made), the BIC per k, the sample the model was fitted on, the
    features and their population means, and each persona."""

    computed_at: dt.datetime | None
    locale: str
    currency: str
    customers: int
    k: int
    reason: str | None = None
    bic: dict[str, float]
    sample: int
    features: list[str]
    population: dict[str, float | None]
    personas: list[PersonaPublic]
