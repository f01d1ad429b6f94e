"""Personas on hand-built warehouses: groups of customers set clearly apart are found, named from
what sets them apart, in French and English, the same way twice; on DuckDB and PostgreSQL; and
a whole run writing each buyer's persona back, on SQLite + DuckDB and on PostgreSQL in place."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from sqlalchemy import select

from cxloop import analytics
from cxloop.analytics import personas
from cxloop.analytics.models import CustomerScore
from cxloop.analytics.warehouse import Warehouse
from cxloop.commerce.models import Order
from cxloop.profiles.models import Customer
from cxloop.store.db import Database
from cxloop.workspaces import service as workspaces
from cxloop.workspaces.schemas import WorkspaceCreate

NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
WS = "ws_personas"
EMPTY_SCORES = pa.table({"customer_id": pa.array([], pa.int64())})


@pytest.fixture(params=["duckdb", "postgresql"])
def warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Warehouse]:
    """An empty warehouse: a DuckDB file, or a schema of a PostgreSQL database (in place)."""
    if request.param == "duckdb":
        url = f"duckdb://{tmp_path / 'warehouse.duckdb'}"
    else:
        url = request.getfixturevalue("pg_url")
    found = Warehouse(url)
    yield found
    found.close()


# The three groups of the store: (customers, orders from/to, days between orders, basket in cents,
# category, coupon used, parcels late, NPS scores or None).
GROUPS: dict[str, dict[str, Any]] = {
    "toys": {"n": 70, "orders": (6, 10), "gap": (10, 20), "basket": (3000, 5000),
             "category": "Jouets & Jeux", "coupon": 0.0, "late": 0.0, "nps": (9, 10)},
    "books": {"n": 60, "orders": (1, 1), "gap": (60, 120), "basket": (1000, 2000),
              "category": "Books", "coupon": 1.0, "late": 0.0, "nps": None},
    "garden": {"n": 50, "orders": (2, 4), "gap": (30, 60), "basket": (15000, 30000),
               "category": "Garden", "coupon": 0.0, "late": 1.0, "nps": (0, 4)},
}  # fmt: skip


def _load(warehouse: Warehouse, seed: int = 7) -> dict[str, list[int]]:
    """Load the groups' orders, items, parcels and answers; returns each group's customer ids."""
    rng = np.random.default_rng(seed)
    orders: list[dict[str, Any]] = []
    items: list[dict[str, Any]] = []
    parcels: list[dict[str, Any]] = []
    answers: list[dict[str, Any]] = []
    members: dict[str, list[int]] = {}
    customer = 0
    for name, g in GROUPS.items():
        members[name] = []
        for _ in range(g["n"]):
            customer += 1
            members[name].append(customer)
            count = int(rng.integers(g["orders"][0], g["orders"][1] + 1))
            placed = NOW - dt.timedelta(days=float(rng.uniform(5, 30)))
            for _ in range(count):
                order_id = len(orders) + 1
                cents = int(rng.integers(*g["basket"]))
                coupon = rng.random() < g["coupon"]
                orders.append(
                    {"id": order_id, "customer_id": customer, "status": "paid",
                     "total_cents": cents, "refunded_cents": 0,
                     "discount_cents": 500 if coupon else 0,
                     "coupon_code": "WELCOME" if coupon else None, "source": "web",
                     "placed_at": placed, "updated_at": placed}
                )  # fmt: skip
                items.append(
                    {"id": order_id, "order_id": order_id, "product_id": 1, "quantity": 1,
                     "total_cents": cents, "category": g["category"]}
                )  # fmt: skip
                promised = placed + dt.timedelta(days=3)
                delivered = promised + dt.timedelta(days=4 if rng.random() < g["late"] else -1)
                parcels.append(
                    {"id": order_id, "order_id": order_id, "status": "delivered",
                     "shipped_at": placed, "promised_at": promised, "delivered_at": delivered}
                )  # fmt: skip
                placed -= dt.timedelta(days=float(rng.uniform(*g["gap"])))
            if g["nps"] is not None:
                answers.append(
                    {"id": customer, "customer_id": customer, "survey_id": 1,
                     "score": int(rng.integers(g["nps"][0], g["nps"][1] + 1)),
                     "status": "confirmed", "created_at": NOW - dt.timedelta(days=1)}
                )  # fmt: skip
    for table, rows in (
        ("orders", orders),
        ("order_items", items),
        ("shipments", parcels),
        ("answers", answers),
    ):
        warehouse.upsert(table, WS, pa.Table.from_pylist(rows), fresh=True)
    return members


def _by_group(codes: pa.Table, members: dict[str, list[int]]) -> dict[str, set[str]]:
    persona = dict(zip(codes["customer_id"].to_pylist(), codes["persona"].to_pylist(), strict=True))
    return {name: {persona[c] for c in ids} for name, ids in members.items()}


def test_groups_set_clearly_apart_become_personas_named_after_what_sets_them_apart(
    warehouse: Warehouse,
) -> None:
    # Given 180 customers in three groups: frequent toy buyers who never use a coupon and are
    # promoters, one-time book buyers who always use one, garden buyers with late parcels who
    # are detractors
    members = _load(warehouse)
    # When the personas are computed
    codes, report = personas.personas(warehouse, WS, NOW, EMPTY_SCORES)
    # Then there are three, one per group, largest first
    assert report["k"] == 3
    groups = _by_group(codes, members)
    assert groups == {"toys": {"p1"}, "books": {"p2"}, "garden": {"p3"}}
    found = {p["code"]: p for p in report["personas"]}
    assert [found[c]["customers"] for c in ("p1", "p2", "p3")] == [70, 60, 50]
    assert sum(p["share"] for p in report["personas"]) == pytest.approx(1.0, abs=1e-3)
    assert found["p3"]["revenue_share"] > found["p3"]["share"]
    # and each is described by its own features, in English and in French
    toys, books, garden = (found[c]["words"] for c in ("p1", "p2", "p3"))
    assert toys["en"]["name"] == "Frequent buyers of Jouets & Jeux"
    assert toys["fr"]["name"] == "Acheteurs fréquents de Jouets & Jeux"
    assert "promoters" in toys["en"]["description"]
    assert "promoteurs" in toys["fr"]["description"]
    assert books["en"]["name"] == "Occasional buyers of Books"
    assert "who often use a discount" in books["en"]["description"]
    assert "qui utilisent souvent une remise" in books["fr"]["description"]
    assert "Garden" in garden["en"]["name"]
    assert "often delivered late" in garden["en"]["description"]
    assert "souvent livrés en retard" in garden["fr"]["description"]
    assert "detractors" in garden["en"]["description"]
    # and the figures behind the words are the groups' own
    discount = {d["feature"]: d for d in found["p2"]["distinct"]}["discount"]
    assert (discount["direction"], discount["value"]) == ("higher", 1.0)
    assert found["p3"]["means"]["late"] == 1.0 and found["p1"]["means"]["late"] == 0.0
    assert 9 <= found["p1"]["means"]["nps"] <= 10
    assert found["p2"]["means"]["nps"] is None and found["p2"]["means"]["answered"] == 0.0
    assert set(report["bic"]) == {str(k) for k in personas.KS}
    assert report["sample"] == 180


def test_the_same_data_twice_gives_the_same_personas(tmp_path: Path) -> None:
    # Given two warehouses loaded with the same data
    reports, tables = [], []
    for name in ("a", "b"):
        warehouse = Warehouse(f"duckdb://{tmp_path / name}.duckdb")
        try:
            _load(warehouse)
            table, report = personas.personas(warehouse, WS, NOW, EMPTY_SCORES)
        finally:
            warehouse.close()
        reports.append(report)
        tables.append(table.sort_by("customer_id"))
    # Then every customer gets the same persona and the reports are equal
    assert tables[0].equals(tables[1])
    assert reports[0] == reports[1]


def test_too_few_customers_make_no_persona_and_the_report_says_why(tmp_path: Path) -> None:
    # Given a warehouse with 99 buyers
    warehouse = Warehouse(f"duckdb://{tmp_path / 'small.duckdb'}")
    try:
        rows = [
            {"id": i, "customer_id": i, "status": "paid", "total_cents": 1000 + i,
             "placed_at": NOW - dt.timedelta(days=i)}
            for i in range(1, 100)
        ]  # fmt: skip
        warehouse.upsert("orders", WS, pa.Table.from_pylist(rows), fresh=True)
        # When the personas are computed
        table, report = personas.personas(warehouse, WS, NOW, EMPTY_SCORES)
    finally:
        warehouse.close()
    # Then no customer has one, and the report says there are too few customers
    assert table.num_rows == 0
    assert report["k"] == 0 and report["personas"] == []
    assert (report["reason"], report["customers"], report["minimum"]) == (
        "too_few_customers",
        99,
        100,
    )


def test_the_average_value_comes_from_the_earlier_steps_scores(tmp_path: Path) -> None:
    # Given the three groups and a 12-month value of 10 per toy buyer, 1 per other customer
    warehouse = Warehouse(f"duckdb://{tmp_path / 'value.duckdb'}")
    try:
        members = _load(warehouse)
        ids = [c for group in members.values() for c in group]
        clv = [10.0 if c in members["toys"] else 1.0 for c in ids]
        scores = pa.table({"customer_id": pa.array(ids, pa.int64()), "clv_12m": clv})
        # When the personas are computed
        _, report = personas.personas(warehouse, WS, NOW, scores)
    finally:
        warehouse.close()
    # Then each persona's average value is its members'
    values = {p["code"]: p["average_clv_12m"] for p in report["personas"]}
    assert values == {"p1": 10.0, "p2": 1.0, "p3": 1.0}


# (operational store, warehouse), as in test_run.py: PostgreSQL in place is the store itself.
SETUPS = [("sqlite", "duckdb"), ("postgresql", "postgresql")]


@pytest.mark.parametrize("setup", SETUPS, ids=["-".join(s) for s in SETUPS])
def test_a_run_writes_each_buyers_persona_back_with_the_report(
    setup: tuple[str, str], request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    store, engine = setup
    db = Database(request.getfixturevalue("sqlite_url" if store == "sqlite" else "pg_url"))
    url = db.url if engine == "postgresql" else f"duckdb://{tmp_path / 'w.duckdb'}"
    # Given 60 one-time buyers of a small basket long ago and 60 who buy big every month
    with db.session() as session:
        workspace_id = workspaces.create_workspace(
            session, WorkspaceCreate(name="Shop")
        ).workspace_id
        groups: dict[str, list[Customer]] = {"once": [], "monthly": []}
        for name, group in groups.items():
            group.extend(
                Customer(workspace_id=workspace_id, user_id=f"{name}{i}") for i in range(60)
            )
            session.add_all(group)
        session.flush()
        for i, customer in enumerate(groups["once"]):
            placed = NOW - dt.timedelta(days=300 + i)
            session.add(_order(workspace_id, customer.id, f"o{i}", placed, 1500 + i))
        for i, customer in enumerate(groups["monthly"]):
            for month in range(5):
                placed = NOW - dt.timedelta(days=2 + i % 7 + 30 * month)
                session.add(_order(workspace_id, customer.id, f"m{i}-{month}", placed, 20000 + i))
        members = {name: {c.id for c in group} for name, group in groups.items()}
    try:
        # When the analytics run
        analytics.run_analytics(db, url, workspace_id, as_of=NOW)
        with db.session() as session:
            rows = session.execute(
                select(CustomerScore.customer_id, CustomerScore.persona).where(
                    CustomerScore.workspace_id == workspace_id
                )
            ).all()
            report = analytics.report(session, workspace_id, "personas")
    finally:
        db.dispose()
    # Then every buyer has a persona of the report, and no persona mixes the two groups
    assert report is not None and report.body["k"] >= 2
    codes = {p["code"] for p in report.body["personas"]}
    persona = dict(rows)
    assert len(persona) == 120 and set(persona.values()) == codes
    once = {persona[c] for c in members["once"]}
    monthly = {persona[c] for c in members["monthly"]}
    assert once and monthly and not once & monthly


def _order(workspace_id: str, customer_id: int, ref: str, placed: dt.datetime, cents: int) -> Order:
    return Order(
        workspace_id=workspace_id, external_id=ref, customer_id=customer_id, status="paid",
        total_cents=cents, placed_at=placed, updated_at=placed,
    )  # fmt: skip


def test_two_personas_told_by_the_same_features_get_different_names() -> None:
    # Given two personas whose distinguishing features give the same name
    frequent = {"feature": "orders", "direction": "higher", "value": 9.0, "population": 2.0}
    late = {"feature": "late", "direction": "higher", "value": 0.5, "population": 0.1}
    described = [
        {"code": "p1", "words": personas.describe([frequent])},
        {"code": "p2", "words": personas.describe([frequent, late])},
        {"code": "p3", "words": personas.describe([frequent])},
    ]
    # When they are told apart
    personas.unique_names(described)
    # Then the second takes its description, the third its code
    names = [p["words"]["en"]["name"] for p in described]
    assert names == ["Frequent buyers", "Frequent buyers, often delivered late",
                     "Frequent buyers (p3)"]  # fmt: skip
    assert described[1]["words"]["fr"]["name"] == "Acheteurs fréquents, souvent livrés en retard"
