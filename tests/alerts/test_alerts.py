"""Alerts: a signed webhook, once per answer; a Slack-shaped one; the silence alarm."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import sqlite3
from collections.abc import Iterator

import pytest
from sqlalchemy import select, text

from cxloop.alerts import service as alerts
from cxloop.alerts.models import AlertDelivery
from cxloop.errors import InvalidInput
from cxloop.store.db import Database
from cxloop.surveys import service
from cxloop.surveys.models import Invitation
from cxloop.themes import service as themes
from cxloop.workspaces import service as workspaces
from cxloop.workspaces.schemas import WorkspaceCreate
from tests.helpers import factories as f
from tests.helpers.webhooks import Receiver

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


def _answer(db: Database, ws: str, score: int, comment: str = "") -> int:
    if not _has_survey(db):
        f.survey(db, ws, created_at=NOW - dt.timedelta(days=30))
    cid = f.customer(db, ws, first_name="Lou")
    f.order(db, ws, cid, NOW - dt.timedelta(days=6), delivered_at=NOW - dt.timedelta(days=4))
    with db.session() as session:
        service.plan(session, ws, NOW)
        invitation = session.scalars(select(Invitation).where(Invitation.customer_id == cid)).one()
        service.mark_sent(session, invitation, NOW)
        answer = service.record_answer(
            session,
            invitation,
            score,
            confirmed=True,
            comment=comment,
            tag=themes.tags_for,
            on_confirmed=alerts.alert_after_commit,
        )
        return answer.response.id


def _has_survey(db: Database) -> bool:
    from cxloop.surveys.models import Survey

    with db.session() as session:
        return session.scalars(select(Survey)).first() is not None


def test_a_low_score_sends_one_signed_webhook(db, make_workspace, receiver) -> None:
    ws = make_workspace().workspace_id
    with db.session() as session:
        alerts.create_rule(
            session,
            ws,
            name="Detractors",
            kind="response",
            target="webhook",
            address=receiver.url,
            filters={"max_score": 6},
            secret="s3cret-key-for-hooks",
        )
    low = _answer(db, ws, 3, "Livraison en retard")
    high = _answer(db, ws, 10)
    for response_id in (low, high, low):  # the low one is processed twice
        alerts.alert_on_response(db, response_id, base_url="http://cx.test")
    assert len(receiver.calls) == 1
    headers, body = receiver.calls[0]
    expected = "sha256=" + hmac.new(b"s3cret-key-for-hooks", body, hashlib.sha256).hexdigest()
    assert headers["X-Cxloop-Signature"] == expected
    document = json.loads(body)
    assert document["type"] == "nps.response"
    assert document["response"]["score"] == 3
    assert document["response"]["comment"] == "Livraison en retard"
    assert document["customer"]["name"] == "Lou"
    assert document["link"].startswith(f"http://cx.test/w/{ws}/customers/")
    assert document["response"]["themes"] == ["delivery_delay"]
    assert document["response"]["sentiment"] < 0


def test_an_answer_rule_can_route_by_theme(db, make_workspace, receiver) -> None:
    # given a rule for detractors who blame the delivery cost (to send a free-shipping code)
    ws = make_workspace().workspace_id
    with db.session() as session:
        alerts.create_rule(
            session,
            ws,
            name="Shipping cost",
            kind="response",
            target="webhook",
            address=receiver.url,
            filters={"max_score": 6, "themes": ["delivery_cost"]},
        )
    # when two detractors answer, one about the shipping fees, one about a late parcel
    fees = _answer(db, ws, 4, "Les frais de port sont beaucoup trop chers")
    late = _answer(db, ws, 4, "Colis arrivé avec une semaine de retard")
    for response_id in (fees, late):
        alerts.alert_on_response(db, response_id, base_url="http://cx.test")
    # then only the first is routed
    assert [json.loads(body)["response"]["id"] for _, body in receiver.calls] == [fees]


def test_a_theme_filter_must_be_a_list_of_keys(db, make_workspace) -> None:
    ws = make_workspace().workspace_id
    with db.session() as session, pytest.raises(InvalidInput, match="themes"):
        alerts.create_rule(
            session, ws, name="x", kind="response", target="webhook",
            address="https://example.com/hook", filters={"themes": "delivery_cost"},
        )  # fmt: skip


def test_a_failed_webhook_is_retried_then_sent_once(db, make_workspace, receiver) -> None:
    ws = make_workspace().workspace_id
    with db.session() as session:
        alerts.create_rule(
            session,
            ws,
            name="All",
            kind="response",
            target="webhook",
            address=receiver.url,
            slack_format=True,
        )
    response_id = _answer(db, ws, 5)
    receiver.fail_next = 1
    assert alerts.alert_on_response(db, response_id, base_url="http://cx.test") == 0
    assert alerts.alert_on_response(db, response_id, base_url="http://cx.test") == 1
    assert alerts.alert_on_response(db, response_id, base_url="http://cx.test") == 0
    [(_, body)] = receiver.calls
    # in the workspace's language (French here), the Slack link's words included
    text = json.loads(body)["text"]
    assert text.startswith("NPS 5/10 (détracteur) de Lou, commande #")
    assert text.endswith("|Ouvrir dans cxloop>")
    with db.session() as session:
        [delivery] = session.scalars(select(AlertDelivery)).all()
        assert (delivery.status, delivery.attempts) == ("sent", 2)


def test_silence_alarm_when_orders_come_in_but_no_invitation_goes_out(
    db, make_workspace, receiver
) -> None:
    ws = make_workspace().workspace_id
    with db.session() as session:
        alerts.create_rule(
            session,
            ws,
            name="Broken hook",
            kind="silence",
            target="webhook",
            address=receiver.url,
            filters={"silence_hours": 6},
        )
    cid = f.customer(db, ws)
    f.order(db, ws, cid, NOW - dt.timedelta(hours=2))
    assert alerts.check_silence(db, NOW, base_url="http://cx.test") == 1
    assert alerts.check_silence(db, NOW, base_url="http://cx.test") == 0  # once per window
    document = json.loads(receiver.calls[0][1])
    assert (document["type"], document["orders"], document["invitations"]) == ("nps.silence", 1, 0)


def test_no_silence_alarm_when_invitations_flow(db, make_workspace, receiver) -> None:
    ws = make_workspace().workspace_id
    with db.session() as session:
        alerts.create_rule(
            session, ws, name="Broken hook", kind="silence", target="webhook", address=receiver.url
        )
    _answer(db, ws, 9)  # an invitation sent now
    assert alerts.check_silence(db, NOW, base_url="http://cx.test") == 0
    assert receiver.calls == []


def test_rules_refuse_bad_targets(db, make_workspace) -> None:
    from cxloop.errors import InvalidInput

    ws = make_workspace().workspace_id
    with pytest.raises(InvalidInput) as err, db.session() as session:
        alerts.create_rule(
            session, ws, name="x", kind="response", target="webhook", address="ftp://nope"
        )
    assert err.value.field == "address"


def test_an_email_alert_goes_to_the_outbox(db, make_workspace, tmp_path) -> None:
    from cxloop.alerts import flows
    from cxloop.channels.models import OutboundMessage
    from cxloop.config import Settings

    ws = make_workspace().workspace_id
    with db.session() as session:
        alerts.create_rule(
            session,
            ws,
            name="Team",
            kind="response",
            target="email",
            address="cx-team@example.com",
            filters={"max_score": 6},
        )
    response_id = _answer(db, ws, 2, "Jamais reçu")
    settings = Settings(home=tmp_path, secret_key="k" * 40)
    sent = alerts.alert_on_response(
        db,
        response_id,
        base_url="http://cx.test",
        email=flows.email_alert(settings),
        deliver=flows.deliver_mail(db, settings),
    )
    assert sent == 1
    with db.session() as session:
        [message] = session.scalars(
            select(OutboundMessage).where(OutboundMessage.purpose == "alert")
        ).all()
    assert (message.to_address, message.status) == ("cx-team@example.com", "outbox")
    assert "NPS 2/10" in message.subject
    assert "Jamais reçu" in message.text
    # written for the French team: score, comment and the themes the answer was tagged with
    assert message.subject == "[cxloop] NPS 2/10 de Lou"
    assert "Note : 2/10 (détracteur)" in message.text
    assert "Thèmes : Délais de livraison" in message.text


def test_an_english_store_gets_its_alerts_in_english(db, make_workspace, receiver) -> None:
    ws = make_workspace(locale="en").workspace_id
    with db.session() as session:
        alerts.create_rule(
            session, ws, name="All", kind="response", target="webhook",
            address=receiver.url, slack_format=True,
        )  # fmt: skip
    response_id = _answer(db, ws, 9, "Great quality")
    assert alerts.alert_on_response(db, response_id, base_url="http://cx.test") == 1
    [(_, body)] = receiver.calls
    text = json.loads(body)["text"]
    assert text.startswith("NPS 9/10 (promoter) from Lou, order #")
    assert text.endswith("|Open in cxloop>")


def _open_transactions(db: Database) -> str:
    """Whether another connection holds a transaction on the store right now."""
    if db.dialect == "sqlite":
        store = sqlite3.connect(db.url.split("///", 1)[1], timeout=0)
        try:
            store.execute("BEGIN IMMEDIATE")  # fails at once if a writer holds the lock
            store.rollback()
            return "none"
        except sqlite3.OperationalError as exc:
            return str(exc)
        finally:
            store.close()
    with db.engine.connect() as conn:
        states = conn.execute(
            text(
                "select state from pg_stat_activity where datname = current_database() "
                "and pid <> pg_backend_pid() and state like 'idle in transaction%'"
            )
        ).scalars()
        return ", ".join(states) or "none"


def test_webhooks_are_posted_after_their_claim_commits_and_hold_no_transaction(
    any_db: Database, receiver: Receiver
) -> None:
    # given two rules whose endpoint, while it answers, looks at the store from outside
    with any_db.session() as session:
        ws = workspaces.create_workspace(session, WorkspaceCreate(name="Lou")).workspace_id
        for name in ("Team", "Helpdesk"):
            alerts.create_rule(
                session, ws, name=name, kind="response", target="webhook", address=receiver.url
            )
    response_id = _answer(any_db, ws, 4)
    seen: list[tuple[list[tuple[str, int]], str]] = []

    def look(_body: bytes) -> None:
        with any_db.session() as session:
            deliveries = session.scalars(select(AlertDelivery).order_by(AlertDelivery.id))
            claims = [(d.status, d.attempts) for d in deliveries]
        seen.append((claims, _open_transactions(any_db)))

    receiver.during = look
    # when the answer's alerts are sent
    assert alerts.alert_on_response(any_db, response_id, base_url="http://cx.test") == 2
    # then each post saw both alerts claimed and committed, and no transaction left open
    claimed = [("sending", 1), ("sending", 1)]
    assert seen == [(claimed, "none"), (claimed, "none")]
    # and the outcomes are recorded after the posts
    with any_db.session() as session:
        deliveries = session.scalars(select(AlertDelivery)).all()
        assert [(d.status, d.attempts, d.last_error) for d in deliveries] == [("sent", 1, "")] * 2
        assert all(d.sent_at is not None for d in deliveries)
