"""The console in headless Chromium (Debian's /usr/bin/chromium, driven by Playwright)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, expect

from cxloop.commerce.models import Order
from cxloop.store.db import Database
from tests.helpers.browser import chromium
from tests.helpers.console import PASSWORD
from tests.helpers.services import live_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium from Debian; never a downloaded browser."""
    with chromium() as started:
        yield started


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context (no cookies) that prefers English."""
    context = browser.new_context(locale="en-GB")
    yield context.new_page()
    context.close()


def test_sign_in_switch_language_and_see_the_revenue_chart(
    app: FastAPI, db: Database, make_workspace, make_user, page: Page
) -> None:
    # given a store with orders over three months and its owner
    creds = make_workspace("Maison Lou")
    make_user("lou@example.com", creds.workspace_id)
    with db.session() as session:
        for n, month in enumerate([3, 3, 4, 5, 5, 5]):
            session.add(
                Order(
                    workspace_id=creds.workspace_id,
                    external_id=str(n),
                    total_cents=2500 * (n + 1),
                    status="paid",
                    placed_at=dt.datetime(2026, month, 10, tzinfo=dt.UTC),
                )
            )
    with live_server(app) as base:
        # when she signs in
        page.goto(f"{base}/")
        expect(page.get_by_role("heading", name="Sign in to cxloop")).to_be_visible()
        page.get_by_label("Email").fill("lou@example.com")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        # then she sees the overview with the chart drawn from three months
        expect(page.get_by_role("heading", name="Maison Lou")).to_be_visible()
        expect(page.locator("body[data-chart-ready=true]")).to_have_count(1)
        points = page.evaluate(
            "document.getElementById('revenue-chart').chart.data.datasets[0].data"
        )
        assert points == [75, 75, 375]
        box = page.locator("#revenue-chart").bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 200
        assert page.locator("[data-kpi=orders]").inner_text() == "6"
        # when she switches to French
        page.get_by_role("button", name="FR").click()
        # then the page reads in French, and still does after a reload
        expect(page.get_by_role("heading", name="Chiffre d'affaires par mois")).to_be_visible()
        page.reload()
        expect(page.get_by_role("link", name="Vue d'ensemble")).to_be_visible()
        assert page.locator("[data-kpi=revenue]").inner_text().replace("\u202f", " ") == (
            "525,00\u00a0€".replace("\u202f", " ")
        )
        assert page.locator("html").get_attribute("lang") == "fr"


def test_the_workspace_switcher_changes_store(
    app: FastAPI, make_workspace, make_user, page: Page
) -> None:
    alpha, beta = make_workspace("Alpha"), make_workspace("Beta")
    make_user("lou@example.com", alpha.workspace_id, beta.workspace_id)
    with live_server(app) as base:
        page.goto(f"{base}/login")
        page.get_by_label("Email").fill("lou@example.com")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Alpha")).to_be_visible()
        # the switcher submits on change once console.js has wired it
        expect(page.locator("form.switcher.js")).to_have_count(1)
        page.get_by_label("Workspace").select_option(label="Beta")
        expect(page.get_by_role("heading", name="Beta")).to_be_visible()
        assert page.url.endswith(f"/w/{beta.workspace_id}/")


def test_the_nps_dashboard_draws_its_drivers_and_takes_a_theme_correction(
    app: FastAPI, db: Database, make_user, page: Page
) -> None:
    from cxloop.demo import nps as demo_nps
    from cxloop.demo.generator import history_end
    from cxloop.demo.service import build_demo

    # given the demo store's two years of answers and its owner
    today = dt.datetime.now(dt.UTC).date()
    ws = build_demo(db, customers=1500, seed=5, as_of=today).workspace_id
    demo_nps.run_history(db, ws, seed=5, end=history_end(today))
    make_user("lou@example.com", ws)
    with live_server(app) as base:
        page.goto(f"{base}/login")
        page.get_by_label("Email").fill("lou@example.com")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        # when she opens the NPS dashboard over two years
        page.goto(f"{base}/w/{ws}/nps?period=730d")
        # then the drivers chart is drawn, late deliveries costing the most
        expect(page.locator("body[data-nps-ready=true]")).to_have_count(1)
        labels = page.evaluate("document.getElementById('nps-drivers').chart.data.labels")
        lost = page.evaluate("document.getElementById('nps-drivers').chart.data.datasets[0].data")
        assert labels[0] == "Delivery time" and lost[0] == min(lost) < 0
        # when she says the first verbatim is about packaging only
        first = page.locator("ul.verbatims li").first
        quote = first.locator("blockquote").inner_text()
        first.locator("details.themes summary").click()
        for box in first.locator("input[name=themes]").all():
            box.set_checked(box.get_attribute("value") == "packaging")
        first.get_by_role("button", name="Correct the themes").click()
        # then the dashboard comes back with that verbatim now tagged so
        expect(page.locator("body[data-nps-ready=true]")).to_have_count(1)
        again = page.locator("ul.verbatims li", has_text=quote).first
        expect(again.locator("details.themes summary")).to_have_text("Themes: Packaging")
