"""API models for customers: the customer 360."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel


class IdentityPublic(BaseModel):
    """One identifier of a customer, with where it came from."""

    kind: str
    value: str
    source: str
    created_at: dt.datetime


class EventSummary(BaseModel):
    """An event on a customer's timeline."""

    messageId: str  # noqa: N815  (Segment's field name)
    type: str
    event: str | None
    timestamp: dt.datetime
    properties: dict[str, Any]


class MergePublic(BaseModel):
    """A merge of another customer into this one."""

    from_customer_id: int
    identity_kind: str
    identity_value: str
    source: str
    at: dt.datetime


class NpsSummary(BaseModel):
    """The customer's NPS answers (filled by the NPS program)."""

    responses: int = 0
    last_score: int | None = None
    category: str | None = None
    # What the last answer's verbatim was about, and its tone (-1 to 1): ``nps.themes``.
    themes: list[str] = []
    sentiment: float | None = None


class Scores(BaseModel):
    """Model scores from the last analytics run (``cxloop analytics run``); null until then, and
    for a customer without an order. ``rfm_segment`` is a code (docs/rfm.md): champions, loyal,
    potential_loyalist, new, promising, need_attention, about_to_sleep, at_risk, cant_lose,
    hibernating or lost."""

    rfm_segment: str | None = None
    clv: float | None = None
    churn_risk: float | None = None
    # RFM scores, 1 to 5 by quintiles, and the figures behind them.
    r: int | None = None
    f: int | None = None
    m: int | None = None
    recency_days: int | None = None
    frequency: int | None = None
    monetary: float | None = None
    p_alive: float | None = None
    expected_orders_90d: float | None = None
    next_order_days: float | None = None
    # The usual days between two orders (None with a single order): what a churn risk is read
    # against.
    usual_gap_days: float | None = None
    churn_band: str | None = None
    propensity: float | None = None
    persona: str | None = None
    computed_at: dt.datetime | None = None


class Customer360(BaseModel):
    """Everything known about one customer, in one document."""

    id: int
    user_id: str | None
    email: str | None
    traits: dict[str, Any]
    identities: list[IdentityPublic]
    consent: dict[str, Any]
    event_count: int
    orders_count: int
    revenue: float
    currency: str
    first_seen_at: dt.datetime | None
    last_seen_at: dt.datetime | None
    recent_events: list[EventSummary]
    merges: list[MergePublic]
    scores: Scores
    nps: NpsSummary


class CustomerRow(BaseModel):
    """A line of the customer list."""

    id: int
    user_id: str | None
    email: str | None
    name: str
    orders_count: int
    revenue: float
    last_seen_at: dt.datetime | None
    # The latest answer's score and category, and the last analytics run's scores (None when
    # the customer has none, or the model behind them has not run yet).
    nps_score: int | None = None
    nps_category: str | None = None
    rfm_segment: str | None = None
    r: int | None = None
    f: int | None = None
    clv: float | None = None
    p_alive: float | None = None
    churn_band: str | None = None


# How the customer list can be sorted: most recently seen, most orders, most revenue, highest
# 12-month value, highest churn risk first.
SORTS = ("last_seen", "orders", "revenue", "clv", "churn")


class CustomerFilter(BaseModel):
    """What narrows and orders the customer list: a search, an RFM segment or cell, a churn
    band, the category of the latest NPS answer, a persona, and a sort (one of ``SORTS``)."""

    q: str = ""
    segment: str | None = None
    churn_band: str | None = None
    r: int | None = None
    f: int | None = None
    nps: str | None = None
    # A persona code of the last analytics run (p1, p2…).
    persona: str | None = None
    sort: str = "last_seen"


class TimelineEntry(BaseModel):
    """One thing that happened to a customer: an event, an order, a parcel."""

    at: dt.datetime
    kind: str  # "event", "order", "shipment"
    title: str
    detail: dict[str, Any]
