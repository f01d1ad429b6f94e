"""The demo's web traffic goes through the Segment ingest path and joins its customers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import func, select

from cxloop.demo.browsing import WINDOW_DAYS, send_browsing
from cxloop.demo.generator import history_end
from cxloop.demo.service import build_demo
from cxloop.ingest.models import Event
from cxloop.store.db import Database

AS_OF = dt.date(2026, 11, 20)


def _build(tmp_path: Path, name: str) -> tuple[Database, str, int]:
    db = Database(f"sqlite:///{tmp_path / name}")
    ws = build_demo(db, customers=300, seed=3, as_of=AS_OF).workspace_id
    return db, ws, send_browsing(db, ws, seed=3, end=history_end(AS_OF))


def test_visits_are_stored_and_logins_claim_the_anonymous_browsing(tmp_path: Path) -> None:
    db, ws, stored = _build(tmp_path, "a.db")
    with db.session() as session:
        web = list(
            session.scalars(
                select(Event).where(Event.workspace_id == ws, Event.message_id.like("demo-web-%"))
            )
        )
        recent_orders = session.scalar(
            select(func.count())
            .select_from(Event)
            .where(
                Event.workspace_id == ws,
                Event.event == "Order Completed",
                Event.timestamp >= history_end(AS_OF) - dt.timedelta(days=WINDOW_DAYS),
            )
        )
    assert stored == len(web) > 0
    kinds = {(e.type, e.event) for e in web}
    assert {
        ("page", "Accueil"),
        ("track", "Product Viewed"),
        ("track", "Product Added"),
        ("track", "Cart Viewed"),
        ("track", "Checkout Started"),
    } <= kinds
    checkouts = [e for e in web if e.event == "Checkout Started"]
    assert len(checkouts) == recent_orders
    # every visit that ended in an order is the buyer's, from its first anonymous page view
    ordered = {e.anonymous_id for e in checkouts}
    assert all(e.customer_id is not None for e in web if e.anonymous_id in ordered)
    # visitors who never logged in stay anonymous; known ones who abandoned are theirs
    abandoned = [e for e in web if e.anonymous_id not in ordered]
    assert any(e.customer_id is None for e in abandoned)
    assert any(e.customer_id is not None for e in abandoned)
    assert all(e.context["library"]["name"] == "analytics.js" for e in web)


def test_the_same_seed_sends_the_same_visits(tmp_path: Path) -> None:
    assert _build(tmp_path, "a.db")[2] == _build(tmp_path, "b.db")[2]
