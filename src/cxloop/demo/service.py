"""Build the demo store: generate it, then write it into a fresh workspace in one transaction.

Rows go in through SQLAlchemy Core ``executemany`` in chunks, with primary keys assigned
here (after the current maximum of each table) so that order lines, parcels and events can
point at their orders and customers without reading anything back.

Revenue, in the summary and everywhere in the demo, is the gross sales (``total_cents``:
lines less discount plus delivery) of the orders that were not cancelled, minus what was
refunded on them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.orm import Session

from cxloop.demo.generator import HORIZON_DAYS, Store, Times, generate_store
from cxloop.store.db import Database
from cxloop.store.registry import load_models
from cxloop.workspaces.schemas import WorkspaceCreate
from cxloop.workspaces.service import audit, create_workspace

Progress = Callable[[str, int, int], None]
CHUNK = 20_000
STORE_NAME = "Maison Colibri (démo)"
CURRENCY = "EUR"
SOURCE = "demo"


# In foreign-key order: each table only points at tables before it. Tables come from the
# store's registry so that the demo depends on no other domain's models.
TABLES: dict[str, Table] = {
    name: load_models().metadata.tables[name]
    for name in (
        "products",
        "customers",
        "identities",
        "orders",
        "order_items",
        "shipments",
        "events",
    )
}


@dataclass(frozen=True)
class DemoSummary:
    """What ``build_demo`` made: the workspace, its keys and the store's headline numbers."""

    workspace_id: str
    write_key: str
    admin_key: str
    customers: int
    products: int
    orders: int
    revenue: float

    def summary(self) -> dict[str, Any]:
        """The headline numbers, without the keys: what ``cxloop demo --json`` shows."""
        return {
            "workspace_id": self.workspace_id,
            "customers": self.customers,
            "products": self.products,
            "orders": self.orders,
            "revenue": self.revenue,
        }


def _silent(stage: str, done: int, total: int) -> None:
    return None


def build_demo(
    db: Database,
    *,
    customers: int = 5000,
    seed: int = 1,
    as_of: dt.date | None = None,
    progress: Progress | None = None,
) -> DemoSummary:
    """Create a fresh workspace holding a generated store; same seed, same numbers.

    The history covers the 730 days before ``as_of`` (default: today, UTC). Counts and
    amounts depend on ``customers`` and ``seed`` only; ``as_of`` only moves the timestamps.
    ``progress(stage, done, total)`` is called as each stage advances.
    """
    if customers < 1:
        raise ValueError("customers must be at least 1")
    if seed < 0:
        raise ValueError("seed must not be negative")
    report = progress or _silent
    day = as_of or dt.datetime.now(dt.UTC).date()
    report("generate", 0, 1)
    store = generate_store(customers, seed, day)
    report("generate", 1, 1)
    with db.session() as session:
        credentials = create_workspace(
            session,
            WorkspaceCreate(name=STORE_NAME, locale="fr", currency=CURRENCY),
            actor="demo",
        )
        session.flush()
        counts = row_counts(store)
        first_ids = _reserve_ids(session)
        for name, rows, done in table_rows(store, credentials.workspace_id, first_ids):
            if rows:
                session.execute(insert(TABLES[name]), rows)
            report(name, done, counts[name])
        _advance_sequences(session)
        revenue = round(store.revenue_cents / 100, 2)
        audit(
            session,
            actor="demo",
            action="demo.build",
            workspace_id=credentials.workspace_id,
            subject=STORE_NAME,
            data={"customers": customers, "seed": seed, "as_of": day.isoformat()},
        )
    return DemoSummary(
        workspace_id=credentials.workspace_id,
        write_key=credentials.write_key,
        admin_key=credentials.admin_key,
        customers=customers,
        products=len(store.products),
        orders=store.orders.count,
        revenue=revenue,
    )


def row_counts(store: Store) -> dict[str, int]:
    """How many rows each table receives."""
    customers = len(store.customers.email)
    return {
        "products": len(store.products),
        "customers": customers,
        "identities": 2 * customers,
        "orders": store.orders.count,
        "order_items": int(store.items.order.size),
        "shipments": int(store.shipments.order.size),
        "events": store.orders.count,
    }


def _reserve_ids(session: Session) -> dict[str, int]:
    """The first free primary key of each table, held until the transaction ends."""
    if session.get_bind().dialect.name == "postgresql":
        # Writers wait for the build, so nobody takes an id between max(id) and our rows.
        session.execute(text(f"LOCK TABLE {', '.join(TABLES)} IN SHARE ROW EXCLUSIVE MODE"))
    # On SQLite the workspace insert already holds the database's write lock.
    first = {}
    for name, table in TABLES.items():
        top = session.scalar(select(func.max(table.c.id)))
        first[name] = int(top or 0) + 1
    return first


def _advance_sequences(session: Session) -> None:
    """Move PostgreSQL's id sequences past the ids we chose ourselves."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for name in TABLES:
        session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                f"(SELECT MAX(id) FROM {name}))"
            )
        )


def _aware(times: Times) -> list[dt.datetime | None]:
    naive: list[dt.datetime | None] = times.astype("datetime64[us]").tolist()
    return [None if t is None else t.replace(tzinfo=dt.UTC) for t in naive]


def _euros(cents: int) -> float:
    return round(cents / 100, 2)


def table_rows(
    store: Store, workspace_id: str, first_ids: Mapping[str, int], chunk: int = CHUNK
) -> Iterator[tuple[str, list[dict[str, Any]], int]]:
    """Rows for each table in foreign-key order, as (table, chunk of rows, rows done so far)."""
    builders: dict[str, Callable[[int, int], list[dict[str, Any]]]] = {
        "products": lambda lo, hi: _products(store, workspace_id, first_ids, lo, hi),
        "customers": lambda lo, hi: _customers(store, workspace_id, first_ids, lo, hi),
        "identities": lambda lo, hi: _identities(store, workspace_id, first_ids, lo, hi),
        "orders": lambda lo, hi: _orders(store, workspace_id, first_ids, lo, hi),
        "order_items": lambda lo, hi: _items(store, workspace_id, first_ids, lo, hi),
        "shipments": lambda lo, hi: _shipments(store, workspace_id, first_ids, lo, hi),
        "events": lambda lo, hi: _events(store, workspace_id, first_ids, lo, hi),
    }
    for name, total in row_counts(store).items():
        yield name, [], 0
        for lo in range(0, total, chunk):
            hi = min(lo + chunk, total)
            yield name, builders[name](lo, hi), hi


def _products(
    store: Store, workspace_id: str, ids: Mapping[str, int], lo: int, hi: int
) -> list[dict[str, Any]]:
    start = store.end - dt.timedelta(days=HORIZON_DAYS)
    rows = []
    for index in range(lo, hi):
        p = store.products[index]
        rows.append(
            {
                **p.row(workspace_id, CURRENCY),
                "id": ids["products"] + index,
                # The catalog predates the history; prices were last touched recently.
                "created_at": start - dt.timedelta(days=30 + (index * 7) % 120),
                "updated_at": store.end - dt.timedelta(days=1 + (index * 3) % 30),
            }
        )
    return rows


def _customers(
    store: Store, workspace_id: str, ids: Mapping[str, int], lo: int, hi: int
) -> list[dict[str, Any]]:
    c = store.customers
    created = _aware(c.created_at[lo:hi])
    first_seen = _aware(c.first_seen_at[lo:hi])
    last_seen = _aware(c.last_seen_at[lo:hi])
    newsletter = c.newsletter[lo:hi].tolist()
    return [
        {
            "id": ids["customers"] + k,
            "workspace_id": workspace_id,
            "user_id": _user_id(k),
            "email": c.email[k],
            "phone": c.phone[k],
            "first_name": c.first_name[k],
            "last_name": c.last_name[k],
            "locale": c.locale[k],
            "country": c.country[k],
            "city": c.city[k],
            "timezone": c.timezone[k],
            "traits": {"acquisition_channel": c.channel[k], "newsletter": newsletter[j]},
            "created_at": created[j],
            "first_seen_at": first_seen[j],
            "last_seen_at": last_seen[j],
        }
        for j, k in enumerate(range(lo, hi))
    ]


def _user_id(customer: int) -> str:
    return f"cust_{customer + 1:06d}"


def _identities(
    store: Store, workspace_id: str, ids: Mapping[str, int], lo: int, hi: int
) -> list[dict[str, Any]]:
    c = store.customers
    first, last = lo // 2, (hi + 1) // 2
    created = _aware(c.created_at[first:last])
    rows = []
    for j, k in enumerate(range(first, last)):
        for offset, kind, value in ((0, "user_id", _user_id(k)), (1, "email", c.email[k])):
            position = 2 * k + offset
            if lo <= position < hi:
                rows.append(
                    {
                        "id": ids["identities"] + position,
                        "workspace_id": workspace_id,
                        "customer_id": ids["customers"] + k,
                        "kind": kind,
                        "value": value,
                        "source": SOURCE,
                        "created_at": created[j],
                    }
                )
    return rows


def _order_number(store: Store, index: int) -> str:
    return f"CMD-{int(store.orders.number[index])}"


def _orders(
    store: Store, workspace_id: str, ids: Mapping[str, int], lo: int, hi: int
) -> list[dict[str, Any]]:
    o = store.orders
    placed = _aware(o.placed_at[lo:hi])
    cancelled = _aware(o.cancelled_at[lo:hi])
    updated = _aware(o.updated_at[lo:hi])
    customer = o.customer[lo:hi].tolist()
    money = np.stack(
        [
            o.subtotal_cents[lo:hi],
            o.shipping_cents[lo:hi],
            o.discount_cents[lo:hi],
            o.total_cents[lo:hi],
            o.refunded_cents[lo:hi],
        ],
        axis=1,
    ).tolist()
    return [
        {
            "id": ids["orders"] + k,
            "workspace_id": workspace_id,
            "external_id": _order_number(store, k),
            "customer_id": ids["customers"] + customer[j],
            "status": o.status[k],
            "currency": CURRENCY,
            "subtotal_cents": money[j][0],
            "shipping_cents": money[j][1],
            "discount_cents": money[j][2],
            "total_cents": money[j][3],
            "refunded_cents": money[j][4],
            "coupon_code": o.coupon[k],
            "source": "web",
            "shipping_country": o.country[k],
            "placed_at": placed[j],
            "cancelled_at": cancelled[j],
            "updated_at": updated[j],
        }
        for j, k in enumerate(range(lo, hi))
    ]


def _items(
    store: Store, workspace_id: str, ids: Mapping[str, int], lo: int, hi: int
) -> list[dict[str, Any]]:
    it = store.items
    columns = np.stack(
        [it.order[lo:hi], it.product[lo:hi], it.quantity[lo:hi], it.unit_price_cents[lo:hi],
         it.total_cents[lo:hi]],
        axis=1,
    ).tolist()  # fmt: skip
    rows = []
    for j, (order, product, quantity, unit, total) in enumerate(columns):
        p = store.products[product]
        rows.append(
            {
                "id": ids["order_items"] + lo + j,
                "workspace_id": workspace_id,
                "order_id": ids["orders"] + order,
                "product_id": ids["products"] + product,
                "sku": p.sku,
                "title": p.title,
                "quantity": quantity,
                "unit_price_cents": unit,
                "total_cents": total,
            }
        )
    return rows


def _shipments(
    store: Store, workspace_id: str, ids: Mapping[str, int], lo: int, hi: int
) -> list[dict[str, Any]]:
    s = store.shipments
    shipped = _aware(s.shipped_at[lo:hi])
    promised = _aware(s.promised_at[lo:hi])
    delivered = _aware(s.delivered_at[lo:hi])
    order = s.order[lo:hi].tolist()
    return [
        {
            "id": ids["shipments"] + k,
            "workspace_id": workspace_id,
            "order_id": ids["orders"] + order[j],
            "external_id": f"EXP-{int(store.orders.number[order[j]])}",
            "carrier": s.carrier[k],
            "method": s.method[k],
            "tracking_number": s.tracking_number[k],
            "status": s.status[k],
            "shipped_at": shipped[j],
            "promised_at": promised[j],
            "delivered_at": delivered[j],
        }
        for j, k in enumerate(range(lo, hi))
    ]


def _events(
    store: Store, workspace_id: str, ids: Mapping[str, int], lo: int, hi: int
) -> list[dict[str, Any]]:
    """One Segment "Order Completed" track event per order, in the e-commerce spec's shape."""
    o, it, c = store.orders, store.items, store.customers
    placed = _aware(o.placed_at[lo:hi])
    customer = o.customer[lo:hi].tolist()
    bounds = np.append(o.first_item, it.order.size)[lo : hi + 1]
    first_line, last_line = int(bounds[0]), int(bounds[-1])
    lines = np.stack(
        [
            it.product[first_line:last_line],
            it.quantity[first_line:last_line],
            it.unit_price_cents[first_line:last_line],
        ],
        axis=1,
    ).tolist()
    edges = (bounds - first_line).tolist()
    rows = []
    for j, k in enumerate(range(lo, hi)):
        external_id = _order_number(store, k)
        line_items = []
        for product, quantity, unit in lines[edges[j] : edges[j + 1]]:
            p = store.products[product]
            line_items.append(
                {
                    "product_id": p.sku,
                    "sku": p.sku,
                    "name": p.title,
                    "price": _euros(unit),
                    "quantity": quantity,
                    "category": p.category,
                    "brand": p.brand,
                }
            )
        subtotal, discount, shipping, total = (
            int(o.subtotal_cents[k]),
            int(o.discount_cents[k]),
            int(o.shipping_cents[k]),
            int(o.total_cents[k]),
        )
        properties: dict[str, Any] = {
            "order_id": external_id,
            "total": _euros(total),
            "revenue": _euros(subtotal - discount),
            "shipping": _euros(shipping),
            "discount": _euros(discount),
            "currency": CURRENCY,
            "products": line_items,
        }
        if o.coupon[k] is not None:
            properties["coupon"] = o.coupon[k]
        who = customer[j]
        rows.append(
            {
                "id": ids["events"] + k,
                "workspace_id": workspace_id,
                "message_id": f"demo-order-{external_id}",
                "type": "track",
                "event": "Order Completed",
                "customer_id": ids["customers"] + who,
                "user_id": _user_id(who),
                "anonymous_id": None,
                "properties": properties,
                "context": {
                    "library": {"name": "cxloop-demo", "version": "1"},
                    "locale": f"{c.locale[who]}-{c.country[who]}",
                },
                "timestamp": placed[j],
                "sent_at": placed[j],
                "received_at": placed[j],
            }
        )
    return rows
