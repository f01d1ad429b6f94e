"""The demo's site campaigns: a home banner per segment (VIP customers, those drifting away,
everyone else), a message after three children's books viewed, a cart reminder when leaving;
and the last two weeks of visits replayed through the real decisions, so that the console's
reports show views, clicks and conversions against the holdout.

Visitors browse the store's catalog (page views, product views, sometimes a cart), each
decision is the service's at the visit's moment, and some follow the link. Whether a visitor
orders afterwards is drawn alike for everyone, shown a variant or held out: the generator knows
nothing of the campaigns, so the honest difference there is near zero.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from sqlalchemy import select

from cxloop import commerce, personalize, profiles, segments
from cxloop.ingest.segment import parse_request
from cxloop.ingest.writer import IngestWriter
from cxloop.store.db import Database

Progress = Callable[[str, int, int], None]
FOLDER = Path(__file__).parent / "data" / "campaigns"
DAYS = 14
BOOKS = "Livres jeunesse"
SEGMENTS = (
    ("vip", "Clients fidèles", "rfm_segment in ['champions', 'loyal']"),
    ("at_risk", "Clients qui s'éloignent", "churn_band = 'high'"),
)


def install(db: Database, workspace_id: str) -> None:
    """The demo's segments (filled by the next analytics run) and its campaigns, switched on."""
    with db.session() as session:
        for key, name, condition in SEGMENTS:
            segments.ensure_segment(session, workspace_id, key, name, condition, actor="demo")
        for path in sorted(FOLDER.glob("*.yaml")):
            source = path.read_text(encoding="utf-8")
            if personalize.get_campaign(session, workspace_id, path.stem) is None:
                personalize.create_campaign(
                    session, workspace_id, source, actor="demo", status="active"
                )


def _props(product: Any) -> dict[str, Any]:
    cents = (
        product.sale_price_cents if product.sale_price_cents is not None else product.price_cents
    )
    return {
        "product_id": product.sku,
        "sku": product.sku,
        "name": product.title,
        "category": product.category,
        "price": cents / 100,
        "currency": product.currency,
    }


class _Replay:
    """Visits written through the ingest path, then decided, at their own moments."""

    def __init__(self, db: Database, workspace_id: str) -> None:
        self.db = db
        self.workspace_id = workspace_id
        self.writer = IngestWriter(db)
        self.sent = 0

    def send(self, at: dt.datetime, anonymous_id: str, kind: str, **fields: Any) -> None:
        call = {
            "type": kind,
            "anonymousId": anonymous_id,
            "timestamp": at.isoformat().replace("+00:00", "Z"),
            "messageId": f"demo-site-{self.sent:07d}",
            **fields,
        }
        self.sent += 1
        messages, _key = parse_request(kind, orjson.dumps(call), None, at)
        self.writer.write_now(self.workspace_id, messages)

    def decide(self, at: dt.datetime, visitor: personalize.Visitor) -> list[personalize.Decision]:
        with self.db.session() as session:
            return personalize.decide(session, self.workspace_id, visitor, now=at)

    def click(self, at: dt.datetime, token: str) -> None:
        with self.db.session() as session:
            personalize.record_click(session, self.workspace_id, token, at=at)


def run_history(
    db: Database,
    workspace_id: str,
    *,
    seed: int,
    end: dt.datetime,
    visitors: int = 240,
    progress: Progress | None = None,
) -> dict[str, int]:
    """``visitors`` visits over the last ``DAYS`` days through the campaigns; returns what
    was decided (banners, messages, clicks, orders)."""
    rng = np.random.default_rng(seed + 29)
    with db.session() as session:
        products = [
            p
            for p in commerce.catalog_products(session, workspace_id)
            if p.availability == "in_stock"
        ]
        people = [
            (c.id, c.user_id, c.first_name or "")
            for c in session.scalars(
                select(profiles.Customer)
                .where(profiles.Customer.workspace_id == workspace_id)
                .order_by(profiles.Customer.id)
                .limit(400)
            )
        ]
    if not products:
        return {"banners": 0, "messages": 0, "clicks": 0, "orders": 0}
    books = [p for p in products if p.category == BOOKS] or products
    replay = _Replay(db, workspace_id)
    told = {"banners": 0, "messages": 0, "clicks": 0, "orders": 0}
    for number in range(visitors):
        start = end - dt.timedelta(minutes=float(rng.uniform(120, DAYS * 24 * 60)))
        anonymous_id = f"anon-site-{number}"
        known = people[int(rng.integers(len(people)))] if people and rng.random() < 0.5 else None
        lang = "en" if rng.random() < 0.2 else "fr"
        visitor = personalize.Visitor(
            anonymous_id=anonymous_id,
            customer_id=known[0] if known else None,
            page_type="home",
            slots=("home_hero",),
            locale=lang,
            first_name=known[2] if known else "",
        )
        at = start
        replay.send(at, anonymous_id, "page", properties={"path": "/"})
        shown = replay.decide(at, visitor)
        reader = rng.random() < 0.3
        pool = books if reader else products
        for _ in range(int(rng.integers(1, 5)) + (2 if reader else 0)):
            at += dt.timedelta(seconds=float(rng.uniform(15, 120)))
            product = pool[int(rng.integers(len(pool)))]
            replay.send(
                at, anonymous_id, "track", event="Product Viewed", properties=_props(product)
            )
            page = dataclasses.replace(visitor, page_type="product", slots=())
            shown += replay.decide(at, page)
        if rng.random() < 0.35:
            at += dt.timedelta(seconds=float(rng.uniform(10, 60)))
            product = pool[int(rng.integers(len(pool)))]
            replay.send(
                at,
                anonymous_id,
                "track",
                event="Product Added",
                properties={**_props(product), "quantity": 1},
            )
            at += dt.timedelta(seconds=float(rng.uniform(30, 300)))
            leaving = dataclasses.replace(visitor, page_type="cart", slots=(), leaving=True)
            shown += replay.decide(at, leaving)
        for decision in shown:
            told["banners" if decision.kind == "banner" else "messages"] += 1
            if rng.random() < 0.12:
                replay.click(at + dt.timedelta(seconds=5), decision.token)
                told["clicks"] += 1
        if rng.random() < 0.08:
            ordered = at + dt.timedelta(hours=float(rng.uniform(0.1, 48)))
            if ordered < end:
                revenue = round(float(rng.uniform(25, 140)), 2)
                fields: dict[str, Any] = {
                    "event": "Order Completed",
                    "properties": {"revenue": revenue, "currency": "EUR"},
                }
                if known and known[1]:
                    fields["userId"] = known[1]
                replay.send(ordered, anonymous_id, "track", **fields)
                told["orders"] += 1
        if progress is not None and number % 20 == 19:
            progress("site campaigns", number + 1, visitors)
    return told
