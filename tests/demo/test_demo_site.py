"""The demo store's site campaigns: a banner per segment, a message after children's books, a
cart reminder, and two weeks of visits decided by the real service, with clicks and orders, so
that each campaign's report compares its variants with its holdout."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cxloop import analytics, personalize
from cxloop.demo import site as demo_site
from cxloop.demo.browsing import send_browsing
from cxloop.demo.generator import history_end
from cxloop.demo.service import build_demo
from cxloop.store.db import Database

AS_OF = dt.date(2026, 11, 20)


def test_the_demo_decides_two_weeks_of_visits(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'demo.db'}")
    ws = build_demo(db, customers=300, seed=5, as_of=AS_OF).workspace_id
    end = history_end(AS_OF)
    send_browsing(db, ws, seed=5, end=end)
    demo_site.install(db, ws)
    demo_site.install(db, ws)  # again: nothing doubled
    analytics.run_analytics(db, f"duckdb://{tmp_path / 'w.duckdb'}", ws, as_of=end, actor="test")
    told = demo_site.run_history(db, ws, seed=5, end=end, visitors=120)
    assert told["banners"] > 50 and told["messages"] >= 3 and told["clicks"] >= 1
    assert told["orders"] >= 1
    with db.session() as session:
        campaigns = {c.key: c for c in personalize.list_campaigns(session, ws)}
        assert set(campaigns) == {"welcome", "kids_books", "cart_reminder"}
        assert all(c.status == "active" for c in campaigns.values())
        welcome = personalize.report(session, campaigns["welcome"])
        kids = personalize.report(session, campaigns["kids_books"])
    rows = {r["variant"]: r for r in welcome["variants"]}
    # the segments were filled by the analytics run: more than one variant was shown
    assert "everyone" in rows and len(set(rows) - {"holdout"}) >= 2, rows
    assert rows["holdout"]["visitors"] >= 1
    assert sum(r["clicks"] for r in welcome["variants"]) >= 1
    assert sum(r["visitors"] for r in kids["variants"]) >= 1
