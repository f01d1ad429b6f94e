"""Each customer's value and churn risk, written back by the analytics run: the same fits as
`cxloop clv fit` on the same history, and bands that follow the history."""

from __future__ import annotations

import csv
import datetime as dt
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from cxloop import analytics
from cxloop.analytics import value
from cxloop.analytics.models import CustomerScore
from cxloop.commerce.models import Order
from cxloop.profiles.models import Customer
from cxloop.store.db import Database
from tests.helpers import factories
from tests.helpers.data import shared_data

CDNOW = shared_data("cdnow", "cdnow_sample.csv")
CALIBRATION_END = dt.date(1997, 9, 30)
AS_OF = dt.datetime(1997, 9, 30, 23, 59, tzinfo=dt.UTC)


def _cdnow_store(db: Database, workspace_id: str) -> dict[str, int]:
    """The CDNOW sample's purchases up to the calibration end, as the store's orders (one order
    per row, at noon, in cents); the customer ids by CDNOW id."""
    rows: dict[str, list[tuple[dt.date, int]]] = defaultdict(list)
    with CDNOW.open() as handle:
        for row in csv.DictReader(handle):
            day = dt.date.fromisoformat(row["date"])
            if day <= CALIBRATION_END:
                rows[row["customer_id"]].append((day, round(float(row["amount"]) * 100)))
    with db.session() as session:
        customers = {cid: Customer(workspace_id=workspace_id, user_id=cid) for cid in rows}
        session.add_all(customers.values())
        session.flush()
        session.add_all(
            Order(
                workspace_id=workspace_id,
                external_id=f"{cid}-{n}",
                customer_id=customers[cid].id,
                placed_at=dt.datetime.combine(day, dt.time(12), dt.UTC),
                status="paid",
                total_cents=cents,
            )
            for cid, bought in rows.items()
            for n, (day, cents) in enumerate(bought)
        )
        return {cid: c.id for cid, c in customers.items()}


def _scores(db: Database, workspace_id: str) -> dict[int, CustomerScore]:
    with db.session() as session:
        found = session.scalars(
            select(CustomerScore).where(CustomerScore.workspace_id == workspace_id)
        ).all()
        session.expunge_all()
        return {s.customer_id: s for s in found}


def test_the_run_scores_each_customer_with_the_fits_of_clv_fit(
    db: Database, make_workspace, tmp_path: Path
) -> None:
    # Given the CDNOW sample's history up to 1997-09-30 as a store's orders
    workspace_id = make_workspace().workspace_id
    ids = _cdnow_store(db, workspace_id)
    # When the analytics run as of that day
    analytics.run_analytics(db, f"duckdb://{tmp_path / 'w.duckdb'}", workspace_id, as_of=AS_OF)
    scores = _scores(db, workspace_id)
    # Then every buyer has a value and a band, from the same fits as `cxloop clv fit`
    fitted = analytics.calibrate(CDNOW, CALIBRATION_END)
    summary = fitted.summary
    assert fitted.spend is not None
    expected_value = analytics.lifetime_value(fitted.purchases, fitted.spend, summary)
    expected_alive = analytics.p_alive(fitted.purchases, summary.x, summary.t_x, summary.T)
    assert len(scores) == len(ids) == summary.x.size == 2357
    mine = [scores[ids[str(c)]] for c in summary.customer_id]
    # amounts went through cents, hence the tolerance
    assert np.allclose([s.clv_12m for s in mine], expected_value, rtol=1e-4, atol=0.01)
    assert np.allclose([s.p_alive for s in mine], expected_alive, rtol=1e-6)
    assert {s.churn_band for s in mine} == {"low", "medium", "high"}
    # a one-time buyer of early January is at high risk; one who came back in September, low
    early_once = [s for s in mine if s.frequency == 1 and s.recency_days > 255]
    back_lately = [s for s in mine if s.frequency >= 4 and s.recency_days < 14]
    assert len(early_once) > 200 and len(back_lately) > 20
    assert {s.churn_band for s in early_once} == {"high"}
    assert {s.churn_band for s in back_lately} == {"low"}
    assert all(s.next_order_days is not None and s.next_order_days > 0 for s in mine)


def test_too_little_history_leaves_the_model_columns_empty(
    db: Database, make_workspace, tmp_path: Path
) -> None:
    # Given a store of twelve buyers, a few of them buying again
    workspace_id = make_workspace().workspace_id
    now = dt.datetime.now(dt.UTC)
    for i in range(12):
        cid = factories.customer(db, workspace_id)
        for k in range(1 + i % 3):
            factories.order(db, workspace_id, cid, now - dt.timedelta(days=20 * i + 7 * k))
    # When the analytics run, then RFM is there and the models' columns are NULL
    analytics.run_analytics(db, f"duckdb://{tmp_path / 'w.duckdb'}", workspace_id)
    scores = list(_scores(db, workspace_id).values())
    assert len(scores) == 12 and all(s.rfm_segment for s in scores)
    assert all(s.clv_12m is None and s.churn_band is None for s in scores)


@pytest.mark.parametrize(
    ("ratio", "band"),
    [(1.4, "low"), (0.7, "low"), (0.69, "medium"), (0.3, "medium"), (0.1, "high")],
)
def test_churn_bands_follow_the_return_chance_against_a_newcomers(ratio: float, band: str) -> None:
    assert value.churn_bands(np.array([ratio]))[0] == band
