"""Channels background work: deliver email and post webhooks once queued, and what a crash
left queued."""

from __future__ import annotations

import datetime as dt
from typing import Any

from huey import crontab

from cxloop.channels import email, hooks, push, sms
from cxloop.config import get_settings
from cxloop.store.runtime import get_database
from cxloop.worker.queue import huey
from cxloop.worker.service import recorded

# Callers deliver right after their commit; a message still queued after this long was left
# behind (the process stopped between commit and delivery) and is picked up here.
STRANDED_AFTER = dt.timedelta(minutes=5)


@huey.task(context=True)
@recorded("email.deliver")
def deliver_emails(message_ids: list[int], task: Any = None) -> None:
    """Deliver these queued messages (enqueue after the transaction that queued them commits)."""
    email.deliver(get_database(), message_ids, email.sender_for(get_settings()))


@huey.periodic_task(crontab(minute="*/5"), context=True)
@recorded("email.stranded")
def deliver_stranded(task: Any = None) -> None:
    """Deliver messages queued more than five minutes ago and never delivered."""
    db = get_database()
    with db.session() as session:
        ids = email.stranded(session, STRANDED_AFTER)
    if ids:
        email.deliver(db, ids, email.sender_for(get_settings()))


@huey.task(context=True)
@recorded("webhooks.post")
def post_webhooks(call_ids: list[int], task: Any = None) -> None:
    """Post these queued webhook calls (enqueue after the transaction that queued them)."""
    hooks.post_calls(get_database(), call_ids, get_settings())


@huey.periodic_task(crontab(minute="*"), context=True)
@recorded("webhooks.retry")
def retry_webhooks(task: Any = None) -> None:
    """Every minute: post calls never posted, left half-posted by a dead process, or failed
    with attempts left (at most ``hooks.ATTEMPTS`` in all)."""
    db = get_database()
    with db.session() as session:
        ids = hooks.pending_calls(session)
        hooks.retry_failed(session, ids)
    if ids:
        hooks.post_calls(db, ids, get_settings())


@huey.periodic_task(crontab(minute="*"), context=True)
@recorded("sms.stranded")
def deliver_stranded_sms(task: Any = None) -> None:
    """Every minute: SMS queued and never delivered, or left half-sent by a dead process."""
    db = get_database()
    with db.session() as session:
        ids = sms.stranded_messages(session, "sms")
    if ids:
        sms.deliver_sms(db, ids, get_settings().resolved_secret_key())


@huey.periodic_task(crontab(minute="*"), context=True)
@recorded("push.stranded")
def deliver_stranded_push(task: Any = None) -> None:
    """Every minute: push notifications queued and never delivered, or left half-sent."""
    db = get_database()
    with db.session() as session:
        ids = sms.stranded_messages(session, "push")
    if ids:
        push.deliver_push(db, ids, get_settings())
