"""Unsubscribe links: signed tokens naming a workspace, a customer and a channel.

A token is ``itsdangerous``-signed with the app's secret key under its own salt, so it cannot
be forged or guessed, and cannot be turned into a session cookie or the reverse. It carries no
expiry: an unsubscribe link in an old email must keep working (RFC 8058 and common decency).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import Session

from cxloop import profiles
from cxloop.config import Settings
from cxloop.profiles import Customer

SALT = "cxloop.unsubscribe.v1"
SOURCES = ("unsubscribe:one-click", "unsubscribe:page")


@dataclass(frozen=True)
class Subscription:
    """What a valid token names."""

    workspace_id: str
    customer_id: int
    channel: str


@lru_cache(maxsize=8)
def _serializer(secret_key: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key, salt=SALT, signer_kwargs={"digest_method": hashlib.sha256})


def make_token(secret_key: str, workspace_id: str, customer_id: int, channel: str = "email") -> str:
    """The signed token for this customer and channel (the same every time: links are stable)."""
    return str(_serializer(secret_key).dumps([workspace_id, customer_id, channel]))


def unsubscribe_link(
    base_url: str, secret_key: str, workspace_id: str, customer_id: int, channel: str = "email"
) -> str:
    """The link to put in a message and its ``List-Unsubscribe`` header: ``{base}/u/{token}``."""
    token = make_token(secret_key, workspace_id, customer_id, channel)
    return f"{base_url.rstrip('/')}/u/{token}"


def unsubscribe_url(
    settings: Settings, workspace_id: str, customer_id: int, channel: str = "email"
) -> str:
    """The unsubscribe link on this server (``CXLOOP_PUBLIC_URL``), signed with its secret key."""
    return unsubscribe_link(
        settings.public_url, settings.resolved_secret_key(), workspace_id, customer_id, channel
    )


def read_token(secret_key: str, token: str) -> Subscription | None:
    """What the token names, or None when it is malformed or not signed by us."""
    if len(token) > 500:
        return None
    try:
        payload = _serializer(secret_key).loads(token)
    except BadSignature:
        return None
    if (
        not isinstance(payload, list)
        or len(payload) != 3
        or not isinstance(payload[0], str)
        or not isinstance(payload[1], int)
        or not isinstance(payload[2], str)
    ):
        return None
    return Subscription(payload[0], payload[1], payload[2])


def subscriber(session: Session, subscription: Subscription) -> Customer | None:
    """The customer a token names (following merges since the email went out)."""
    return profiles.find_current(session, subscription.workspace_id, subscription.customer_id)


def unsubscribe(session: Session, subscription: Subscription, *, source: str) -> Customer | None:
    """Deny consent for the token's channel at once; None if the customer no longer exists.

    Idempotent: unsubscribing twice records one consent change.
    """
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}")
    customer = subscriber(session, subscription)
    if customer is None:
        return None
    profiles.set_consent(
        session,
        subscription.workspace_id,
        customer.id,
        subscription.channel,
        "denied",
        source=source,
    )
    return customer
