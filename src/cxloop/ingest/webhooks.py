"""Store webhooks: ``POST /webhooks/{shopify,woocommerce}/{workspace_id}``.

Each delivery is checked against the platform's HMAC-SHA256 signature of the raw body with the
workspace's shared secret before anything is read from it. A verified delivery is recorded in
``webhook_deliveries`` in the same transaction as what it changes, so a delivery id seen before
is answered without applying anything again; the writes themselves are idempotent upserts too,
for the platforms that send the same change under several ids. Answers:

- 200 ``{"status": "applied"|"skipped"|"ignored"|"duplicate"|"ping", ...}``: platforms disable
  hooks that keep failing, so a topic cxloop does not use is acknowledged (and recorded);
- 401 for a missing or wrong signature, or no secret set; 404 for an unknown workspace; 400 for
  a body that is not a JSON object; 413 for an oversized body; 422 for a payload without the
  documented shape. Nothing is stored for any of these.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from cxloop import inputs, signing
from cxloop.errors import InvalidInput
from cxloop.ingest.adapters import Platform, StoreContext
from cxloop.ingest.models import WebhookDelivery, WebhookSecret
from cxloop.ingest.shopify import SHOPIFY
from cxloop.ingest.woocommerce import WOOCOMMERCE
from cxloop.store.base import utcnow
from cxloop.store.db import Database, after_commit
from cxloop.workspaces import audit, get_workspace

PLATFORMS: dict[str, Platform] = {SHOPIFY.name: SHOPIFY, WOOCOMMERCE.name: WOOCOMMERCE}
# Who may have a signing secret: the store platforms, and email providers sending delivery
# events to POST /webhooks/email/{workspace_id} (cxloop.channels.events).
SIGNERS = (*PLATFORMS, "email")
MAX_BODY = 10 * 1024 * 1024
MIN_SECRET = 8
ATTEMPTS = 3
_SHOP_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}\.myshopify\.com$")
# Called with the workspace id once a delivery that changed its orders or parcels has committed
# (e.g. to plan NPS invitations now rather than at the next tick); connected by cxloop.wiring.
StoreChangeHook = Callable[[str], object]
_store_change_hooks: list[StoreChangeHook] = []


@dataclass(frozen=True)
class Receipt:
    """What became of a delivery."""

    status: str
    topic: str = ""
    subject: str = ""
    reason: str | None = None

    def document(self) -> dict[str, Any]:
        """The JSON answer."""
        body: dict[str, Any] = {"status": self.status, "topic": self.topic}
        if self.subject:
            body["subject"] = self.subject
        if self.reason:
            body["reason"] = self.reason
        if self.status in ("ignored", "duplicate"):
            body[self.status] = True
        return body


def set_secret(
    session: Session, workspace_id: str, platform: str, secret: str, *, actor: str = "cli"
) -> None:
    """Set (or replace) the shared secret a platform signs this workspace's webhooks with."""
    if platform not in SIGNERS:
        raise InvalidInput("platform", f"must be one of {', '.join(SIGNERS)}")
    secret = secret.strip()
    if len(secret) < MIN_SECRET:
        raise InvalidInput("secret", f"must be at least {MIN_SECRET} characters")
    if len(secret) > 200:
        raise InvalidInput("secret", "must be at most 200 characters")
    if get_workspace(session, workspace_id) is None:
        raise InvalidInput("workspace", f"no workspace {workspace_id!r}")
    row = session.scalar(
        select(WebhookSecret).where(
            WebhookSecret.workspace_id == workspace_id, WebhookSecret.platform == platform
        )
    )
    if row is None:
        session.add(WebhookSecret(workspace_id=workspace_id, platform=platform, secret=secret))
    else:
        row.secret = secret
        row.updated_at = utcnow()
    # The secret itself never goes to the audit log.
    audit(
        session, actor=actor, action="webhook.secret", workspace_id=workspace_id, subject=platform
    )


def _refuse_unsigned(platform: Platform, detail: str) -> InvalidInput:
    return InvalidInput(platform.signature_header, detail, status=401, code="unauthorized")


def _verify(
    session: Session, platform: Platform, workspace_id: str, headers: Mapping[str, str], body: bytes
) -> None:
    secret = webhook_secret(session, workspace_id, platform.name)
    if secret is None:
        raise _refuse_unsigned(
            platform, f"no {platform.label} webhook secret is set for this workspace"
        )
    given = headers.get(platform.signature_header.lower(), "").strip()
    if not given:
        raise _refuse_unsigned(platform, "signature header missing")
    # The platforms' signature: base64 of the HMAC-SHA256 of the raw body.
    if not signing.matches(given, signing.sign(secret, body, encoding="base64")):
        raise _refuse_unsigned(platform, "signature does not match the body")


def _payload(body: bytes) -> dict[str, Any]:
    document = inputs.json_document(body, max_nodes=MAX_BODY)
    if not isinstance(document, dict):
        raise InvalidInput("body", "body is not a JSON object", status=400, code="invalid_json")
    return document


def _apply(
    session: Session, platform: Platform, workspace_id: str, headers: Mapping[str, str], body: bytes
) -> Receipt:
    workspace = get_workspace(session, workspace_id)
    if workspace is None:
        raise InvalidInput("workspace_id", "no such workspace", status=404, code="not_found")
    if platform.is_ping(headers, body):
        return Receipt("ping")
    _verify(session, platform, workspace_id, headers, body)
    topic = headers.get(platform.topic_header.lower(), "").strip()[:100]
    if not topic:
        raise InvalidInput(platform.topic_header, "topic header missing", status=400)
    digest = hashlib.sha256(body).hexdigest()
    # Without the platform's delivery id, the same topic and body is the same delivery.
    delivery_id = headers.get(platform.delivery_header.lower(), "").strip()[:100] or (
        "sha256:" + hashlib.sha256(topic.encode() + b"\n" + body).hexdigest()[:64]
    )
    seen = session.scalar(
        select(WebhookDelivery.status).where(
            WebhookDelivery.workspace_id == workspace_id,
            WebhookDelivery.platform == platform.name,
            WebhookDelivery.delivery_id == delivery_id,
        )
    )
    if seen is not None:
        return Receipt("duplicate", topic)
    handler = platform.topics.get(topic)
    if handler is None:
        receipt = Receipt("ignored", topic)
    else:
        domain = None
        if platform.domain_header:
            # Headers are not signed: only a well-formed shop domain is used (in product URLs).
            raw = headers.get(platform.domain_header.lower(), "").strip().lower()
            domain = raw if _SHOP_DOMAIN.match(raw) else None
        store = StoreContext(workspace_id, workspace.currency, domain)
        applied = handler(session, store, _payload(body))
        status = "skipped" if applied.skipped else "applied"
        receipt = Receipt(status, topic, applied.subject, applied.skipped)
    session.add(
        WebhookDelivery(
            workspace_id=workspace_id,
            platform=platform.name,
            delivery_id=delivery_id,
            topic=topic,
            status=receipt.status,
            subject=(receipt.subject + (f": {receipt.reason}" if receipt.reason else ""))[:200],
            body_sha256=digest,
        )
    )
    return receipt


def on_store_change(hook: StoreChangeHook) -> StoreChangeHook:
    """Register ``hook(workspace_id)`` once, at start-up (``cxloop.wiring``)."""
    if hook not in _store_change_hooks:
        _store_change_hooks.append(hook)
    return hook


def _store_changed(workspace_id: str) -> None:
    for hook in _store_change_hooks:
        hook(workspace_id)


def receive(
    db: Database, platform: Platform, workspace_id: str, headers: Mapping[str, str], body: bytes
) -> Receipt:
    """Verify, deduplicate and apply one delivery in one transaction; raises InvalidInput.

    ``headers`` are keyed in lower case. Once an applied delivery has committed, the store-change
    hooks hear of it.
    """
    for attempt in range(ATTEMPTS):
        try:
            with db.session() as session:
                receipt = _apply(session, platform, workspace_id, headers, body)
                if receipt.status == "applied":
                    after_commit(session, partial(_store_changed, workspace_id))
                return receipt
        except (IntegrityError, OperationalError):
            # A concurrent delivery of the same order (or the same delivery) committed first,
            # or SQLite's writer lock was taken: a fresh transaction sees its rows and updates.
            if attempt == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


router = APIRouter(tags=["webhooks"], include_in_schema=False)


async def _handle(request: Request, platform: Platform, workspace_id: str) -> JSONResponse:
    body = await inputs.capped_body(request, MAX_BODY)
    headers = {k.lower(): v for k, v in request.headers.items()}
    db: Database = request.app.state.db
    receipt = await run_in_threadpool(receive, db, platform, workspace_id, headers, body)
    return JSONResponse(receipt.document())


@router.post("/webhooks/shopify/{workspace_id}")
async def shopify_webhook(workspace_id: str, request: Request) -> JSONResponse:
    """Receive a Shopify webhook (signed with ``X-Shopify-Hmac-Sha256``)."""
    return await _handle(request, SHOPIFY, workspace_id)


@router.post("/webhooks/woocommerce/{workspace_id}")
async def woocommerce_webhook(workspace_id: str, request: Request) -> JSONResponse:
    """Receive a WooCommerce webhook (signed with ``X-WC-Webhook-Signature``)."""
    return await _handle(request, WOOCOMMERCE, workspace_id)


def webhook_secret(session: Session, workspace_id: str, platform: str) -> str | None:
    """The secret a platform signs this workspace's webhooks with (None if none is set)."""
    return session.scalar(
        select(WebhookSecret.secret).where(
            WebhookSecret.workspace_id == workspace_id, WebhookSecret.platform == platform
        )
    )
