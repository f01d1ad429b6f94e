"""Segment's browser library (analytics.js, `@segment/analytics-next`, vendored) in headless
Chromium, on a store page served from another origin, talking to a live cxloop server."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy import select

from cxloop.ingest.models import Event
from cxloop.profiles.models import Customer
from cxloop.store.db import Database
from tests.helpers.browser import CHROMIUM, CHROMIUM_ARGS
from tests.helpers.services import live_server

VENDOR = Path(__file__).resolve().parents[1] / "web" / "vendor" / "segment"
pytestmark = pytest.mark.browser


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def store_site() -> Iterator[str]:
    """The store's own pages: a static site on its own port (so CORS is exercised)."""
    handler = functools.partial(_Quiet, directory=str(VENDOR))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def page() -> Iterator[Page]:
    with sync_playwright() as pw:
        browser: Browser = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser.new_page()
        browser.close()


def _count(db: Database) -> int:
    with db.session() as session:
        return len(session.scalars(select(Event.id)).all())


@pytest.mark.parametrize("batching", [False, True])
def test_analytics_js_page_views_and_identify_reach_the_customer(
    app: FastAPI, db: Database, make_workspace, store_site: str, page: Page, batching: bool
) -> None:
    creds = make_workspace()
    with live_server(app) as api:
        host = api.removeprefix("http://")
        # given a store page with the stock analytics.js and only our write key
        query = f"host={host}&writeKey={creds.write_key}" + ("&batching=1" if batching else "")
        page.goto(f"{store_site}/page.html?{query}")
        page.wait_for_selector("html[data-analytics=ready]", state="attached")
        # when a visitor browses, logs in and views a product
        viewed = page.evaluate("cxloopTest.page()")
        anonymous_id = page.evaluate("cxloopTest.anonymousId()")
        identified = page.evaluate(
            "cxloopTest.identify('lou-1', {email: 'lou@example.com', firstName: 'Lou'})"
        )
        tracked = page.evaluate(
            "cxloopTest.track('Product Viewed', {product_id: 'SKU-1', price: 19.9})"
        )
        # (with batching, calls resolve before the batch leaves: wait for it to land)
        deadline = time.monotonic() + 10
        while _count(db) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert page.evaluate("cxloopTest.errors") == []
        assert page.evaluate("cxloopTest.violations") == []
    assert [viewed["failed"], identified["failed"], tracked["failed"]] == [None, None, None]
    # then the calls are stored under their message ids, all on Lou's customer record
    with db.session() as session:
        stored = {e.message_id: e for e in session.scalars(select(Event))}
        lou = session.scalars(select(Customer)).one()
    assert set(stored) == {viewed["messageId"], identified["messageId"], tracked["messageId"]}
    assert stored[viewed["messageId"]].type == "page"
    assert stored[viewed["messageId"]].anonymous_id == anonymous_id
    assert stored[tracked["messageId"]].properties == {"product_id": "SKU-1", "price": 19.9}
    assert stored[tracked["messageId"]].context["library"]["name"] == "analytics.js"
    assert (lou.user_id, lou.email, lou.first_name) == ("lou-1", "lou@example.com", "Lou")
    assert {e.customer_id for e in stored.values()} == {lou.id}
