"""Signed store webhooks for the tests: the platforms' example payloads and a sender."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cxloop.ingest.webhooks import set_secret
from cxloop.signing import sign
from cxloop.store.db import Database

DATA = Path(__file__).parent.parent / "data" / "webhooks"
SHOPIFY_SECRET = "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"
WOO_SECRET = "wc-secret-Zq8Lr2Vx"


def fixture(platform: str, name: str) -> bytes:
    return (DATA / platform / f"{name}.json").read_bytes()


def modified(platform: str, name: str, **changes: Any) -> bytes:
    payload = json.loads(fixture(platform, name))
    payload.update(changes)
    return json.dumps(payload).encode()


class Store:
    """A workspace with its webhook secrets, and a way to send it signed deliveries."""

    def __init__(self, client: TestClient, workspace_id: str, write_key: str) -> None:
        self.client = client
        self.workspace_id = workspace_id
        self.write_key = write_key
        self.sent = 0

    def shopify(
        self,
        topic: str,
        body: bytes,
        *,
        delivery: str | None = None,
        secret: str = SHOPIFY_SECRET,
        **headers: str,
    ) -> Any:
        self.sent += 1
        sent = {
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": sign(secret, body, encoding="base64"),
            "X-Shopify-Webhook-Id": delivery or f"b54557e4-bdd9-4b37-8a5f-{self.sent:012d}",
            "X-Shopify-Shop-Domain": "maison-colibri.myshopify.com",
            "X-Shopify-API-Version": "2025-01",
        }
        sent.update(headers)
        return self.client.post(
            f"/webhooks/shopify/{self.workspace_id}", content=body, headers=sent
        )

    def woo(
        self, topic: str, body: bytes, *, delivery: str | None = None, secret: str = WOO_SECRET
    ) -> Any:
        self.sent += 1
        return self.client.post(
            f"/webhooks/woocommerce/{self.workspace_id}",
            content=body,
            headers={
                "Content-Type": "application/json",
                "X-WC-Webhook-Source": "https://boutique.example.com/",
                "X-WC-Webhook-Topic": topic,
                "X-WC-Webhook-Resource": topic.split(".")[0],
                "X-WC-Webhook-Event": topic.split(".")[1],
                "X-WC-Webhook-Signature": sign(secret, body, encoding="base64"),
                "X-WC-Webhook-ID": "12",
                "X-WC-Webhook-Delivery-ID": delivery or f"{self.sent:032x}",
            },
        )


@contextmanager
def open_store(app: FastAPI, db: Database, make_workspace: Any) -> Iterator[Store]:
    """A fresh workspace with both platforms' webhook secrets set, and a client on the app."""
    keys = make_workspace()
    with db.session() as session:
        set_secret(session, keys.workspace_id, "shopify", SHOPIFY_SECRET)
        set_secret(session, keys.workspace_id, "woocommerce", WOO_SECRET)
    with TestClient(app) as client:
        yield Store(client, keys.workspace_id, keys.write_key)


def post_shopify(
    base: str,
    workspace_id: str,
    topic: str,
    document: dict[str, Any],
    *,
    secret: str,
    delivery: str,
) -> httpx.Response:
    """POST a signed Shopify delivery to a running ``cxloop serve`` at ``base``."""
    body = json.dumps(document).encode()
    return httpx.post(
        f"{base}/webhooks/shopify/{workspace_id}",
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": sign(secret, body, encoding="base64"),
            "X-Shopify-Webhook-Id": delivery,
            "X-Shopify-Shop-Domain": "lou.myshopify.com",
        },
    )
