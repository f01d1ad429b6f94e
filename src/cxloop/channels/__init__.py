"""Channels to customers and teams: email (SMTP or the local outbox), signed webhooks, the
suppression list.

This package's facade: what other domains may use. They import the package
(``from cxloop import channels``), never one of its modules (checked by import-linter).
"""

from cxloop.channels.clicks import click_url
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
from cxloop.channels.onsite import identity_secret, queue_onsite, user_hash
from cxloop.channels.push import (
    deliver_push,
    has_push,
    push_key,
    queue_push,
    subscribe_push,
    unsubscribe_push,
)
from cxloop.channels.service import deliver_later, message_counts, post_later, recent_counts
from cxloop.channels.sms import deliver_sms, e164, opt_out_words, queue_sms, sms_provider
from cxloop.channels.unsubscribe import unsubscribe_url

__all__ = [
    "Delivery",
    "Undeliverable",
    "click_url",
    "deliver",
    "deliver_later",
    "deliver_push",
    "deliver_sms",
    "draft_email",
    "e164",
    "has_push",
    "identity_secret",
    "is_suppressed",
    "message_counts",
    "on_delivery",
    "opt_out_words",
    "post_calls",
    "post_later",
    "push_key",
    "queue_call",
    "queue_drafts",
    "queue_email",
    "queue_onsite",
    "queue_push",
    "queue_sms",
    "recent_counts",
    "render",
    "sender_for",
    "sms_provider",
    "subscribe_push",
    "suppress",
    "suppressions",
    "unsubscribe_push",
    "unsubscribe_url",
    "unsuppress",
    "user_hash",
    "webhook_secret",
]
