"""Web push and product picks from journeys: a visitor who never gave an email subscribes in
their browser, puts a product in their cart, and the journey's push reaches a push service on
127.0.0.1 that checks the VAPID signature (RFC 8292) and decrypts the message with http_ece
(RFC 8291), as a browser would; a subscription the service says is gone is dropped. And an
email that shows the products the recommendations chose for the customer."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi.testclient import TestClient
from sqlalchemy import select

from cxloop import journeys
from cxloop.channels import push
from cxloop.channels.models import OutboundMessage, PushSubscription
from cxloop.config import get_settings
from cxloop.ingest import service as ingest
from cxloop.journeys import engine, service
from cxloop.journeys.models import JourneyStep
from cxloop.store.db import Database
from cxloop.web.app import create_app
from cxloop.wiring import wire
from tests.helpers import factories as f
from tests.helpers.catalog import stock_demo_catalog

JOURNEY = """
key: cart_push
name: {fr: "Panier en attente", en: "Cart waiting"}
trigger: {event: Product Added}
steps:
  - send:
      channel: push
      marketing: false
      subject: {fr: "Votre panier vous attend", en: "Your cart is waiting"}
      body: {fr: "La robe {{ event.properties.name }} est toujours là.", en: "Still there."}
      link: https://boutique.example/panier
"""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Browser:
    """What a browser keeps for one subscription: its key pair and auth secret."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)

    def keys(self) -> dict[str, str]:
        point = self.key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        return {"p256dh": _b64(point), "auth": _b64(self.auth)}


class PushService:
    """A push service on 127.0.0.1: checks each request's VAPID JWT and encoding, decrypts the
    payload for the subscriber, answers 201 (or 410 for an endpoint under ``/gone/``)."""

    def __init__(self) -> None:
        self.browsers: dict[str, Browser] = {}
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.refused: list[str] = []
        self.server_key = ""
        service_ = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                try:
                    if self.path.startswith("/gone/"):
                        self.send_response(410)
                        self.end_headers()
                        return
                    service_.check(self.headers, self.path, body)
                    self.send_response(201)
                except AssertionError as exc:
                    service_.refused.append(str(exc))
                    self.send_response(400)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def check(self, headers: Any, path: str, body: bytes) -> None:
        assert headers["Content-Encoding"] == "aes128gcm", "RFC 8291 encoding"
        assert int(headers["TTL"]) > 0, "a TTL"
        scheme, _, params = headers["Authorization"].partition(" ")
        assert scheme == "vapid", "RFC 8292 scheme"
        fields = dict(p.strip().split("=", 1) for p in params.split(","))
        assert fields["k"] == self.server_key, "the workspace's public key"
        head, claims, signature = fields["t"].split(".")
        assert json.loads(_unb64(head)) == {"typ": "JWT", "alg": "ES256"}
        raw = _unb64(signature)
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), _unb64(fields["k"]))
        public.verify(
            encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")),
            f"{head}.{claims}".encode(),
            ec.ECDSA(hashes.SHA256()),
        )
        told = json.loads(_unb64(claims))
        assert told["aud"] == self.url, "audience: the push service's origin"
        assert time.time() < told["exp"] <= time.time() + 24 * 3600, "expiry within a day"
        assert told["sub"] == get_settings().push_contact
        browser = self.browsers[path]
        plain = http_ece.decrypt(
            body, private_key=browser.key, auth_secret=browser.auth, version="aes128gcm"
        )
        self.received.append((path, json.loads(plain)))

    def endpoint(self, path: str) -> tuple[str, Browser]:
        browser = Browser()
        self.browsers[path] = browser
        return f"{self.url}{path}", browser


@pytest.fixture
def push_service(monkeypatch: pytest.MonkeyPatch) -> Iterator[PushService]:
    monkeypatch.setenv("CXLOOP_PUSH_LOCAL_ENDPOINTS", "true")
    get_settings.cache_clear()
    found = PushService()
    try:
        yield found
    finally:
        found.server.shutdown()
        found.server.server_close()
        get_settings.cache_clear()


def _run(db: Database) -> engine.Effects:
    now = dt.datetime.now(dt.UTC)
    with db.session() as session:
        effects, _ = engine.hear(session, now)
    done = engine.advance(db, effects.runs, get_settings(), now)
    push.deliver_push(db, done.push, get_settings())
    return done


def test_an_anonymous_visitor_subscribes_and_a_journey_pushes_to_them(
    db: Database, make_workspace: Any, push_service: PushService
) -> None:
    wire()
    owner = make_workspace()
    ws = owner.workspace_id
    settings = get_settings()
    push_service.server_key = push.push_key(settings, ws)
    with db.session() as session:
        service.create_journey(session, ws, JOURNEY, actor="t", status="active")
    with TestClient(create_app(db)) as client:
        key = client.get("/p/v1/push/key", params={"writeKey": owner.write_key})
        assert key.status_code == 200 and key.json()["publicKey"] == push_service.server_key
        assert len(_unb64(key.json()["publicKey"])) == 65
        for path in ("/push/one", "/gone/two"):
            endpoint, browser = push_service.endpoint(path)
            made = client.post(
                "/p/v1/push/subscriptions",
                json={
                    "writeKey": owner.write_key,
                    "anonymousId": "anon-push",
                    "subscription": {"endpoint": endpoint, "keys": browser.keys()},
                },
            )
            assert made.status_code == 201, made.text
        # the visitor, anonymous, puts a dress in the cart
        tracked = client.post(
            "/v1/track",
            json={
                "writeKey": owner.write_key,
                "anonymousId": "anon-push",
                "event": "Product Added",
                "properties": {"name": "Lina", "product_id": "ROB-1"},
                "messageId": uuid.uuid4().hex,
            },
        )
        assert tracked.status_code == 200
    _run(db)
    assert push_service.refused == []
    assert [path for path, _ in push_service.received] == ["/push/one"]
    payload = push_service.received[0][1]
    assert payload["title"] == "Votre panier vous attend"
    assert payload["body"] == "La robe Lina est toujours là."
    assert payload["url"].startswith(settings.public_url) and "/c/" in payload["url"]
    with db.session() as session:
        message = session.scalars(select(OutboundMessage)).one()
        statuses = dict(
            session.execute(select(PushSubscription.endpoint, PushSubscription.status)).all()
        )
        step = session.scalars(select(JourneyStep)).one()
    assert (message.channel, message.status) == ("push", "sent")
    assert statuses == {
        f"{push_service.url}/push/one": "active",
        f"{push_service.url}/gone/two": "gone",
    }
    assert step.outcome == "sent"


def test_subscriptions_are_checked(db: Database, make_workspace: Any) -> None:
    owner = make_workspace()
    browser = Browser()
    with TestClient(create_app(db)) as client:

        def subscribe(**changes: Any) -> Any:
            body: dict[str, Any] = {
                "writeKey": owner.write_key,
                "anonymousId": "anon-1",
                "subscription": {
                    "endpoint": "https://push.example.com/send/abc",
                    "keys": browser.keys(),
                },
            }
            body.update(changes)
            return client.post("/p/v1/push/subscriptions", json=body)

        assert subscribe().status_code == 201
        for changes, field in [
            ({"subscription": {"endpoint": "http://127.0.0.1:9/x", "keys": browser.keys()}},
             "subscription.endpoint"),
            ({"subscription": {"endpoint": "https://10.0.0.7/x", "keys": browser.keys()}},
             "subscription.endpoint"),
            ({"subscription": {"endpoint": "ftp://push.example.com/x", "keys": browser.keys()}},
             "subscription.endpoint"),
            ({"subscription": {"endpoint": "https://push.example.com/x",
                               "keys": {**browser.keys(), "p256dh": "AAAA"}}},
             "subscription.keys.p256dh"),
            ({"subscription": {"endpoint": "https://push.example.com/x",
                               "keys": {**browser.keys(), "auth": _b64(b"x" * 8)}}},
             "subscription.keys.auth"),
            ({"subscription": "yes"}, "subscription"),
            ({"anonymousId": None}, "anonymousId"),
            ({"userId": "u-1", "userHash": "0" * 64}, "userHash"),
        ]:  # fmt: skip
            answer = subscribe(**changes)
            assert answer.status_code in (401, 422), answer.text
            assert answer.json()["field"] == field, (field, answer.text)
        assert subscribe(writeKey="nope").status_code == 401
        gone = client.post(
            "/p/v1/push/unsubscribe",
            json={"writeKey": owner.write_key, "endpoint": "https://push.example.com/send/abc"},
        )
        assert gone.status_code == 204
        again = client.post(
            "/p/v1/push/unsubscribe",
            json={"writeKey": owner.write_key, "endpoint": "https://push.example.com/send/abc"},
        )
        assert again.status_code == 404


def test_an_email_shows_the_products_chosen_for_the_customer(
    db: Database, make_workspace: Any
) -> None:
    wire()
    ws = make_workspace().workspace_id
    stock_demo_catalog(db, ws)
    regular = f.customer(db, ws, first_name="Lou", locale="fr")
    for days in (40, 20):
        order_id, _ = f.order(db, ws, regular, dt.datetime.now(dt.UTC) - dt.timedelta(days=days))
        f.order_items(db, ws, order_id, [("ROB-0001", "Robe", 1)])
    source = JOURNEY.replace("key: cart_push", "key: chosen").replace(
        "      channel: push\n", "      channel: email\n      recommendations: 3\n"
    )
    with db.session() as session:
        service.create_journey(session, ws, source, actor="t", status="active")
        ingest.record_event(
            session, ws, message_id=uuid.uuid4().hex, event_type="track", event="Product Added",
            timestamp=dt.datetime.now(dt.UTC), customer_id=regular, properties={"name": "Lina"},
        )  # fmt: skip
    _run(db)
    with db.session() as session:
        message = session.scalars(select(OutboundMessage)).one()
    assert "Choisis pour vous" in message.text and "Choisis pour vous" in message.html
    # the dress she buys again comes first, with its price in French and a tracked link
    listed = message.text.split("Choisis pour vous", 1)[1]
    first = listed.strip().splitlines()[0]
    assert first.startswith("- ") and "€" in first and "/c/" in first
    with pytest.raises(journeys.DefinitionError) as refused:
        journeys.read(
            JOURNEY.replace(
                "      channel: push\n", "      channel: push\n      recommendations: 3\n"
            )
        )
    assert refused.value.where == "steps[0].send.recommendations"
