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

import ibis
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from cxloop.analytics import clv, rfm

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


def summary_at(
    orders: Any,
    workspace_id: str,
    as_of: dt.datetime,
    calibration_end: dt.date | None = None,
) -> tuple[npt.NDArray[np.int64], clv.Summary]:
    """The models' per-customer inputs (``clv.summarise``'s conventions: orders not cancelled,
    amounts less refunds never below 0, one purchase per customer and day) computed in the
    warehouse, from the orders placed by ``as_of``; with the customers' ids, sorted.

    ``calibration_end`` (the day of ``as_of`` by default) ends the history the models see; the
    purchase days after it, up to ``as_of``, are each customer's holdout. Customers whose first
    purchase comes after it are left out."""
    end = as_of.date()
    cal = calibration_end or end
    live = rfm.live_orders(orders, workspace_id, as_of)
    net = ibis.greatest(live.total_cents - live.refunded_cents, 0)
    daily = (
        live.mutate(day=live.placed_at.date(), cents=net)
        .group_by(["customer_id", "day"])
        .aggregate(cents=ibis._.cents.sum())
    )
    before = daily.day <= ibis.date(cal)
    per = (
        daily.group_by("customer_id")
        .aggregate(
            first=daily.day.min(),
            last=daily.day.max(where=before),
            days=daily.day.count(where=before),
            spent=daily.cents.sum(where=before),
            first_cents=daily.cents.argmin(daily.day),
            holdout=daily.day.count(where=~before),
        )
        .filter(ibis._.days > 0)
        .order_by("customer_id")
        .to_pyarrow()
    )

    def days(name: str) -> npt.NDArray[np.int64]:
        column = per.column(name).to_numpy(zero_copy_only=False)
        return np.asarray(column.astype("datetime64[D]") - _EPOCH, dtype=np.int64)

    ids = per.column("customer_id").to_numpy(zero_copy_only=False).astype(np.int64)
    x = per.column("days").to_numpy(zero_copy_only=False).astype(np.float64) - 1.0
    spent = per.column("spent").to_numpy(zero_copy_only=False).astype(np.float64) / 100.0
    first_amount = per.column("first_cents").to_numpy(zero_copy_only=False) / 100.0
    first, last = days("first"), days("last")
    with np.errstate(invalid="ignore", divide="ignore"):
        monetary = np.where(x > 0, (spent - first_amount) / x, 0.0)
    cal_day = (np.datetime64(cal, "D") - _EPOCH).astype(np.int64)
    summary = clv.Summary(
        customer_id=ids.astype(str),
        x=x,
        t_x=(last - first) / clv.DAYS_PER_WEEK,
        T=(cal_day - first) / clv.DAYS_PER_WEEK,
        monetary=monetary,
        holdout=per.column("holdout").to_numpy(zero_copy_only=False).astype(np.float64),
        calibration_end=cal,
        holdout_end=end,
        holdout_weeks=(end - cal).days / clv.DAYS_PER_WEEK,
    )
    return ids, summary


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
    ids, summary = summary_at(orders, workspace_id, as_of)
    if not ids.size:
        return _empty()
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
            "customer_id": pa.array(ids),
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


__all__ = ["BANDS", "COLUMNS", "churn_bands", "summary_at", "value_scores"]
