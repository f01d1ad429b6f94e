"""The demo store: deterministic numbers, tables that agree with them, a realistic shop."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cxloop.commerce.models import Order, OrderItem, Product, Shipment
from cxloop.demo.service import DemoSummary, build_demo
from cxloop.ingest.models import Event
from cxloop.profiles.models import Customer, Identity
from cxloop.store.db import Database
from cxloop.workspaces.models import AuditEntry

AS_OF = dt.date(2025, 3, 1)
END = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
START = END - dt.timedelta(days=730)


def _build(
    url: str,
    *,
    customers: int,
    seed: int,
    as_of: dt.date = AS_OF,
    progress: Callable[[str, int, int], None] | None = None,
) -> DemoSummary:
    db = Database(url)
    try:
        return build_demo(db, customers=customers, seed=seed, as_of=as_of, progress=progress)
    finally:
        db.dispose()


def _numbers(summary: DemoSummary) -> dict[str, object]:
    numbers = summary.summary()
    del numbers["workspace_id"]
    return numbers


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Database, DemoSummary]]:
    """One 2,000-customer demo (seed 1) that the read-only tests share."""
    db = Database(f"sqlite:///{tmp_path_factory.mktemp('demo') / 'shop.db'}")
    summary = build_demo(db, customers=2000, seed=1, as_of=AS_OF)
    yield db, summary
    db.dispose()


def test_the_same_seed_gives_the_same_numbers_in_two_databases(tmp_path: Path) -> None:
    # given two empty databases
    first_url = f"sqlite:///{tmp_path / 'a.db'}"
    second_url = f"sqlite:///{tmp_path / 'b.db'}"

    # when the same demo is built in each
    first = _build(first_url, customers=300, seed=1, as_of=AS_OF)
    second = _build(second_url, customers=300, seed=1, as_of=AS_OF)

    # then only the workspace differs
    assert first.workspace_id != second.workspace_id
    assert _numbers(first) == _numbers(second)
    assert first.customers == 300
    assert first.products == 500
    assert set(first.summary()) == {"workspace_id", "customers", "products", "orders", "revenue"}


def test_another_seed_gives_other_numbers(tmp_path: Path) -> None:
    # given a demo built with seed 1
    one = _build(f"sqlite:///{tmp_path / 'a.db'}", customers=300, seed=1, as_of=AS_OF)

    # when another is built with seed 2
    two = _build(f"sqlite:///{tmp_path / 'b.db'}", customers=300, seed=2, as_of=AS_OF)

    # then orders and revenue differ, the sizes do not
    assert (one.customers, one.products) == (two.customers, two.products)
    assert one.orders != two.orders
    assert one.revenue != two.revenue


def test_moving_as_of_moves_the_timestamps_but_not_the_numbers(tmp_path: Path) -> None:
    # given a demo as of 1 March 2025
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    base = _build(url, customers=300, seed=1, as_of=AS_OF)

    # when the same demo is built five days later, in the same database
    later = _build(url, customers=300, seed=1, as_of=AS_OF + dt.timedelta(days=5))

    # then the numbers are the same and the history ends five days later
    assert _numbers(base) == _numbers(later)
    db = Database(url)
    with db.session() as session:
        last = {
            ws: session.scalar(select(func.max(Order.placed_at)).where(Order.workspace_id == ws))
            for ws in (base.workspace_id, later.workspace_id)
        }
    db.dispose()
    assert last[base.workspace_id] is not None
    assert last[later.workspace_id] is not None
    assert last[base.workspace_id] < END <= last[later.workspace_id]


def test_the_summary_matches_the_tables(shop: tuple[Database, DemoSummary]) -> None:
    # given the shared demo
    db, summary = shop

    # when its rows are counted
    with db.session() as session:
        ws = summary.workspace_id

        def count(model: type[Customer | Product | Order | Event]) -> int:
            return (
                session.scalar(
                    select(func.count()).select_from(model).where(model.workspace_id == ws)
                )
                or 0
            )

        customers, products, orders, events = (
            count(Customer),
            count(Product),
            count(Order),
            count(Event),
        )
        gross, refunds = session.execute(
            select(func.sum(Order.total_cents), func.sum(Order.refunded_cents)).where(
                Order.workspace_id == ws, Order.status != "cancelled"
            )
        ).one()

    # then they agree with the summary: revenue is kept gross sales less refunds
    assert (customers, products, orders, events) == (2000, 500, summary.orders, summary.orders)
    assert summary.revenue == round((gross - refunds) / 100, 2)


def test_the_catalog_has_500_products_in_french_and_english_with_svg_images(
    shop: tuple[Database, DemoSummary],
) -> None:
    # given the shared demo
    db, summary = shop

    # when its catalog is read
    with db.session() as session:
        products = session.scalars(
            select(Product).where(Product.workspace_id == summary.workspace_id)
        ).all()

    # then every product has both languages, a price in cents and a coloured SVG placeholder
    assert len(products) == 500
    assert len({p.sku for p in products}) == 500
    assert len({p.title for p in products}) == 500
    for product in products:
        english = product.translations["en"]
        assert english["title"] and english["description"]
        assert english["title"] != product.title
        assert product.image_url is not None
        assert product.image_url.startswith("data:image/svg+xml;utf8,%3Csvg")
        assert product.price_cents > 0
        assert product.currency == "EUR"
        if product.sale_price_cents is not None:
            assert product.sale_price_cents < product.price_cents
    categories = Counter(p.category for p in products)
    assert {"Pulls et gilets", "Chaussures", "Jouets", "Livres jeunesse"} <= set(categories)
    titles = {p.title for p in products}
    assert any(t.startswith("Pull col rond en laine mérinos") for t in titles)
    assert any(t.startswith("Album jeunesse : ") for t in titles)
    assert any(t.startswith("Baskets en toile ") for t in titles)


def test_about_one_delivered_parcel_in_ten_is_late(shop: tuple[Database, DemoSummary]) -> None:
    # given the shared demo
    db, summary = shop

    # when its delivered parcels are compared with their promised dates
    with db.session() as session:
        parcels = session.execute(
            select(Shipment.delivered_at, Shipment.promised_at).where(
                Shipment.workspace_id == summary.workspace_id, Shipment.status == "delivered"
            )
        ).all()

    # then about 10% arrived after the promise
    late = sum(delivered > promised for delivered, promised in parcels)
    assert len(parcels) > 4000
    assert 0.07 <= late / len(parcels) <= 0.13


def test_repeat_buying_is_skewed(shop: tuple[Database, DemoSummary]) -> None:
    # given the shared demo
    db, summary = shop

    # when orders are counted per customer
    with db.session() as session:
        per_customer = session.scalars(
            select(func.count())
            .select_from(Order)
            .where(Order.workspace_id == summary.workspace_id)
            .group_by(Order.customer_id)
        ).all()

    # then most bought once, a tail bought many times, and everyone bought
    assert len(per_customer) == 2000
    assert sum(n == 1 for n in per_customer) / 2000 > 0.5
    assert sum(n >= 5 for n in per_customer) / 2000 > 0.05
    assert max(per_customer) >= 15
    assert 2.0 <= sum(per_customer) / 2000 <= 3.0


def test_november_and_december_are_busier_than_the_average_month(
    shop: tuple[Database, DemoSummary],
) -> None:
    # given the shared demo, whose last twelve months run from March 2024 to February 2025
    db, summary = shop

    # when its orders of those months are counted by month
    with db.session() as session:
        placed = session.scalars(
            select(Order.placed_at).where(
                Order.workspace_id == summary.workspace_id,
                Order.placed_at >= dt.datetime(2024, 3, 1, tzinfo=dt.UTC),
            )
        ).all()
    months = Counter(t.month for t in placed)

    # then November and December are each above the monthly average
    average = sum(months.values()) / 12
    assert len(months) == 12
    assert months[11] > average
    assert months[12] > average


def test_orders_stay_inside_the_history_with_aware_utc_times(
    shop: tuple[Database, DemoSummary],
) -> None:
    # given the shared demo
    db, summary = shop

    # when its orders are read back
    with db.session() as session:
        orders = session.scalars(
            select(Order).where(Order.workspace_id == summary.workspace_id)
        ).all()

    # then they fall in the 730 days before as_of, and external ids are unique
    assert all(START <= o.placed_at < END for o in orders)
    assert all(o.placed_at.tzinfo == dt.UTC for o in orders)
    assert len({o.external_id for o in orders}) == len(orders)
    assert {o.status for o in orders} <= {"paid", "fulfilled", "cancelled", "refunded"}
    assert all((o.cancelled_at is not None) == (o.status == "cancelled") for o in orders)


def test_money_adds_up_in_cents(shop: tuple[Database, DemoSummary]) -> None:
    # given the shared demo
    db, summary = shop
    ws = summary.workspace_id

    # when orders and their lines are read back
    with db.session() as session:
        orders = session.scalars(select(Order).where(Order.workspace_id == ws)).all()
        lines = dict(
            session.execute(
                select(OrderItem.order_id, func.sum(OrderItem.total_cents))
                .where(OrderItem.workspace_id == ws)
                .group_by(OrderItem.order_id)
            ).all()
        )
        no_parcel = session.scalars(
            select(func.count())
            .select_from(Order)
            .outerjoin(Shipment, Shipment.order_id == Order.id)
            .where(Order.workspace_id == ws, Shipment.id.is_(None))
        ).one()

    # then totals are lines less discount plus delivery, free from 50 € in France
    for order in orders:
        assert lines[order.id] == order.subtotal_cents
        expected = order.subtotal_cents - order.discount_cents + order.shipping_cents
        assert order.total_cents == expected
        assert 0 <= order.refunded_cents <= order.total_cents
        net = order.subtotal_cents - order.discount_cents
        if order.shipping_country == "FR" and net >= 15000:
            assert order.shipping_cents == 0
        if order.shipping_country == "FR" and net < 5000:
            assert order.shipping_cents in (490, 990)
    # and only cancelled orders have no parcel
    assert no_parcel == sum(o.status == "cancelled" for o in orders)


def test_each_order_has_one_order_completed_event_in_segment_shape(
    shop: tuple[Database, DemoSummary],
) -> None:
    # given the shared demo
    db, summary = shop
    ws = summary.workspace_id

    # when the first order and its event are read
    with db.session() as session:
        order = session.scalars(
            select(Order).where(Order.workspace_id == ws).order_by(Order.id).limit(1)
        ).one()
        lines = session.scalars(select(OrderItem).where(OrderItem.order_id == order.id)).all()
        event = session.scalars(
            select(Event).where(
                Event.workspace_id == ws, Event.message_id == f"demo-order-{order.external_id}"
            )
        ).one()
        customer = session.get(Customer, order.customer_id)

    # then the event mirrors the order
    assert customer is not None
    assert (event.type, event.event) == ("track", "Order Completed")
    assert (event.customer_id, event.user_id) == (customer.id, customer.user_id)
    assert event.timestamp == order.placed_at == event.received_at
    properties = event.properties
    assert properties["order_id"] == order.external_id
    assert properties["total"] == order.total_cents / 100
    assert properties["shipping"] == order.shipping_cents / 100
    assert properties["revenue"] == (order.subtotal_cents - order.discount_cents) / 100
    assert properties["currency"] == "EUR"
    assert [(p["sku"], p["quantity"], p["price"]) for p in properties["products"]] == [
        (line.sku, line.quantity, line.unit_price_cents / 100) for line in lines
    ]
    assert set(properties["products"][0]) >= {
        "product_id",
        "sku",
        "name",
        "price",
        "quantity",
        "category",
    }


def test_each_customer_has_a_user_id_and_an_email_identity(
    shop: tuple[Database, DemoSummary],
) -> None:
    # given the shared demo
    db, summary = shop
    ws = summary.workspace_id

    # when customers and identities are read back
    with db.session() as session:
        customers = session.scalars(
            select(Customer).where(Customer.workspace_id == ws).order_by(Customer.id)
        ).all()
        identities = session.scalars(select(Identity).where(Identity.workspace_id == ws)).all()

    # then each customer has exactly those two, from the demo, with a sample-domain email
    assert customers[0].user_id == "cust_000001"
    by_customer = {(i.customer_id, i.kind): i.value for i in identities}
    assert len(identities) == 2 * len(customers) == len(by_customer)
    assert {i.source for i in identities} == {"demo"}
    for customer in customers:
        assert by_customer[(customer.id, "user_id")] == customer.user_id
        assert by_customer[(customer.id, "email")] == customer.email
        assert customer.email is not None
        assert customer.email.split("@")[1] in ("example.com", "example.org", "example.net")
    assert {c.locale for c in customers} == {"fr", "en"}
    assert Counter(c.country for c in customers).most_common(1)[0][0] == "FR"


def test_a_second_demo_leaves_the_first_one_alone(tmp_path: Path) -> None:
    # given a database with one demo in it
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    first = _build(url, customers=300, seed=1, as_of=AS_OF)

    # when another demo is built in the same database
    second = _build(url, customers=200, seed=3, as_of=AS_OF)

    # then each workspace has exactly its own rows
    db = Database(url)
    with db.session() as session:
        for summary in (first, second):
            ws = summary.workspace_id
            orders = session.scalar(
                select(func.count()).select_from(Order).where(Order.workspace_id == ws)
            )
            items_elsewhere = session.scalar(
                select(func.count())
                .select_from(OrderItem)
                .join(Order, Order.id == OrderItem.order_id)
                .where(OrderItem.workspace_id == ws, Order.workspace_id != ws)
            )
            assert orders == summary.orders
            assert items_elsewhere == 0
        actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    db.dispose()
    assert actions == ["workspace.create", "demo.build"] * 2


def test_progress_reaches_the_end_of_every_stage(tmp_path: Path) -> None:
    # given a progress callback that records what it is told
    calls: list[tuple[str, int, int]] = []

    # when a small demo is built
    summary = _build(
        f"sqlite:///{tmp_path / 'shop.db'}",
        customers=50,
        seed=1,
        as_of=AS_OF,
        progress=lambda stage, done, total: calls.append((stage, done, total)),
    )

    # then every stage starts at zero and ends at its total
    stages = list(dict.fromkeys(stage for stage, _, _ in calls))
    assert stages == [
        "generate",
        "products",
        "customers",
        "identities",
        "orders",
        "order_items",
        "shipments",
        "events",
    ]
    last = {stage: (done, total) for stage, done, total in calls}
    assert all(done == total for done, total in last.values())
    assert last["orders"] == (summary.orders, summary.orders)
    assert last["customers"] == (50, 50)


@pytest.mark.parametrize(("customers", "seed", "field"), [(0, 1, "customers"), (10, -1, "seed")])
def test_bad_arguments_are_refused_before_anything_is_written(
    tmp_path: Path, customers: int, seed: int, field: str
) -> None:
    # given an empty database
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    db = Database(url)

    # when a demo is asked for with a bad argument
    with pytest.raises(ValueError, match=field):
        build_demo(db, customers=customers, seed=seed)

    # then nothing was written
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 0
    db.dispose()


@pytest.mark.postgres
def test_postgresql_gets_the_same_numbers_and_working_sequences(
    pg_url: str, tmp_path: Path
) -> None:
    # given the same demo on SQLite
    on_sqlite = _build(f"sqlite:///{tmp_path / 'shop.db'}", customers=300, seed=1, as_of=AS_OF)

    # when it is built on PostgreSQL
    db = Database(pg_url)
    on_postgres = build_demo(db, customers=300, seed=1, as_of=AS_OF)

    # then the numbers agree, and new rows after it get fresh ids
    assert _numbers(on_postgres) == _numbers(on_sqlite)
    with db.session() as session:
        revenue = session.scalar(
            select(func.sum(Order.total_cents - Order.refunded_cents)).where(
                Order.workspace_id == on_postgres.workspace_id,
                Order.status != "cancelled",
            )
        )
        order = Order(workspace_id=on_postgres.workspace_id, external_id="WEB-1", placed_at=END)
        session.add(order)
        session.flush()
        new_id = order.id
    db.dispose()
    assert revenue == round(on_postgres.revenue * 100)
    assert new_id == on_postgres.orders + 1
