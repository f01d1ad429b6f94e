"""Alerts across domains: their email goes through the email channel."""

from __future__ import annotations

from sqlalchemy.orm import Session

from cxloop import channels as email_channel
from cxloop import workspaces
from cxloop.alerts.models import AlertRule
from cxloop.alerts.service import Deliver, EmailAlert
from cxloop.config import Settings
from cxloop.store.db import Database


def email_alert(settings: Settings) -> EmailAlert:
    """The email side of alerts: queue a short message to the rule's address."""

    def queue(session: Session, rule: AlertRule, subject: str, lines: list[str], link: str) -> int:
        workspace = workspaces.get_workspace(session, rule.workspace_id)
        rendered = email_channel.render(
            "alert",
            {
                "subject": subject,
                "lines": lines,
                "link": link,
                "store_name": workspace.name if workspace else "",
            },
            workspace.locale if workspace else "en",
        )
        message = email_channel.queue_email(
            session,
            rule.workspace_id,
            to=rule.address,
            rendered=rendered,
            purpose="alert",
            related_key=f"alert_rule:{rule.id}",
            customer_id=None,
            unsubscribe_url=None,
        )
        return message.id

    return queue


def deliver_mail(db: Database, settings: Settings) -> Deliver:
    """Deliver queued messages once their transaction has committed."""

    def deliver(message_ids: list[int]) -> None:
        email_channel.deliver(db, message_ids, email_channel.sender_for(settings))

    return deliver
