"""Experience and revenue: what customers spent after a good or a bad experience (the
measurement plan of article 004).

Three breakdowns, each with one row per customer:

- **by NPS category**: a customer's first confirmed NPS answer, given at least the horizon
  before the run (so the whole horizon after it is observed), and her orders in the horizon
  after that answer, by category (promoter, passive, detractor);
- **by delivery experience**: a customer's first delivered parcel (it came after its promised
  date: late; else on time), delivered at least the horizon before the run, and her orders in the
  horizon after the delivery;
- **by first order size**: a customer's first order, by its quarter of value among all first
  orders (``q1`` the smallest), and her orders in the horizon after it.

Per group: customers; revenue per customer and orders per customer (means, Student t
intervals); the average basket (revenue over orders of the group's orders, a ratio of sums whose
interval treats each customer's orders as one cluster); retention (the share who ordered again,
Wilson interval). And a ratio of revenue per customer, promoters to detractors, on time to
late and largest to smallest first orders, with a delta-method interval on its logarithm. Every
interval is at 95%.

The horizon is 365 days; when either group compared has fewer than ``MIN_GROUP`` customers
over it, the next shorter of ``HORIZONS`` is tried. The report holds numbers and codes only; the
sentences a merchant can quote are built when read, in the reader's language
(``sentences``).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import ibis
import numpy as np
import pyarrow as pa
from babel.numbers import format_currency, format_decimal
from sqlalchemy.orm import Session

from cxloop import i18n, workspaces
from cxloop.analytics import rfm, service
from cxloop.analytics.schemas import (
    Estimate,
    ExperienceBreakdown,
    ExperienceGroup,
    ExperienceOverview,
    ExperienceRatio,
    ExperienceSentence,
)

KIND = "experience"
HORIZONS = (365, 180, 90)
MIN_GROUP = 30
CONFIDENCE = 0.95
NPS_GROUPS = ("promoter", "passive", "detractor")
DELIVERY_GROUPS = ("on_time", "late")
# Quarters of the first order's value, the smallest first.
FIRST_ORDER_GROUPS = ("q1", "q2", "q3", "q4")
# Each breakdown: its groups in display order, and the ratio it quotes (first to second).
BREAKDOWNS: dict[str, tuple[tuple[str, ...], tuple[str, str]]] = {
    "nps": (NPS_GROUPS, ("promoter", "detractor")),
    "delivery": (DELIVERY_GROUPS, ("on_time", "late")),
    "first_order": (FIRST_ORDER_GROUPS, ("q4", "q1")),
}
_Z = NormalDist().inv_cdf(0.5 + CONFIDENCE / 2)


# Intervals ----------------------------------------------------------------------------------


def _t(freedom: float) -> float:
    """Student's t quantile of the two-sided ``CONFIDENCE`` interval."""
    from scipy import stats  # scipy.stats costs most of a second: read when first needed

    return float(stats.t.ppf(0.5 + CONFIDENCE / 2, freedom))


def wilson(successes: int, n: int) -> tuple[float, float, float]:
    """A proportion and its Wilson score interval (Wilson 1927): (share, low, high)."""
    if n == 0:
        return (math.nan, math.nan, math.nan)
    p = successes / n
    z2 = _Z * _Z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = _Z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return (p, max(0.0, centre - half), min(1.0, centre + half))


def t_interval(values: Any) -> tuple[float, float, float, float]:
    """A mean, its Student t interval and its standard error: (mean, low, high, se)."""
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        return (math.nan, math.nan, math.nan, math.nan)
    mean = float(x.mean())
    if x.size < 2:
        return (mean, math.nan, math.nan, math.nan)
    se = float(x.std(ddof=1) / math.sqrt(x.size))
    half = _t(x.size - 1) * se
    return (mean, mean - half, mean + half, se)


def clustered_ratio(totals: Any, counts: Any) -> tuple[float, float, float]:
    """The ratio of sums Σy/Σm (revenue over orders) with a t interval whose standard error
    treats each customer (y_i, m_i) as one cluster (linearisation of the ratio estimator):
    (ratio, low, high). Customers with no order add nothing."""
    y = np.asarray(totals, dtype=np.float64)
    m = np.asarray(counts, dtype=np.float64)
    kept = m > 0
    y, m = y[kept], m[kept]
    if m.size == 0:
        return (math.nan, math.nan, math.nan)
    ratio = float(y.sum() / m.sum())
    n = m.size
    if n < 2:
        return (ratio, math.nan, math.nan)
    residual = y - ratio * m
    se = math.sqrt(n / (n - 1) * float((residual**2).sum())) / float(m.sum())
    half = _t(n - 1) * se
    return (ratio, ratio - half, ratio + half)


def log_ratio(mean_a: float, se_a: float, mean_b: float, se_b: float) -> tuple[float, float, float]:
    """mean_a / mean_b with a delta-method interval on its logarithm:
    var(log r) ≈ (se_a/mean_a)² + (se_b/mean_b)². NaN where a mean is not positive."""
    if not (mean_a > 0 and mean_b > 0) or math.isnan(se_a) or math.isnan(se_b):
        return (math.nan, math.nan, math.nan)
    ratio = mean_a / mean_b
    spread = math.sqrt((se_a / mean_a) ** 2 + (se_b / mean_b) ** 2)
    return (ratio, ratio * math.exp(-_Z * spread), ratio * math.exp(_Z * spread))


# The anchors: one (customer, group, moment) each ----------------------------------------------


def _first(rows: Any, moment: str, **values: str) -> Any:
    """Each customer's first row by ``moment``: (customer_id, at, and each of ``values``, a
    column of that first row). An aggregate, not a window: one hash pass on either engine (ties
    at the same moment are broken arbitrarily)."""
    by = rows[moment]
    return rows.group_by("customer_id").aggregate(
        at=by.min(), **{name: rows[column].argmin(by) for name, column in values.items()}
    )


def nps_anchors(answers: Any, workspace_id: str) -> Any:
    """Each customer's first confirmed answer: (customer_id, at, group = its category)."""
    rows = answers.filter(
        answers.workspace_id == workspace_id,
        answers.status == "confirmed",
        answers.customer_id.notnull(),
        answers.category.isin(NPS_GROUPS),
    )
    return _first(rows, "created_at", group="category")


def delivery_anchors(shipments: Any, orders: Any, workspace_id: str) -> Any:
    """Each customer's first delivered parcel with a promised date: (customer_id, at = its
    delivery, group = ``late`` if it came after that date, else ``on_time``)."""
    parcels = shipments.filter(
        shipments.workspace_id == workspace_id,
        shipments.delivered_at.notnull(),
        shipments.promised_at.notnull(),
    )
    owners = orders.filter(orders.workspace_id == workspace_id, orders.customer_id.notnull())
    owners = owners.select(parcel_order=owners.id, customer_id=owners.customer_id)
    rows = parcels.join(owners, parcels.order_id == owners.parcel_order)
    rows = rows.mutate(lateness=(rows.delivered_at > rows.promised_at).ifelse("late", "on_time"))
    return _first(rows, "delivered_at", group="lateness")


def _live(orders: Any, workspace_id: str) -> Any:
    """The workspace's orders not cancelled, of a known customer, with their value in cents
    less refunds (never below 0) as float64 (PostgreSQL sums integers as numeric)."""
    live = rfm.live_orders(orders, workspace_id)
    return live.mutate(
        cents=ibis.greatest(live.total_cents - live.refunded_cents, 0).cast("float64")
    )


def first_order_anchors(orders: Any, workspace_id: str) -> Any:
    """Each customer's first order: (customer_id, at = when it was placed, value = its cents);
    its quarter of value (the group) is found once the values are read (``breakdown``)."""
    return _first(_live(orders, workspace_id), "placed_at", value="cents")


def quarters(values: Any) -> tuple[list[float], np.ndarray]:
    """The quartiles of first-order values (cents) in the currency's units, and each value's
    quarter, ``q1`` (under the first quartile) to ``q4`` (the third quartile or more)."""
    cents = np.asarray(values, dtype=np.float64)
    if cents.size == 0:
        return [], np.asarray([], dtype=object)
    edges = [round(float(q) / 100, 2) for q in np.quantile(cents, (0.25, 0.5, 0.75))]
    index = np.searchsorted(np.round(np.asarray(edges) * 100), cents, side="right")
    return edges, np.asarray(FIRST_ORDER_GROUPS, dtype=object)[index]


def outcomes(
    anchors: Any, orders: Any, workspace_id: str, key: str = "group"
) -> dict[str, np.ndarray]:
    """Per anchored customer, in one pass: her ``key`` (the group, or the first order's value),
    the anchor's moment (UTC, numpy), and for each horizon of ``HORIZONS`` the revenue (in the
    currency's units, less refunds) and the orders not cancelled placed in that many days after
    the anchor."""
    live = _live(orders, workspace_id)
    live = live.select(
        buyer=live.customer_id, placed_at=live.placed_at, order_id=live.id, cents=live.cents
    )
    joined = anchors.left_join(
        live,
        [
            anchors.customer_id == live.buyer,
            live.placed_at > anchors.at,
            live.placed_at <= anchors.at + ibis.interval(days=max(HORIZONS)),
        ],
    )
    sums: dict[str, Any] = {}
    for days in HORIZONS:
        inside = joined.placed_at <= joined.at + ibis.interval(days=days)
        # PostgreSQL sums integers as numeric: everything is cast to float64 / int64 here.
        sums[f"cents_{days}"] = joined.cents.sum(where=inside).fill_null(0.0).cast("float64")
        sums[f"orders_{days}"] = joined.order_id.count(where=inside).cast("int64")
    table = joined.group_by(["customer_id", key, "at"]).aggregate(**sums).to_pyarrow()
    out: dict[str, np.ndarray] = {
        key: np.asarray(table.column(key).to_pylist(), dtype=object),
        "at": table.column("at").cast(pa.timestamp("us", "UTC")).to_numpy(zero_copy_only=False),
    }
    for days in HORIZONS:
        cents = table.column(f"cents_{days}").to_numpy(zero_copy_only=False)
        out[f"revenue_{days}"] = cents.astype(np.float64) / 100
        out[f"orders_{days}"] = (
            table.column(f"orders_{days}").to_numpy(zero_copy_only=False).astype(np.int64)
        )
    return out


# The figures -----------------------------------------------------------------------------------


def _number(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 4)


def group_figures(code: str, revenue: Any, orders: Any) -> dict[str, Any]:
    """One group's figures, each with its 95% interval (JSON-ready; None where undefined)."""
    revenue = np.asarray(revenue, dtype=np.float64)
    orders = np.asarray(orders, dtype=np.int64)
    spend = t_interval(revenue)
    count = t_interval(orders)
    basket = clustered_ratio(revenue, orders)
    retained = int(np.count_nonzero(orders > 0))
    share = wilson(retained, int(orders.size))
    return {
        "code": code,
        "customers": int(orders.size),
        "revenue": {"mean": _number(spend[0]), "low": _number(spend[1]),
                    "high": _number(spend[2]), "se": _number(spend[3])},
        "orders": {"mean": _number(count[0]), "low": _number(count[1]),
                   "high": _number(count[2]), "total": int(orders.sum())},
        "basket": {"mean": _number(basket[0]), "low": _number(basket[1]),
                   "high": _number(basket[2])},
        "retention": {"share": _number(share[0]), "low": _number(share[1]),
                      "high": _number(share[2]), "retained": retained},
    }  # fmt: skip


def ratio_figures(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    """Revenue per customer of ``first`` over ``second``, its interval, and whether a difference
    is established: both groups of ``MIN_GROUP`` customers or more, the interval excluding 1."""
    a, b = first["revenue"], second["revenue"]
    ratio = (
        log_ratio(a["mean"], a["se"], b["mean"], b["se"])
        if None not in (a["mean"], a["se"], b["mean"], b["se"])
        else (math.nan, math.nan, math.nan)
    )
    large = min(first["customers"], second["customers"]) >= MIN_GROUP
    excludes_one = not math.isnan(ratio[1]) and (ratio[1] > 1 or ratio[2] < 1)
    return {
        "of": first["code"],
        "to": second["code"],
        "estimate": _number(ratio[0]),
        "low": _number(ratio[1]),
        "high": _number(ratio[2]),
        "established": bool(large and excludes_one),
        # Why no difference is claimed: too few customers, an interval including 1, or no
        # ratio at all (a group that spent nothing).
        "reason": (
            None
            if large and excludes_one
            else "small"
            if not large
            else "includes_one"
            if not math.isnan(ratio[1])
            else "undefined"
        ),
    }


def _moment(moment: dt.datetime) -> np.datetime64:
    return np.datetime64(moment.astimezone(dt.UTC).replace(tzinfo=None), "us")


def breakdown(
    name: str, anchors: Any, orders: Any, workspace_id: str, as_of: dt.datetime
) -> dict[str, Any]:
    """One breakdown's figures over the longest horizon of ``HORIZONS`` whose compared groups
    have ``MIN_GROUP`` customers each (else the one where the smaller group is largest)."""
    groups, (first, second) = BREAKDOWNS[name]
    edges: list[float] | None = None
    if name == "first_order":
        rows = outcomes(anchors, orders, workspace_id, key="value")
        edges, rows["group"] = quarters(rows.pop("value").astype(np.float64))
    else:
        rows = outcomes(anchors, orders, workspace_id)
    chosen, best = HORIZONS[0], -1
    for days in HORIZONS:
        seen = rows["group"][rows["at"] <= _moment(as_of - dt.timedelta(days=days))]
        smaller = min(int(np.count_nonzero(seen == first)), int(np.count_nonzero(seen == second)))
        if smaller > best:
            chosen, best = days, smaller
        if smaller >= MIN_GROUP:
            break
    cutoff = as_of - dt.timedelta(days=chosen)
    kept = rows["at"] <= _moment(cutoff)
    group = rows["group"][kept]
    revenue, orders_in = rows[f"revenue_{chosen}"][kept], rows[f"orders_{chosen}"][kept]
    figures = [
        group_figures(code, revenue[group == code], orders_in[group == code]) for code in groups
    ]
    by_code = {f["code"]: f for f in figures}
    return {
        **({} if edges is None else {"edges": edges}),
        "horizon_days": chosen,
        "cutoff": cutoff.isoformat(),
        # Every customer with an answer (a parcel), however recent: 0 means no data at all.
        "anchored": int(rows["group"].size),
        "customers": int(group.size),
        "groups": figures,
        "ratio": ratio_figures(by_code[first], by_code[second]),
    }


def experience_report(
    orders: Any, shipments: Any, answers: Any, workspace_id: str, as_of: dt.datetime
) -> dict[str, Any]:
    """The ``experience`` report: the breakdowns as of ``as_of`` (numbers and codes only;
    ``first_order`` also has ``edges``, its quartiles in the currency's units)."""
    return {
        "as_of": as_of.isoformat(),
        "confidence": CONFIDENCE,
        "min_group": MIN_GROUP,
        "nps": breakdown("nps", nps_anchors(answers, workspace_id), orders, workspace_id, as_of),
        "delivery": breakdown(
            "delivery",
            delivery_anchors(shipments, orders, workspace_id),
            orders,
            workspace_id,
            as_of,
        ),
        "first_order": breakdown(
            "first_order", first_order_anchors(orders, workspace_id), orders, workspace_id, as_of
        ),
    }


# Sentences, in the reader's language ---------------------------------------------------------


@dataclass(frozen=True)
class Sentence:
    """A sentence a merchant can quote about one breakdown, and whether it states a difference
    the data establish."""

    topic: str
    established: bool
    text: str


def _decimal(value: float) -> str:
    return format_decimal(value, format="#,##0.0", locale=i18n.current_locale.get())


def _count(value: int) -> str:
    return format_decimal(value, locale=i18n.current_locale.get())


def horizon_text(days: int) -> str:
    """The horizon as people say it: "12 months", "6 mois", "45 days"."""
    months = round(days / 30.4)
    if abs(months * 30.4 - days) <= 5 and months >= 1:
        return i18n.ngettext("%(num)s month", "%(num)s months", months) % {"num": _count(months)}
    return i18n.ngettext("%(num)s day", "%(num)s days", days) % {"num": _count(days)}


def _texts(topic: str) -> tuple[str, str, str, str]:
    """(established, includes one, too small, no ratio) for a topic, in the current
    language."""
    if topic == "nps":
        return (
            i18n.gettext(
                "Promoters spent %(ratio)s× what detractors spent in the %(horizon)s after their"
                " answer (95%% interval %(low)s–%(high)s×; %(first)s and %(second)s customers)."
            ),
            i18n.gettext(
                "A difference in spending between promoters and detractors in the %(horizon)s"
                " after their answer is not established: promoters spent %(ratio)s× what"
                " detractors spent, but the 95%% interval (%(low)s–%(high)s×) includes 1"
                " (%(first)s and %(second)s customers)."
            ),
            i18n.gettext(
                "A difference in spending between promoters and detractors is not established:"
                " too few customers answered at least %(horizon)s ago (%(first)s promoters and"
                " %(second)s detractors; %(minimum)s of each are needed)."
            ),
            i18n.gettext(
                "A difference in spending between promoters and detractors in the %(horizon)s"
                " after their answer is not established (%(first)s and %(second)s customers)."
            ),
        )
    if topic == "first_order":
        return (
            i18n.gettext(
                "Customers whose first order was among the largest quarter (%(top)s or more)"
                " spent %(ratio)s× what those whose first order was among the smallest quarter"
                " (under %(bottom)s) spent in the %(horizon)s after it (95%% interval"
                " %(low)s–%(high)s×; %(first)s and %(second)s customers)."
            ),
            i18n.gettext(
                "A difference in later spending between the largest and the smallest first"
                " orders is not established over %(horizon)s: the largest quarter spent"
                " %(ratio)s× what the smallest spent, but the 95%% interval (%(low)s–%(high)s×)"
                " includes 1 (%(first)s and %(second)s customers)."
            ),
            i18n.gettext(
                "A difference in later spending between the largest and the smallest first"
                " orders is not established: too few first orders were placed at least"
                " %(horizon)s ago (%(first)s and %(second)s; %(minimum)s of each are needed)."
            ),
            i18n.gettext(
                "A difference in later spending between the largest and the smallest first"
                " orders is not established over %(horizon)s (%(first)s and %(second)s"
                " customers)."
            ),
        )
    return (
        i18n.gettext(
            "Customers whose first parcel came on time spent %(ratio)s× what those whose first"
            " parcel came late spent in the %(horizon)s after delivery (95%% interval"
            " %(low)s–%(high)s×; %(first)s and %(second)s customers)."
        ),
        i18n.gettext(
            "A difference in spending after an on-time or a late first delivery is not"
            " established over %(horizon)s: customers served on time spent %(ratio)s× what the"
            " others spent, but the 95%% interval (%(low)s–%(high)s×) includes 1 (%(first)s and"
            " %(second)s customers)."
        ),
        i18n.gettext(
            "A difference in spending after an on-time or a late first delivery is not"
            " established: too few first parcels were delivered at least %(horizon)s ago"
            " (%(first)s on time and %(second)s late; %(minimum)s of each are needed)."
        ),
        i18n.gettext(
            "A difference in spending after an on-time or a late first delivery is not"
            " established over %(horizon)s (%(first)s and %(second)s customers)."
        ),
    )


def sentences(body: dict[str, Any], locale: str, currency: str = "EUR") -> list[Sentence]:
    """The report's quotable sentences in ``locale`` (fr or en): one per breakdown with data
    (amounts in ``currency``)."""
    out = []
    with i18n.speaking(locale):
        for topic in BREAKDOWNS:
            part = body.get(topic)
            if not part or not part.get("customers"):
                continue
            ratio = part["ratio"]
            sizes = {g["code"]: g["customers"] for g in part["groups"]}
            values = {
                "horizon": horizon_text(int(part["horizon_days"])),
                "first": _count(sizes[ratio["of"]]),
                "second": _count(sizes[ratio["to"]]),
                "minimum": _count(int(body.get("min_group", MIN_GROUP))),
            }
            if part.get("edges"):
                here = i18n.current_locale.get()
                values["bottom"] = format_currency(part["edges"][0], currency, locale=here)
                values["top"] = format_currency(part["edges"][-1], currency, locale=here)
            if ratio["estimate"] is not None and ratio["low"] is not None:
                values |= {
                    "ratio": _decimal(ratio["estimate"]),
                    "low": _decimal(ratio["low"]),
                    "high": _decimal(ratio["high"]),
                }
            established, includes_one, small, undefined = _texts(topic)
            if ratio["established"]:
                text = established % values
            elif ratio["reason"] == "small":
                text = small % values
            elif ratio["reason"] == "includes_one" and "ratio" in values:
                text = includes_one % values
            else:
                text = undefined % values
            out.append(Sentence(topic, bool(ratio["established"]), text))
    return out


# Reading the report -----------------------------------------------------------------------------


def _estimate(part: dict[str, Any], value: str = "mean") -> Estimate:
    return Estimate(value=part.get(value), low=part.get("low"), high=part.get("high"))


def _breakdown(part: dict[str, Any]) -> ExperienceBreakdown:
    ratio = part["ratio"]
    return ExperienceBreakdown(
        horizon_days=part["horizon_days"],
        anchored=part["anchored"],
        edges=part.get("edges", []),
        customers=part["customers"],
        groups=[
            ExperienceGroup(
                code=g["code"],
                customers=g["customers"],
                revenue_per_customer=_estimate(g["revenue"]),
                orders_per_customer=_estimate(g["orders"]),
                average_basket=_estimate(g["basket"]),
                retention=_estimate(g["retention"], "share"),
                orders=g["orders"]["total"],
                retained=g["retention"]["retained"],
            )
            for g in part["groups"]
        ],
        ratio=ExperienceRatio(
            of=ratio["of"],
            to=ratio["to"],
            estimate=_estimate(ratio, "estimate"),
            established=ratio["established"],
            reason=ratio["reason"],
        ),
    )


def overview(session: Session, workspace_id: str, locale: str) -> ExperienceOverview:
    """The last run's experience report with its sentences in ``locale`` (fr or en)."""
    workspace = workspaces.get_workspace(session, workspace_id)
    currency = (workspace.currency if workspace else None) or "EUR"
    found = service.report(session, workspace_id, KIND)
    if found is None:
        return ExperienceOverview(computed_at=None, locale=locale, currency=currency, sentences=[])
    body = found.body
    return ExperienceOverview(
        computed_at=found.computed_at,
        locale=locale,
        currency=currency,
        sentences=[
            ExperienceSentence(topic=s.topic, established=s.established, text=s.text)
            for s in sentences(body, locale, currency)
        ],
        nps=_breakdown(body["nps"]) if body.get("nps") else None,
        delivery=_breakdown(body["delivery"]) if body.get("delivery") else None,
        first_order=_breakdown(body["first_order"]) if body.get("first_order") else None,
    )


__all__ = [
    "BREAKDOWNS",
    "KIND",
    "Sentence",
    "clustered_ratio",
    "experience_report",
    "horizon_text",
    "log_ratio",
    "overview",
    "quarters",
    "sentences",
    "t_interval",
    "wilson",
]
