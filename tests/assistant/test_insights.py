"""The assistant's figures and its console page: conversations, intents, questions left
unanswered, products shown and clicked, orders within seven days of a conversation, handoffs
and the time to the team's reply, NPS by channel; on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from cxloop import commerce, profiles
from cxloop.assistant import insights, service
from cxloop.ingest.service import record_event
from cxloop.store.base import utcnow
from cxloop.store.db import Database
from cxloop.surveys import Response
from cxloop.web.app import create_app
from cxloop.workspaces import service as workspaces
from cxloop.workspaces.schemas import WorkspaceCreate
from tests.helpers import factories
from tests.helpers.catalog import stock_demo_catalog
from tests.helpers.console import PASSWORD, login

DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)
MINUTE = dt.timedelta(minutes=1)
SCRIPT = "<script>alert(1)</script> vous livrez en Belgique ?"


@dataclass(frozen=True)
class Shop:
    """A store with a month of the assistant's conversations, orders and NPS answers."""

    workspace_id: str
    now: dt.datetime
    start: dt.datetime  # when the first conversations of the month started
    clicked: str  # the SKU whose card was clicked (twice, in one conversation)


def _order(
    db: Database,
    ws: str,
    number: str,
    user_id: str,
    placed_at: dt.datetime,
    cents: int,
    *,
    cancelled: bool = False,
) -> None:
    with db.session() as session:
        commerce.upsert_order(
            session,
            ws,
            commerce.OrderData(
                external_id=number,
                placed_at=placed_at,
                currency="EUR",
                items=(),
                subtotal_cents=cents,
                shipping_cents=0,
                discount_cents=0,
                total_cents=cents,
                customer=commerce.CustomerData(user_id=user_id),
                cancelled_at=placed_at + HOUR if cancelled else None,
            ),
            platform="import",
            track=record_event,
        )


@pytest.fixture
def shop(any_db: Database) -> Shop:
    db = any_db
    with db.session() as session:
        ws = workspaces.create_workspace(session, WorkspaceCreate(name="Maison Lou")).workspace_id
        for address, locale in (("fr@example.com", "fr"), ("en@example.com", "en")):
            user = workspaces.create_user(session, email=address, password=PASSWORD, locale=locale)
            workspaces.add_member(session, workspace_id=ws, user=user, role="owner")
    stock_demo_catalog(db, ws, seed=1)
    now = utcnow()
    start = now - 10 * DAY
    with db.session() as session:
        for user_id in ("ann", "bob"):
            profiles.resolve(session, ws, profiles.Keys(user_id=user_id), source="test", at=start)
    with db.session() as session:
        # Ann finds white trainers, clicks one twice, thanks the assistant
        ann = service.start_conversation(
            session, ws, anonymous_id="anon-ann", user_id="ann", locale="fr",
            text="des baskets blanches pour femme à moins de 80 €", now=start,
        )  # fmt: skip
        shown = ann.messages[-1].payload["products"]
        assert shown, "the assistant showed products"
        clicked = str(shown[0]["id"])
        cid = ann.conversation.id
        service.record_click(session, ws, cid, clicked)
        service.record_click(session, ws, cid, clicked)
        service.post_message(session, ws, cid, text="merci", now=start + MINUTE)
        service.start_conversation(
            session, ws, anonymous_id="anon-bob", user_id="bob", text="une robe en lin", now=start
        )
        # three questions it cannot answer, two of them the same but for capitals and accents
        for n, text in enumerate(
            ("Quels sont vos délais de livraison ?", "QUELS sont vos delais de livraison?", SCRIPT)
        ):
            service.start_conversation(
                session, ws, anonymous_id=f"anon-q{n}", locale="fr", text=text,
                now=start + (n + 1) * HOUR,
            )  # fmt: skip
        # a visitor the store identifies only after the conversation
        service.start_conversation(
            session, ws, anonymous_id="anon-dan", text="un pull en laine", now=start + DAY
        )
        # four shoppers ask for a person, 5, 10, 30 and 50 minutes ago; three are answered now
        for ago in (5, 10, 30, 50):
            handed = service.start_conversation(
                session, ws, anonymous_id=f"anon-h{ago}", locale="fr",
                text="je veux parler à un humain", now=now - ago * MINUTE,
            )  # fmt: skip
            assert handed.conversation.status == "handoff"
            if ago != 5:
                service.agent_reply(
                    session, ws, handed.conversation.id, text="Bonjour !", actor="lea@example.com"
                )
        # and one conversation from before the month
        service.start_conversation(
            session, ws, anonymous_id="anon-old", text="une robe", now=now - 40 * DAY
        )
    with db.session() as session:
        profiles.resolve(
            session, ws, profiles.Keys(user_id="dan", anonymous_id="anon-dan"), source="test"
        )
    _order(db, ws, "#1", "ann", start - DAY, 1000)  # before her conversation
    _order(db, ws, "#2", "ann", start + 2 * DAY, 4500)  # within 7 days
    _order(db, ws, "#3", "ann", start + 3 * DAY, 7000, cancelled=True)
    _order(db, ws, "#4", "ann", start + 8 * DAY, 9900)  # after 7 days
    _order(db, ws, "#5", "bob", start + 7 * DAY + HOUR, 2500)  # just after 7 days
    _order(db, ws, "#6", "dan", start + DAY + 3 * HOUR, 3000)  # identified afterwards
    # NPS answers: a promoter by email, and a detractor through the assistant's chat
    factories.answer(db, ws, 10, "Parfait", now=now - 2 * DAY)
    chat = factories.answer(db, ws, 3, "Trop lent", now=now - 2 * DAY)
    with db.session() as session:
        session.execute(update(Response).where(Response.id == chat).values(channel="chat"))
    return Shop(ws, now, start, clicked)


def _figures(db: Database, shop: Shop, days: int = 30) -> insights.AssistantFigures:
    with db.session() as session:
        return insights.assistant_figures(
            session, shop.workspace_id, since=shop.now - days * DAY, until=shop.now + MINUTE
        )


def test_conversations_intents_and_unanswered_questions_are_counted(
    any_db: Database, shop: Shop
) -> None:
    # when the month's figures are read
    figures = _figures(any_db, shop)
    # then the month's ten conversations count, each on its day, not the older one
    assert figures.conversations == 10
    assert len(figures.per_day) == 31 and sum(d.conversations for d in figures.per_day) == 10
    by_day = {d.day: d.conversations for d in figures.per_day if d.conversations}
    assert by_day[shop.start.date()] >= 2 and by_day[shop.now.date()] >= 1
    # and each shopper message's intent once
    assert {i.intent: i.messages for i in figures.intents} == {
        "human": 4,
        "search": 3,
        "faq": 3,
        "thanks": 1,
    }
    assert figures.intents[0].intent == "human"
    # and the same question in other capitals and accents is one, shown as last asked
    assert [(q.text, q.asked) for q in figures.unanswered] == [
        ("QUELS sont vos delais de livraison?", 2),
        (SCRIPT, 1),
    ]
    assert figures.unanswered[0].last_seen == shop.start + 2 * HOUR
    assert figures.unanswered_total == 3


def test_products_clicks_handoffs_conversions_and_nps(any_db: Database, shop: Shop) -> None:
    figures = _figures(any_db, shop)
    # the card clicked twice in the one conversation that showed it
    [clicked] = [p for p in figures.products if p.sku == shop.clicked]
    assert (clicked.shown, clicked.conversations) == (1, 1)
    assert (clicked.clicks, clicked.clicked_in) == (2, 1)
    assert clicked.click_rate == 1.0 and clicked.title
    assert all(p.clicks == 0 and p.click_rate == 0.0 for p in figures.products if p is not clicked)
    assert figures.products == tuple(sorted(figures.products, key=lambda p: -p.shown))
    # orders within 7 days of a conversation: Ann's second order and Dan's, identified later;
    # not the one before, the cancelled one, nor those after 7 days
    conversions = figures.conversions
    assert (conversions.converting, conversions.orders) == (2, 2)
    assert (conversions.revenue_cents, conversions.currency) == (7500, "EUR")
    assert conversions.rate == pytest.approx(0.2)
    assert conversions.identified == 3
    # four handoffs, three answered after 10, 30 and 50 minutes: the median is 30
    handoffs = figures.handoffs
    assert (handoffs.count, handoffs.answered) == (4, 3)
    assert handoffs.share == pytest.approx(0.4)
    assert handoffs.median_minutes_to_reply == pytest.approx(30, abs=1)
    # the NPS of each channel, the assistant's chat included, answered or not
    nps = {row.channel: row.summary for row in figures.nps}
    assert list(nps)[:4] == ["email", "link", "widget", "chat"]
    assert (nps["email"].n, nps["email"].nps) == (1, 100.0)
    assert (nps["chat"].n, nps["chat"].nps) == (1, -100.0)
    assert nps["link"].n == nps["widget"].n == 0


def test_a_week_holds_only_the_last_days(any_db: Database, shop: Shop) -> None:
    figures = _figures(any_db, shop, days=7)
    assert figures.conversations == 4
    assert figures.unanswered == () and figures.products == ()
    assert figures.conversions.converting == 0 and figures.conversions.rate == 0.0
    assert figures.handoffs.count == 4


def _kpi(html: str, name: str) -> str:
    match = re.search(rf'data-kpi="{name}">([^<]*)<', html)
    assert match is not None, name
    return match.group(1)


@pytest.mark.parametrize(
    ("address", "revenue", "minutes"),
    [("fr@example.com", "75,00\u00a0€", "30,0"), ("en@example.com", "€75.00", "30.0")],
)
def test_the_page_reads_in_each_language_and_escapes_what_shoppers_wrote(
    any_db: Database, shop: Shop, address: str, revenue: str, minutes: str
) -> None:
    with TestClient(create_app(any_db)) as client:
        login(client, address)
        # when the merchant opens the assistant's page
        page = client.get(f"/w/{shop.workspace_id}/assistant")
        # then it shows the month, in her language's numbers
        assert page.status_code == 200
        html = page.text
        assert f'lang="{address[:2]}"' in html
        assert f'href="/w/{shop.workspace_id}/assistant" aria-current="page"' in html
        assert _kpi(html, "conversations") == "10"
        assert _kpi(html, "revenue") == revenue
        assert _kpi(html, "reply").startswith(minutes[:2])
        # and codes as labels, what shoppers wrote as text
        assert "order_status" not in html and "human" not in html
        if address.startswith("en"):
            assert "asks for a person" in html and "product search" in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "<script>alert(1)" not in html
        # the week holds the handoffs only; a period it does not know reads as the month
        week = client.get(f"/w/{shop.workspace_id}/assistant", params={"days": "7"})
        assert week.status_code == 200 and _kpi(week.text, "conversations") == "4"
        odd = client.get(f"/w/{shop.workspace_id}/assistant", params={"days": "٣"})
        assert odd.status_code == 200 and _kpi(odd.text, "conversations") == "10"


def test_an_empty_workspace_shows_its_page(any_db: Database, shop: Shop) -> None:
    with any_db.session() as session:
        other = workspaces.create_workspace(session, WorkspaceCreate(name="Vide")).workspace_id
        user = workspaces.create_user(session, email="new@example.com", password=PASSWORD)
        workspaces.add_member(session, workspace_id=other, user=user, role="agent")
    with TestClient(create_app(any_db)) as client:
        login(client, "new@example.com")
        page = client.get(f"/w/{other}/assistant", params={"days": "90"})
        assert page.status_code == 200
        assert _kpi(page.text, "conversations") == "0"
