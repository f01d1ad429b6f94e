"""What the assistant does beyond the catalog: an order's status (number and email, or the
identified customer; no existence leak; rate-limited), NPS in conversation through the survey
engine (channel chat, tagged, throttled), a ticket posted on handoff, compensation within the
merchant's limits, and complements bought together."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import select

from cxloop import commerce, i18n
from cxloop.alerts import service as alerts
from cxloop.assistant import options, orders, service
from cxloop.assistant.models import Conversation
from cxloop.cases.models import Case
from cxloop.commerce.models import Coupon
from cxloop.recommend import serving as recommend_serving
from cxloop.store.base import utcnow
from cxloop.store.db import Database
from cxloop.surveys.models import Invitation, Response
from cxloop.wiring import wire
from tests.helpers import factories
from tests.helpers.catalog import stock_demo_catalog
from tests.helpers.services import RunningWorker
from tests.helpers.webhooks import Receiver, signature_of

NOW = dt.datetime(2026, 12, 4, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
def shop(db: Database, make_workspace: Any) -> Any:
    keys = make_workspace("Maison Lou")
    stock_demo_catalog(db, keys.workspace_id)
    return keys


def _late_order(db: Database, workspace_id: str, customer_id: int) -> str:
    """An order of two items whose parcel was promised two days ago and is still on its way."""
    order_id, _parcel = factories.order(
        db,
        workspace_id,
        customer_id,
        NOW - dt.timedelta(days=6),
        promised_at=NOW - dt.timedelta(days=2),
        total_cents=8980,
    )
    lines = [("P1", "Baskets en toile blanches", 1), ("P2", "Chaussettes", 2)]
    factories.order_items(db, workspace_id, order_id, lines, unit_cents=4490)
    with db.session() as session:
        order = commerce.get_order(session, workspace_id, order_id)
        assert order is not None
        return order.external_id


def _conversation(db: Database, workspace_id: str, **who: Any) -> str:
    with db.session() as session:
        started = service.start_conversation(
            session, workspace_id, anonymous_id=who.pop("anonymous_id", "anon-1"), now=NOW, **who
        )
        return started.conversation.id


def _lookup(db: Database, workspace_id: str, cid: str, number: str, email: str) -> Any:
    with db.session() as session, i18n.speaking("fr"):
        conversation = service.get_conversation(session, workspace_id, cid)
        return orders.order_reply(session, conversation, number, email, lang="fr", now=NOW)


def test_an_order_is_told_by_number_and_email_and_a_late_parcel_acknowledged(
    db: Database, shop: Any
) -> None:
    ws = shop.workspace_id
    customer = factories.customer(db, ws, email="lou@example.com")
    number = _late_order(db, ws, customer)
    cid = _conversation(db, ws)
    told = _lookup(db, ws, cid, number.lstrip("#"), "Lou@Example.com ")
    assert "Baskets en toile blanches × 1" in told.text and "Chaussettes × 2" in told.text
    assert "Colissimo" in told.text and "89,80\u00a0€" in told.text
    assert "en retard" in told.text and "2 décembre 2026" in told.text
    assert [b["payload"] for b in told.buttons] == [{"intent": "human"}]


def test_a_wrong_email_and_an_unknown_number_get_the_same_answer_then_a_limit(
    db: Database, shop: Any
) -> None:
    ws = shop.workspace_id
    customer = factories.customer(db, ws, email="lou@example.com")
    number = _late_order(db, ws, customer)
    cid = _conversation(db, ws)
    wrong_email = _lookup(db, ws, cid, number, "someone@else.com")
    unknown = _lookup(db, ws, cid, "999999", "lou@example.com")
    assert wrong_email.text == unknown.text and wrong_email.buttons == unknown.buttons
    assert "Colissimo" not in wrong_email.text
    for _ in range(orders.MAX_FAILED - 2):
        _lookup(db, ws, cid, "123456", "x@y.fr")
    # five failures within the hour: even the right pair is not looked up now, from any
    # conversation of this visitor
    other = _conversation(db, ws)
    limited = _lookup(db, ws, other, number, "lou@example.com")
    assert "Colissimo" not in limited.text and limited.unanswered
    # another visitor is not limited
    third = _conversation(db, ws, anonymous_id="anon-2")
    assert "Colissimo" in _lookup(db, ws, third, number, "lou@example.com").text


def test_an_identified_customer_gets_their_latest_order_directly(db: Database, shop: Any) -> None:
    ws = shop.workspace_id
    customer = factories.customer(db, ws, email="lou@example.com", user_id="u-lou")
    _late_order(db, ws, customer)
    cid = _conversation(db, ws, user_id="u-lou")
    told = _lookup(db, ws, cid, "", "")
    assert "Chaussettes × 2" in told.text
    stranger = _conversation(db, ws, anonymous_id="anon-9")
    asked = _lookup(db, ws, stranger, "", "")
    assert "numéro" in asked.text and "Colissimo" not in asked.text


def _say(db: Database, ws: str, cid: str, text: str, payload: Any = None) -> list[Any]:
    with db.session() as session:
        exchange = service.post_message(session, ws, cid, text=text, payload=payload, now=NOW)
        return exchange.to_json()["messages"]


def test_nps_is_asked_in_conversation_and_recorded_as_a_chat_answer(
    db: Database, shop: Any
) -> None:
    wire()  # as the app and the worker do at start-up: answers are tagged and alerted
    ws = shop.workspace_id
    factories.survey(db, ws, channels=["email", "chat"])
    cid = _conversation(db, ws)
    said = _say(db, ws, cid, "merci beaucoup !")
    thanks, question = said[1], said[2]
    assert thanks["intent"] == "thanks" and question["intent"] == "nps"
    assert [b["label"] for b in question["buttons"]] == [str(n) for n in range(11)]
    assert question["buttons"][0]["hint"] == "Pas du tout probable"
    followup = _say(db, ws, cid, "3", {"nps": 3})[-1]
    assert followup["text"] == "Qu'est-ce qui vous a déplu ?"
    done = _say(db, ws, cid, "La livraison était trop lente et le colis abîmé")[-1]
    assert done["text"].startswith("Merci de nous l'avoir dit")
    with db.session() as session:
        answer = session.scalars(select(Response)).one()
        invitation = session.get(Invitation, answer.invitation_id)
        assert invitation is not None
        assert (answer.channel, answer.score, answer.category) == ("chat", 3, "detractor")
        assert answer.touchpoint == "conversation" and answer.status == "confirmed"
        assert answer.followup == "La livraison était trop lente et le colis abîmé"
        assert answer.themes  # tagged by the themes domain, as any answer
        assert invitation.subject_key == f"chat:{cid}"
    # asked once per conversation
    again = _say(db, ws, cid, "merci encore")
    assert [m["intent"] for m in again[1:]] == ["thanks"]


def test_nps_in_conversation_follows_the_survey_rules(db: Database, shop: Any) -> None:
    ws = shop.workspace_id
    # no survey with the chat channel: never asked
    cid = _conversation(db, ws)
    assert [m["intent"] for m in _say(db, ws, cid, "merci !")[1:]] == ["thanks"]
    survey_id = factories.survey(db, ws, channels=["chat"])
    # a customer asked by email last week is within the survey's cooldown
    customer = factories.customer(db, ws, user_id="u-1")
    with db.session() as session:
        session.add(
            Invitation(
                workspace_id=ws,
                survey_id=survey_id,
                customer_id=customer,
                subject_key="order:1",
                touchpoint="after_delivery",
                channel="email",
                status="sent",
                token="t" * 20,
                scheduled_at=utcnow() - dt.timedelta(days=7),
                sent_at=utcnow() - dt.timedelta(days=7),
                expires_at=utcnow() + dt.timedelta(days=20),
                created_at=utcnow() - dt.timedelta(days=7),
            )
        )
    known = _conversation(db, ws, user_id="u-1")
    assert [m["intent"] for m in _say(db, ws, known, "merci !")[1:]] == ["thanks"]
    # the merchant turned it off
    with db.session() as session:
        options.save_options(session, ws, options.Options(nps_in_chat=False), actor="test")
    other = _conversation(db, ws, anonymous_id="anon-7")
    assert [m["intent"] for m in _say(db, ws, other, "merci !")[1:]] == ["thanks"]


def test_a_handoff_posts_a_signed_ticket(db: Database, shop: Any, worker: RunningWorker) -> None:
    ws = shop.workspace_id
    receiver = Receiver()
    try:
        with db.session() as session:
            options.save_options(
                session, ws, options.Options(ticket_url=receiver.url), actor="test"
            )
        cid = _conversation(db, ws)
        _say(db, ws, cid, "des baskets blanches")
        _say(db, ws, cid, "je veux parler à un humain")
        worker.settle()
        [(headers, body)] = receiver.calls
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
    assert headers["X-Cxloop-Signature"] == signature_of(ws, body)
    ticket = json.loads(body)
    assert ticket["type"] == "assistant.handoff" and ticket["conversation_id"] == cid
    assert [m["author"] for m in ticket["messages"]][-2:] == ["shopper", "assistant"]
    assert ticket["messages"][1]["text"] == "des baskets blanches"
    assert ticket["messages"][2]["products"]


def test_compensation_stays_within_the_merchants_limits(db: Database, shop: Any) -> None:
    ws = shop.workspace_id
    customer = factories.customer(db, ws, user_id="u-5")
    with db.session() as session, pytest.raises(Exception, match="50"):
        options.save_options(
            session,
            ws,
            options.Options(compensation_kind="percent", compensation_value=90),
            actor="test",
        )
    with db.session() as session:
        options.save_options(
            session,
            ws,
            options.Options(
                compensation_kind="percent", compensation_value=10, compensations_per_day=1
            ),
            actor="test",
        )
    anonymous = _conversation(db, ws)
    known = _conversation(db, ws, user_id="u-5")
    other_known = _conversation(db, ws, user_id="u-5", anonymous_id="anon-3")

    def compensate(cid: str) -> Any:
        with db.session() as session:
            conversation = session.get(Conversation, cid)
            assert conversation is not None
            context = service._context(session, conversation, NOW, service._Asked())
            assert context.compensate is not None
            return context.compensate("late parcel")

    assert compensate(anonymous) is None  # only a known customer
    given = compensate(known)
    assert given is not None and "10" in given.text
    assert compensate(known) is None  # once per conversation
    assert compensate(other_known) is None  # the daily budget (1) is spent
    with db.session() as session:
        coupons = session.scalars(select(Coupon)).all()
    assert [(c.kind, c.value, c.customer_id, c.source) for c in coupons] == [
        ("percent", 10, customer, "assistant")
    ]
    assert coupons[0].code in given.text


def test_order_status_and_a_delivery_problem_in_conversation(db: Database, shop: Any) -> None:
    ws = shop.workspace_id
    customer = factories.customer(db, ws, email="lou@example.com", user_id="u-lou")
    number = _late_order(db, ws, customer)
    with db.session() as session:
        options.save_options(
            session,
            ws,
            options.Options(compensation_kind="free_shipping", compensations_per_day=5),
            actor="test",
        )
    # A visitor: the number, then the email, are asked for
    cid = _conversation(db, ws)
    asked = _say(db, ws, cid, "où en est ma commande ?")[-1]
    assert "numéro" in asked["text"]
    assert "e-mail" in _say(db, ws, cid, number)[-1]["text"]
    told = _say(db, ws, cid, "lou@example.com")
    assert any("Colissimo" in m["text"] and "en retard" in m["text"] for m in told)
    # A signed-in customer with a late parcel: apology, the order, a case, a compensation
    known = _conversation(db, ws, user_id="u-lou", anonymous_id="anon-lou")
    said = _say(db, ws, known, "mon colis n'est toujours pas arrivé")
    texts = " ".join(m["text"] for m in said[1:])
    assert "désolé" in texts and "Colissimo" in texts
    question = said[-1]
    late = next(
        b for b in question["buttons"] if b["payload"].get("slot", {}).get("value") == "late"
    )
    after = _say(db, ws, known, late["label"], late["payload"])
    texts = " ".join(m["text"] for m in after[1:])
    with db.session() as session:
        case = session.scalars(select(Case)).one()
        coupon = session.scalars(select(Coupon)).one()
    assert f"référence {case.id}" in texts and coupon.code in texts
    assert case.customer_id == customer and case.source == "assistant"
    assert coupon.kind == "free_shipping" and coupon.customer_id == customer


def test_complements_come_from_what_was_bought_together(db: Database, shop: Any) -> None:
    ws = shop.workspace_id
    cid = _conversation(db, ws)
    shown = _say(db, ws, cid, "des baskets blanches pour femme")[-1]
    button = next(b for b in shown["buttons"] if b["payload"] == {"intent": "complements"})
    nothing = _say(db, ws, cid, button["label"], button["payload"])[-1]
    assert not nothing["products"]  # nobody bought anything yet
    first = shown["products"][0]["id"]
    with db.session() as session:
        others = [
            sku
            for (sku,) in session.execute(
                select(commerce.Product.sku).where(
                    commerce.Product.workspace_id == ws,
                    commerce.Product.availability == "in_stock",
                    commerce.Product.category != "",
                )
            )
            if sku not in {p["id"] for p in shown["products"]}
        ][:6]
    often, once, *elsewhere = others
    # customers who bought the first with another (6 with "often", 3 with "once"), and others
    # who bought something else: the recommendations' bought-together, by customers
    baskets = [[first, often]] * 6 + [[first, once]] * 3 + [[sku] for sku in elsewhere] * 6
    for n, basket in enumerate(baskets):
        customer = factories.customer(db, ws)
        order_id, _parcel = factories.order(db, ws, customer, NOW - dt.timedelta(days=n + 1))
        factories.order_items(db, ws, order_id, [(sku, sku, 1) for sku in basket])
    recommend_serving.forget_models(ws)
    suggested = _say(db, ws, cid, button["label"], button["payload"])[-1]
    assert [p["id"] for p in suggested["products"]][:2] == [often, once]


def test_an_nps_answer_in_conversation_sets_off_the_alerts(
    db: Database, shop: Any, worker: RunningWorker
) -> None:
    ws = shop.workspace_id
    factories.survey(db, ws, channels=["chat"])
    receiver = Receiver()
    try:
        with db.session() as session:
            alerts.create_rule(
                session,
                ws,
                name="Detractors",
                kind="response",
                target="webhook",
                address=receiver.url,
                filters={"max_score": 6, "channel": "chat"},
            )
        cid = _conversation(db, ws)
        assert _say(db, ws, cid, "merci !")[-1]["intent"] == "nps"
        _say(db, ws, cid, "2", {"nps": 2})
        _say(db, ws, cid, "Le colis est arrivé en retard")
        worker.settle()
        [(_headers, body)] = receiver.calls
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
    alert = json.loads(body)
    assert alert["type"] == "nps.response" and alert["response"]["score"] == 2
    assert "delivery_delay" in alert["response"]["themes"]


def test_a_customer_with_a_recent_delivery_is_asked_how_it_went(db: Database, shop: Any) -> None:
    ws = shop.workspace_id
    factories.survey(db, ws, channels=["chat"])
    customer = factories.customer(db, ws, user_id="u-8")
    factories.order(
        db, ws, customer, NOW - dt.timedelta(days=6), delivered_at=NOW - dt.timedelta(days=3)
    )
    known = _conversation(db, ws, user_id="u-8")
    said = _say(db, ws, known, "des baskets blanches")
    assert said[1]["products"] and said[2]["intent"] == "nps"
    # a visitor, or a customer without a recent parcel, is not asked in the middle of a search
    visitor = _conversation(db, ws, anonymous_id="anon-77")
    assert [m["intent"] for m in _say(db, ws, visitor, "des baskets blanches")[1:]] == ["search"]
