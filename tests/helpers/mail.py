"""Mail for the tests: real SMTP servers on 127.0.0.1, a shop with a customer, a queued NPS
invitation."""

from __future__ import annotations

from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from cxloop.channels import email
from cxloop.config import get_settings
from cxloop.store.db import Database

SCORE_URL = "https://shop.example/s/tok-123"


@dataclass
class Inbox:
    """What a test SMTP server received."""

    envelopes: list[Envelope] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        """Every received message, parsed."""
        out = []
        for envelope in self.envelopes:
            content = envelope.original_content or envelope.content
            assert isinstance(content, bytes)
            parsed = message_from_bytes(content, policy=policy.default)
            assert isinstance(parsed, EmailMessage)
            out.append(parsed)
        return out


@dataclass
class SmtpServer:
    """A running server: its port and its inbox."""

    port: int
    inbox: Inbox
    tls: bool = False


@dataclass
class Shop:
    """A workspace with one customer."""

    workspace_id: str
    customer_id: int
    email: str


def invitation_context(shop: Shop, **overrides: Any) -> dict[str, Any]:
    """The context the survey engine gives an invitation."""
    context: dict[str, Any] = {
        "store_name": "Chez Lou",
        "greeting": "Zoé",
        "score_url": SCORE_URL,
        "unsubscribe_url": email.unsubscribe_url(
            get_settings(), shop.workspace_id, shop.customer_id
        ),
    }
    context.update(overrides)
    return context


def queue_invitation(db: Database, shop: Shop, locale: str = "fr", **overrides: Any) -> int:
    """Render and queue an NPS invitation to the shop's customer; returns the message id."""
    context = invitation_context(shop, **overrides)
    rendered = email.render("nps_invitation", context, locale)
    with db.session() as session:
        message = email.queue_email(
            session,
            shop.workspace_id,
            to=shop.email,
            rendered=rendered,
            purpose="nps_invitation",
            related_key="invitation:1",
            customer_id=shop.customer_id,
            unsubscribe_url=context["unsubscribe_url"],
        )
        return message.id
