"""Every console page, in French and in English, at a desktop's and a phone's width: it fits,
logs no error, and shows labels rather than stored codes. Pages are found by following the
navigation, so a page added to it is checked without editing this file."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cxloop import analytics
from cxloop.alerts import service as alerts
from cxloop.alerts.models import AlertDelivery
from cxloop.analytics.models import CustomerScore
from cxloop.channels import email
from cxloop.config import get_settings
from cxloop.demo import assistant as demo_assistant
from cxloop.demo import journeys as demo_journeys
from cxloop.demo import nps as demo_nps
from cxloop.demo import site as demo_site
from cxloop.demo.browsing import send_browsing
from cxloop.demo.generator import history_end
from cxloop.demo.service import build_demo
from cxloop.store.base import utcnow
from cxloop.store.db import Database
from cxloop.surveys import Response
from cxloop.surveys import service as surveys
from cxloop.surveys.models import SurveyDecision
from cxloop.web.app import create_app
from cxloop.workspaces import service as workspaces
from tests.helpers.browser import chromium
from tests.helpers.console import PASSWORD
from tests.helpers.mail import Shop, queue_invitation
from tests.helpers.pages import WIDTHS, problems_of, signed_in
from tests.helpers.services import live_server

pytestmark = pytest.mark.browser


@dataclass(frozen=True)
class Console:
    """A served demo store and its pages that the navigation does not link to."""

    base: str
    workspace_id: str
    customer_urls: tuple[str, ...]
    message_url: str
    theme: str
    alert_urls: tuple[str, ...]
    assistant_urls: tuple[str, ...]


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """A small demo store (orders, parcels, browsing, answers, a planned survey, an email in
    the outbox, alert rules with their deliveries), a French and an English owner, served."""
    db = Database(f"sqlite:///{tmp_path_factory.mktemp('pages') / 'cxloop.db'}")
    today = dt.datetime.now(dt.UTC).date()
    end = history_end(today)
    ws = build_demo(db, customers=300, seed=7, as_of=today).workspace_id
    send_browsing(db, ws, seed=7, end=end)
    demo_nps.run_history(db, ws, seed=7, end=end)
    # The assistant's FAQ and conversations, for its inbox, analytics and settings pages.
    demo_assistant.run_history(db, ws, seed=7, end=end, conversations=20)
    # The playbooks over the last month: journeys with results, and cases, to show.
    demo_journeys.switch_on(db, ws)
    demo_journeys.replay(db, ws, get_settings(), end=end, days=30)
    demo_site.install(db, ws)  # its segments are filled by the analytics run
    folder = tmp_path_factory.mktemp("warehouse")
    analytics.run_analytics(db, f"duckdb://{folder / 'w.duckdb'}", ws, as_of=end, actor="test")
    demo_site.run_history(db, ws, seed=7, end=end, visitors=60)
    with db.session() as session:
        scored_id = _model_scores(session, ws)
        surveys.plan(session, ws)
        answer = session.scalars(
            select(Response).where(Response.workspace_id == ws, Response.comment != "")
        ).first()
        assert answer is not None and answer.customer_id is not None
        customer_id = answer.customer_id
        asked = (
            surveys.decisions_for(session, ws, customer_id)
            or session.scalars(
                select(SurveyDecision).where(
                    SurveyDecision.workspace_id == ws, SurveyDecision.customer_id.is_not(None)
                )
            ).all()
        )
        assert asked, "planning decided about someone"
        mentions = Counter(
            theme
            for themes in session.scalars(select(Response.themes).where(Response.comment != ""))
            for theme in themes
        )
        rule_id = _alert_rules(session, ws)
        for address, locale in (("fr@example.com", "fr"), ("en@example.com", "en")):
            user = workspaces.create_user(session, email=address, password=PASSWORD, locale=locale)
            workspaces.add_member(session, workspace_id=ws, user=user, role="owner")
    message_id = queue_invitation(db, Shop(ws, customer_id, "zoe@example.com"))
    email.deliver(db, [message_id], email.OutboxSender())
    with live_server(create_app(db)) as base:
        yield Console(
            base,
            ws,
            (
                f"{base}/w/{ws}/customers/{customer_id}",
                f"{base}/w/{ws}/customers/{asked[0].customer_id}",
                f"{base}/w/{ws}/customers/{scored_id}",
            ),
            f"{base}/w/{ws}/outbox/{message_id}",
            mentions.most_common(1)[0][0],
            (f"{base}/w/{ws}/alerts/new", f"{base}/w/{ws}/alerts/{rule_id}/delete"),
            tuple(
                f"{base}/w/{ws}/assistant/{page}"
                for page in ("faq", "settings", "vocabulary", "scenarios", "scenarios/gift_finder")
            ),
        )
    db.dispose()


def _model_scores(session: Session, ws: str) -> int:
    """Value and churn scores for some customers, one band each in turn, as the CLV step writes
    them (the segments page then shows its chart, top customers and churn risks); the first
    one's id."""
    ids = session.scalars(
        select(CustomerScore.customer_id)
        .where(CustomerScore.workspace_id == ws)
        .order_by(CustomerScore.customer_id)
        .limit(60)
    ).all()
    for n, customer_id in enumerate(ids):
        alive = (n % 10 + 0.5) / 10
        session.execute(
            update(CustomerScore)
            .where(CustomerScore.workspace_id == ws, CustomerScore.customer_id == customer_id)
            .values(
                clv_12m=37.5 * (n + 1),
                p_alive=alive,
                expected_orders_90d=alive * 2,
                next_order_days=40 / alive,
                churn_band=("high", "medium", "low")[n % 3],
            )
        )
    return ids[0]


def _alert_rules(session: Session, ws: str) -> int:
    """Three rules, one of each kind, the first with a sent and a failed delivery; its id."""
    first = alerts.create_rule(
        session, ws, name="Détracteurs livraison", kind="response", target="webhook",
        address="https://hooks.example.com/a-rather-long-path/for-the-phone-width",
        filters={"min_score": 0, "max_score": 6, "channel": "email", "category": "detractor",
                 "themes": ["delivery_delay", "delivery_cost"]},
        secret="a-long-shared-secret-0123", slack_format=True,
    )  # fmt: skip
    alerts.create_rule(
        session, ws, name="Silence", kind="silence", target="email", address="cx@example.com",
        filters={"silence_hours": 1.5},
    )  # fmt: skip
    spikes = alerts.create_rule(
        session, ws, name="Pics", kind="theme_spike", target="email", address="cx@example.com"
    )
    alerts.set_rule_active(session, ws, spikes.id, False, actor="test")
    for n, status in enumerate(("sent", "failed")):
        session.add(
            AlertDelivery(
                workspace_id=ws, rule_id=first.id, subject_key=f"response:{n}", status=status,
                attempts=5 if status == "failed" else 1,
                sent_at=utcnow() if status == "sent" else None,
            )
        )  # fmt: skip
    return first.id


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium from Debian; never a downloaded browser."""
    with chromium() as started:
        yield started


def _links(page: Page, selector: str) -> list[str]:
    hrefs = page.eval_on_selector_all(selector, "links => links.map(a => a.href)")
    return [str(h) for h in hrefs]


def reachable_pages(page: Page, console: Console) -> list[str]:
    """The navigation's pages, each one's tabs and first listed item, a customer with an answer,
    one with survey decisions, and an email in the outbox."""
    urls = _links(page, "nav.mainnav a")
    assert len(urls) >= 6
    found: list[str] = []
    for url in urls:
        page.goto(url)
        found.append(url)
        found += _links(page, "main nav.tabs a")
        found += _links(page, "main table.data tbody tr:first-child a")[:1]
    found += [*console.customer_urls, console.message_url, *console.alert_urls]
    found += console.assistant_urls
    return list(dict.fromkeys(u.split("#")[0] for u in found))


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("address", ["fr@example.com", "en@example.com"])
def test_every_page_fits_logs_no_error_and_shows_labels(
    console: Console, browser: Browser, address: str, width: int
) -> None:
    with signed_in(browser, console.base, address, width) as page:
        # given every page a member can reach
        urls = reachable_pages(page, console)
        assert any("/surveys/" in u for u in urls), "the survey editor is reachable"
        assert any(re.search(r"/alerts/\d+$", u) for u in urls), "a rule's form is reachable"
        # when she opens each one, then it fits, logs no error and shows no raw code
        problems = {url: found for url in urls if (found := problems_of(page, url))}
        assert not problems, "\n".join(f"{url}: {found}" for url, found in problems.items())


def test_the_next_comments_keep_the_filters_and_a_correction_lands_on_its_comment(
    console: Console, browser: Browser
) -> None:
    with signed_in(browser, console.base, "en@example.com", 390) as page:
        # given the comments on the most mentioned theme, received by email after delivery
        filters = f"period=730d&touchpoint=after_delivery&channel=email&theme={console.theme}"
        page.goto(f"{console.base}/w/{console.workspace_id}/nps?{filters}")
        # when she turns to the next page
        page.locator("#verbatims a[rel=next]").click()
        # then the theme, channel and moment still apply
        page.wait_for_url(re.compile(r"page=2"))
        for kept in filters.split("&"):
            assert kept in page.url
        # when she corrects a comment of this page
        item = page.locator("ul.verbatims li").nth(2)
        anchor = item.get_attribute("id")
        item.locator("details.themes summary").click()
        item.get_by_role("button", name="Correct the themes").click()
        # then she is back on the same page, at that comment
        page.wait_for_url(re.compile(rf"page=2.*#{anchor}$"))
        assert page.evaluate("location.hash") == f"#{anchor}"


@pytest.mark.parametrize("width", WIDTHS)
def test_the_survey_test_page_fits_and_sends_nothing(
    console: Console, browser: Browser, width: int
) -> None:
    with signed_in(browser, console.base, "fr@example.com", width) as page:
        # given the survey editor's two test pages
        page.goto(f"{console.base}/w/{console.workspace_id}/surveys")
        page.goto(_links(page, "main table.data tbody tr:first-child a")[0])
        previews = _links(page, "a[data-preview-link]")
        assert [p.rsplit("=", 1)[1] for p in previews] == ["fr", "en"]
        # then each fits a phone and a desk and shows the survey in its language
        for url in previews:
            assert not problems_of(page, url, console_page=False)
        # when the merchant picks a score, writes and sends, nothing is posted anywhere
        posts: list[str] = []
        page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
        page.goto(previews[0])
        page.click("label.s3")
        page.fill("#comment", "essai")
        page.click("button.send")
        page.wait_for_load_state("load")
        assert posts == []
        # and the thank-you page says so, in French, and fits
        assert page.locator("p[data-preview]").count() == 1
        assert page.evaluate("document.documentElement.lang") == "fr"
        assert not problems_of(page, page.url, console_page=False)


def test_on_a_phone_the_main_menu_is_one_line_with_the_current_page_in_view(
    console: Console, browser: Browser
) -> None:
    with signed_in(browser, console.base, "fr@example.com", min(WIDTHS)) as page:
        last = _links(page, "nav.mainnav a")[-1]
        # when the reader opens the menu's last page on a phone
        page.goto(last)
        box = page.eval_on_selector(
            "nav.mainnav",
            """nav => {
              const r = nav.getBoundingClientRect();
              const a = nav.querySelector("a[aria-current='page']").getBoundingClientRect();
              const first = nav.querySelector("a").getBoundingClientRect();
              return {height: r.height, linkHeight: first.height, left: r.left, right: r.right,
                      aLeft: a.left, aRight: a.right, scrolls: nav.scrollWidth > nav.clientWidth};
            }""",
        )
        # then the menu takes one line, scrolls sideways, and shows the current page's link
        assert box["height"] < 1.6 * box["linkHeight"]
        assert box["scrolls"]
        assert box["left"] - 1 <= box["aLeft"] and box["aRight"] <= box["right"] + 1
