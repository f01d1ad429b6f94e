"""The channels facade: what other domains call to email customers and teams.

Typical use by a caller that owns the transaction (the survey engine, alerts):

    rendered = render("nps_invitation", {...}, customer.locale or workspace.locale)
    message = queue_email(session, workspace_id, to=..., rendered=rendered, ...)
    # after commit, in background work:
    deliver(db, [message.id], sender_for(settings))
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cxloop.channels.email import (
    Delivery,
    DeliveryHook,
    OutboxSender,
    Rendered,
    Sender,
    SmtpSender,
    Undeliverable,
    deliver,
    on_delivery,
    queue_email,
    render,
    sender_for,
)
from cxloop.channels.events import DeliveryStatus, delivery_status
from cxloop.channels.models import DeliveryEvent, OutboundMessage
from cxloop.channels.unsubscribe import unsubscribe_url

__all__ = [
    "Delivery",
    "DeliveryHook",
    "DeliveryStatus",
    "OutboxSender",
    "Rendered",
    "Sender",
    "SmtpSender",
    "Undeliverable",
    "deliver",
    "deliver_later",
    "delivery_status",
    "events_of",
    "get_message",
    "list_messages",
    "message_counts",
    "on_delivery",
    "queue_email",
    "recent_counts",
    "render",
    "sender_for",
    "unsubscribe_url",
]


def list_messages(
    session: Session, workspace_id: str, *, limit: int = 50, offset: int = 0, status: str = ""
) -> list[OutboundMessage]:
    """The workspace's messages, newest first, optionally of one status."""
    query = select(OutboundMessage).where(OutboundMessage.workspace_id == workspace_id)
    if status:
        query = query.where(OutboundMessage.status == status)
    return list(
        session.scalars(
            query.order_by(OutboundMessage.created_at.desc(), OutboundMessage.id.desc())
            .limit(limit)
            .offset(offset)
        )
    )


def get_message(session: Session, workspace_id: str, message_id: int) -> OutboundMessage | None:
    """One message of this workspace (None if it belongs to another)."""
    message = session.get(OutboundMessage, message_id)
    if message is None or message.workspace_id != workspace_id:
        return None
    return message


def events_of(session: Session, message: OutboundMessage) -> list[DeliveryEvent]:
    """What providers reported about ``message``, oldest first."""
    return list(
        session.scalars(
            select(DeliveryEvent)
            .where(DeliveryEvent.message_id == message.id)
            .order_by(DeliveryEvent.at, DeliveryEvent.id)
        )
    )


def recent_counts(
    session: Session, workspace_id: str, customer_ids: list[int], since: dt.datetime, purpose: str
) -> dict[int, int]:
    """Per customer: messages of ``purpose`` queued or sent to them since ``since`` (failed and
    bounced ones aside): what a frequency cap counts."""
    if not customer_ids:
        return {}
    rows = session.execute(
        select(OutboundMessage.customer_id, func.count())
        .where(
            OutboundMessage.workspace_id == workspace_id,
            OutboundMessage.customer_id.in_(customer_ids),
            OutboundMessage.purpose == purpose,
            OutboundMessage.created_at >= since,
            OutboundMessage.status.not_in(("failed", "bounced")),
        )
        .group_by(OutboundMessage.customer_id)
    ).all()
    return {int(cid): int(n) for cid, n in rows if cid is not None}


def message_counts(
    session: Session, workspace_id: str, purpose: str, key_prefix: str
) -> dict[str, int]:
    """Messages of ``purpose`` whose related key starts with ``key_prefix``: queued (all),
    sent (to SMTP or the outbox), failed, bounced, the ones providers reported opened, and the
    ones whose tracked link was followed."""
    mine = (
        OutboundMessage.workspace_id == workspace_id,
        OutboundMessage.purpose == purpose,
        OutboundMessage.related_key.startswith(key_prefix, autoescape=True),
    )
    by_status = dict(
        session.execute(
            select(OutboundMessage.status, func.count())
            .where(*mine)
            .group_by(OutboundMessage.status)
        ).all()
    )

    def reported(kind: str) -> int:
        found = session.scalar(
            select(func.count(func.distinct(DeliveryEvent.message_id)))
            .join(OutboundMessage, OutboundMessage.id == DeliveryEvent.message_id)
            .where(*mine, DeliveryEvent.kind == kind)
        )
        return int(found or 0)

    return {
        "messages": int(sum(by_status.values())),
        "sent": int(by_status.get("sent", 0) + by_status.get("outbox", 0)),
        "failed": int(by_status.get("failed", 0)),
        "bounced": int(by_status.get("bounced", 0)),
        "opened": reported("opened"),
        "clicked": reported("clicked"),
    }


def post_later(call_ids: list[int]) -> None:
    """Have a worker post these queued webhook calls (call once their transaction committed)."""
    from cxloop.channels.tasks import post_webhooks  # here: the tasks module imports this one

    post_webhooks(call_ids)


def deliver_later(message_ids: list[int]) -> None:
    """Have a worker deliver these queued messages (call once their transaction committed)."""
    from cxloop.channels.tasks import deliver_emails  # here: the tasks module imports this one

    deliver_emails(message_ids)
