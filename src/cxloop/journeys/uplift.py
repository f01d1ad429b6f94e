"""Measured uplift: what a journey changed, its treated customers against its holdout.

The holdout is drawn at random when customers enter (``engine.in_holdout``), so both groups
differ only by the journey. Each customer is followed from their first entry for the window
(the goal's, else 30 days), or until now when the window has not ended yet (the same for both
groups, as entries are interleaved). Compared, each with its 95% interval and the p-value of
the difference:

- repeat purchase: the share who ordered again (a difference of proportions: Newcombe's hybrid
  score interval from the two Wilson intervals, Newcombe 1998, method 10; a two-sided z test);
- revenue per customer, those who did not order counting 0 (Welch's t interval and test);
- later NPS: of the answers given after entry (adjusted-Wald, as everywhere NPS is shown);
- unsubscribes: the share who withdrew email consent (as repeat purchase).

Beside them, what the journey did: messages sent, opened (as providers report), conversions
(its goal met), the messages whose tracked link was followed (``clicked``), and the revenue of
the treated customers within the window.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from cxloop import channels, commerce, profiles, surveys
from cxloop.analytics import t_interval, wilson
from cxloop.journeys.engine import PURPOSE, plan
from cxloop.journeys.models import Journey, JourneyRun
from cxloop.store.base import utcnow

DEFAULT_WINDOW = dt.timedelta(days=30)


@dataclass(frozen=True)
class Entry:
    customer_id: int
    holdout: bool
    start: dt.datetime
    end: dt.datetime
    converted: bool


def proportions(treated: tuple[int, int], control: tuple[int, int]) -> dict[str, Any]:
    """Two shares (successes, n) compared: each with its Wilson interval, the difference with
    Newcombe's interval, and the two-sided z test's p-value."""
    (s1, n1), (s0, n0) = treated, control
    p1, l1, u1 = wilson(s1, n1)
    p0, l0, u0 = wilson(s0, n0)
    out: dict[str, Any] = {
        "treated": _number(p1),
        "treated_ci95": _pair(l1, u1),
        "holdout": _number(p0),
        "holdout_ci95": _pair(l0, u0),
        "difference": None,
        "difference_ci95": None,
        "p_value": None,
    }
    if n1 == 0 or n0 == 0:
        return out
    diff = p1 - p0
    low = diff - math.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2)
    high = diff + math.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)
    pooled = (s1 + s0) / (n1 + n0)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0))
    p_value = 1.0 if se == 0 else 2 * (1 - NormalDist().cdf(abs(diff) / se))
    out.update(difference=diff, difference_ci95=[low, high], p_value=p_value)
    return out


def means(treated: np.ndarray, control: np.ndarray) -> dict[str, Any]:
    """Two means compared: each with its t interval, the difference with Welch's interval and
    the p-value of Welch's t test."""
    out: dict[str, Any] = {
        "treated": _mean(treated),
        "treated_ci95": _t_interval(treated),
        "holdout": _mean(control),
        "holdout_ci95": _t_interval(control),
        "difference": None,
        "difference_ci95": None,
        "p_value": None,
    }
    if treated.size < 2 or control.size < 2:
        return out
    v1, v0 = treated.var(ddof=1) / treated.size, control.var(ddof=1) / control.size
    diff = float(treated.mean() - control.mean())
    se = math.sqrt(v1 + v0)
    if se == 0:
        out.update(difference=diff, difference_ci95=[diff, diff], p_value=1.0 if diff == 0 else 0.0)
        return out
    df = (v1 + v0) ** 2 / (v1**2 / (treated.size - 1) + v0**2 / (control.size - 1))
    from scipy import stats  # scipy.stats costs most of a second: read when first needed

    half = float(stats.t.ppf(0.975, df)) * se
    p_value = float(2 * stats.t.sf(abs(diff) / se, df))
    out.update(difference=diff, difference_ci95=[diff - half, diff + half], p_value=p_value)
    return out


def _mean(values: np.ndarray) -> float | None:
    return float(values.mean()) if values.size else None


def _t_interval(values: np.ndarray) -> list[float] | None:
    _mean_value, low, high, _se = t_interval(values)
    return None if math.isnan(low) else [low, high]


def _number(value: float) -> float | None:
    return None if math.isnan(value) else value


def _pair(low: float, high: float) -> list[float] | None:
    return None if math.isnan(low) else [low, high]


def entries(
    session: Session, journey: Journey, window: dt.timedelta, now: dt.datetime
) -> list[Entry]:
    """Each customer's first entry into the journey, with the end of their window."""
    first: dict[int, Entry] = {}
    for cid, holdout, entered, converted in session.execute(
        select(
            JourneyRun.customer_id,
            JourneyRun.holdout,
            JourneyRun.entered_at,
            JourneyRun.converted_at,
        )
        .where(JourneyRun.journey_id == journey.id)
        .order_by(JourneyRun.entered_at, JourneyRun.id)
    ):
        if cid in first:
            continue
        start = entered if entered.tzinfo else entered.replace(tzinfo=dt.UTC)
        first[cid] = Entry(
            cid, bool(holdout), start, min(start + window, now), converted is not None
        )
    return list(first.values())


def _inside(
    rows: list[tuple[Any, ...]], by_customer: dict[int, Entry], at: int
) -> dict[int, list[tuple[Any, ...]]]:
    kept: dict[int, list[tuple[Any, ...]]] = {}
    for row in rows:
        entry = by_customer.get(row[0])
        if entry is not None and entry.start < row[at] <= entry.end:
            kept.setdefault(row[0], []).append(row)
    return kept


def uplift(
    session: Session, journey: Journey, *, days: int | None = None, now: dt.datetime | None = None
) -> dict[str, Any]:
    """The journey's results: treated against holdout, and what it did."""
    now = now or utcnow()
    spec = plan(journey.source)
    if days is not None:
        window = dt.timedelta(days=days)
    elif spec.goal is not None:
        window = dt.timedelta(seconds=spec.goal.within_seconds)
    else:
        window = DEFAULT_WINDOW
    found = entries(session, journey, window, now)
    by_customer = {e.customer_id: e for e in found}
    treated = [e for e in found if not e.holdout]
    control = [e for e in found if e.holdout]
    ws = journey.workspace_id
    ids = list(by_customer)
    begin = min((e.start for e in found), default=now)
    end = max((e.end for e in found), default=now) + dt.timedelta(seconds=1)
    orders = _inside(commerce.orders_in_windows(session, ws, ids, begin, end), by_customer, 1)
    answers = _inside(surveys.scores_in_windows(session, ws, ids, begin, end), by_customer, 2)
    denials = _inside(
        profiles.denials_in_windows(session, ws, ids, "email", begin, end), by_customer, 1
    )

    def revenue(group: list[Entry]) -> np.ndarray:
        return np.array(
            [sum(row[2] for row in orders.get(e.customer_id, [])) / 100 for e in group],
            dtype=np.float64,
        )

    def bought(group: list[Entry]) -> tuple[int, int]:
        return (sum(1 for e in group if e.customer_id in orders), len(group))

    def left(group: list[Entry]) -> tuple[int, int]:
        return (sum(1 for e in group if e.customer_id in denials), len(group))

    def nps(group: list[Entry]) -> Any:
        firsts = [
            min(answers[e.customer_id], key=lambda r: r[2])[1]
            for e in group
            if e.customer_id in answers
        ]
        counts = (
            np.bincount(np.asarray(firsts, dtype=np.int64), minlength=11)
            if firsts
            else np.zeros(11, np.int64)
        )
        return surveys.summarize(
            promoters=int(counts[surveys.PROMOTER_MIN :].sum()),
            passives=int(counts[surveys.PASSIVE_MIN : surveys.PROMOTER_MIN].sum()),
            detractors=int(counts[: surveys.PASSIVE_MIN].sum()),
        )

    nps_treated, nps_control = nps(treated), nps(control)
    compared = surveys.compare_nps(nps_control, nps_treated)
    sent = channels.message_counts(session, ws, PURPOSE, f"{journey.key}:")
    treated_revenue = revenue(treated)
    return {
        "journey": journey.key,
        "window_days": window.total_seconds() / 86400,
        "customers": {"treated": len(treated), "holdout": len(control)},
        "repeat_purchase": proportions(bought(treated), bought(control)),
        "revenue_per_customer": means(treated_revenue, revenue(control)),
        "later_nps": {
            "treated": nps_treated.nps,
            "treated_ci95": list(nps_treated.ci95) if nps_treated.ci95 else None,
            "treated_answers": nps_treated.n,
            "holdout": nps_control.nps,
            "holdout_ci95": list(nps_control.ci95) if nps_control.ci95 else None,
            "holdout_answers": nps_control.n,
            "difference": compared.diff,
            "p_value": compared.p_value,
        },
        "unsubscribe_rate": proportions(left(treated), left(control)),
        "activity": {
            "messages": sent["messages"],
            "sent": sent["sent"],
            "opened": sent["opened"],
            "clicked": sent["clicked"],
            "conversions": sum(1 for e in treated if e.converted),
            "holdout_conversions": sum(1 for e in control if e.converted),
            "attributed_revenue": float(treated_revenue.sum()),
        },
    }
