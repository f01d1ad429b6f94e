"""Channels to customers and teams: email (SMTP or the local outbox), signed webhooks, the
suppression list.

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
from cxloop.channels.hooks import (
    is_suppressed,
    post_calls,
    queue_call,
    suppress,
    suppressions,
    unsuppress,
    webhook_secret,
)
from cxloop.channels.service import recent_counts
from cxloop.channels.unsubscribe import unsubscribe_url

__all__ = [
    "Delivery",
    "Undeliverable",
    "deliver",
    "draft_email",
    "is_suppressed",
    "on_delivery",
    "post_calls",
    "queue_call",
    "queue_drafts",
    "queue_email",
    "recent_counts",
    "render",
    "sender_for",
    "suppress",
    "suppressions",
    "unsubscribe_url",
    "unsuppress",
    "webhook_secret",
]
