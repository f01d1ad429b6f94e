"""RFM: recency, frequency and monetary value, scored 1 to 5 by quintiles, and named segments.

Pure Ibis expressions, from the warehouse's orders to one row per customer, so that the same code
runs on DuckDB, on PostgreSQL and on Spark. The rules (docs/rfm.md):

- figures per customer, over orders not cancelled: recency = whole days from the last order to
  ``as_of``; frequency = orders; monetary = totals less refunds, in cents;
- a score is ``1 + floor(5 × share of customers with a strictly worse value)``: customers with
  the same value always get the same score (ties never split), a better value never gets a lower
  score, and a customer better than at least 80% of the others gets 5. Worse is older for
  recency, fewer orders for frequency, less money for monetary. With many ties (most customers
  buy once) some scores stay empty: everyone with one order has F = 1;
- the segment follows from R and F alone (the 5 × 5 grid of ``SEGMENT_GRID``); M is shown beside.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis

# Segment codes, best first; their labels are in cxloop.web.labels ("rfm_segment").
SEGMENTS = (
    "champions",
    "loyal",
    "potential_loyalist",
    "new",
    "promising",
    "need_attention",
    "about_to_sleep",
    "at_risk",
    "cant_lose",
    "hibernating",
    "lost",
)

# The columns of ``rfm()``, one row per customer.
COLUMNS = (
    "customer_id",
    "recency_days",
    "frequency",
    "monetary_cents",
    "r",
    "f",
    "m",
    "rfm_segment",
)

# SEGMENT_GRID[r][f]: the segment of recency score r and frequency score f (index 0 unused).
_ = ""
SEGMENT_GRID: tuple[tuple[str, ...], ...] = (
    (_, _, _, _, _, _),
    (_, "lost", "hibernating", "at_risk", "at_risk", "cant_lose"),
    (_, "hibernating", "hibernating", "at_risk", "at_risk", "cant_lose"),
    (_, "about_to_sleep", "about_to_sleep", "need_attention", "loyal", "loyal"),
    (_, "promising", "potential_loyalist", "potential_loyalist", "loyal", "loyal"),
    (_, "new", "potential_loyalist", "potential_loyalist", "champions", "champions"),
)


def segment_of(r: int, f: int) -> str:
    """The segment of one (R, F) pair, as the expression computes it."""
    return SEGMENT_GRID[r][f]


def live_orders(orders: Any, workspace_id: str, as_of: dt.datetime | None = None) -> Any:
    """The workspace's orders that count as purchases: not cancelled, of a known customer, and
    placed by ``as_of`` when given (every model reads its history through this)."""
    live = orders.filter(
        orders.workspace_id == workspace_id,
        orders.status != "cancelled",
        orders.customer_id.notnull(),
    )
    return live if as_of is None else live.filter(live.placed_at <= as_of)


def customer_figures(orders: Any, workspace_id: str, as_of: dt.datetime) -> Any:
    """Per customer with an order not cancelled: recency_days, frequency, monetary_cents."""
    live = live_orders(orders, workspace_id)
    per = live.group_by("customer_id").aggregate(
        last_order_at=live.placed_at.max(),
        frequency=live.count(),
        monetary_cents=(live.total_cents - live.refunded_cents).sum(),
    )
    seconds = ibis.literal(as_of).epoch_seconds() - per.last_order_at.epoch_seconds()
    return per.mutate(recency_days=(seconds / 86400).floor().cast("int64"))


def quintile(value: Any) -> Any:
    """1 + floor(5 × share of rows with a strictly smaller ``value``): 1 to 5, ties together."""
    below = ibis.rank().over(order_by=value)  # rows strictly below (0-based, min rank)
    everyone = value.count().over()
    return ((below * 5) / everyone).floor().cast("int64") + 1


def segment(r: Any, f: Any) -> Any:
    """The segment of each (R, F), as an Ibis expression over the grid."""
    cases = [
        ((r == ri) & (f == fi), SEGMENT_GRID[ri][fi]) for ri in range(1, 6) for fi in range(1, 6)
    ]
    return ibis.cases(*cases, else_="lost")


def rfm(orders: Any, workspace_id: str, as_of: dt.datetime) -> Any:
    """One row per customer: figures, r, f, m scores and ``rfm_segment``."""
    figures = customer_figures(orders, workspace_id, as_of)
    scored = figures.mutate(
        # Fewer days since the last order is better: rank on the negated recency.
        r=quintile(-figures.recency_days),
        f=quintile(figures.frequency),
        m=quintile(figures.monetary_cents),
    )
    return scored.mutate(rfm_segment=segment(scored.r, scored.f)).select(*COLUMNS)
