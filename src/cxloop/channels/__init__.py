"""Channels to customers and teams: email (SMTP or the local outbox), webhooks.

This package's facade: what other domains may use. They import the package
(``from cxloop import channels``), never one of its modules (checked by import-linter).
"""

from cxloop.channels.email import (
    Delivery,
    Undeliverable,
    deliver,
    draft_email,
    on_delivery,
    queue_drafts,
    queue_email,
    render,
    sender_for,
)
from cxloop.channels.unsubscribe import unsubscribe_url

__all__ = [
    "Delivery",
    "Undeliverable",
    "deliver",
    "draft_email",
    "on_delivery",
    "queue_drafts",
    "queue_email",
    "render",
    "sender_for",
    "unsubscribe_url",
]
