"""The demo store's web traffic: browsing sessions sent through the Segment ingest path.

Every order of the last weeks gets the visit that led to it (an anonymous visitor lands, views
products, adds them to the cart, logs in at checkout), and more visits end in an abandoned cart,
some by known customers, some by visitors who never said who they were. The calls are built as
analytics.js would send them and go through the same parsing, validation, identity resolution
and storage as `POST /v1/batch`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import numpy as np
import orjson
from sqlalchemy import select

from cxloop.ingest.segment import MAX_BATCH_EVENTS, parse_request
from cxloop.ingest.writer import IngestWriter
from cxloop.store.db import Database
from cxloop.store.registry import load_models

Progress = Callable[[str, int, int], None]
WINDOW_DAYS = 45
ABANDONED_PER_ORDER = 1.6
CONTEXT = {"library": {"name": "analytics.js", "version": "next-1.84.3"}, "locale": "fr-FR"}


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _product_props(product: dict[str, Any]) -> dict[str, Any]:
    return {
        "product_id": product["sku"],
        "sku": product["sku"],
        "name": product["title"],
        "category": product["category"],
        "price": product["price_cents"] / 100,
        "currency": "EUR",
    }


def _load(db: Database, workspace_id: str, since: dt.datetime) -> tuple[list[Any], ...]:
    products = load_models().metadata.tables["products"]
    orders = load_models().metadata.tables["orders"]
    items = load_models().metadata.tables["order_items"]
    customers = load_models().metadata.tables["customers"]
    with db.session() as session:
        catalog = [
            dict(r._mapping)
            for r in session.execute(
                select(
                    products.c.sku, products.c.title, products.c.category, products.c.price_cents
                )
                .where(products.c.workspace_id == workspace_id)
                .order_by(products.c.id)
            )
        ]
        recent = session.execute(
            select(
                orders.c.id,
                orders.c.external_id,
                orders.c.placed_at,
                customers.c.user_id,
                customers.c.email,
            )
            .join(customers, customers.c.id == orders.c.customer_id)
            .where(orders.c.workspace_id == workspace_id, orders.c.placed_at >= since)
            .order_by(orders.c.placed_at, orders.c.id)
        ).all()
        lines = session.execute(
            select(items.c.order_id, items.c.sku, items.c.quantity)
            .join(orders, orders.c.id == items.c.order_id)
            .where(orders.c.workspace_id == workspace_id, orders.c.placed_at >= since)
            .order_by(items.c.id)
        ).all()
        people = session.execute(
            select(customers.c.user_id, customers.c.email)
            .where(customers.c.workspace_id == workspace_id)
            .order_by(customers.c.id)
        ).all()
    return catalog, list(recent), list(lines), list(people)


def browsing_calls(
    db: Database, workspace_id: str, *, seed: int, end: dt.datetime
) -> list[dict[str, Any]]:
    """The Segment calls of the demo's recent visits, oldest first (deterministic per seed)."""
    since = end - dt.timedelta(days=WINDOW_DAYS)
    catalog, recent, lines, people = _load(db, workspace_id, since)
    if not catalog or not people:
        return []
    by_sku = {p["sku"]: p for p in catalog}
    basket: dict[int, list[tuple[str, int]]] = {}
    for order_id, sku, quantity in lines:
        basket.setdefault(order_id, []).append((sku, quantity))
    rng = np.random.default_rng(seed + 7_919)
    calls: list[dict[str, Any]] = []

    def add(
        kind: str, at: dt.datetime, anonymous_id: str, user_id: str | None, **fields: Any
    ) -> None:
        call = {
            "type": kind,
            "anonymousId": anonymous_id,
            "timestamp": _iso(at),
            "messageId": f"demo-web-{len(calls):07d}",
            **fields,
        }
        if user_id:
            call["userId"] = user_id
        calls.append(call)

    def visit(
        start: dt.datetime,
        anonymous_id: str,
        user_id: str | None,
        cart: list[tuple[str, int]],
        checkout: dict[str, Any] | None,
    ) -> None:
        at = start
        add("page", at, anonymous_id, user_id, name="Accueil", properties={"path": "/"})
        browsed = [catalog[int(i)]["sku"] for i in rng.integers(0, len(catalog), 3)]
        for sku in browsed[: int(rng.integers(0, 3))] + [sku for sku, _ in cart]:
            at += dt.timedelta(seconds=int(rng.integers(20, 240)))
            add(
                "track",
                at,
                anonymous_id,
                user_id,
                event="Product Viewed",
                properties=_product_props(by_sku[sku]),
            )
        for sku, quantity in cart:
            at += dt.timedelta(seconds=int(rng.integers(10, 90)))
            add(
                "track",
                at,
                anonymous_id,
                user_id,
                event="Product Added",
                properties={**_product_props(by_sku[sku]), "quantity": quantity},
            )
        at += dt.timedelta(seconds=int(rng.integers(10, 60)))
        add(
            "track",
            at,
            anonymous_id,
            user_id,
            event="Cart Viewed",
            properties={"products": [_product_props(by_sku[s]) for s, _ in cart]},
        )
        if checkout is None:
            return
        at += dt.timedelta(seconds=int(rng.integers(20, 120)))
        add("identify", at, anonymous_id, checkout["user_id"], traits={"email": checkout["email"]})
        add(
            "track",
            at + dt.timedelta(seconds=5),
            anonymous_id,
            checkout["user_id"],
            event="Checkout Started",
            properties={"order_id": checkout["order"]},
        )

    for order_id, external_id, placed_at, user_id, email in recent:
        cart = [(s, q) for s, q in basket.get(order_id, []) if s in by_sku]
        if not cart:
            continue
        minutes = int(rng.integers(6, 40))
        visit(
            placed_at - dt.timedelta(minutes=minutes),
            f"anon-o{order_id}",
            None,
            cart,
            {"user_id": user_id, "email": email, "order": external_id},
        )
    window = (end - since).total_seconds()
    for n in range(int(len(recent) * ABANDONED_PER_ORDER)):
        start = since + dt.timedelta(seconds=float(rng.uniform(0, window - 3600)))
        picks = rng.integers(0, len(catalog), int(rng.integers(1, 3)))
        cart = [(catalog[int(i)]["sku"], 1) for i in picks]
        known = rng.random() < 0.55
        user_id = people[int(rng.integers(0, len(people)))][0] if known else None
        visit(start, f"anon-a{n}", user_id, cart, None)
    calls.sort(key=lambda call: (call["timestamp"], call["messageId"]))
    return calls


def send_browsing(
    db: Database,
    workspace_id: str,
    *,
    seed: int,
    end: dt.datetime,
    progress: Progress | None = None,
) -> int:
    """Send the demo's visits through the ingest path in batches; returns the calls stored."""
    calls = browsing_calls(db, workspace_id, seed=seed, end=end)
    writer = IngestWriter(db)
    stored = 0
    size = min(500, MAX_BATCH_EVENTS)
    for start in range(0, len(calls), size):
        body = orjson.dumps({"batch": calls[start : start + size], "context": CONTEXT})
        messages, _key = parse_request("batch", body, None, end)
        stored += writer.write_now(workspace_id, messages)
        if progress is not None:
            progress("web events", min(start + size, len(calls)), len(calls))
    return stored
