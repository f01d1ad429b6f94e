"""Each customer's value and churn risk, from the workspace's own order history.

BG/NBD and Gamma-Gamma (``clv.py``) are fitted on the workspace's purchase days as of the run;
then, per customer who bought:

- ``p_alive``: the probability of still being a customer (1 for one-time buyers: the model only
  lets customers leave after a repeat purchase, so their risk is read from the next one below);
- ``expected_orders_90d``: expected orders in the next 90 days;
- ``next_order_days``: the median number of days to the next order, if still a customer;
- ``clv_12m``: the expected spend of the next 12 months, discounted 1% a month, in the store's
  currency (NULL when no repeat buyer spent anything, so spend cannot be modelled);
- ``churn_band``: ``low``, ``medium`` or ``high``, from the chance of ordering again within
  ``HORIZON_DAYS`` compared with the chance of a customer who has just placed a first order.
  At least ``LOW`` of it is low risk, under ``HIGH`` of it high risk. A loyal buyer is above 1,
  a one-time buyer of two years ago far below.

With fewer than ``MIN_CUSTOMERS`` buyers or ``MIN_REPEAT`` repeat buyers, or a fit that does not
converge, the columns stay NULL; a value a model cannot give as a finite number is NULL too.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pyarrow as pa

from cxloop.analytics import clv

HORIZON_DAYS = 180
# Below these, the models are not fitted and the columns stay NULL: a handful of customers says
# nothing about a population.
MIN_CUSTOMERS = 50
MIN_REPEAT = 10
LOW = 0.7
HIGH = 0.3
BANDS = ("low", "medium", "high")
COLUMNS = ("clv_12m", "p_alive", "expected_orders_90d", "next_order_days", "churn_band")
_EPOCH = np.datetime64("1970-01-01", "D")


def purchase_days(orders: Any, workspace_id: str, as_of: dt.datetime) -> clv.Transactions:
    """The workspace's orders not cancelled, placed by ``as_of``, as (customer, day, amount),
    amounts in the currency's units less refunds (never below 0)."""
    live = orders.filter(
        orders.workspace_id == workspace_id,
        orders.status != "cancelled",
        orders.customer_id.notnull(),
        orders.placed_at <= as_of,
    )
    rows = (
        live.mutate(day=live.placed_at.date(), cents=live.total_cents - live.refunded_cents)
        .select("customer_id", "day", "cents")
        .to_pyarrow()
    )
    ids = rows.column("customer_id").to_numpy()
    unique, codes = np.unique(ids, return_inverse=True)
    days = rows.column("day").to_numpy().astype("datetime64[D]") - _EPOCH
    cents = np.clip(rows.column("cents").to_numpy().astype(np.float64), 0.0, None)
    return clv.Transactions(
        [str(i) for i in unique], codes.astype(np.int64), days.astype(np.int64), cents / 100.0
    )


def _empty() -> pa.Table:
    return pa.table(
        {
            "customer_id": pa.array([], pa.int64()),
            **{name: pa.array([], pa.float64()) for name in COLUMNS[:-1]},
            "churn_band": pa.array([], pa.string()),
        }
    )


def churn_bands(ratio: Any) -> Any:
    """``low``, ``medium`` or ``high`` for each ratio of return chances (see the docstring)."""
    return np.where(ratio >= LOW, "low", np.where(ratio >= HIGH, "medium", "high"))


def value_scores(orders: Any, workspace_id: str, as_of: dt.datetime) -> pa.Table:
    """One row per customer who bought: the columns of ``COLUMNS`` (none when the history has no
    repeat purchase to fit the models on)."""
    transactions = purchase_days(orders, workspace_id, as_of)
    if not transactions.customer_ids:
        return _empty()
    summary = clv.summarise(transactions, as_of.date())
    repeat = int(np.count_nonzero(summary.x > 0))
    if summary.x.size < MIN_CUSTOMERS or repeat < MIN_REPEAT:
        return _empty()  # too little history for the models: the columns stay NULL
    x, t_x, T = summary.x, summary.t_x, summary.T  # noqa: N806
    purchases = clv.fit_bgnbd(x, t_x, T)
    if not purchases.converged:
        return _empty()
    x_spend, m_spend = clv.spend_inputs(summary)
    spend = clv.fit_gamma_gamma(x_spend, m_spend) if x_spend.size >= MIN_REPEAT else None
    horizon = HORIZON_DAYS / clv.DAYS_PER_WEEK
    r, alpha = purchases.r, purchases.alpha
    with np.errstate(all="ignore"):
        alive = clv.p_alive(purchases, x, t_x, T)
        returns = alive * (1.0 - ((alpha + T) / (alpha + T + horizon)) ** (r + x))
        newcomer = 1.0 - (alpha / (alpha + horizon)) ** r
        value = (
            clv.lifetime_value(purchases, spend, summary)
            if spend is not None and spend.converged and spend.q > 1
            else np.full(x.shape, np.nan)
        )
        orders_90d = clv.expected_purchases(purchases, 90 / clv.DAYS_PER_WEEK, x, t_x, T)
        next_order = clv.days_to_next_order(purchases, x, t_x, T)
        bands = churn_bands(returns / newcomer)
    return pa.table(
        {
            "customer_id": pa.array(summary.customer_id.astype(np.int64)),
            "clv_12m": _finite(np.round(value, 2)),
            "p_alive": _finite(alive),
            "expected_orders_90d": _finite(orders_90d),
            "next_order_days": _finite(next_order),
            "churn_band": pa.array(np.where(np.isfinite(returns), bands, None)),
        }
    )


def _finite(values: Any) -> pa.Array:
    """The values, NULL where a model gave no finite number."""
    return pa.array(values, mask=~np.isfinite(values), type=pa.float64())


__all__ = ["BANDS", "COLUMNS", "churn_bands", "purchase_days", "value_scores"]
