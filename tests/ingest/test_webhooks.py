"""Store webhooks (Shopify, WooCommerce), through HTTP and through the receiving service."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from cxloop.commerce.models import Order, OrderItem, OrderRefund, Product, Shipment
from cxloop.ingest.models import Event, WebhookDelivery
from cxloop.ingest.shopify import SHOPIFY
from cxloop.ingest.webhooks import receive, set_secret
from cxloop.profiles.models import Customer, Identity
from cxloop.signing import sign
from cxloop.store.db import Database
from cxloop.store.registry import load_models
from cxloop.worker import service as runs
from cxloop.workspaces.schemas import WorkspaceCreate
from cxloop.workspaces.service import create_workspace
from tests.helpers.services import RunningWorker
from tests.helpers.store_webhooks import (
    SHOPIFY_SECRET,
    Store,
    fixture,
    modified,
    open_store,
)

UTC = dt.UTC


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(UTC)


def counts(db: Database) -> dict[str, int]:
    """Rows in every table of the store."""
    with db.session() as session:
        return {
            table.name: int(session.scalar(select(func.count()).select_from(table)) or 0)
            for table in load_models().metadata.sorted_tables
        }


def rows(db: Database, model: Any, *order_by: Any) -> list[Any]:
    with db.session() as session:
        return list(session.scalars(select(model).order_by(*order_by)))


def timeline(db: Database) -> list[tuple[str | None, dt.datetime]]:
    return [(e.event, e.timestamp) for e in rows(db, Event, Event.timestamp, Event.id)]


@pytest.fixture
def store(app: FastAPI, db: Database, make_workspace: Any) -> Iterator[Store]:
    """A workspace with its webhook secrets, and a client that sends it signed deliveries."""
    with open_store(app, db, make_workspace) as opened:
        yield opened


# Shopify -------------------------------------------------------------------------------------


def test_an_order_creates_its_customer_order_lines_and_event(store: Store, db: Database) -> None:
    # when Shopify sends its orders/create example
    response = store.shopify("orders/create", fixture("shopify", "orders_create"))
    # then it is applied
    assert response.status_code == 200
    assert response.json() == {
        "status": "applied",
        "topic": "orders/create",
        "subject": "order 5712345678901",
    }
    # and the customer is known by the Shopify id, email and phone
    (customer,) = rows(db, Customer, Customer.id)
    assert (customer.user_id, customer.email, customer.phone) == (
        "7012345678901",
        "camille.martin@example.fr",
        "+33612345678",
    )
    assert (customer.first_name, customer.last_name, customer.city, customer.country) == (
        "Camille",
        "Martin",
        "Lyon",
        "FR",
    )
    assert [(i.kind, i.value, i.source) for i in rows(db, Identity, Identity.id)] == [
        ("user_id", "7012345678901", "shopify"),
        ("email", "camille.martin@example.fr", "shopify"),
        ("phone", "+33612345678", "shopify"),
    ]
    # and the order's money is in cents, lines before discount
    (order,) = rows(db, Order, Order.id)
    assert order.external_id == "5712345678901"
    assert order.customer_id == customer.id
    assert order.status == "paid"
    assert (
        order.subtotal_cents,
        order.discount_cents,
        order.shipping_cents,
        order.total_cents,
        order.refunded_cents,
    ) == (12880, 1288, 490, 12082, 0)
    assert (order.currency, order.coupon_code, order.shipping_country, order.source) == (
        "EUR",
        "BIENVENUE10",
        "FR",
        "web",
    )
    assert order.placed_at == at("2026-03-02T10:15:42+01:00")
    assert [
        (i.sku, i.title, i.quantity, i.unit_price_cents, i.total_cents)
        for i in rows(db, OrderItem, OrderItem.id)
    ] == [
        ("PULL-MER-M-MAR", "Pull en laine mérinos – M / Bleu marine", 1, 8900, 8900),
        ("shopify-45012345678902", "Bonnet côtelé", 2, 1990, 3980),
    ]
    # and the order is on the customer's timeline as Segment's "Order Completed"
    (event,) = rows(db, Event, Event.id)
    assert (event.type, event.event, event.customer_id, event.user_id) == (
        "track",
        "Order Completed",
        customer.id,
        "7012345678901",
    )
    assert event.timestamp == at("2026-03-02T10:15:42+01:00")
    assert event.properties["order_id"] == "5712345678901"
    assert (event.properties["total"], event.properties["revenue"]) == (120.82, 115.92)
    assert [p["sku"] for p in event.properties["products"]] == [
        "PULL-MER-M-MAR",
        "shopify-45012345678902",
    ]


def test_fulfillments_give_a_parcel_with_promised_and_delivered_dates(
    store: Store, db: Database
) -> None:
    # given an order
    store.shopify("orders/create", fixture("shopify", "orders_create"))
    # when its fulfillment is created, then reported delivered
    created = store.shopify("fulfillments/create", fixture("shopify", "fulfillments_create"))
    (in_transit,) = rows(db, Shipment, Shipment.id)
    updated = store.shopify("fulfillments/update", fixture("shopify", "fulfillments_update"))
    # then one parcel went from in transit to delivered, a day after the promised date
    assert created.json()["status"] == updated.json()["status"] == "applied"
    assert in_transit.status == "in_transit"
    assert in_transit.delivered_at is None
    (parcel,) = rows(db, Shipment, Shipment.id)
    assert (parcel.external_id, parcel.carrier, parcel.tracking_number, parcel.status) == (
        "5512345678901",
        "Colissimo",
        "6A12345678901",
        "delivered",
    )
    assert parcel.shipped_at == at("2026-03-03T08:55:00+01:00")
    assert parcel.promised_at == at("2026-03-05T18:00:00+01:00")
    assert parcel.delivered_at == at("2026-03-06T11:20:00+01:00")
    # and the timeline has it leave and arrive, late
    assert timeline(db) == [
        ("Order Completed", at("2026-03-02T10:15:42+01:00")),
        ("Order Shipped", at("2026-03-03T08:55:00+01:00")),
        ("Order Delivered", at("2026-03-06T11:20:00+01:00")),
    ]
    delivered = rows(db, Event, Event.timestamp)[-1]
    assert delivered.properties["late"] is True
    assert delivered.properties["promised_at"] == "2026-03-05T17:00:00+00:00"


def test_orders_updated_after_create_updates_the_same_order(store: Store, db: Database) -> None:
    # given an order
    store.shopify("orders/create", fixture("shopify", "orders_create"))
    before = counts(db)
    # when Shopify sends the order again, fulfilled, with its fulfillment inside
    response = store.shopify("orders/updated", fixture("shopify", "orders_updated"))
    # then the one order is fulfilled and its parcel known, without new lines or customers
    assert response.status_code == 200
    (order,) = rows(db, Order, Order.id)
    assert order.status == "fulfilled"
    assert order.updated_at == at("2026-03-03T08:55:02+01:00")
    (parcel,) = rows(db, Shipment, Shipment.id)
    assert (parcel.status, parcel.method) == ("in_transit", "Colissimo Domicile")
    after = counts(db)
    assert after["order_items"] == before["order_items"] == 2
    assert after["customers"] == before["customers"] == 1
    assert [e for e, _ in timeline(db)] == ["Order Completed", "Order Shipped", "Order Updated"]
    updated = rows(db, Event, Event.timestamp)[-1]
    assert updated.properties["status"] == "fulfilled"


def test_a_refund_lands_on_its_order(store: Store, db: Database) -> None:
    # given an order
    store.shopify("orders/create", fixture("shopify", "orders_create"))
    # when one of its lines is refunded
    response = store.shopify("refunds/create", fixture("shopify", "refunds_create"))
    # then the refund is recorded and counted on the order, which stays paid
    assert response.json()["subject"] == "refund 9912345678901 of order 5712345678901"
    (refund,) = rows(db, OrderRefund, OrderRefund.id)
    assert (refund.external_id, refund.amount_cents, refund.reason) == (
        "9912345678901",
        1791,
        "Bonnet trop petit, retourné",
    )
    assert refund.refunded_at == at("2026-03-09T14:02:11+01:00")
    (order,) = rows(db, Order, Order.id)
    assert (order.status, order.refunded_cents) == ("paid", 1791)
    assert timeline(db)[-1] == ("Order Refunded", at("2026-03-09T14:02:11+01:00"))
    assert rows(db, Event, Event.timestamp)[-1].properties["total"] == 17.91


@pytest.mark.parametrize("created_first", [False, True], ids=["alone", "after-create"])
def test_a_cancellation_with_its_refund_lands(
    store: Store, db: Database, created_first: bool
) -> None:
    # given a guest's order (no Shopify customer), maybe already known
    if created_first:
        store.shopify(
            "orders/create",
            modified(
                "shopify",
                "orders_cancelled",
                cancelled_at=None,
                financial_status="paid",
                refunds=[],
                updated_at="2026-03-04T18:40:01+01:00",
            ),
        )
    # when Shopify reports it cancelled and refunded
    response = store.shopify("orders/cancelled", fixture("shopify", "orders_cancelled"))
    # then the order is cancelled, refunded in full, and its guest known by email and phone
    assert response.status_code == 200
    (order,) = rows(db, Order, Order.id)
    assert (order.status, order.total_cents, order.refunded_cents) == ("cancelled", 9390, 9390)
    assert order.cancelled_at == at("2026-03-05T09:12:29+01:00")
    (customer,) = rows(db, Customer, Customer.id)
    assert (customer.user_id, customer.email, customer.phone, customer.first_name) == (
        None,
        "lea.dubois@example.fr",
        "+33698765432",
        "Léa",
    )
    assert order.customer_id == customer.id
    expected = [
        ("Order Completed", at("2026-03-04T18:40:00+01:00")),
        ("Order Refunded", at("2026-03-05T09:12:28+01:00")),
        ("Order Cancelled", at("2026-03-05T09:12:29+01:00")),
    ]
    if created_first:
        expected.append(("Order Updated", at("2026-03-05T09:12:30+01:00")))
    assert timeline(db) == expected


def test_a_product_gives_one_catalog_row_per_variant(store: Store, db: Database) -> None:
    # when Shopify sends a product with two variants
    store.shopify("products/create", fixture("shopify", "products_create"))
    # then each variant is a product row, grouped by the Shopify product
    large, medium = rows(db, Product, Product.sku)
    assert (
        medium.sku,
        medium.title,
        medium.price_cents,
        medium.sale_price_cents,
        medium.availability,
    ) == (
        "PULL-MER-M-MAR",
        "Pull en laine mérinos – M / Bleu marine",
        10900,
        8900,
        "in_stock",
    )
    assert (
        large.sku,
        large.price_cents,
        large.sale_price_cents,
        large.availability,
        large.gtin,
    ) == (
        "PULL-MER-L-MAR",
        8900,
        None,
        "out_of_stock",
        None,
    )
    assert (
        medium.brand,
        medium.category,
        medium.color,
        medium.sizes,
        medium.gtin,
        medium.currency,
    ) == (
        "Maison Colibri",
        "Pulls",
        "Bleu marine",
        ["M"],
        "2001234567893",
        "EUR",
    )
    assert (
        medium.description
        == "Un pull chaud et léger en laine mérinos.\n100 % mérinos\nLavable à 30 °C"
    )
    assert medium.url == (
        "https://maison-colibri.myshopify.com/products/pull-laine-merinos?variant=45012345678901"
    )
    assert medium.image_url == (
        "https://cdn.shopify.com/s/files/1/0601/2345/products/pull-merinos-marine.jpg?v=1736496000"
    )
    assert large.image_url == (
        "https://cdn.shopify.com/s/files/1/0601/2345/products/pull-merinos.jpg?v=1736496000"
    )
    assert (
        medium.attributes["item_group_id"] == large.attributes["item_group_id"] == "8812345678901"
    )
    # and a later order links its line to the catalog row by SKU
    store.shopify("orders/create", fixture("shopify", "orders_create"))
    lines = rows(db, OrderItem, OrderItem.id)
    assert [line.product_id for line in lines] == [medium.id, None]


def test_lines_link_to_products_that_join_the_catalog_later(store: Store, db: Database) -> None:
    # given an order placed before its products were known
    store.shopify("orders/create", fixture("shopify", "orders_create"))
    # when the product arrives, then the same order again
    store.shopify("products/create", fixture("shopify", "products_create"))
    store.shopify("orders/updated", fixture("shopify", "orders_create"))
    # then its line points at the product, and the order did not "change"
    medium = next(p for p in rows(db, Product, Product.id) if p.sku == "PULL-MER-M-MAR")
    assert [line.product_id for line in rows(db, OrderItem, OrderItem.id)] == [medium.id, None]
    assert [e for e, _ in timeline(db)] == ["Order Completed"]


def test_a_shopify_customer_with_the_email_of_a_known_customer_lands_on_them(
    store: Store, db: Database
) -> None:
    # given a customer the store's analytics identified through the Segment API
    basic = base64.b64encode(f"{store.write_key}:".encode()).decode()
    identified = store.client.post(
        "/v1/identify",
        json={
            "userId": "u-camille",
            "traits": {"email": "Camille.Martin@example.fr", "firstName": "Camille"},
            "messageId": "identify-1",
            "timestamp": "2026-02-20T12:00:00Z",
        },
        headers={"Authorization": f"Basic {basic}"},
    )
    assert identified.status_code == 200
    # when Shopify reports a customer with the same email, then an order of theirs
    store.shopify("customers/create", fixture("shopify", "customers_create"))
    store.shopify("orders/create", fixture("shopify", "orders_create"))
    # then there is still one customer, with the Segment user id, and the order is theirs
    (customer,) = rows(db, Customer, Customer.id)
    assert (customer.user_id, customer.email, customer.last_name) == (
        "u-camille",
        "camille.martin@example.fr",
        "Martin",
    )
    (order,) = rows(db, Order, Order.id)
    assert order.customer_id == customer.id
    kinds = {(i.kind, i.value) for i in rows(db, Identity, Identity.id)}
    assert ("email", "camille.martin@example.fr") in kinds
    assert ("phone", "+33612345678") in kinds
    # (one user id per customer: Shopify's id does not become a second one)
    assert ("user_id", "7012345678901") not in kinds


# Refusals, replays, topics -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "detail"),
    [
        ("tampered", "signature does not match the body"),
        ("wrong-secret", "signature does not match the body"),
        ("missing", "signature header missing"),
    ],
)
def test_a_bad_signature_is_refused_and_nothing_is_stored(
    store: Store, db: Database, case: str, detail: str
) -> None:
    # given a store and a genuine payload
    body = fixture("shopify", "orders_create")
    before = counts(db)
    # when the delivery is tampered with, signed with another secret, or unsigned
    if case == "tampered":
        signed = sign(SHOPIFY_SECRET, body, encoding="base64")
        body = body.replace(b'"total_price": "120.82"', b'"total_price": "1.00"')
        response = store.shopify("orders/create", body, **{"X-Shopify-Hmac-Sha256": signed})
    elif case == "wrong-secret":
        response = store.shopify("orders/create", body, secret="another-secret-value")
    else:
        response = store.shopify("orders/create", body, **{"X-Shopify-Hmac-Sha256": ""})
    # then it is refused with the common error shape, and the store is unchanged
    assert response.status_code == 401
    assert response.json() == {
        "error": "unauthorized",
        "detail": detail,
        "field": "X-Shopify-Hmac-Sha256",
    }
    assert counts(db) == before


def test_a_workspace_without_a_secret_refuses_every_delivery(
    app: FastAPI, db: Database, make_workspace: Any
) -> None:
    # given a workspace whose WooCommerce secret was never set
    workspace_id = make_workspace().workspace_id
    before = counts(db)
    body = fixture("woocommerce", "order_created")
    # when a delivery arrives
    with TestClient(app) as client:
        response = client.post(
            f"/webhooks/woocommerce/{workspace_id}",
            content=body,
            headers={
                "X-WC-Webhook-Topic": "order.created",
                "X-WC-Webhook-Signature": sign("anything-at-all", body, encoding="base64"),
            },
        )
    # then it is refused and nothing is stored
    assert response.status_code == 401
    assert response.json()["detail"] == "no WooCommerce webhook secret is set for this workspace"
    assert counts(db) == before


def test_an_unknown_workspace_is_not_found(store: Store, db: Database) -> None:
    before = counts(db)
    response = store.client.post(
        "/webhooks/shopify/ws_000000000000",
        content=b"{}",
        headers={"X-Shopify-Topic": "orders/create", "X-Shopify-Hmac-Sha256": "x"},
    )
    assert response.status_code == 404
    assert response.json() == {
        "error": "not_found",
        "detail": "no such workspace",
        "field": "workspace_id",
    }
    assert counts(db) == before


def test_a_replayed_delivery_changes_nothing(store: Store, db: Database) -> None:
    # given a store that received an order, its parcel and a refund
    for topic, name in [
        ("orders/create", "orders_create"),
        ("fulfillments/create", "fulfillments_create"),
        ("refunds/create", "refunds_create"),
    ]:
        store.shopify(topic, fixture("shopify", name), delivery=f"delivery-{name}")
    before = counts(db)
    # when Shopify retries each delivery under the same id
    replies = [
        store.shopify(topic, fixture("shopify", name), delivery=f"delivery-{name}").json()
        for topic, name in [
            ("orders/create", "orders_create"),
            ("fulfillments/create", "fulfillments_create"),
            ("refunds/create", "refunds_create"),
        ]
    ]
    # then each is acknowledged as a duplicate and no table changed
    assert [r["status"] for r in replies] == ["duplicate"] * 3
    assert all(r["duplicate"] is True for r in replies)
    assert counts(db) == before
    # and the same payloads under new ids only add their delivery records
    for topic, name in [
        ("orders/create", "orders_create"),
        ("fulfillments/create", "fulfillments_create"),
        ("refunds/create", "refunds_create"),
    ]:
        assert store.shopify(topic, fixture("shopify", name)).json()["status"] == "applied"
    after = counts(db)
    assert after.pop("webhook_deliveries") == before.pop("webhook_deliveries") + 3
    assert after == before
    (order,) = rows(db, Order, Order.id)
    assert order.refunded_cents == 1791


def test_an_older_version_arriving_late_does_not_undo_a_newer_one(
    store: Store, db: Database
) -> None:
    # given the fulfilled order and its delivered parcel
    store.shopify("orders/updated", fixture("shopify", "orders_updated"))
    store.shopify("fulfillments/update", fixture("shopify", "fulfillments_update"))
    # when the earlier deliveries arrive afterwards
    store.shopify("orders/create", fixture("shopify", "orders_create"))
    store.shopify("fulfillments/create", fixture("shopify", "fulfillments_create"))
    # then the order stays fulfilled and the parcel delivered
    (order,) = rows(db, Order, Order.id)
    assert order.status == "fulfilled"
    (parcel,) = rows(db, Shipment, Shipment.id)
    assert (parcel.status, parcel.delivered_at) == ("delivered", at("2026-03-06T11:20:00+01:00"))


def test_only_an_applied_delivery_has_the_worker_plan_invitations(
    store: Store, db: Database, worker: RunningWorker
) -> None:
    # when Shopify sends an order, the same delivery again, and a topic cxloop does not use
    order = fixture("shopify", "orders_create")
    statuses = [
        store.shopify("orders/create", order, delivery="order-1").json()["status"],
        store.shopify("orders/create", order, delivery="order-1").json()["status"],
        store.shopify("app/uninstalled", b'{"id": 1}').json()["status"],
    ]
    # then, once the order is committed, the worker plans the workspace's invitations, once
    assert statuses == ["applied", "duplicate", "ignored"]
    worker.settle()
    assert worker.enqueued == [("nps_plan", (store.workspace_id,))]
    with db.session() as session:
        assert [run.status for run in runs.runs_of(session, "nps.plan")] == ["done"]


def test_an_unknown_topic_is_acknowledged_and_recorded(store: Store, db: Database) -> None:
    before = counts(db)
    response = store.shopify("app/uninstalled", b'{"id": 1, "name": "Maison Colibri"}')
    assert response.status_code == 200
    assert response.json() == {"status": "ignored", "topic": "app/uninstalled", "ignored": True}
    (delivery,) = rows(db, WebhookDelivery, WebhookDelivery.id)
    assert (delivery.platform, delivery.topic, delivery.status) == (
        "shopify",
        "app/uninstalled",
        "ignored",
    )
    after = counts(db)
    assert after.pop("webhook_deliveries") == 1
    before.pop("webhook_deliveries")
    assert after == before


def test_a_fulfillment_for_an_order_not_seen_yet_is_skipped(store: Store, db: Database) -> None:
    response = store.shopify("fulfillments/create", fixture("shopify", "fulfillments_create"))
    assert response.status_code == 200
    assert response.json() == {
        "status": "skipped",
        "topic": "fulfillments/create",
        "subject": "fulfillment 5512345678901 of order 5712345678901",
        "reason": "order not known yet",
    }
    assert counts(db)["shipments"] == 0
    (delivery,) = rows(db, WebhookDelivery, WebhookDelivery.id)
    assert delivery.status == "skipped"


@pytest.mark.parametrize(
    ("body", "status", "error", "field"),
    [
        (b"not json", 400, "invalid_json", "body"),
        (b"[1, 2]", 400, "invalid_json", "body"),
        (b'{"id": 1, "total_price": "-3.00"}', 422, "invalid_payload", "total_price"),
    ],
)
def test_a_malformed_payload_is_refused_and_nothing_is_stored(
    store: Store, db: Database, body: bytes, status: int, error: str, field: str
) -> None:
    before = counts(db)
    response = store.shopify("orders/create", body)
    assert response.status_code == status
    assert (response.json()["error"], response.json()["field"]) == (error, field)
    assert counts(db) == before


# WooCommerce ---------------------------------------------------------------------------------


def test_woocommerce_answers_its_creation_ping_without_storing_anything(
    store: Store, db: Database
) -> None:
    before = counts(db)
    response = store.client.post(
        f"/webhooks/woocommerce/{store.workspace_id}",
        content=b"webhook_id=12",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200
    assert response.json() == {"status": "ping", "topic": ""}
    assert counts(db) == before


def test_a_woocommerce_order_then_its_update_land(store: Store, db: Database) -> None:
    # given the catalog's product
    store.woo("product.created", fixture("woocommerce", "product_created"))
    # when WooCommerce sends an order, then its update (completed, shipped, partly refunded)
    created = store.woo("order.created", fixture("woocommerce", "order_created"))
    (order,) = rows(db, Order, Order.id)
    status_at_creation = order.status
    updated = store.woo("order.updated", fixture("woocommerce", "order_updated"))
    # then one order, from a known customer, with its lines, refund and parcel
    assert created.json()["status"] == updated.json()["status"] == "applied"
    assert status_at_creation == "paid"
    (customer,) = rows(db, Customer, Customer.id)
    assert (customer.user_id, customer.email, customer.phone, customer.city) == (
        "17",
        "hugo.bernard@example.fr",
        "0611223344",
        "Toulouse",
    )
    (order,) = rows(db, Order, Order.id)
    assert (order.external_id, order.status, order.customer_id) == (
        "4242",
        "fulfilled",
        customer.id,
    )
    assert (
        order.subtotal_cents,
        order.discount_cents,
        order.shipping_cents,
        order.total_cents,
        order.refunded_cents,
    ) == (8000, 800, 590, 7790, 1000)
    assert order.coupon_code == "printemps10"
    assert order.placed_at == at("2026-03-10T08:30:00+00:00")
    (tote,) = rows(db, Product, Product.id)
    assert [
        (i.sku, i.product_id, i.quantity, i.unit_price_cents)
        for i in rows(db, OrderItem, OrderItem.id)
    ] == [("TOTE-LIN-NAT", tote.id, 2, 2400), ("woo-805", None, 1, 3200)]
    (refund,) = rows(db, OrderRefund, OrderRefund.id)
    assert (refund.external_id, refund.amount_cents, refund.reason) == (
        "4250",
        1000,
        "Tablier taché à la livraison",
    )
    (parcel,) = rows(db, Shipment, Shipment.id)
    assert (parcel.carrier, parcel.tracking_number, parcel.status, parcel.method) == (
        "colissimo",
        "8R00012345678",
        "in_transit",
        "Colissimo avec signature",
    )
    assert parcel.shipped_at == at("2026-03-12T08:00:00+00:00")
    assert timeline(db) == [
        ("Order Completed", at("2026-03-10T08:30:00+00:00")),
        ("Order Shipped", at("2026-03-12T08:00:00+00:00")),
        ("Order Updated", at("2026-03-12T16:00:00+00:00")),
        ("Order Refunded", at("2026-03-12T16:00:00+00:00")),
    ]


def test_a_woocommerce_product_is_a_catalog_row(store: Store, db: Database) -> None:
    store.woo("product.created", fixture("woocommerce", "product_created"))
    (tote,) = rows(db, Product, Product.id)
    assert (tote.sku, tote.title, tote.price_cents, tote.sale_price_cents) == (
        "TOTE-LIN-NAT",
        "Tote bag en lin",
        2900,
        2400,
    )
    assert (tote.category, tote.brand, tote.color, tote.availability, tote.gtin) == (
        "Sacs",
        "Maison Colibri",
        "Naturel",
        "in_stock",
        "3760123456781",
    )
    assert tote.description == "Cabas en lin lavé, cousu en France."
    assert tote.url == "https://boutique.example.com/produit/tote-bag-en-lin/"
    # when the product is updated (out of stock, new price)
    store.woo(
        "product.updated",
        modified(
            "woocommerce",
            "product_created",
            regular_price="31.00",
            sale_price="",
            price="31.00",
            stock_status="outofstock",
        ),
    )
    # then the same row changes
    (tote,) = rows(db, Product, Product.id)
    assert (tote.price_cents, tote.sale_price_cents, tote.availability) == (
        3100,
        None,
        "out_of_stock",
    )


def test_a_deleted_woocommerce_order_is_cancelled_not_erased(store: Store, db: Database) -> None:
    store.woo("order.created", fixture("woocommerce", "order_created"))
    response = store.woo("order.deleted", b'{"id": 4242}')
    assert response.json()["subject"] == "order 4242"
    (order,) = rows(db, Order, Order.id)
    assert order.status == "cancelled"
    assert order.cancelled_at is not None
    assert [e for e, _ in timeline(db)] == ["Order Completed", "Order Cancelled"]
    assert len(rows(db, OrderItem, OrderItem.id)) == 2


def test_a_tampered_woocommerce_delivery_is_refused(store: Store, db: Database) -> None:
    before = counts(db)
    response = store.woo(
        "order.created", fixture("woocommerce", "order_created"), secret="nope-nope"
    )
    assert response.status_code == 401
    assert response.json()["field"] == "X-WC-Webhook-Signature"
    assert counts(db) == before


# The receiving service, on SQLite and PostgreSQL ---------------------------------------------


def test_the_whole_shopify_story_and_its_replay_on_both_engines(any_db: Database) -> None:
    # given a workspace with its Shopify secret
    with any_db.session() as session:
        workspace_id = create_workspace(session, WorkspaceCreate(name="Colibri")).workspace_id
        set_secret(session, workspace_id, "shopify", SHOPIFY_SECRET)
    story = [
        ("products/create", "products_create"),
        ("orders/create", "orders_create"),
        ("fulfillments/create", "fulfillments_create"),
        ("orders/updated", "orders_updated"),
        ("fulfillments/update", "fulfillments_update"),
        ("refunds/create", "refunds_create"),
        ("orders/cancelled", "orders_cancelled"),
        ("customers/update", "customers_create"),
    ]

    def deliver(topic: str, name: str, delivery: str) -> str:
        body = fixture("shopify", name)
        headers = {
            "x-shopify-topic": topic,
            "x-shopify-hmac-sha256": sign(SHOPIFY_SECRET, body, encoding="base64"),
            "x-shopify-webhook-id": delivery,
        }
        return receive(any_db, SHOPIFY, workspace_id, headers, body).status

    # when the store's story is delivered
    assert [deliver(t, n, f"first-{n}") for t, n in story] == ["applied"] * len(story)
    first = counts(any_db)
    # and delivered again, under the same ids and under new ones
    assert [deliver(t, n, f"first-{n}") for t, n in story] == ["duplicate"] * len(story)
    assert counts(any_db) == first
    assert [deliver(t, n, f"again-{n}") for t, n in story] == ["applied"] * len(story)
    # then only the delivery records grew
    again = counts(any_db)
    assert again.pop("webhook_deliveries") == first.pop("webhook_deliveries") + len(story)
    assert again == first
    assert {k: first[k] for k in ("customers", "orders", "order_items", "shipments")} == {
        "customers": 2,
        "orders": 2,
        "order_items": 3,
        "shipments": 1,
    }
    assert (first["order_refunds"], first["products"], first["events"]) == (2, 2, 8)
    with any_db.session() as session:
        money = session.execute(
            select(
                Order.external_id, Order.status, Order.total_cents, Order.refunded_cents
            ).order_by(Order.external_id)
        ).all()
    assert [tuple(m) for m in money] == [
        ("5712345678901", "fulfilled", 12082, 1791),
        ("5712345678902", "cancelled", 9390, 9390),
    ]
