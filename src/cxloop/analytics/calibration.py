"""How well the purchase model predicts, on the workspace's own history: BG/NBD fitted again on
the purchases up to ``HOLDOUT_WEEKS`` weeks before the run, its expected repeat purchases in
those weeks set against the actual ones, by repeat purchases before them (``clv.holdout``, as
``cxloop clv fit`` prints it)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np

from cxloop.analytics import clv, value

HOLDOUT_WEEKS = 26
# Above this many buyers, the check runs on every k-th customer id (k the smallest that keeps it
# under): a hundred thousand customers measure the model as well as millions, in a tenth of the
# time.
MAX_CHECKED = 100_000


def _too_little(reason: str, **figures: Any) -> dict[str, Any]:
    return {"status": "too_little_data", "reason": reason, **figures}


def clv_holdout(
    orders: Any, workspace_id: str, as_of: dt.datetime, buyers: int = 0
) -> dict[str, Any]:
    """The ``clv`` report: the holdout's dates, the refitted BG/NBD, and per repeat purchases in
    calibration (0 to 6, then 7 and more) the customers, mean actual and mean predicted repeat
    purchases in the holdout; or, with too little history, the reason. ``buyers``, the number
    of customers who bought, sets the sample (see ``MAX_CHECKED``)."""
    end = as_of.date()
    calibration_end = end - dt.timedelta(weeks=HOLDOUT_WEEKS)
    every = max(1, math.ceil(buyers / MAX_CHECKED))
    if every > 1:
        orders = orders.filter(orders.customer_id % every == 0)
    # The holdout runs to the run's day, whether or not anyone bought on the last days.
    ids, summary = value.summary_at(orders, workspace_id, as_of, calibration_end)
    if not ids.size:
        return _too_little("few_customers", customers=0, holdout_weeks=HOLDOUT_WEEKS)
    repeat = int(np.count_nonzero(summary.x > 0))
    figures = {
        "customers": int(summary.x.size),
        "repeat_customers": repeat,
        "sampled_every": every,
    }
    if summary.x.size < value.MIN_CUSTOMERS or repeat < value.MIN_REPEAT:
        return _too_little("few_customers", holdout_weeks=HOLDOUT_WEEKS, **figures)
    fit = clv.fit_bgnbd(summary.x, summary.t_x, summary.T)
    if not fit.converged:
        return _too_little("no_fit", holdout_weeks=HOLDOUT_WEEKS, **figures)
    check = clv.holdout(fit, summary)
    return {
        "status": "ok",
        **figures,
        "calibration_end": calibration_end.isoformat(),
        "holdout_start": check.start.isoformat(),
        "holdout_end": check.end.isoformat(),
        "holdout_weeks": round(check.weeks, 2),
        "bgnbd": {"r": fit.r, "alpha": fit.alpha, "a": fit.a, "b": fit.b},
        "actual": check.actual,
        "predicted": round(check.predicted, 2),
        "groups": [
            {
                "frequency": g.frequency,
                "customers": g.customers,
                "actual_mean": round(g.actual_mean, 4),
                "predicted_mean": round(g.predicted_mean, 4),
            }
            for g in check.groups
        ],
    }


__all__ = ["HOLDOUT_WEEKS", "clv_holdout"]
