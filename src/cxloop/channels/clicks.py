"""Tracked links: a journey email's button goes through ``/c/{token}``, which records the click
(a ``clicked`` delivery event on the message) and sends the reader on.

The token is ``itsdangerous``-signed with the app's secret key under its own salt and names the
workspace, the message (by its related key, known before the message is written) and the
target: it cannot be forged into an open redirect to another address.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from cxloop.channels.models import DeliveryEvent, OutboundMessage
from cxloop.config import Settings
from cxloop.store.base import utcnow

SALT = "cxloop.click.v1"


@lru_cache(maxsize=8)
def _serializer(secret_key: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key, salt=SALT, signer_kwargs={"digest_method": hashlib.sha256})


def click_url(settings: Settings, workspace_id: str, related_key: str, target: str) -> str:
    """The tracked form of ``target`` in the message of ``related_key``."""
    token = _serializer(settings.resolved_secret_key()).dumps([workspace_id, related_key, target])
    return f"{settings.public_url.rstrip('/')}/c/{token}"


def read_click(settings: Settings, token: str) -> tuple[str, str, str] | None:
    """(workspace, related key, target) of a valid token, else None."""
    try:
        found = _serializer(settings.resolved_secret_key()).loads(token)
    except BadSignature:
        return None
    if not (isinstance(found, list) and len(found) == 3 and all(isinstance(v, str) for v in found)):
        return None
    return found[0], found[1], found[2]


def record_click(session: Session, workspace_id: str, related_key: str) -> bool:
    """A ``clicked`` event on the message (the first click of each message counts once in the
    results; every click is kept)."""
    message_id = session.scalar(
        select(OutboundMessage.id).where(
            OutboundMessage.workspace_id == workspace_id,
            OutboundMessage.related_key == related_key,
        )
    )
    if message_id is None:
        return False
    session.add(
        DeliveryEvent(
            workspace_id=workspace_id, message_id=message_id, kind="clicked", data={}, at=utcnow()
        )
    )
    return True
