"""The web SDK in headless Chromium, on the demo store's page: a customer of a segment sees
their banner, a visitor who views three children's books gets the behavioural message, and the
recommendation blocks fill; all through one script tag, with no cookie of its own."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import select

from cxloop import journeys, personalize, profiles
from cxloop.demo.service import build_demo
from cxloop.segments import service as segments
from cxloop.segments.schemas import SegmentCreate
from cxloop.store.db import Database
from cxloop.web.app import STATIC, create_app
from cxloop.workspaces import service as workspaces
from tests.helpers.browser import chromium
from tests.helpers.console import PASSWORD
from tests.helpers.pages import signed_in
from tests.helpers.services import live_server

pytestmark = pytest.mark.browser

OWNER = "marie@example.com"
BOOKS = "Livres jeunesse"
FOLDER = Path(__file__).parents[2] / "src" / "cxloop" / "demo" / "data" / "campaigns"


def _shown(subject: int | str) -> bool:
    """Whether this customer or visitor is outside every campaign's holdout (10% each)."""
    return not any(
        journeys.in_holdout(f"site:{key}", subject, 10)
        for key in ("welcome", "kids_books", "cart_reminder")
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, int]]:
    """The demo store (its catalog and orders), its campaigns switched on, a VIP customer in a
    static segment, a French owner, served: (base URL, workspace, the VIP's id)."""
    db = Database(f"sqlite:///{tmp_path_factory.mktemp('sdk') / 'cxloop.db'}")
    ws = build_demo(db, customers=120, seed=2, as_of=dt.datetime.now(dt.UTC).date()).workspace_id
    with db.session() as session:
        user = workspaces.create_user(session, email=OWNER, password=PASSWORD, locale="fr")
        workspaces.add_member(session, workspace_id=ws, user=user, role="owner")
        vip = next(
            c
            for c in session.scalars(
                select(profiles.Customer)
                .where(profiles.Customer.workspace_id == ws, profiles.Customer.user_id.is_not(None))
                .order_by(profiles.Customer.id)
            )
            if _shown(c.id)
        )
        vip.first_name = "Léa"
        segments.create_segment(
            session, ws, SegmentCreate(key="vip", name="VIP", kind="static"), actor="test"
        )
        segments.set_members(session, ws, "vip", [vip.id], actor="test")
        for path in sorted(FOLDER.glob("*.yaml")):
            personalize.create_campaign(
                session, ws, path.read_text(encoding="utf-8"), actor="test", status="active"
            )
        vip_id = vip.id
    with live_server(create_app(db)) as base:
        yield base, ws, vip_id
    db.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as started:
        yield started


def _watch(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def test_the_segments_banner_a_behavioural_message_and_recommendations(
    store: tuple[str, str, int], browser: Browser
) -> None:
    base, ws, vip = store
    with signed_in(browser, base, OWNER, 390) as page:
        errors = _watch(page)
        cookies_before = {c["name"] for c in page.context.cookies()}
        # given the store seen as the VIP customer: her banner, with her name, and a home block
        page.goto(f"{base}/w/{ws}/storefront?as={vip}")
        banner = page.locator('[data-cxloop-slot="home_hero"] .cxl-banner')
        banner.wait_for()
        assert banner.get_attribute("data-variant") == "vip"
        assert "Léa" in banner.inner_text()
        home = page.locator('[data-cxloop-recommendations="home"] .cxl-recs li')
        home.first.wait_for()
        assert home.count() >= 1
        # the assistant's bubble comes with the SDK
        page.get_by_role("button", name="Ouvrir l'assistant d'achat").wait_for()
        # when a new visitor opens children's books: the banner for everyone, no message yet
        visitor = next(f"anon-test-{n}" for n in range(100) if _shown(f"anon-test-{n}"))
        page.evaluate(f"localStorage.setItem('cxloop_aid', '{visitor}')")
        page.goto(f"{base}/w/{ws}/storefront?category={BOOKS}")
        banner.wait_for()
        assert banner.get_attribute("data-variant") == "everyone"
        assert page.locator(".cxl-message").count() == 0
        views = page.get_by_role("button", name="Voir", exact=True)
        assert views.count() >= 3
        for n in range(3):
            with page.expect_response(re.compile(r"/p/v1/decide")):
                views.nth(n).click()
            if n < 2:
                assert page.locator(".cxl-message").count() == 0
        # then the behavioural message pops up, in French, and the product's block fills
        message = page.locator('.cxl-message[data-campaign="kids_books"]')
        message.wait_for()
        assert "livres jeunesse" in message.inner_text()
        together = page.locator("#shop-product-recs .cxl-recs li")
        together.first.wait_for()
        # the SDK keeps its visitor id in the page's own storage, and sets no cookie
        assert page.evaluate("localStorage.getItem('cxloop_aid')") == visitor
        assert {c["name"] for c in page.context.cookies()} == cookies_before
        # closing the message
        message.get_by_role("button", name="Fermer").click()
        assert page.locator(".cxl-message").count() == 0
        assert errors == []


def test_the_sdk_stays_under_30_kb_gzipped() -> None:
    sdk = (STATIC / "sdk" / "cxloop.js").read_bytes() + (STATIC / "sdk" / "cxloop.css").read_bytes()
    assert len(gzip.compress(sdk, 9)) < 30 * 1024


def test_it_reports_nothing_and_stores_nothing_before_consent(
    store: tuple[str, str, int], browser: Browser
) -> None:
    base, ws, _vip = store
    with signed_in(browser, base, OWNER, 1400) as page:
        errors = _watch(page)
        calls: list[Any] = []
        page.on("request", lambda r: calls.append(r.url) if "/v1/" in r.url else None)
        page.goto(f"{base}/w/{ws}/storefront?consent=pending")
        page.locator('[data-cxloop-slot="home_hero"] .cxl-banner').wait_for()
        assert not [u for u in calls if re.search(r"/v1/(page|track|identify)", u)]
        assert page.evaluate("localStorage.getItem('cxloop_aid')") is None
        # once the visitor agrees, the SDK starts
        with page.expect_response(re.compile(r"/v1/page")):
            page.evaluate("window.cxloop.consent(true)")
        assert page.evaluate("localStorage.getItem('cxloop_aid')").startswith("anon-")
        assert errors == []


def test_the_service_worker_shows_what_is_pushed(
    store: tuple[str, str, int], browser: Browser
) -> None:
    base, ws, _vip = store
    with signed_in(browser, base, OWNER, 1400) as page:
        errors = _watch(page)
        page.context.grant_permissions(["notifications"], origin=base)
        page.goto(f"{base}/w/{ws}/storefront")
        cdp = page.context.new_cdp_session(page)
        registrations: list[dict[str, Any]] = []
        cdp.on(
            "ServiceWorker.workerRegistrationUpdated",
            lambda event: registrations.extend(event["registrations"]),
        )
        cdp.send("ServiceWorker.enable")
        # the store's page registers the worker (its scope: where it is served from)
        page.evaluate("navigator.serviceWorker.register('/static/sdk/cxloop-sw.js').then(() => 1)")
        page.wait_for_function(
            "navigator.serviceWorker.getRegistration('/static/sdk/')"
            ".then(r => !!(r && r.active && r.active.state === 'activated'))",
            timeout=10_000,
        )
        found = [r for r in registrations if r["scopeURL"].endswith("/static/sdk/")]
        assert found, registrations
        payload = {
            "title": "Votre panier vous attend",
            "body": "La robe Lina est toujours là.",
            "url": "https://boutique.example/panier",
            "tag": "m-1",
        }
        shown = None
        for attempt in range(150):  # the worker shows it in its own time
            if attempt % 30 == 0:  # delivered again if a busy browser dropped it (same tag)
                cdp.send(
                    "ServiceWorker.deliverPushMessage",
                    {
                        "origin": base,
                        "registrationId": found[0]["registrationId"],
                        "data": json.dumps(payload),
                    },
                )
            shown = page.evaluate(
                """async () => {
                    const r = await navigator.serviceWorker.getRegistration('/static/sdk/');
                    const all = await r.getNotifications();
                    return all.length ? all.map(n => [n.title, n.body, n.data.url]) : null;
                }"""
            )
            if shown:
                break
            page.wait_for_timeout(100)
        assert shown == [[payload["title"], payload["body"], payload["url"]]]
        assert errors == []
