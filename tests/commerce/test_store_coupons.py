"""Coupons written back to the merchant's store, against local servers that check Shopify's and
WooCommerce's documented request shapes; a retry never makes a code twice; a code used in an
order is redeemed."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from cxloop.commerce import coupons, records, stores
from cxloop.commerce.models import Coupon, StoreConnection
from cxloop.config import get_settings
from cxloop.ingest.service import record_event
from cxloop.store.base import utcnow
from cxloop.store.db import Database
from tests.helpers import factories as f

TOKEN = "shpat_0123456789abcdef"
KEY, SECRET = "ck_0123456789abcdef", "cs_0123456789abcdef"
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


class FakeStore:
    """Shopify's GraphQL Admin API and WooCommerce's REST coupons, on 127.0.0.1: each request
    is checked against the documented shape, a bad one answered 400 and kept in ``refused``."""

    def __init__(self) -> None:
        self.made: dict[str, dict[str, Any]] = {}
        self.refused: list[str] = []
        self.down = False
        store = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if store.down:
                    self._answer(503, {"errors": "unavailable"})
                    return
                try:
                    if self.path == f"/admin/api/{stores.SHOPIFY_VERSION}/graphql.json":
                        status, answer = store.shopify(dict(self.headers), body)
                    elif self.path == "/wp-json/wc/v3/coupons":
                        status, answer = store.woocommerce(dict(self.headers), body)
                    else:
                        raise AssertionError(f"unknown path {self.path}")
                except AssertionError as exc:
                    store.refused.append(str(exc))
                    status, answer = 400, {"error": str(exc)}
                self._answer(status, answer)

            def _answer(self, status: int, answer: dict[str, Any]) -> None:
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def shopify(self, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        assert headers.get("X-Shopify-Access-Token") == TOKEN, "access token"
        query, variables = body["query"], body["variables"]
        if query.startswith("mutation discountCodeFreeShippingCreate"):
            name, field = "discountCodeFreeShippingCreate", "freeShippingCodeDiscount"
            given = variables[field]
            assert given["destination"] == {"all": True}, "destination"
        else:
            assert query.startswith("mutation discountCodeBasicCreate"), "mutation"
            name, field = "discountCodeBasicCreate", "basicCodeDiscount"
            given = variables[field]
            gets = given["customerGets"]
            assert gets["items"] == {"all": True}, "items"
            value = gets["value"]
            assert len(value) == 1, "one kind of value"
            if "percentage" in value:
                assert 0 < value["percentage"] <= 1, "percentage is a fraction"
            else:
                amount = value["discountAmount"]
                assert re.match(r"^\d+\.\d\d$", amount["amount"]), "amount is a decimal text"
                assert isinstance(amount["appliesOnEachItem"], bool), "appliesOnEachItem"
        for key in ("title", "code", "startsAt", "endsAt", "context"):
            assert key in given, f"{key} is required"
        assert ISO.match(given["startsAt"]) and ISO.match(given["endsAt"]), "ISO times"
        context = given["context"]
        assert context == {"all": "ALL"} or all(
            re.match(r"^gid://shopify/Customer/\d+$", c) for c in context["customers"]["add"]
        ), "context"
        assert given["usageLimit"] == 1 and given["appliesOncePerCustomer"] is True, "one use"
        code = given["code"]
        if code in self.made:
            errors = [
                {"field": [field, "code"], "code": "TAKEN", "message": "Code must be unique."}
            ]
            return 200, {"data": {name: {"codeDiscountNode": None, "userErrors": errors}}}
        self.made[code] = {"platform": "shopify", **given}
        node = {"id": f"gid://shopify/DiscountCodeNode/{len(self.made)}"}
        return 200, {"data": {name: {"codeDiscountNode": node, "userErrors": []}}}

    def woocommerce(
        self, headers: dict[str, str], body: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        expected = "Basic " + base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
        assert headers.get("Authorization") == expected, "basic auth"
        assert body["discount_type"] in ("percent", "fixed_cart"), "discount_type"
        assert re.match(r"^\d+(\.\d+)?$", body["amount"]), "amount is a number as text"
        assert isinstance(body["free_shipping"], bool) and body["individual_use"] is True
        assert body["usage_limit"] == 1 and body["usage_limit_per_user"] == 1, "one use"
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$", body["date_expires_gmt"]), "date"
        assert all("@" in e for e in body.get("email_restrictions", [])), "emails"
        if body["code"] in self.made:
            return 400, {
                "code": "woocommerce_rest_coupon_code_already_exists",
                "message": "The coupon code already exists",
                "data": {"status": 400},
            }
        self.made[body["code"]] = {"platform": "woocommerce", **body}
        return 201, {"id": len(self.made), **body}


@pytest.fixture
def store() -> Iterator[FakeStore]:
    fake = FakeStore()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def _write_pending(db: Database) -> None:
    """What the minute's task does."""
    with db.session() as session:
        ids = stores.pending_coupons(session)
    stores.write_coupons(db, ids, get_settings().resolved_secret_key())


def _statuses(db: Database) -> dict[str, tuple[str, str]]:
    with db.session() as session:
        return {c.code: (c.store_status, c.store_error) for c in session.scalars(select(Coupon))}


def test_coupons_are_written_to_shopify_once(
    app: FastAPI, db: Database, make_workspace: Any, store: FakeStore
) -> None:
    owner = make_workspace()
    headers = {"Authorization": f"Bearer {owner.admin_key}"}
    f.customer(db, owner.workspace_id, user_id="7301")  # a Shopify customer id
    f.customer(db, owner.workspace_id, user_id="lou")
    with TestClient(app) as client:
        connected = client.put(
            "/api/v1/store-connection",
            json={"platform": "shopify", "base_url": store.url + "/", "access_token": TOKEN},
            headers=headers,
        )
        assert connected.status_code == 200 and connected.json()["base_url"] == store.url
        shown = client.get("/api/v1/store-connection", headers=headers).text
        assert TOKEN not in shown
        made = [
            client.post("/api/v1/coupons", json=body, headers=headers).json()
            for body in (
                {"user_id": "7301", "kind": "percent", "value": 15},
                {"user_id": "7301", "kind": "free_shipping"},
                {"user_id": "lou", "kind": "fixed", "value": 5},
            )
        ]
        assert all(m["store_status"] == "pending" for m in made)
        missing = client.put(
            "/api/v1/store-connection",
            json={"platform": "shopify", "base_url": store.url},
            headers=headers,
        )
        assert missing.status_code == 422 and missing.json()["field"] == "access_token"
    with db.session() as session:
        sealed = session.get(StoreConnection, owner.workspace_id)
        assert sealed is not None and TOKEN not in sealed.credentials
    _write_pending(db)
    assert store.refused == []
    assert _statuses(db) == {m["code"]: ("written", "") for m in made}
    percent, free, fixed = (store.made[m["code"]] for m in made)
    assert percent["customerGets"]["value"] == {"percentage": 0.15}
    assert percent["context"] == {"customers": {"add": ["gid://shopify/Customer/7301"]}}
    assert free["destination"] == {"all": True}
    assert fixed["customerGets"]["value"]["discountAmount"]["amount"] == "5.00"
    assert fixed["context"] == {"all": "ALL"}  # "lou" is no Shopify customer id
    # A worker died after Shopify made the first code, before recording it: taken again, the
    # code is already there, so it is written, and Shopify still has one.
    with db.session() as session:
        session.execute(
            update(Coupon)
            .where(Coupon.code == made[0]["code"])
            .values(store_status="writing", store_claimed_at=utcnow() - dt.timedelta(hours=1))
        )
    _write_pending(db)
    assert _statuses(db)[made[0]["code"]] == ("written", "")
    assert len(store.made) == 3


def test_coupons_are_written_to_woocommerce_and_retried_when_it_is_down(
    db: Database, make_workspace: Any, store: FakeStore
) -> None:
    ws = make_workspace().workspace_id
    cid = f.customer(db, ws, email="lou@example.com")
    with db.session() as session:
        stores.connect_store(
            session,
            ws,
            platform="woocommerce",
            base_url=store.url,
            credentials={"consumer_key": KEY, "consumer_secret": SECRET},
            secret_key=get_settings().resolved_secret_key(),
            actor="test",
        )
        code = coupons.issue_coupon(
            session, ws, kind="free_shipping", value=0, customer_id=cid,
            expires_at=utcnow() + dt.timedelta(days=30), source="manual",
        ).code  # fmt: skip
    store.down = True
    _write_pending(db)
    status, error = _statuses(db)[code]
    assert status == "failed" and "503" in error
    store.down = False
    _write_pending(db)
    assert _statuses(db)[code] == ("written", "") and store.refused == []
    made = store.made[code]
    assert (made["discount_type"], made["amount"], made["free_shipping"]) == (
        "fixed_cart",
        "0",
        True,
    )
    assert made["email_restrictions"] == ["lou@example.com"]


def test_without_a_store_nothing_is_written_and_a_code_used_in_an_order_is_redeemed(
    db: Database, make_workspace: Any
) -> None:
    ws = make_workspace().workspace_id
    cid = f.customer(db, ws, user_id="u1")
    with db.session() as session:
        coupon = coupons.issue_coupon(
            session, ws, kind="percent", value=10, customer_id=cid,
            expires_at=utcnow() + dt.timedelta(days=30), source="manual",
        )  # fmt: skip
        assert coupon.store_status == "none"
        assert re.match(
            r"^[ACDEFGHJKMNPQRTUVWXY34679]{4}-[ACDEFGHJKMNPQRTUVWXY34679]{4}$", coupon.code
        )
    typed = coupon.code.lower().replace("-", " ")  # as a customer might type it
    with db.session() as session:
        records.upsert_order(
            session,
            ws,
            records.OrderData(
                external_id="#1",
                placed_at=utcnow(),
                currency="EUR",
                items=(),
                subtotal_cents=5000,
                shipping_cents=0,
                discount_cents=500,
                total_cents=4500,
                coupon_code=typed,
            ),
            platform="import",
            track=record_event,
        )
    with db.session() as session:
        used = session.scalars(select(Coupon)).one()
        assert used.redeemed_order_id is not None and used.redeemed_at is not None
