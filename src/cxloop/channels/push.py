"""Web push: notifications to a browser, even one that never signed in.

- **Keys.** Each workspace has its VAPID key pair (RFC 8292), derived from the server's secret
  key, never stored: the store's pages subscribe with its public key
  (``GET /p/v1/push/key``), and every push is signed with the private one.
- **Subscriptions.** The web SDK's ``cxloop.push.subscribe()`` registers the service worker,
  asks the browser for a subscription (RFC 8030) and posts it with the visitor's ids. A visitor
  who subscribes becomes a customer (their anonymous id is the identity), so that a journey
  can reach them; signing in later links the same customer.
- **Sending.** A journey's ``send`` step with ``channel: push`` writes the message
  (``queued``) in its transaction; after commit each of the customer's active subscriptions
  gets it, encrypted for that browser (RFC 8291, ``aes128gcm``) by ``pywebpush``. A push
  service answering 404 or 410 means the browser dropped the subscription: it is marked
  ``gone``.

Subscriptions name the URL we post to, so an endpoint must be HTTPS on a public host; with
``CXLOOP_PUSH_LOCAL_ENDPOINTS`` (tests, development) plain HTTP and this machine are allowed.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import uuid
from collections.abc import Sequence
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from py_vapid import Vapid
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cxloop import i18n
from cxloop.channels.models import OutboundMessage, PushSubscription
from cxloop.channels.sms import claim_messages
from cxloop.config import Settings
from cxloop.errors import InvalidInput
from cxloop.store.base import utcnow
from cxloop.store.db import Database

STALE = dt.timedelta(minutes=10)
TIMEOUT = 15.0
TTL_SECONDS = 24 * 3600
MAX_TITLE = 120
MAX_BODY = 500
# The order of P-256's group (SEC 2, section 2.4.2): private keys are below it.
_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def vapid_key(settings: Settings, workspace_id: str) -> ec.EllipticCurvePrivateKey:
    """The workspace's VAPID private key (P-256), derived from the server's secret key."""
    secret = settings.resolved_secret_key().encode()
    digest = hmac.new(secret, f"web-push-vapid:{workspace_id}".encode(), hashlib.sha512).digest()
    scalar = int.from_bytes(digest, "big") % (_ORDER - 1) + 1
    return ec.derive_private_key(scalar, ec.SECP256R1())


def push_key(settings: Settings, workspace_id: str) -> str:
    """The public key the store's pages subscribe with (base64url, uncompressed point)."""
    point = vapid_key(settings, workspace_id).public_key()
    return _b64(point.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint))


def _endpoint(settings: Settings, value: object) -> str:
    if not isinstance(value, str) or not 10 <= len(value) <= 2000:
        raise InvalidInput("subscription.endpoint", i18n.gettext("the push service's address"))
    parts = urlsplit(value)
    host = parts.hostname or ""
    local = host == "localhost"
    try:
        address = ipaddress.ip_address(host)
        local = local or not address.is_global
    except ValueError:
        pass
    allowed = parts.scheme == "https" or (settings.push_local_endpoints and parts.scheme == "http")
    if not allowed or not host or (local and not settings.push_local_endpoints):
        raise InvalidInput(
            "subscription.endpoint", i18n.gettext("an https address of a push service")
        )
    return value


def _key(value: object, field: str, size: int) -> str:
    try:
        raw = _unb64(value) if isinstance(value, str) and len(value) < 200 else b""
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != size or (size == 65 and raw[0] != 4):
        raise InvalidInput(field, i18n.gettext("the key the browser gave, in base64url"))
    return _b64(raw)


def subscribe_push(
    session: Session,
    settings: Settings,
    workspace_id: str,
    *,
    customer_id: int,
    anonymous_id: str,
    endpoint: object,
    p256dh: object,
    auth: object,
) -> PushSubscription:
    """Keep (or renew) a browser's subscription for this customer."""
    address = _endpoint(settings, endpoint)
    keys = (
        _key(p256dh, "subscription.keys.p256dh", 65),
        _key(auth, "subscription.keys.auth", 16),
    )
    digest = hashlib.sha256(address.encode()).hexdigest()
    row = session.scalar(
        select(PushSubscription).where(
            PushSubscription.workspace_id == workspace_id,
            PushSubscription.endpoint_hash == digest,
        )
    )
    if row is None:
        row = PushSubscription(workspace_id=workspace_id, endpoint=address, endpoint_hash=digest)
        session.add(row)
    row.customer_id, row.anonymous_id = customer_id, anonymous_id[:200]
    row.p256dh, row.auth = keys
    row.status, row.created_at = "active", utcnow()
    session.flush()
    return row


def unsubscribe_push(session: Session, workspace_id: str, endpoint: str) -> bool:
    """Forget a browser's subscription; whether there was one."""
    digest = hashlib.sha256(endpoint.encode()).hexdigest()
    result = session.execute(
        update(PushSubscription)
        .where(
            PushSubscription.workspace_id == workspace_id,
            PushSubscription.endpoint_hash == digest,
            PushSubscription.status == "active",
        )
        .values(status="gone")
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def has_push(session: Session, workspace_id: str, customer_id: int) -> bool:
    """Whether the customer has a browser subscribed to web push."""
    return (
        session.scalar(
            select(PushSubscription.id)
            .where(
                PushSubscription.workspace_id == workspace_id,
                PushSubscription.customer_id == customer_id,
                PushSubscription.status == "active",
            )
            .limit(1)
        )
        is not None
    )


def queue_push(
    session: Session,
    workspace_id: str,
    *,
    customer_id: int,
    title: str,
    body: str,
    url: str,
    purpose: str,
    related_key: str,
) -> OutboundMessage:
    """Write a push notification (``queued``) in the caller's transaction; deliver it after
    commit to each of the customer's browsers."""
    message = OutboundMessage(
        workspace_id=workspace_id,
        customer_id=customer_id,
        channel="push",
        purpose=purpose,
        related_key=related_key[:100],
        to_address="web push",
        from_address="",
        subject=" ".join(title.split())[:MAX_TITLE],
        html="",
        text=body[:MAX_BODY],
        headers={"url": url} if url else {},
        message_id=f"<{uuid.uuid4().hex}@push>",
        status="queued",
        created_at=utcnow(),
    )
    session.add(message)
    session.flush()
    return message


def _subscriptions(db: Database, message: OutboundMessage) -> list[PushSubscription]:
    with db.session() as session:
        found = session.scalars(
            select(PushSubscription).where(
                PushSubscription.workspace_id == message.workspace_id,
                PushSubscription.customer_id == message.customer_id,
                PushSubscription.status == "active",
            )
        ).all()
        session.expunge_all()
    return list(found)


def deliver_push(
    db: Database,
    message_ids: Sequence[int],
    settings: Settings,
    *,
    stale: dt.timedelta = STALE,
) -> int:
    """Send queued push notifications (after the transaction that queued them committed) to
    each subscribed browser of their customer; how many messages reached at least one."""
    # pywebpush (and the aiohttp it pulls in) is read when a push is sent, not at start-up.
    from pywebpush import WebPushException, webpush

    sent = 0
    with requests.Session() as http:
        for message in claim_messages(db, message_ids, "push", stale):
            payload = json.dumps(
                {
                    "title": message.subject,
                    "body": message.text,
                    "url": (message.headers or {}).get("url", ""),
                    "tag": message.message_id,
                },
                ensure_ascii=False,
            )
            signer = Vapid(private_key=vapid_key(settings, message.workspace_id))
            reached, gone, errors = 0, [], []
            for subscription in _subscriptions(db, message):
                try:
                    webpush(
                        {
                            "endpoint": subscription.endpoint,
                            "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
                        },
                        payload,
                        vapid_private_key=signer,
                        vapid_claims={"sub": settings.push_contact},
                        ttl=TTL_SECONDS,
                        timeout=TIMEOUT,
                        requests_session=http,
                    )
                    reached += 1
                except WebPushException as exc:
                    status = getattr(exc.response, "status_code", None)
                    if status in (404, 410):
                        gone.append(subscription.id)
                    errors.append(f"HTTP {status}" if status else str(exc)[:200])
                except requests.RequestException as exc:
                    errors.append(f"{type(exc).__name__}: {exc}"[:200])
            now = utcnow()
            with db.session() as session:
                if gone:
                    session.execute(
                        update(PushSubscription)
                        .where(PushSubscription.id.in_(gone))
                        .values(status="gone")
                    )
                values: dict[str, object] = (
                    {"status": "sent", "sent_at": now, "error": "; ".join(errors)[:1000]}
                    if reached
                    else {"status": "failed", "error": "; ".join(errors)[:1000] or "no browser"}
                )
                session.execute(
                    update(OutboundMessage).where(OutboundMessage.id == message.id).values(values)
                )
                if reached:
                    session.execute(
                        update(PushSubscription)
                        .where(
                            PushSubscription.workspace_id == message.workspace_id,
                            PushSubscription.customer_id == message.customer_id,
                            PushSubscription.status == "active",
                        )
                        .values(last_sent_at=now)
                    )
            sent += reached > 0
    return sent
