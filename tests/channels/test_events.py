"""Provider events: signed bounces, complaints, deliveries and opens; the funnel's status."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from cxloop import signing
from cxloop.channels import email, events
from cxloop.channels.models import DeliveryEvent, OutboundMessage
from cxloop.ingest.webhooks import set_secret
from cxloop.profiles import service as profiles
from cxloop.profiles.models import ConsentChange
from cxloop.store.db import Database
from cxloop.store.registry import load_models
from tests.helpers.mail import Shop, queue_invitation

SECRET = "esp-secret-0123456789"
CXLOOP = str(Path(sys.executable).with_name("cxloop"))
UTC = dt.UTC


def counts(db: Database) -> dict[str, int]:
    """Rows in every table of the store."""
    with db.session() as session:
        return {
            table.name: int(session.scalar(select(func.count()).select_from(table)) or 0)
            for table in load_models().metadata.sorted_tables
        }


class Provider:
    """An email provider posting signed events to the workspace's endpoint."""

    def __init__(self, client: TestClient, shop: Shop) -> None:
        self.client = client
        self.shop = shop

    def post(self, document: Any, *, secret: str = SECRET, signature: str | None = None) -> Any:
        body = json.dumps(document).encode()
        header = signature if signature is not None else signing.header_value(secret, body)
        return self.client.post(
            f"/webhooks/email/{self.shop.workspace_id}",
            content=body,
            headers={"Content-Type": "application/json", "X-Cxloop-Signature": header},
        )


@pytest.fixture
def sent(db: Database, shop: Shop) -> OutboundMessage:
    """An invitation delivered to the outbox, and the workspace's email secret set."""
    message_id = queue_invitation(db, shop)
    email.deliver(db, [message_id], email.OutboxSender())
    with db.session() as session:
        set_secret(session, shop.workspace_id, "email", SECRET)
        row = session.get(OutboundMessage, message_id)
        assert row is not None
        return row


@pytest.fixture
def provider(app: FastAPI, shop: Shop) -> Any:
    with TestClient(app) as client:
        yield Provider(client, shop)


def state(db: Database, shop: Shop, message_id: int) -> tuple[str, str, dict[str, Any]]:
    with db.session() as session:
        row = session.get(OutboundMessage, message_id)
        customer = profiles.get_customer(session, shop.workspace_id, shop.customer_id)
        assert row is not None and customer is not None
        return row.status, row.error, dict(customer.consent.get("email", {}))


def consent_changes(db: Database) -> list[tuple[str, str, str]]:
    with db.session() as session:
        rows = session.scalars(select(ConsentChange).order_by(ConsentChange.id)).all()
        return [(c.channel, c.status, c.source) for c in rows]


def test_a_hard_bounce_marks_the_message_and_denies_email(
    db: Database, shop: Shop, sent: OutboundMessage, provider: Provider
) -> None:
    # when the provider reports a hard bounce for the message
    response = provider.post(
        {
            "type": "bounce",
            "message_id": sent.message_id.strip("<>"),
            "email": "Zoe@Example.com",
            "hard": True,
            "at": "2026-03-01T10:00:00Z",
            "detail": "550 5.1.1 user unknown",
        }
    )
    # then it is recorded, the message is bounced and email consent denied from "bounce"
    assert response.status_code == 200
    assert response.json() == {
        "status": "applied",
        "received": 1,
        "recorded": 1,
        "duplicates": 0,
        "unmatched": 0,
    }
    status, error, consent = state(db, shop, sent.id)
    assert (status, error) == ("bounced", "bounced: 550 5.1.1 user unknown")
    assert (consent["status"], consent["source"]) == ("denied", "bounce")
    assert consent_changes(db) == [("email", "denied", "bounce")]
    with db.session() as session:
        event = session.scalars(select(DeliveryEvent)).one()
        assert (event.message_id, event.kind) == (sent.id, "bounced")
        assert event.at == dt.datetime(2026, 3, 1, 10, tzinfo=UTC)
        assert event.data == {
            "message_id": sent.message_id,
            "email": "zoe@example.com",
            "detail": "550 5.1.1 user unknown",
        }
    # and the next invitation is refused as bounced
    with pytest.raises(email.Undeliverable) as refused:
        queue_invitation(db, shop)
    assert refused.value.reason == "bounced"


def test_a_complaint_denies_email_with_its_source(
    db: Database, shop: Shop, sent: OutboundMessage, provider: Provider
) -> None:
    response = provider.post([{"type": "complaint", "message_id": sent.message_id}])
    assert response.status_code == 200
    status, _error, consent = state(db, shop, sent.id)
    assert status == "complained"
    assert (consent["status"], consent["source"]) == ("denied", "complaint")
    assert consent_changes(db) == [("email", "denied", "complaint")]


def test_a_soft_bounce_delivery_and_open_change_no_consent(
    db: Database, shop: Shop, sent: OutboundMessage, provider: Provider
) -> None:
    mid = sent.message_id
    response = provider.post(
        [
            {"type": "bounce", "message_id": mid, "hard": False, "at": "2026-03-01T10:00:00Z"},
            {"type": "delivered", "message_id": mid, "at": "2026-03-01T10:05:00Z"},
            {"type": "opened", "message_id": mid, "at": "2026-03-01T11:00:00+01:00"},
            {"type": "opened", "message_id": mid, "at": "2026-03-01T12:30:00Z"},
        ]
    )
    assert response.json()["recorded"] == 4
    with db.session() as session:
        kinds = session.scalars(select(DeliveryEvent.kind).order_by(DeliveryEvent.id)).all()
    assert kinds == ["soft_bounced", "delivered", "opened", "opened"]
    assert state(db, shop, sent.id) == ("outbox", "", {})
    assert consent_changes(db) == []
    # and the funnel sees the first of each
    with db.session() as session:
        status = events.delivery_status(session, shop.workspace_id, ["invitation:1", "other"])
    assert status == {
        "invitation:1": events.DeliveryStatus(
            related_key="invitation:1",
            message_id=sent.id,
            status="outbox",
            messages=1,
            sent_at=status["invitation:1"].sent_at,
            delivered_at=dt.datetime(2026, 3, 1, 10, 5, tzinfo=UTC),
            opened_at=dt.datetime(2026, 3, 1, 10, 0, tzinfo=UTC),
            bounced_at=None,
            complained_at=None,
        )
    }
    assert status["invitation:1"].sent_at is not None


def test_the_same_event_twice_is_recorded_once(
    db: Database, sent: OutboundMessage, provider: Provider
) -> None:
    document = {"type": "complaint", "message_id": sent.message_id, "at": "2026-03-01T10:00:00Z"}
    provider.post(document)
    again = provider.post(document)
    assert again.json()["duplicates"] == 1
    assert counts(db)["delivery_events"] == 1
    assert counts(db)["consent_changes"] == 1


@pytest.mark.parametrize(
    ("signature", "detail"),
    [
        ("sha256=" + "0" * 64, "signature does not match the body"),
        ("", "signature header missing"),
        (None, "signature does not match the body"),  # signed with another secret
    ],
)
def test_a_bad_signature_is_refused_and_nothing_is_stored(
    db: Database,
    sent: OutboundMessage,
    provider: Provider,
    signature: str | None,
    detail: str,
) -> None:
    before = counts(db)
    response = provider.post(
        {"type": "bounce", "message_id": sent.message_id, "email": "zoe@example.com"},
        secret="not-the-secret-at-all",
        signature=signature,
    )
    assert response.status_code == 401
    assert response.json() == {
        "error": "unauthorized",
        "detail": detail,
        "field": "X-Cxloop-Signature",
    }
    assert counts(db) == before


def test_without_a_secret_every_delivery_is_refused(app: FastAPI, db: Database, shop: Shop) -> None:
    with TestClient(app) as client:
        response = Provider(client, shop).post({"type": "opened", "email": "zoe@example.com"})
    assert response.status_code == 401
    assert response.json()["detail"] == "no email webhook secret is set for this workspace"
    assert counts(db)["delivery_events"] == 0


@pytest.mark.parametrize(
    ("document", "status", "field"),
    [
        ({"type": "clicked", "message_id": "<a@b>"}, 422, "events[0].type"),
        ({"type": "bounce"}, 422, "events[0].message_id"),
        ({"type": "bounce", "email": "a@b.c", "hard": "yes"}, 422, "events[0].hard"),
        ({"type": "opened", "email": "a@b.c", "at": "2026-03-01 10:00"}, 422, "events[0].at"),
        ([], 422, "body"),
    ],
)
def test_a_malformed_event_is_refused_and_nothing_is_stored(
    db: Database,
    sent: OutboundMessage,
    provider: Provider,
    document: Any,
    status: int,
    field: str,
) -> None:
    before = counts(db)
    response = provider.post(document)
    assert (response.status_code, response.json()["field"]) == (status, field)
    assert counts(db) == before


def test_a_hard_bounce_without_our_message_id_still_reaches_the_customer(
    db: Database, shop: Shop, sent: OutboundMessage, provider: Provider
) -> None:
    response = provider.post({"type": "bounce", "email": "zoe@example.com"})
    assert response.json()["unmatched"] == 1
    assert consent_changes(db) == [("email", "denied", "bounce")]
    with db.session() as session:
        event = session.scalars(select(DeliveryEvent)).one()
        assert (event.message_id, event.kind) == (None, "bounced")


def test_a_bounce_of_an_old_address_keeps_the_customers_consent(
    db: Database, shop: Shop, sent: OutboundMessage, provider: Provider
) -> None:
    # given the customer moved to a new address after the email went out
    with db.session() as session:
        customer = profiles.get_customer(session, shop.workspace_id, shop.customer_id)
        assert customer is not None
        customer.email = "zoe@new.example"
    provider.post({"type": "bounce", "message_id": sent.message_id, "email": "zoe@example.com"})
    assert state(db, shop, sent.id)[0] == "bounced"
    assert consent_changes(db) == []


def test_delivery_hooks_hear_what_happened(
    db: Database, shop: Shop, sent: OutboundMessage, provider: Provider
) -> None:
    heard: list[tuple[str, str]] = []

    def hook(_session: Any, batch: Sequence[email.Delivery], kind: str, _at: dt.datetime) -> None:
        heard.extend((delivery.related_key, kind) for delivery in batch)

    email.on_delivery(hook)
    try:
        provider.post({"type": "delivered", "message_id": sent.message_id})
        second = queue_invitation(db, shop)
        email.deliver(db, [second], email.OutboxSender())
    finally:
        email._delivery_hooks.remove(hook)
    assert heard == [("invitation:1", "delivered"), ("invitation:1", "outbox")]


def test_the_email_secret_is_set_from_the_command_line(
    app: FastAPI, db: Database, shop: Shop, tmp_path: Path
) -> None:
    # when the secret is set with `cxloop webhook secret email`, read from stdin
    environ = {**os.environ, "CXLOOP_HOME": str(tmp_path), "CXLOOP_DATABASE_URL": db.url}
    done = subprocess.run(
        [CXLOOP, "webhook", "secret", "email", "--workspace", shop.workspace_id, "--json"],
        env=environ,
        input=SECRET + "\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    # then it says where events go, and events signed with it are accepted
    assert (done.returncode, done.stderr) == (0, "")
    assert json.loads(done.stdout) == {
        "workspace_id": shop.workspace_id,
        "platform": "email",
        "path": f"/webhooks/email/{shop.workspace_id}",
    }
    with TestClient(app) as client:
        response = Provider(client, shop).post({"type": "opened", "email": "zoe@example.com"})
    assert response.status_code == 200
