"""SMS through an HTTP provider: a Twilio-compatible API, or a generic JSON endpoint.

- **Twilio** (and the providers that copy its API): ``POST {url}/2010-04-01/Accounts/{account}/
  Messages.json``, form-encoded ``To``, ``From``, ``Body``, HTTP Basic auth with the account SID
  and auth token; the answer's ``sid`` is kept.
- **Generic**: ``POST {url}`` with JSON ``{"id", "to", "from", "text"}``, ``Authorization:
  Bearer <token>`` and ``Idempotency-Key`` (the message's id).

A message is written (``queued``) in the transaction of the step that sends it and delivered
after commit, claimed once (``sending``); each outcome is recorded as soon as the provider
answers. One left ``sending`` by a process that died is sent again after ``STALE``. Numbers are
sent in E.164 form (``+33612345678``); a French number written ``06…`` is read as ``+336…``.
Marketing messages end with the opt-out words in the customer's language.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Sequence
from typing import Any

import httpx
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from cxloop import i18n, sealing, workspaces
from cxloop.channels.models import OutboundMessage, SmsProvider
from cxloop.errors import InvalidInput
from cxloop.store.base import utcnow
from cxloop.store.db import Database

KINDS = ("twilio", "generic")
PURPOSE = "sms-credentials"
STALE = dt.timedelta(minutes=10)
MAX_TEXT = 1600  # Twilio's limit for one message body
TIMEOUT = 15.0
_URL = re.compile(r"^https?://[^\s?#]+$")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def e164(phone: str | None, country: str | None = None) -> str | None:
    """The number in E.164 form, or None if it cannot be one (a French ``06…`` becomes
    ``+336…``; other national forms need their ``+``)."""
    if not phone:
        return None
    digits = re.sub(r"[^\d+]", "", phone)
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    if digits.startswith("0") and (country in (None, "FR")) and len(digits) == 10:
        digits = "+33" + digits[1:]
    return digits if _E164.match(digits) else None


def set_provider(
    session: Session,
    workspace_id: str,
    *,
    kind: str,
    url: str,
    sender: str,
    account: str,
    token: str,
    secret_key: str,
    actor: str,
) -> SmsProvider:
    """Set the workspace's SMS provider (replacing any); the token sealed; audited."""
    if kind not in KINDS:
        raise InvalidInput("kind", i18n.gettext("one of %(names)s") % {"names": ", ".join(KINDS)})
    address = url.strip().rstrip("/")
    if not _URL.match(address) or len(address) > 300:
        raise InvalidInput("url", i18n.gettext("an http(s) URL"))
    if kind == "twilio" and not re.match(r"^[A-Za-z0-9]{8,64}$", account):
        raise InvalidInput("account", i18n.gettext("the account SID"))
    if not (e164(sender) or re.match(r"^[A-Za-z0-9 ]{1,11}$", sender)):
        raise InvalidInput(
            "sender",
            i18n.gettext("a number in E.164 form or a sender name of 11 characters at most"),
        )
    if not 8 <= len(token) <= 500 or any(c in token for c in "\r\n"):
        raise InvalidInput("token", i18n.gettext("a key of 8 to 500 characters"))
    row = session.get(SmsProvider, workspace_id)
    if row is None:
        row = SmsProvider(workspace_id=workspace_id)
        session.add(row)
    row.kind, row.url, row.account = kind, address, account
    row.sender = e164(sender) or sender
    row.credentials = sealing.seal(secret_key, PURPOSE, token)
    row.updated_at = utcnow()
    session.flush()
    workspaces.audit(
        session,
        actor=actor,
        action="channels.sms_provider",
        workspace_id=workspace_id,
        subject=kind,
        data={"url": address, "sender": row.sender},
    )
    return row


def sms_provider(session: Session, workspace_id: str) -> SmsProvider | None:
    """The workspace's SMS provider, if one is set."""
    return session.get(SmsProvider, workspace_id)


def remove_provider(session: Session, workspace_id: str, *, actor: str) -> bool:
    """Forget the workspace's SMS provider; audited."""
    row = session.get(SmsProvider, workspace_id)
    if row is None:
        return False
    session.delete(row)
    workspaces.audit(
        session, actor=actor, action="channels.sms_provider_removed", workspace_id=workspace_id
    )
    return True


def opt_out_words(locale: str) -> str:
    """What ends a marketing SMS, in the customer's language."""
    with i18n.speaking(locale):
        return i18n.gettext("STOP: reply STOP")


def queue_sms(
    session: Session,
    workspace_id: str,
    *,
    customer_id: int,
    to: str,
    text: str,
    purpose: str,
    related_key: str,
) -> OutboundMessage:
    """Write an SMS (``queued``) in the caller's transaction; deliver it after commit."""
    message = OutboundMessage(
        workspace_id=workspace_id,
        customer_id=customer_id,
        channel="sms",
        purpose=purpose,
        related_key=related_key[:100],
        to_address=to,
        from_address="",
        subject="",
        html="",
        text=text[:MAX_TEXT],
        headers={},
        message_id=f"<{uuid.uuid4().hex}@sms>",
        status="queued",
        created_at=utcnow(),
    )
    session.add(message)
    session.flush()
    return message


def claim_messages(
    db: Database, ids: Sequence[int], channel: str, stale: dt.timedelta
) -> list[OutboundMessage]:
    """Take these messages of ``channel`` to send (``sending``): those queued, and those left
    ``sending`` longer than ``stale`` by a process that died; each is taken once."""
    now = utcnow()
    with db.session() as session:
        claimed = session.scalars(
            update(OutboundMessage)
            .where(
                OutboundMessage.id.in_(list(ids)),
                OutboundMessage.channel == channel,
                or_(
                    OutboundMessage.status == "queued",
                    and_(
                        OutboundMessage.status == "sending",
                        OutboundMessage.claimed_at < now - stale,
                    ),
                ),
            )
            .values(status="sending", claimed_at=now)
            .returning(OutboundMessage)
            .execution_options(synchronize_session=False)
        ).all()
        session.expunge_all()
    return list(claimed)


def _claim(
    db: Database, ids: Sequence[int], stale: dt.timedelta
) -> list[tuple[int, str, str, str, str]]:
    return [
        (m.id, m.workspace_id, m.message_id, m.to_address, m.text)
        for m in claim_messages(db, ids, "sms", stale)
    ]


def _post(
    client: httpx.Client, provider: SmsProvider, token: str, key: str, to: str, text: str
) -> str:
    if provider.kind == "twilio":
        answer = client.post(
            f"{provider.url}/2010-04-01/Accounts/{provider.account}/Messages.json",
            data={"To": to, "From": provider.sender, "Body": text},
            auth=(provider.account, token),
        )
    else:
        answer = client.post(
            provider.url,
            json={"id": key, "to": to, "from": provider.sender, "text": text},
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
        )
    if not answer.is_success:
        raise httpx.HTTPStatusError(
            f"HTTP {answer.status_code}: {answer.text[:300]}",
            request=answer.request,
            response=answer,
        )
    try:
        found: Any = answer.json()
    except json.JSONDecodeError:
        found = {}
    return str((found or {}).get("sid") or (found or {}).get("id") or "")


def deliver_sms(
    db: Database,
    message_ids: Sequence[int],
    secret_key: str,
    *,
    client: httpx.Client | None = None,
    stale: dt.timedelta = STALE,
) -> int:
    """Send queued SMS (after the transaction that queued them committed); how many went."""
    claimed = _claim(db, message_ids, stale)
    if not claimed:
        return 0
    own = client is None
    http = client or httpx.Client(timeout=TIMEOUT)
    sent = 0
    try:
        for message_id, workspace_id, key, to, text in claimed:
            with db.session() as session:
                provider = sms_provider(session, workspace_id)
            values: dict[str, Any] = {"status": "failed"}
            if provider is None:
                values["error"] = "no SMS provider"
            else:
                try:
                    token = sealing.unseal(secret_key, PURPOSE, provider.credentials)
                    reference = _post(http, provider, token, key, to, text)
                    values = {
                        "status": "sent",
                        "sent_at": utcnow(),
                        "error": "",
                        "headers": {"provider_id": reference},
                    }
                except (httpx.HTTPError, sealing.Unreadable) as exc:
                    values["error"] = f"{type(exc).__name__}: {exc}"[:1000]
            with db.session() as session:
                session.execute(
                    update(OutboundMessage).where(OutboundMessage.id == message_id).values(values)
                )
            sent += values["status"] == "sent"
    finally:
        if own:
            http.close()
    return sent


def stranded_messages(
    session: Session,
    channel: str,
    *,
    older_than: dt.timedelta = dt.timedelta(minutes=5),
    stale: dt.timedelta = STALE,
) -> list[int]:
    """Messages of ``channel`` (``sms``, ``push``) queued and never delivered, or left
    ``sending`` by a process that died."""
    now = utcnow()
    return list(
        session.scalars(
            select(OutboundMessage.id)
            .where(
                OutboundMessage.channel == channel,
                or_(
                    and_(
                        OutboundMessage.status == "queued",
                        OutboundMessage.created_at < now - older_than,
                    ),
                    and_(
                        OutboundMessage.status == "sending",
                        OutboundMessage.claimed_at < now - stale,
                    ),
                ),
            )
            .limit(5000)
        )
    )
