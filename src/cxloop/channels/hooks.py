"""Signed JSON webhooks to a merchant's endpoints (a helpdesk, a CRM), and the suppression list.

A call is written (status ``queued``) in the transaction of the action that asked for it, with
an idempotency key unique in the whole table: an action retried after a crash finds its call
written and writes no second one. ``post_calls`` sends calls once that transaction committed:
one UPDATE claims them (``queued`` to ``sending``), so that two workers never post the same
call; a call left ``sending`` by a process that died is posted again after ``STALE`` with the
same ``Idempotency-Key`` header, which the receiver uses to drop the repeat.

Each body is signed: ``X-Cxloop-Signature: sha256=<hex HMAC-SHA256 of the body>``, under the
workspace's webhook secret (``webhook_secret``), as cxloop's alert webhooks are.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Sequence
from typing import Any

import httpx
import orjson
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from cxloop import signing
from cxloop.channels.models import Suppression, WebhookCall
from cxloop.config import Settings
from cxloop.store.base import utcnow
from cxloop.store.db import Database

STALE = dt.timedelta(minutes=10)
ATTEMPTS = 5
TIMEOUT = 10.0


def webhook_secret(settings: Settings, workspace_id: str) -> str:
    """The workspace's secret for signing the webhooks it sends (derived, never stored)."""
    key = settings.resolved_secret_key().encode()
    return hmac.new(key, f"journey-webhooks:{workspace_id}".encode(), hashlib.sha256).hexdigest()


def queue_call(
    session: Session,
    workspace_id: str,
    *,
    url: str,
    body: dict[str, Any],
    key: str,
    customer_id: int | None,
) -> WebhookCall:
    """Write a call (``queued``) in the caller's transaction; post it after commit."""
    call = WebhookCall(
        workspace_id=workspace_id,
        customer_id=customer_id,
        url=url,
        body=body,
        idempotency_key=key,
        status="queued",
        created_at=utcnow(),
    )
    session.add(call)
    session.flush()
    return call


def _claimable(now: dt.datetime, stale: dt.timedelta) -> Any:
    return or_(
        WebhookCall.status == "queued",
        (WebhookCall.status == "sending") & (WebhookCall.claimed_at < now - stale),
    )


def _claim(
    db: Database, ids: Sequence[int], stale: dt.timedelta
) -> list[tuple[int, str, str, dict[str, Any], str]]:
    now = utcnow()
    with db.session() as session:
        rows = session.execute(
            update(WebhookCall)
            .where(
                WebhookCall.id.in_(list(ids)),
                _claimable(now, stale),
                WebhookCall.attempts < ATTEMPTS,
            )
            .values(status="sending", attempts=WebhookCall.attempts + 1, claimed_at=now)
            .returning(
                WebhookCall.id,
                WebhookCall.workspace_id,
                WebhookCall.url,
                WebhookCall.body,
                WebhookCall.idempotency_key,
            )
            .execution_options(synchronize_session=False)
        ).all()
    return [(r.id, r.workspace_id, r.url, dict(r.body or {}), r.idempotency_key) for r in rows]


def post_calls(
    db: Database,
    ids: Sequence[int],
    settings: Settings,
    client: httpx.Client | None = None,
    *,
    stale: dt.timedelta = STALE,
) -> None:
    """Post queued calls (after the transaction that queued them committed); each ends
    ``sent`` (a 2xx answer) or ``failed`` (the status or the error kept). A call left
    ``sending`` for longer than ``stale`` by a process that died is posted again."""
    claimed = _claim(db, ids, stale)
    if not claimed:
        return
    own = client is None
    http = client or httpx.Client(timeout=TIMEOUT)
    try:
        for call_id, workspace_id, url, body, key in claimed:
            payload = orjson.dumps(body)
            headers = {
                "Content-Type": "application/json",
                "User-Agent": "cxloop-journeys",
                "Idempotency-Key": key,
                signing.HEADER: signing.header_value(
                    webhook_secret(settings, workspace_id), payload
                ),
            }
            status: int | None = None
            error = ""
            try:
                answer = http.post(url, content=payload, headers=headers)
                status = answer.status_code
                if not answer.is_success:
                    error = f"HTTP {status}"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"[:1000]
            with db.session() as session:
                session.execute(
                    update(WebhookCall)
                    .where(WebhookCall.id == call_id)
                    .values(
                        status="failed" if error else "sent",
                        response_status=status,
                        error=error,
                        sent_at=None if error else utcnow(),
                    )
                )
    finally:
        if own:
            http.close()


def pending_calls(session: Session, *, stale: dt.timedelta = STALE, limit: int = 1000) -> list[int]:
    """Calls to post: queued ones, failed ones with attempts left, and ones a dead process left
    ``sending`` for longer than ``stale``."""
    now = utcnow()
    return list(
        session.scalars(
            select(WebhookCall.id)
            .where(
                WebhookCall.attempts < ATTEMPTS,
                or_(_claimable(now, stale), WebhookCall.status == "failed"),
            )
            .order_by(WebhookCall.id)
            .limit(limit)
        )
    )


def retry_failed(session: Session, ids: Sequence[int]) -> None:
    """Put failed calls back in the queue (the periodic retry)."""
    session.execute(
        update(WebhookCall)
        .where(WebhookCall.id.in_(list(ids)), WebhookCall.status == "failed")
        .values(status="queued")
    )


def calls_of(session: Session, workspace_id: str, *, limit: int = 100) -> list[WebhookCall]:
    """The workspace's calls, newest first."""
    return list(
        session.scalars(
            select(WebhookCall)
            .where(WebhookCall.workspace_id == workspace_id)
            .order_by(WebhookCall.id.desc())
            .limit(limit)
        )
    )


# Suppression list ----------------------------------------------------------------------------


def _address(channel: str, address: str) -> str:
    return address.strip().lower() if channel == "email" else "".join(address.split())


def suppress(
    session: Session, workspace_id: str, channel: str, address: str, reason: str = ""
) -> bool:
    """Add an address to the list; False if it was there already."""
    value = _address(channel, address)
    if is_suppressed(session, workspace_id, channel, value):
        return False
    session.add(
        Suppression(workspace_id=workspace_id, channel=channel, address=value, reason=reason[:200])
    )
    session.flush()
    return True


def unsuppress(session: Session, workspace_id: str, channel: str, address: str) -> bool:
    """Take an address off the list; False if it was not there."""
    row = session.scalar(
        select(Suppression).where(
            Suppression.workspace_id == workspace_id,
            Suppression.channel == channel,
            Suppression.address == _address(channel, address),
        )
    )
    if row is None:
        return False
    session.delete(row)
    return True


def is_suppressed(session: Session, workspace_id: str, channel: str, address: str) -> bool:
    """Whether no customer message may go to this address."""
    return (
        session.scalar(
            select(Suppression.id).where(
                Suppression.workspace_id == workspace_id,
                Suppression.channel == channel,
                Suppression.address == _address(channel, address),
            )
        )
        is not None
    )


def suppressions(session: Session, workspace_id: str) -> list[Suppression]:
    """The workspace's list, newest first."""
    return list(
        session.scalars(
            select(Suppression)
            .where(Suppression.workspace_id == workspace_id)
            .order_by(Suppression.id.desc())
        )
    )
