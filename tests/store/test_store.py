"""The operational store, on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
from functools import partial

import pytest
from sqlalchemy import func, inspect, select
from sqlalchemy.exc import IntegrityError

from cxloop.commerce.models import Order, OrderItem, Product, Shipment
from cxloop.ingest.models import Event
from cxloop.profiles.models import Customer, Identity
from cxloop.store.db import Database, after_commit, downgrade, migrate
from cxloop.workspaces import service
from cxloop.workspaces.models import Workspace
from cxloop.workspaces.schemas import WorkspaceCreate

CORE_TABLES = {
    "workspaces",
    "users",
    "memberships",
    "api_keys",
    "audit_log",
    "customers",
    "identities",
    "products",
    "orders",
    "order_items",
    "shipments",
    "events",
    "job_runs",
}
PARIS = dt.timezone(dt.timedelta(hours=1))


def _workspace(db: Database, name: str = "Boutique") -> str:
    with db.session() as session:
        return service.create_workspace(session, WorkspaceCreate(name=name)).workspace_id


def test_migrations_create_every_core_table_and_go_back_down(any_db: Database) -> None:
    # given a migrated store
    assert set(inspect(any_db.engine).get_table_names()) >= CORE_TABLES
    # when migrating down to nothing and up again
    downgrade(any_db.engine, "base")
    assert set(inspect(any_db.engine).get_table_names()) - {"alembic_version"} == set()
    migrate(any_db.engine)
    # then the tables are back
    assert set(inspect(any_db.engine).get_table_names()) >= CORE_TABLES


def test_every_table_but_global_ones_is_scoped_by_workspace(any_db: Database) -> None:
    # a console session belongs to a user, a sign-in throttle to an account or an address
    global_tables = {"workspaces", "users", "user_sessions", "login_throttles", "alembic_version"}
    for table in inspect(any_db.engine).get_table_names():
        if table in global_tables:
            continue
        columns = {c["name"] for c in inspect(any_db.engine).get_columns(table)}
        assert "workspace_id" in columns, table


def test_times_come_back_as_the_same_instant_in_utc(any_db: Database) -> None:
    ws = _workspace(any_db)
    placed = dt.datetime(2026, 3, 1, 9, 30, tzinfo=PARIS)
    with any_db.session() as session:
        session.add(Order(workspace_id=ws, external_id="1001", placed_at=placed, total_cents=4990))
    with any_db.session() as session:
        order = session.scalars(select(Order)).one()
        assert order.placed_at == placed
        assert order.placed_at.utcoffset() == dt.timedelta(0)
        assert order.placed_at.hour == 8


def test_naive_times_are_refused(any_db: Database) -> None:
    ws = _workspace(any_db)
    with pytest.raises(Exception, match="naive datetime"), any_db.session() as session:
        session.add(Order(workspace_id=ws, external_id="1", placed_at=dt.datetime(2026, 1, 1)))  # noqa: DTZ001
        session.flush()


def test_the_same_ids_may_exist_in_two_workspaces_but_not_twice_in_one(any_db: Database) -> None:
    first, second = _workspace(any_db, "A"), _workspace(any_db, "B")
    with any_db.session() as session:
        for ws in (first, second):
            session.add(Customer(workspace_id=ws, user_id="u1", email="a@example.com"))
    with pytest.raises(IntegrityError), any_db.session() as session:
        session.add(Customer(workspace_id=first, user_id="u1"))
    with any_db.session() as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == 2


def test_foreign_keys_are_enforced(any_db: Database) -> None:
    with pytest.raises(IntegrityError), any_db.session() as session:
        session.add(Customer(workspace_id="ws_missing", user_id="u1"))


def test_deleting_a_workspace_removes_all_its_rows_and_nothing_else(any_db: Database) -> None:
    # given two workspaces, each with a customer, an identity, an order with an item and a parcel
    kept, dropped = _workspace(any_db, "kept"), _workspace(any_db, "dropped")
    now = dt.datetime.now(dt.UTC)
    with any_db.session() as session:
        for ws in (kept, dropped):
            customer = Customer(workspace_id=ws, user_id="u1")
            product = Product(workspace_id=ws, sku="SKU1", title="Pull", price_cents=3900)
            session.add_all([customer, product])
            session.flush()
            session.add(
                Identity(
                    workspace_id=ws, customer_id=customer.id, kind="email", value="a@example.com"
                )
            )
            order = Order(
                workspace_id=ws,
                external_id="1",
                customer_id=customer.id,
                placed_at=now,
                total_cents=3900,
            )
            session.add(order)
            session.flush()
            session.add(
                OrderItem(
                    workspace_id=ws,
                    order_id=order.id,
                    product_id=product.id,
                    sku="SKU1",
                    title="Pull",
                    unit_price_cents=3900,
                    total_cents=3900,
                )
            )
            session.add(
                Shipment(
                    workspace_id=ws,
                    order_id=order.id,
                    external_id="S1",
                    promised_at=now,
                    delivered_at=now,
                )
            )
            session.add(
                Event(
                    workspace_id=ws,
                    message_id="m1",
                    type="track",
                    event="Order Completed",
                    customer_id=customer.id,
                    timestamp=now,
                )
            )
    # when one workspace is deleted
    with any_db.session() as session:
        session.delete(session.get(Workspace, dropped))
    # then its rows are gone and the other's are intact
    with any_db.session() as session:
        for model in (Customer, Identity, Product, Order, OrderItem, Shipment, Event):
            owners = set(session.scalars(select(model.workspace_id)))
            assert owners == {kept}, model.__tablename__


def test_json_documents_round_trip(any_db: Database) -> None:
    ws = _workspace(any_db)
    traits = {"firstName": "Élodie", "tags": ["vip", "newsletter"], "nested": {"a": 1}}
    with any_db.session() as session:
        session.add(Customer(workspace_id=ws, user_id="u1", traits=traits))
    with any_db.session() as session:
        assert session.scalars(select(Customer.traits)).one() == traits


def test_sqlite_runs_in_wal_mode_with_foreign_keys(db: Database) -> None:
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_effects_run_after_the_commit_and_never_after_a_rollback(any_db: Database) -> None:
    seen: list[tuple[str, int]] = []

    def count_from_outside(label: str) -> None:
        # what another connection sees when the effect runs: the commit is visible
        with any_db.session() as other:
            seen.append((label, int(other.scalar(select(func.count(Workspace.id))) or 0)))

    # when an action leaves an effect on a session that commits
    with any_db.session() as session:
        service.create_workspace(session, WorkspaceCreate(name="Committed"))
        after_commit(session, partial(count_from_outside, "committed"))
        assert seen == []  # nothing runs inside the transaction
    # and on one that rolls back
    with pytest.raises(RuntimeError), any_db.session() as session:
        service.create_workspace(session, WorkspaceCreate(name="Rolled back"))
        after_commit(session, partial(count_from_outside, "rolled back"))
        raise RuntimeError("the action failed")
    # then only the first runs, once its row is there for everyone
    assert seen == [("committed", 1)]
