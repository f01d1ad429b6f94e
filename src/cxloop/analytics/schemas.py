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


class Estimate(BaseModel):
    """A figure and its 95% interval (None where the data do not define them)."""

    value: float | None = None
    low: float | None = None
    high: float | None = None


class ExperienceGroup(BaseModel):
    """One group of customers (promoters, late first deliveries…) and what they did in the
    horizon after their answer or delivery."""

    code: str
    customers: int
    revenue_per_customer: Estimate
    orders_per_customer: Estimate
    average_basket: Estimate
    retention: Estimate
    orders: int
    retained: int


class ExperienceRatio(BaseModel):
    """Revenue per customer of one group over another's, and whether a difference is
    established (``reason`` says why not: ``small``, ``includes_one`` or ``undefined``)."""

    of: str
    to: str
    estimate: Estimate
    established: bool
    reason: str | None = None


class ExperienceBreakdown(BaseModel):
    """Customers by NPS category or by first delivery, over ``horizon_days`` after it:
    ``anchored`` customers have an answer (a delivered parcel) at all, ``customers`` one at
    least the horizon before the run."""

    horizon_days: int
    anchored: int
    # By first order: the quartiles of first-order value between the four groups.
    edges: list[float] = []
    customers: int
    groups: list[ExperienceGroup]
    ratio: ExperienceRatio


class ExperienceSentence(BaseModel):
    """A sentence a merchant can quote, in the asked language."""

    topic: str
    established: bool
    text: str


class ExperienceOverview(BaseModel):
    """Experience against revenue as of the last analytics run (all None before one)."""

    computed_at: dt.datetime | None
    locale: str
    currency: str
    sentences: list[ExperienceSentence]
    nps: ExperienceBreakdown | None = None
    delivery: ExperienceBreakdown | None = None
    first_order: ExperienceBreakdown | None = None


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
