"""The Segment-compatible ingest API, through HTTP."""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import json
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from cxloop.ingest.models import Event
from cxloop.profiles.models import Customer, CustomerMerge
from cxloop.store.db import Database


def basic(key: str) -> dict[str, str]:
    token = base64.b64encode(f"{key}:".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def count(db: Database, model: Any = Event) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def events(db: Database) -> list[Event]:
    with db.session() as session:
        return list(session.scalars(select(Event).order_by(Event.id)))


@pytest.fixture
def client(app: FastAPI):
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def keys(make_workspace):
    return make_workspace()


def test_a_track_call_is_stored_and_makes_its_customer(client, db, keys) -> None:
    # when a store sends a track call with its write key as Basic user name
    response = client.post(
        "/v1/track",
        json={
            "userId": "u-1",
            "event": "Product Viewed",
            "messageId": "m-1",
            "properties": {"sku": "PULL-01"},
            "timestamp": "2026-11-01T10:00:00Z",
        },
        headers=basic(keys.write_key),
    )
    # then it is acknowledged and stored with its customer
    assert response.status_code == 200
    assert response.json() == {"success": True}
    assert response.headers["access-control-allow-origin"] == "*"
    [event] = events(db)
    assert (event.type, event.event, event.message_id, event.user_id) == (
        "track",
        "Product Viewed",
        "m-1",
        "u-1",
    )
    assert event.properties == {"sku": "PULL-01"}
    assert event.timestamp == dt.datetime(2026, 11, 1, 10, tzinfo=dt.UTC)
    with db.session() as session:
        customer = session.scalars(select(Customer)).one()
        assert customer.user_id == "u-1" and event.customer_id == customer.id


def test_short_paths_take_text_plain_json_with_the_key_in_the_body(client, db, keys) -> None:
    body = {
        "type": "page",
        "anonymousId": "anon-1",
        "name": "Accueil",
        "writeKey": keys.write_key,
        "properties": {"path": "/"},
        "messageId": "p-1",
    }
    response = client.post(
        "/v1/p", content=json.dumps(body), headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 200
    [event] = events(db)
    assert (event.type, event.event, event.anonymous_id, event.customer_id) == (
        "page",
        "Accueil",
        "anon-1",
        None,
    )


def test_gzip_batches_with_shared_context(client, db, keys) -> None:
    batch = {
        "batch": [
            {
                "type": "track",
                "userId": "u-1",
                "event": "Order Completed",
                "messageId": "b-1",
                "context": {"page": {"path": "/merci"}},
            },
            {
                "type": "identify",
                "userId": "u-1",
                "traits": {"email": "Lou@Example.com", "firstName": "Lou"},
                "messageId": "b-2",
                "context": {"library": {"name": "mine"}},
            },
        ],
        "context": {"library": {"name": "analytics-python", "version": "2.3"}, "locale": "fr-FR"},
    }
    response = client.post(
        "/v1/batch",
        content=gzip.compress(json.dumps(batch).encode()),
        headers={
            **basic(keys.write_key),
            "Content-Encoding": "gzip",
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 200
    first, second = events(db)
    # the batch context goes into each call; the call's own keys win
    assert first.context == {
        "library": {"name": "analytics-python", "version": "2.3"},
        "locale": "fr-FR",
        "page": {"path": "/merci"},
    }
    assert second.context["library"] == {"name": "mine"}
    with db.session() as session:
        customer = session.scalars(select(Customer)).one()
        assert (customer.email, customer.first_name) == ("lou@example.com", "Lou")


def test_clock_skew_is_corrected_from_sent_at(client, db, keys) -> None:
    # the device's clock is 2 hours behind; it sent the call 30 s after it happened
    body = {
        "userId": "u-1",
        "event": "Cart Viewed",
        "timestamp": "2026-01-01T08:00:00Z",
        "sentAt": "2026-01-01T08:00:30Z",
    }
    before = dt.datetime.now(dt.UTC)
    client.post("/v1/track", json=body, headers=basic(keys.write_key))
    after = dt.datetime.now(dt.UTC)
    [event] = events(db)
    assert before - dt.timedelta(seconds=30) <= event.timestamp <= after - dt.timedelta(seconds=30)
    assert event.sent_at == dt.datetime(2026, 1, 1, 8, 0, 30, tzinfo=dt.UTC)


def test_a_retried_batch_stores_nothing_twice(client, db, keys) -> None:
    batch = {
        "batch": [
            {"type": "track", "userId": f"u-{n}", "event": "Added", "messageId": f"r-{n}"}
            for n in range(50)
        ]
    }
    for _ in range(3):
        assert (
            client.post("/v1/batch", json=batch, headers=basic(keys.write_key)).status_code == 200
        )
    assert count(db) == 50
    assert count(db, Customer) == 50


def test_the_same_message_id_in_two_workspaces_is_two_events(client, db, make_workspace) -> None:
    a, b = make_workspace("A"), make_workspace("B")
    for creds in (a, b):
        client.post(
            "/v1/track",
            json={"userId": "u", "event": "E", "messageId": "same"},
            headers=basic(creds.write_key),
        )
    assert {e.workspace_id for e in events(db)} == {a.workspace_id, b.workspace_id}


@pytest.mark.parametrize(
    ("path", "body", "field", "says"),
    [
        ("/v1/track", b"{not json", "body", "invalid JSON"),
        ("/v1/track", b'{"userId": "u"}', "body.event", "event name"),
        ("/v1/track", b'{"event": "E"}', "body.userId", "userId or anonymousId"),
        ("/v1/track", b'{"type": "page", "userId": "u"}', "body.type", "on this path"),
        (
            "/v1/track",
            b'{"userId": "u", "event": "E", "timestamp": "yesterday"}',
            "body.timestamp",
            "ISO 8601",
        ),
        (
            "/v1/track",
            b'{"userId": "u", "event": "E", "properties": [1]}',
            "body.properties",
            "object",
        ),
        ("/v1/alias", b'{"userId": "u"}', "body.previousId", "previousId"),
        ("/v1/group", b'{"userId": "u"}', "body.groupId", "groupId"),
        ("/v1/batch", b'{"batch": {}}', "batch", "array"),
        (
            "/v1/batch",
            b'{"batch": [{"type": "track", "userId": "u", "event": "ok"},'
            b' {"type": "track", "userId": "u"}]}',
            "batch[1].event",
            "event name",
        ),
        ("/v1/batch", b'{"batch": [{"type": "launch", "userId": "u"}]}', "batch[0].type", "one of"),
    ],
)
def test_invalid_requests_say_what_and_where_and_store_nothing(
    client, db, keys, path: str, body: bytes, field: str, says: str
) -> None:
    response = client.post(path, content=body, headers=basic(keys.write_key))
    assert response.status_code == 400
    assert response.json()["field"] == field
    assert says in response.json()["detail"]
    assert count(db) == 0 and count(db, Customer) == 0


def test_size_limits(client, db, keys) -> None:
    big = "x" * (33 * 1024)
    one = client.post(
        "/v1/track",
        json={"userId": "u", "event": "E", "properties": {"b": big}},
        headers=basic(keys.write_key),
    )
    in_batch = client.post(
        "/v1/batch",
        json={"batch": [{"type": "track", "userId": "u", "event": "E", "properties": {"b": big}}]},
        headers=basic(keys.write_key),
    )
    too_many = client.post(
        "/v1/batch",
        json={"batch": [{"type": "track", "userId": "u", "event": "E"}] * 2501},
        headers=basic(keys.write_key),
    )
    too_big = client.post(
        "/v1/batch",
        json={
            "batch": [
                {"type": "track", "userId": "u", "event": "E", "properties": {"b": "y" * 20_000}}
            ]
            * 30
        },
        headers=basic(keys.write_key),
    )
    bomb = client.post(
        "/v1/batch",
        content=gzip.compress(b" " * (2 * 1024 * 1024)),
        headers={**basic(keys.write_key), "Content-Encoding": "gzip"},
    )
    assert [r.status_code for r in (one, in_batch, too_many, too_big, bomb)] == [400] * 5
    assert (one.json()["field"], in_batch.json()["field"], too_many.json()["field"]) == (
        "body",
        "batch[0]",
        "batch",
    )
    assert too_big.json()["error"] == bomb.json()["error"] == "too_large"
    assert count(db) == 0


def test_unknown_or_missing_write_keys_are_refused(client, db, keys) -> None:
    call = {"userId": "u", "event": "E"}
    missing = client.post("/v1/track", json=call)
    unknown = client.post("/v1/track", json=call, headers=basic("cxw_000000000000_nope"))
    admin = client.post("/v1/track", json=call, headers=basic(keys.admin_key))
    assert [r.status_code for r in (missing, unknown, admin)] == [401, 401, 401]
    assert missing.json()["field"] == "writeKey"
    assert count(db) == 0


def test_settings_document_and_cors_preflight(client, keys) -> None:
    settings = client.get(f"/v1/projects/{keys.write_key}/settings")
    assert settings.status_code == 200
    segment = settings.json()["integrations"]["Segment.io"]
    assert segment["apiKey"] == keys.write_key
    assert segment["apiHost"] == "testserver/v1"
    assert client.get("/v1/projects/cxw_000000000000_x/settings").status_code == 404
    preflight = client.options(
        "/v1/t", headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"}
    )
    assert preflight.status_code == 204
    assert "Content-Type" in preflight.headers["access-control-allow-headers"]


def test_anonymous_browsing_joins_the_customer_who_logs_in(client, db, keys) -> None:
    # given two page views by an anonymous visitor
    for n in range(2):
        client.post(
            "/v1/page",
            json={"anonymousId": "anon-7", "name": f"P{n}", "messageId": f"pv-{n}"},
            headers=basic(keys.write_key),
        )
    assert {e.customer_id for e in events(db)} == {None}
    # when she logs in (identify with both ids)
    client.post(
        "/v1/identify",
        json={"anonymousId": "anon-7", "userId": "lou", "traits": {"email": "lou@example.com"}},
        headers=basic(keys.write_key),
    )
    # then her earlier events are hers, and later anonymous ones too
    client.post(
        "/v1/track",
        json={"anonymousId": "anon-7", "event": "Cart Viewed"},
        headers=basic(keys.write_key),
    )
    with db.session() as session:
        lou = session.scalars(select(Customer)).one()
    assert [e.customer_id for e in events(db)] == [lou.id] * 4


def test_alias_merges_two_customers_and_records_why(client, db, keys) -> None:
    # given a customer known by email from a first identify, and another by user id
    client.post(
        "/v1/identify",
        json={"userId": "old-42", "traits": {"email": "a@example.com"}},
        headers=basic(keys.write_key),
    )
    client.post(
        "/v1/track", json={"userId": "new-42", "event": "Signed In"}, headers=basic(keys.write_key)
    )
    assert count(db, Customer) == 2
    # when the store says they are one person
    client.post(
        "/v1/alias",
        json={"previousId": "old-42", "userId": "new-42", "messageId": "al-1"},
        headers=basic(keys.write_key),
    )
    # then one customer remains with both ids and all events, and the merge is recorded
    assert count(db, Customer) == 1
    with db.session() as session:
        customer = session.scalars(select(Customer)).one()
        merge = session.scalars(select(CustomerMerge)).one()
    assert customer.user_id == "new-42" and customer.email == "a@example.com"
    assert {e.customer_id for e in events(db)} == {customer.id}
    assert (merge.identity_kind, merge.identity_value, merge.source) == (
        "user_id",
        "old-42",
        "alias:al-1",
    )
    assert merge.moved["events"] >= 1


def test_customer_360(client, db, keys) -> None:
    headers = basic(keys.write_key)
    client.post(
        "/v1/identify",
        json={
            "userId": "lou",
            "anonymousId": "a-1",
            "traits": {"email": "lou@example.com", "plan": "vip"},
        },
        headers=headers,
    )
    for n, ts in enumerate(["2026-03-01T10:00:00Z", "2026-03-02T10:00:00Z"]):
        client.post(
            "/v1/track",
            json={"userId": "lou", "event": f"E{n}", "messageId": f"e-{n}", "timestamp": ts},
            headers=headers,
        )
    admin = {"Authorization": f"Bearer {keys.admin_key}"}
    body = client.get("/api/v1/customers/lou", headers=admin).json()
    assert body["user_id"] == "lou"
    assert body["traits"] == {"email": "lou@example.com", "plan": "vip"}
    assert {(i["kind"], i["value"]) for i in body["identities"]} == {
        ("user_id", "lou"),
        ("anonymous_id", "a-1"),
        ("email", "lou@example.com"),
    }
    assert body["event_count"] == 3
    assert body["orders_count"] == 0 and body["revenue"] == 0
    assert body["consent"] == {}
    # newest first: the identify was sent now, the tracks carry March timestamps
    assert [e["type"] for e in body["recent_events"]] == ["identify", "track", "track"]
    assert [e["messageId"] for e in body["recent_events"]][1:] == ["e-1", "e-0"]
    assert set(body["recent_events"][0]) >= {"messageId", "type", "event", "timestamp"}
    assert body["nps"] == {
        "responses": 0,
        "last_score": None,
        "category": None,
        "themes": [],
        "sentiment": None,
    }
    missing = client.get("/api/v1/customers/nobody", headers=admin)
    assert missing.status_code == 404 and missing.json()["field"] == "user_id"
    listed = client.get("/api/v1/customers?q=LOU@", headers=admin).json()
    assert [c["user_id"] for c in listed] == ["lou"]


def test_in_one_batch_an_identify_claims_the_page_views_before_it(client, db, keys) -> None:
    batch = {
        "batch": [
            {"type": "page", "anonymousId": "a-9", "messageId": "b-p"},
            {"type": "identify", "anonymousId": "a-9", "userId": "zoe", "messageId": "b-i"},
            {"type": "track", "anonymousId": "a-9", "event": "Cart Viewed", "messageId": "b-t"},
        ]
    }
    client.post("/v1/batch", json=batch, headers=basic(keys.write_key))
    with db.session() as session:
        zoe = session.scalars(select(Customer)).one()
    assert [e.customer_id for e in events(db)] == [zoe.id] * 3


def test_a_merge_inside_a_batch_moves_the_calls_before_it(client, db, keys) -> None:
    client.post("/v1/identify", json={"userId": "old", "traits": {}}, headers=basic(keys.write_key))
    batch = {
        "batch": [
            {"type": "track", "userId": "old", "event": "A", "messageId": "m-a"},
            {"type": "track", "userId": "new", "event": "B", "messageId": "m-b"},
            {"type": "alias", "previousId": "old", "userId": "new", "messageId": "m-al"},
            {"type": "track", "userId": "old", "event": "C", "messageId": "m-c"},
        ]
    }
    assert client.post("/v1/batch", json=batch, headers=basic(keys.write_key)).status_code == 200
    with db.session() as session:
        survivor = session.scalars(select(Customer)).one()
    assert survivor.user_id == "new"
    assert {e.customer_id for e in events(db)} == {survivor.id}
