"""The propensity to become high-value: features from hand-built facts on DuckDB and on
PostgreSQL in place, the report when history is short, the split, the calibration table (the
demo's held-out months are in test_models.py), and the step's report alike on DuckDB and
PostgreSQL in place."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from sqlalchemy import select

from cxloop import analytics
from cxloop.analytics import calibration, propensity
from cxloop.analytics.models import CustomerScore
from cxloop.analytics.warehouse import Warehouse
from cxloop.demo.generator import history_end
from cxloop.demo.service import build_demo
from cxloop.store.db import Database

AS_OF = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
WS = "w1"
TS = pa.timestamp("us", "UTC")


@pytest.fixture(params=["duckdb", "postgresql"])
def warehouse(request: pytest.FixtureRequest) -> Iterator[Warehouse]:
    """An empty warehouse: DuckDB in memory, or PostgreSQL in place."""
    url = "duckdb://:memory:" if request.param == "duckdb" else request.getfixturevalue("pg_url")
    wh = Warehouse(url)
    yield wh
    wh.close()


def _at(days_before: float) -> dt.datetime:
    return AS_OF - dt.timedelta(days=days_before)


def _load(warehouse: Warehouse, table: str, rows: list[dict[str, Any]]) -> None:
    columns = {name: [row.get(name) for row in rows] for name in rows[0]}
    types = {n: (TS if n.endswith("_at") else None) for n in columns}
    batch = pa.table({n: pa.array(v, types[n]) for n, v in columns.items()})
    warehouse.upsert(table, WS, batch, fresh=True)


def _order(
    oid: int, customer: int, days_before: float, euros: float, **more: Any
) -> dict[str, Any]:
    cents = round(euros * 100)
    return {
        "id": oid,
        "customer_id": customer,
        "status": "paid",
        "subtotal_cents": cents,
        "shipping_cents": 0,
        "discount_cents": 0,
        "total_cents": cents,
        "refunded_cents": 0,
        "coupon_code": None,
        "source": "web",
        "placed_at": _at(days_before),
        **more,
    }


def test_features_read_the_first_order_and_first_weeks_only(warehouse: Warehouse) -> None:
    # Given customer 1, first order 400 days ago (two lines of shoes, one of socks, a coupon,
    # paid shipping, in the shop), a second order 10 days later, a third 100 days later and a
    # fourth after her first year; her first parcel came 2 days late; she answered 9 then 3
    _load(
        warehouse,
        "orders",
        [
            _order(1, 1, 400, 100, subtotal_cents=10500, shipping_cents=500,
                   discount_cents=1050, coupon_code="WELCOME", source="pos"),
            _order(2, 1, 390, 50),
            _order(3, 1, 300, 30, refunded_cents=1000),
            _order(4, 1, 20, 999),
            # customer 2: a cancelled order first, then one 20 days ago whose parcel is due
            _order(5, 2, 60, 500, status="cancelled"),
            _order(6, 2, 20, 40),
            # customer 3: a parcel due 5 days after the order, delivered after 40 days
            _order(7, 3, 200, 80),
            # customer 4: a parcel on time (an order id below the others': ids and customers
            # need not go in the same order)
            _order(0, 4, 100, 20),
        ],
    )  # fmt: skip
    _load(
        warehouse,
        "order_items",
        [
            {"id": 1, "order_id": 1, "quantity": 1, "total_cents": 4000, "category": "Shoes"},
            {"id": 2, "order_id": 1, "quantity": 2, "total_cents": 4500, "category": "Shoes"},
            {"id": 3, "order_id": 1, "quantity": 3, "total_cents": 2000, "category": "Socks"},
            {"id": 4, "order_id": 2, "quantity": 9, "total_cents": 5000, "category": "Socks"},
            {"id": 5, "order_id": 6, "quantity": 1, "total_cents": 4000, "category": "Socks"},
            {"id": 6, "order_id": 0, "quantity": 4, "total_cents": 2000, "category": "Hats"},
        ],
    )
    _load(
        warehouse,
        "shipments",
        [
            {"id": 1, "order_id": 1, "promised_at": _at(397), "delivered_at": _at(395)},
            {"id": 2, "order_id": 1, "promised_at": _at(390), "delivered_at": _at(389)},
            {"id": 3, "order_id": 6, "promised_at": _at(-3), "delivered_at": None},
            {"id": 4, "order_id": 7, "promised_at": _at(195), "delivered_at": _at(160)},
            {"id": 5, "order_id": 0, "promised_at": _at(96), "delivered_at": _at(97)},
        ],
    )
    _load(
        warehouse,
        "answers",
        [
            {"id": 1, "customer_id": 1, "score": 9, "created_at": _at(393)},
            {"id": 2, "customer_id": 1, "score": 3, "created_at": _at(380)},
            {"id": 3, "customer_id": 3, "score": 10, "created_at": _at(150)},  # after 50 days
            {"id": 4, "customer_id": 4, "score": None, "created_at": _at(99)},
        ],
    )
    # When the features are built
    table, levels = propensity.customer_features(warehouse, WS, AS_OF)
    got = {row["customer_id"]: row for row in table.to_pylist()}
    # Then each customer is read from her first order and her first 30 days
    assert sorted(got) == [1, 2, 3, 4]
    one, two, three, four = got[1], got[2], got[3], got[4]
    assert (one["first_order_value"], one["first_order_items"], one["first_order_quantity"]) == (
        100.0,
        3.0,
        6.0,
    )
    assert levels["first_order_category"][one["first_order_category"]] == "Shoes"
    assert levels["first_order_category"][two["first_order_category"]] == "Socks"
    assert (one["discount_share"], one["coupon_used"], one["shipping_paid"]) == (0.1, 1.0, 5.0)
    assert levels["channel"][one["channel"]] == "pos"
    assert levels["channel"][two["channel"]] == "web"
    assert (levels["delivery"][one["delivery"]], one["days_late"]) == ("late", 2.0)
    assert (levels["delivery"][two["delivery"]], two["days_late"]) == ("unknown", 0.0)
    # the third's parcel was 25 days late when her first 30 days ended (not 35)
    assert (levels["delivery"][three["delivery"]], three["days_late"]) == ("late", 25.0)
    assert (levels["delivery"][four["delivery"]], four["days_late"]) == ("on_time", 0.0)
    assert (four["first_order_items"], four["first_order_quantity"]) == (1.0, 4.0)
    assert levels["first_order_category"][four["first_order_category"]] == "Hats"
    assert (one["early_orders"], one["early_spend"]) == (1.0, 50.0)
    assert (two["early_orders"], two["first_order_value"], two["coupon_used"]) == (0.0, 40.0, 0.0)
    assert one["nps_score"] == 9.0
    assert math.isnan(three["nps_score"]) and math.isnan(four["nps_score"])
    # the first year: 100 + 50 + (30 - 10 refunded), not the order after it
    assert one["first_year_value"] == 170.0
    assert two["first_year_value"] == 40.0


def _features(n: int, seed: int = 0) -> tuple[pa.Table, dict[str, list[str]]]:
    """``n`` customers with first orders spread over the two years before AS_OF, whose first
    year's value follows their early spend."""
    rng = np.random.default_rng(seed)
    first = [AS_OF - dt.timedelta(days=float(d)) for d in rng.uniform(1, 730, n)]
    early = rng.exponential(30, n) * (rng.random(n) < 0.3)
    columns: dict[str, Any] = {name: np.zeros(n) for name in propensity.FEATURES}
    columns["first_order_value"] = rng.uniform(10, 200, n)
    columns["early_spend"] = early
    columns["nps_score"] = np.full(n, np.nan)
    return (
        pa.table(
            {
                "customer_id": pa.array(np.arange(1, n + 1)),
                "first_at": pa.array(first, TS),
                **columns,
                "first_year_value": columns["first_order_value"] + 5 * early,
            }
        ),
        {"first_order_category": ["other"], "channel": ["other"], "delivery": ["unknown"]},
    )


def test_too_few_labelled_customers_give_no_scores_and_say_why() -> None:
    # Given 300 customers over two years: about 150 with a full first year
    features, levels = _features(300)
    # When the model is asked for
    scores, report = propensity.fit_and_score(features, levels, AS_OF)
    # Then nothing is scored and the report says why, with its figures
    assert scores.num_rows == 0
    assert report["status"] == "too_little_data"
    assert report["reason"] == "few_labelled"
    assert report["labelled"] < propensity.MIN_LABELLED
    assert report["labelled"] + report["new_customers"] == 300


def test_enough_customers_are_scored_when_new_and_reported_on_the_latest_months() -> None:
    # Given 1,500 customers whose first-year value follows their early spend
    features, levels = _features(1500)
    # When the model is fitted
    scores, report = propensity.fit_and_score(features, levels, AS_OF)
    # Then the customers of the last 12 months are scored, the others not
    first = features.column("first_at").to_pylist()
    fresh = {i + 1 for i, at in enumerate(first) if at > AS_OF - dt.timedelta(days=365)}
    assert set(scores.column("customer_id").to_pylist()) == fresh
    assert all(0.0 <= p <= 1.0 for p in scores.column("propensity").to_pylist())
    # the test months are the three latest with a full year; the early spend is what matters
    assert report["status"] == "ok"
    assert report["test"]["first_from"] >= (AS_OF - dt.timedelta(days=365 + 91)).date().isoformat()
    assert report["train"]["first_to"] < report["test"]["first_from"]
    assert report["importance"][0]["feature"] == "early_spend"
    assert report["auc"] > report["baseline_auc"]
    assert sum(row["customers"] for row in report["calibration"]) == report["test"]["customers"]
    # and a second fit gives the same figures
    assert propensity.fit_and_score(features, levels, AS_OF)[1] == report


def test_the_calibration_table_groups_predictions_by_deciles() -> None:
    # Given 20 predictions rising from 0 to 0.95, the upper half observed positive
    predicted = np.arange(20) / 20
    observed = (np.arange(20) >= 10).astype(float)
    # When tabulated
    table = propensity.calibration_table(predicted, observed)
    # Then ten deciles of two, the mean prediction and rate of each
    assert [row["customers"] for row in table] == [2] * 10
    assert table[0] == {"decile": 1, "customers": 2, "predicted": 0.025, "observed": 0.0}
    assert table[9] == {"decile": 10, "customers": 2, "predicted": 0.925, "observed": 1.0}


def test_the_step_gives_the_same_report_on_duckdb_and_on_postgresql_in_place(
    sqlite_url: str, pg_url: str, tmp_path: Path
) -> None:
    # Given the same demo store of 700 customers on SQLite (warehouse in DuckDB) and on
    # PostgreSQL (warehouse in place)
    today = dt.date(2026, 12, 1)
    found = []
    for url, warehouse in (
        (sqlite_url, f"duckdb://{tmp_path / 'w.duckdb'}"),
        (pg_url, None),
    ):
        db = Database(url)
        ws = build_demo(db, customers=700, seed=4, as_of=today).workspace_id
        # When the analytics run
        analytics.run_analytics(db, warehouse or db.url, ws, as_of=history_end(today), actor="test")
        with db.session() as session:
            report = analytics.report(session, ws, "propensity")
            scores = session.scalars(
                select(CustomerScore.propensity)
                .where(CustomerScore.workspace_id == ws, CustomerScore.propensity.is_not(None))
                .order_by(CustomerScore.customer_id)
            ).all()
        db.dispose()
        assert report is not None
        found.append((report.body, scores))
    # Then the model is trained, tested and scores the same way on both engines
    (duck, duck_scores), (pg, pg_scores) = found
    assert duck["status"] == "ok", duck
    assert pg == duck
    assert len(pg_scores) == duck["scored"] > 0
    assert pg_scores == pytest.approx(duck_scores)


def test_the_purchase_models_check_samples_customers_by_id_beyond_its_limit() -> None:
    # Given 120 customers who bought one to six times on random days of the past year, after a
    # first order a year ago
    warehouse = Warehouse("duckdb://:memory:")
    rng = np.random.default_rng(1)
    rows = []
    for c in range(1, 121):
        days = [365.0 + c / 10, *rng.uniform(1, 360, int(rng.integers(0, 6)))]
        rows += [_order(len(rows) + 1, c, d, 20 + c % 7) for d in days]
    _load(warehouse, "orders", rows)
    orders = warehouse.table("orders")
    # When checked with few buyers, then with twice the limit
    whole = calibration.clv_holdout(orders, WS, AS_OF, buyers=120)
    half = calibration.clv_holdout(orders, WS, AS_OF, buyers=2 * calibration.MAX_CHECKED)
    warehouse.close()
    # Then the first counts every customer, the second one customer id in two (whether or not
    # the purchase model finds a fit on such a small history)
    assert (whole["customers"], whole["sampled_every"]) == (120, 1)
    assert (half["customers"], half["sampled_every"]) == (60, 2)
