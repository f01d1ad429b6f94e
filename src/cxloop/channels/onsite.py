"""On-site messages: what a journey has to say to a customer, shown by the store's own pages.

A message is written (``queued``) in the journey step's transaction; the store's page fetches
the customer's messages (``GET /p/v1/messages``), which marks them shown (``sent``, with
``sent_at``). The page proves who the visitor is with ``userHash``, the hex HMAC-SHA256 of the
user id under the workspace's identity secret (``identity_secret``), computed by the store's
server: the public write key alone reads nobody's messages.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cxloop import signing
from cxloop.channels.models import OutboundMessage
from cxloop.config import Settings
from cxloop.store.base import utcnow

MAX_SHOWN = 10


def identity_secret(settings: Settings, workspace_id: str) -> str:
    """The secret a store's server signs its visitors' user ids with (derived, never stored)."""
    key = settings.resolved_secret_key().encode()
    return hmac.new(key, f"onsite-identity:{workspace_id}".encode(), hashlib.sha256).hexdigest()


def user_hash(settings: Settings, workspace_id: str, user_id: str) -> str:
    """What the store's server puts in its page for this visitor."""
    return signing.sign(identity_secret(settings, workspace_id), user_id.encode())


def proves(settings: Settings, workspace_id: str, user_id: str, given: str) -> bool:
    """Whether ``given`` is this user id's hash."""
    return signing.matches(given, user_hash(settings, workspace_id, user_id))


def queue_onsite(
    session: Session,
    workspace_id: str,
    *,
    customer_id: int,
    user_id: str,
    title: str,
    body: str,
    details: dict[str, Any],
    related_key: str,
    purpose: str,
) -> OutboundMessage:
    """Write an on-site message for the customer (``queued`` until their next page fetches
    it); ``details`` (a coupon code, a link) go with it."""
    message = OutboundMessage(
        workspace_id=workspace_id,
        customer_id=customer_id,
        channel="onsite",
        purpose=purpose,
        related_key=related_key[:100],
        to_address=user_id[:320],
        from_address="",
        subject=" ".join(title.split())[:500],
        html="",
        text=body,
        headers=details,
        message_id=f"<{uuid.uuid4().hex}@onsite>",
        status="queued",
        created_at=utcnow(),
    )
    session.add(message)
    session.flush()
    return message


def take_onsite(session: Session, workspace_id: str, customer_id: int) -> list[dict[str, Any]]:
    """The customer's messages not shown yet, oldest first (at most ``MAX_SHOWN``), now marked
    shown."""
    rows = session.scalars(
        select(OutboundMessage)
        .where(
            OutboundMessage.workspace_id == workspace_id,
            OutboundMessage.customer_id == customer_id,
            OutboundMessage.channel == "onsite",
            OutboundMessage.status == "queued",
        )
        .order_by(OutboundMessage.id)
        .limit(MAX_SHOWN)
    ).all()
    if rows:
        session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id.in_([r.id for r in rows]), OutboundMessage.status == "queued")
            .values(status="sent", sent_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    return [{"id": r.id, "title": r.subject, "body": r.text, **dict(r.headers or {})} for r in rows]
