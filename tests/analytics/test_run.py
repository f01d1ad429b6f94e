"""The warehouse sync and the analytics run, on SQLite and PostgreSQL stores, with the
warehouse in DuckDB, and on PostgreSQL in place (the operational database itself)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
from sqlalchemy import select, update

from cxloop import analytics
from cxloop.analytics.models import CustomerScore
from cxloop.analytics.rfm import COLUMNS
from cxloop.analytics.service import write_scores
from cxloop.analytics.sync import sync
from cxloop.analytics.warehouse import Warehouse
from cxloop.commerce.models import Order, OrderItem, Product, Shipment
from cxloop.segments import service as segment_service
from cxloop.segments.schemas import SegmentCreate
from cxloop.store.db import Database
from cxloop.surveys.models import Response
from cxloop.workspaces import service as workspaces
from cxloop.workspaces.models import AuditEntry
from cxloop.workspaces.schemas import WorkspaceCreate
from tests.helpers import factories

NOW = dt.datetime.now(dt.UTC)


def _store(db: Database) -> tuple[str, dict[str, int]]:
    """A workspace with four customers: a frequent recent buyer, a one-time recent buyer, an
    old buyer with a parcel still on its way, and one who never bought."""
    with db.session() as session:
        workspace_id = workspaces.create_workspace(
            session, WorkspaceCreate(name="Shop")
        ).workspace_id
    ids = {name: factories.customer(db, workspace_id) for name in ("fan", "newbie", "old", "none")}
    # Each order was last updated when placed (a history, as imported): outside the overlap.
    for name, days in [("fan", 3), ("fan", 40), ("fan", 80), ("fan", 120), ("fan", 200)]:
        placed = NOW - dt.timedelta(days=days)
        factories.order(db, workspace_id, ids[name], placed, updated_at=placed)
    placed = NOW - dt.timedelta(days=2.5)
    factories.order(db, workspace_id, ids["newbie"], placed, updated_at=placed)
    placed = NOW - dt.timedelta(days=300)
    factories.order(db, workspace_id, ids["old"], placed, updated_at=placed, promised_at=NOW)
    return workspace_id, ids


def test_a_second_sync_loads_nothing_twice_and_picks_up_changed_rows(
    stores: tuple[Database, str],
) -> None:
    any_db, url = stores
    # Given a store synced once
    workspace_id, ids = _store(any_db)
    warehouse = Warehouse(url)
    try:
        first = sync(any_db, warehouse, workspace_id)
        assert first.rows["orders"] == 7
        assert warehouse.count("orders", workspace_id) == 7
        # When nothing changes, a second sync loads no order and keeps one copy of everything
        again = sync(any_db, warehouse, workspace_id)
        assert again.rows["orders"] == 0
        assert again.rows["events"] == 0
        assert warehouse.count("orders", workspace_id) == 7
        assert warehouse.count("shipments", workspace_id) == 1
        # When an order is refunded and the parcel arrives after the first load
        with any_db.session() as session:
            session.execute(
                update(Order)
                .where(Order.customer_id == ids["newbie"])
                .values(refunded_cents=1000, updated_at=dt.datetime.now(dt.UTC))
            )
            # delivered days ago, as the carrier says, but heard of only now
            late_news = NOW - dt.timedelta(days=5)
            session.execute(update(Shipment).values(status="delivered", delivered_at=late_news))
        changed = sync(any_db, warehouse, workspace_id)
        # Then only the refunded order and the parcel come again, and their copies are replaced
        assert (changed.rows["orders"], changed.rows["shipments"]) == (1, 1)
        assert warehouse.count("orders", workspace_id) == 7
        orders = warehouse.table("orders")
        refunded = orders.filter(orders.customer_id == ids["newbie"]).refunded_cents.sum()
        assert refunded.execute() == 1000
        parcels = warehouse.table("shipments").to_pyarrow().to_pylist()
        assert [p["status"] for p in parcels] == ["delivered"]
        # and a parcel that arrived is not served again
        assert sync(any_db, warehouse, workspace_id).rows["shipments"] == 0
    finally:
        warehouse.close()


def test_a_run_writes_each_buyers_scores_back_and_audits_it(stores: tuple[Database, str]) -> None:
    any_db, url = stores
    # Given the store
    workspace_id, ids = _store(any_db)
    # When the analytics run
    summary = analytics.run_analytics(any_db, url, workspace_id, as_of=NOW)
    # Then the three buyers are scored, the one who never bought is not
    assert summary.customers == 3
    with any_db.session() as session:
        fan = analytics.scores_of(session, workspace_id, ids["fan"])
        newbie = analytics.scores_of(session, workspace_id, ids["newbie"])
        old = analytics.scores_of(session, workspace_id, ids["old"])
        assert analytics.scores_of(session, workspace_id, ids["none"]) is None
        counts = analytics.segment_counts(session, workspace_id)
        audit = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "analytics.scores_written")
        ).one()
    assert fan is not None and newbie is not None and old is not None
    # the fan: 5 orders, 3 days ago, 249.50 €; with three buyers a score is 1 + floor(5 × b / 3)
    # for b buyers strictly worse: two have fewer orders (F 4), less money (M 4), one is older (R 2)
    assert (fan.frequency, fan.recency_days, fan.monetary) == (5, 3, 249.5)
    assert (newbie.recency_days, old.recency_days) == (2, 300)
    assert (fan.r, fan.f, fan.m, fan.rfm_segment) == (2, 4, 4, "at_risk")
    # the two single buyers tie on F (1) and on M (1); the newbie is the most recent (R 4)
    assert (newbie.r, newbie.f, newbie.m, newbie.rfm_segment) == (4, 1, 1, "promising")
    assert (old.r, old.f, old.m, old.rfm_segment) == (1, 1, 1, "lost")
    assert fan.clv_12m is None and fan.computed_at == NOW
    assert counts["at_risk"] == counts["promising"] == counts["lost"] == 1
    assert sum(counts.values()) == 3
    assert audit.data["customers"] == 3
    # When run again, the scores are replaced, not added to
    again = analytics.run_analytics(any_db, url, workspace_id, as_of=NOW)
    assert again.sync.rows["orders"] == 0
    with any_db.session() as session:
        assert sum(analytics.segment_counts(session, workspace_id).values()) == 3
    # and when the old buyer's order is cancelled, the next run scores him no more and moves
    # the others to their new scores
    with any_db.session() as session:
        session.execute(
            update(Order)
            .where(Order.customer_id == ids["old"])
            .values(status="cancelled", updated_at=dt.datetime.now(dt.UTC))
        )
    later = NOW + dt.timedelta(days=1)
    third = analytics.run_analytics(any_db, url, workspace_id, as_of=later)
    assert third.customers == 2
    with any_db.session() as session:
        assert analytics.scores_of(session, workspace_id, ids["old"]) is None
        fan = analytics.scores_of(session, workspace_id, ids["fan"])
        assert sum(analytics.segment_counts(session, workspace_id).values()) == 2
    assert fan is not None and (fan.recency_days, fan.computed_at) == (4, later)


def test_a_run_refreshes_dynamic_segments_from_the_customers_facts(
    stores: tuple[Database, str],
) -> None:
    any_db, url = stores
    # Given the store, a detractor complaining about the shipping cost, and three segments
    workspace_id, ids = _store(any_db)
    unhappy = factories.answer(
        any_db, workspace_id, 3, "Les frais de port sont beaucoup trop chers.", now=NOW
    )
    conditions = {
        "repeat": 'orders.count >= 2 and locale = "fr" and has_email',
        "quiet": "orders.last_days > 100 and shipments.count = 1",
        "never_bought": "orders.count is null",
        "shipping_detractors": 'nps.category = "detractor" and nps.themes contains "delivery_cost"',
    }
    with any_db.session() as session:
        for key, condition in conditions.items():
            body = SegmentCreate(key=key, name=key, condition=condition)
            segment_service.create_segment(session, workspace_id, body, actor="t")
        complainer = session.scalar(select(Response.customer_id).where(Response.id == unhappy))
    # When the analytics run
    summary = analytics.run_analytics(any_db, url, workspace_id, as_of=NOW)
    # Then each segment holds the customers its condition is true for
    with any_db.session() as session:
        held = {
            key: segment_service.member_ids(
                session, segment_service.found_segment(session, workspace_id, key)
            )
            for key in conditions
        }
    assert held == {
        "repeat": {ids["fan"]},
        "quiet": {ids["old"]},
        "never_bought": {ids["none"]},
        "shipping_detractors": {complainer},
    }
    assert summary.changes["repeat"] == {"entered": 1, "left": 0}
    # and a second run with nothing new moves no one
    again = analytics.run_analytics(any_db, url, workspace_id, as_of=NOW)
    assert all(c == {"entered": 0, "left": 0} for c in again.changes.values())


def test_a_runs_reports_are_kept_by_kind_and_replaced_whole_by_the_next(
    any_db: Database,
) -> None:
    # Given a workspace whose scores are written with two reports
    with any_db.session() as session:
        workspace_id = workspaces.create_workspace(
            session, WorkspaceCreate(name="Shop")
        ).workspace_id
    # (no customer scored: the reports stand alone)
    empty = pa.table(
        {n: pa.array([], pa.string() if n == "rfm_segment" else pa.int64()) for n in COLUMNS}
    )
    first = NOW - dt.timedelta(days=1)
    reports = {"clv": {"auc": 0.71, "bins": [1, 2]}, "personas": {"k": 3}}
    with any_db.session() as session:
        write_scores(session, workspace_id, empty, at=first, actor="t", reports=reports)
    # Then each is read back by kind, as written, with its time
    with any_db.session() as session:
        clv = analytics.report(session, workspace_id, "clv")
        assert analytics.report(session, workspace_id, "experience") is None
    assert clv is not None and clv.body == {"auc": 0.71, "bins": [1, 2]}
    assert clv.computed_at == first
    # When the next run writes only one kind, the other is gone (reports are the last run's)
    with any_db.session() as session:
        write_scores(session, workspace_id, empty, at=NOW, actor="t", reports={"clv": {"auc": 0.8}})
    with any_db.session() as session:
        clv = analytics.report(session, workspace_id, "clv")
        assert analytics.report(session, workspace_id, "personas") is None
    assert clv is not None and clv.body == {"auc": 0.8} and clv.computed_at == NOW


def _scores(customers: dict[int, tuple[int, str]]) -> pa.Table:
    """RFM columns for customers by id: (frequency, segment); the rest fixed."""
    ids = list(customers)
    return pa.table(
        {
            n: pa.array(
                [customers[i][1] for i in ids]
                if n == "rfm_segment"
                else ids
                if n == "customer_id"
                else [customers[i][0] if n == "frequency" else 3 for i in ids],
                pa.string() if n == "rfm_segment" else pa.int64(),
            )
            for n in COLUMNS
        }
    ).append_column("clv_12m", pa.array([float(customers[i][0]) for i in ids]))


def test_written_scores_replace_the_workspaces_last_ones_and_no_other_workspaces(
    any_db: Database,
) -> None:
    # Given two workspaces, each with scores written for three customers
    spaces = {}
    for name in ("Shop", "Other"):
        with any_db.session() as session:
            ws = workspaces.create_workspace(session, WorkspaceCreate(name=name)).workspace_id
        people = [factories.customer(any_db, ws) for _ in range(4)]
        spaces[ws] = people
        with any_db.session() as session:
            scored = {people[0]: (1, "lost"), people[1]: (2, "loyal"), people[2]: (3, "loyal")}
            write_scores(session, ws, _scores(scored), at=NOW, actor="t")
    shop, other = spaces
    _, b, c, d = spaces[shop]
    # When the next run scores b and c again (changed), d for the first time, and a no more
    later = NOW + dt.timedelta(days=1)
    with any_db.session() as session:
        changed = {b: (5, "champions"), c: (3, "loyal"), d: (1, "new")}
        write_scores(session, shop, _scores(changed), at=later, actor="t")
    # Then the workspace holds exactly the new scores, all of the new run
    with any_db.session() as session:
        rows = session.scalars(select(CustomerScore).where(CustomerScore.workspace_id == shop))
        found = {
            r.customer_id: (r.frequency, r.rfm_segment, r.clv_12m, r.computed_at) for r in rows
        }
        kept = session.scalars(
            select(CustomerScore.customer_id).where(CustomerScore.workspace_id == other)
        ).all()
    assert found == {
        b: (5, "champions", 5.0, later),
        c: (3, "loyal", 3.0, later),
        d: (1, "new", 1.0, later),
    }
    # And the other workspace's scores are untouched
    assert sorted(kept) == sorted(spaces[other][:3])


def test_a_warehouse_made_with_older_columns_is_rebuilt_and_loaded_again_whole(
    tmp_path: Path, sqlite_url: str
) -> None:
    db = Database(sqlite_url)
    try:
        workspace_id, ids = _store(db)
        with db.session() as session:
            product = Product(
                workspace_id=workspace_id, sku="K1", title="Kite", category="toys", price_cents=4990
            )
            session.add(product)
            session.flush()
            order_id = session.scalars(
                select(Order.id).where(Order.customer_id == ids["old"])
            ).one()
            session.add(
                OrderItem(
                    workspace_id=workspace_id,
                    order_id=order_id,
                    product_id=product.id,
                    sku="K1",
                    title="Kite",
                    unit_price_cents=4990,
                    total_cents=4990,
                )
            )
            session.execute(update(Order).values(coupon_code="WELCOME", discount_cents=500))
        url = f"duckdb://{tmp_path / 'warehouse.duckdb'}"
        # Given a warehouse whose orders were loaded by a version without the newer columns
        warehouse = Warehouse(url)
        try:
            sync(db, warehouse, workspace_id)
            warehouse._run(f"ALTER TABLE {warehouse.name('orders')} DROP COLUMN coupon_code")
            warehouse._commit()
        finally:
            warehouse.close()
        # When it is opened again and synced
        warehouse = Warehouse(url)
        try:
            assert warehouse.count("orders", workspace_id) == 0
            again = sync(db, warehouse, workspace_id)
            # Then the orders and their items are loaded whole, with the new columns
            assert again.rows["orders"] == 7
            orders = warehouse.table("orders").to_pyarrow().to_pylist()
            assert {(o["coupon_code"], o["discount_cents"]) for o in orders} == {("WELCOME", 500)}
            items = warehouse.table("order_items").to_pyarrow().to_pylist()
            assert [i["category"] for i in items] == ["toys"]
            # and the tables it did not touch kept their rows and watermark
            assert warehouse.count("shipments", workspace_id) == 1
            assert warehouse.watermark(workspace_id, "shipments") is not None
        finally:
            warehouse.close()
    finally:
        db.dispose()
