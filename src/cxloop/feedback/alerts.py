"""Alerts: tell the team at once about answers that need them, or when invitations stop.

Each alert is recorded (rule × subject) before it is sent, so it is sent once; a failed send is
retried by the periodic task, a few times. Webhook bodies are signed: the header
``X-Cxloop-Signature: sha256=<hex>`` is the HMAC-SHA256 of the raw body with the rule's secret.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Callable
from typing import Any

import httpx
import orjson
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cxloop.commerce.models import Order
from cxloop.errors import InvalidInput
from cxloop.feedback.models import AlertDelivery, AlertRule, Invitation, Response, Survey
from cxloop.profiles.models import Customer
from cxloop.store.base import utcnow
from cxloop.store.db import Database
from cxloop.workspaces.models import Workspace
from cxloop.workspaces.service import audit

MAX_ATTEMPTS = 5
# Queues an email alert: (session, rule, subject line, lines of text, console link) -> the
# queued message's id, delivered once the transaction has committed.
EmailAlert = Callable[[Session, AlertRule, str, list[str], str], int]
Deliver = Callable[[list[int]], None]


def create_rule(
    session: Session,
    workspace_id: str,
    *,
    name: str,
    kind: str,
    target: str,
    address: str,
    filters: dict[str, Any] | None = None,
    secret: str | None = None,
    slack_format: bool = False,
    actor: str = "api",
) -> AlertRule:
    """Add an alert rule (``response`` or ``silence``; to ``email`` or ``webhook``)."""
    if kind not in ("response", "silence"):
        raise InvalidInput("kind", "must be response or silence")
    if target not in ("email", "webhook"):
        raise InvalidInput("target", "must be email or webhook")
    if target == "webhook" and not address.startswith(("https://", "http://")):
        raise InvalidInput("address", "a webhook address is an http(s) URL")
    if target == "email" and "@" not in address:
        raise InvalidInput("address", "not an email address")
    filters = dict(filters or {})
    if kind == "silence" and not isinstance(filters.get("silence_hours"), int | float):
        filters["silence_hours"] = 6
    rule = AlertRule(
        workspace_id=workspace_id,
        name=name,
        kind=kind,
        target=target,
        address=address,
        filters=filters,
        secret=secret,
        slack_format=slack_format,
    )
    session.add(rule)
    session.flush()
    audit(
        session,
        actor=actor,
        action="alert_rule.create",
        workspace_id=workspace_id,
        subject=name,
        data={"kind": kind, "target": target},
    )
    return rule


def rules_of(session: Session, workspace_id: str) -> list[AlertRule]:
    """A workspace's alert rules, oldest first."""
    return list(
        session.scalars(
            select(AlertRule).where(AlertRule.workspace_id == workspace_id).order_by(AlertRule.id)
        )
    )


def matches(rule: AlertRule, response: Response) -> bool:
    """Whether a new answer is one this rule watches for."""
    filters = rule.filters or {}
    if "max_score" in filters and response.score > int(filters["max_score"]):
        return False
    if "min_score" in filters and response.score < int(filters["min_score"]):
        return False
    if filters.get("channel") and response.channel != filters["channel"]:
        return False
    if filters.get("survey_id") and response.survey_id != int(filters["survey_id"]):
        return False
    return not (filters.get("category") and response.category != filters["category"])


def signature(secret: str, body: bytes) -> str:
    """The value of the ``X-Cxloop-Signature`` header for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _response_document(session: Session, response: Response, base_url: str) -> dict[str, Any]:
    customer = session.get(Customer, response.customer_id) if response.customer_id else None
    survey = session.get(Survey, response.survey_id) if response.survey_id else None
    invitation = session.get(Invitation, response.invitation_id) if response.invitation_id else None
    order = session.get(Order, invitation.order_id) if invitation and invitation.order_id else None
    link = (
        f"{base_url}/w/{response.workspace_id}/customers/{customer.id}"
        if customer
        else f"{base_url}/w/{response.workspace_id}/"
    )
    return {
        "type": "nps.response",
        "workspace_id": response.workspace_id,
        "response": {
            "id": response.id,
            "score": response.score,
            "category": response.category,
            "comment": response.comment,
            "channel": response.channel,
            "touchpoint": response.touchpoint,
            "locale": response.locale,
            "survey": survey.key if survey else None,
            "at": (response.confirmed_at or response.created_at).isoformat(),
        },
        "customer": {
            "user_id": customer.user_id if customer else None,
            "email": customer.email if customer else None,
            "name": " ".join(p for p in (customer.first_name, customer.last_name) if p)
            if customer
            else "",
        },
        "order": order.external_id if order else None,
        "link": link,
    }


def _slack(document: dict[str, Any]) -> dict[str, Any]:
    response, customer = document["response"], document["customer"]
    who = customer["name"] or customer["email"] or customer["user_id"] or "?"
    text = f"NPS {response['score']}/10 ({response['category']}) from {who}"
    if document.get("order"):
        text += f", order {document['order']}"
    if response["comment"]:
        text += f":\n> {response['comment'][:500]}"
    return {"text": f"{text}\n<{document['link']}|Open in cxloop>"}


def _claim(session: Session, rule: AlertRule, subject_key: str) -> AlertDelivery | None:
    existing = session.scalar(
        select(AlertDelivery).where(
            AlertDelivery.rule_id == rule.id, AlertDelivery.subject_key == subject_key
        )
    )
    if existing is not None:
        return (
            existing if existing.status == "failed" and existing.attempts < MAX_ATTEMPTS else None
        )
    delivery = AlertDelivery(
        workspace_id=rule.workspace_id, rule_id=rule.id, subject_key=subject_key
    )
    try:
        with session.begin_nested():
            session.add(delivery)
    except IntegrityError:
        return None  # another worker claimed it first
    return delivery


def _post(client: httpx.Client, rule: AlertRule, document: dict[str, Any]) -> None:
    if rule.slack_format:
        slack = (
            _slack(document)
            if document["type"] == "nps.response"
            else {"text": f"{document['text']}\n<{document['link']}|Open in cxloop>"}
        )
        body = orjson.dumps(slack)
    else:
        body = orjson.dumps(document)
    headers = {"Content-Type": "application/json", "User-Agent": "cxloop-alerts"}
    if rule.secret:
        headers["X-Cxloop-Signature"] = signature(rule.secret, body)
    answer = client.post(rule.address, content=body, headers=headers, timeout=10)
    answer.raise_for_status()


def _send(
    session: Session,
    rule: AlertRule,
    delivery: AlertDelivery,
    document: dict[str, Any],
    subject: str,
    lines: list[str],
    client: httpx.Client,
    email: EmailAlert | None,
    mails: list[int],
) -> None:
    delivery.attempts += 1
    try:
        if rule.target == "webhook":
            _post(client, rule, document)
        elif email is not None:
            mails.append(email(session, rule, subject, lines, str(document.get("link", ""))))
        else:
            raise RuntimeError("no email channel configured")
    except (httpx.HTTPError, RuntimeError, OSError) as exc:
        delivery.status, delivery.last_error = "failed", repr(exc)[:1000]
        return
    delivery.status, delivery.sent_at, delivery.last_error = "sent", utcnow(), ""


def alert_on_response(
    db: Database,
    response_id: int,
    *,
    base_url: str,
    client: httpx.Client | None = None,
    email: EmailAlert | None = None,
    deliver: Deliver | None = None,
) -> int:
    """Send the alerts a confirmed answer calls for; returns how many were sent."""
    sent = 0
    mails: list[int] = []
    own = client is None
    client = client or httpx.Client()
    try:
        with db.session() as session:
            response = session.get(Response, response_id)
            if response is None or response.status != "confirmed":
                return 0
            rules = session.scalars(
                select(AlertRule).where(
                    AlertRule.workspace_id == response.workspace_id,
                    AlertRule.kind == "response",
                    AlertRule.active.is_(True),
                )
            ).all()
            document = _response_document(session, response, base_url)
            for rule in rules:
                if not matches(rule, response):
                    continue
                delivery = _claim(session, rule, f"response:{response.id}")
                if delivery is None:
                    continue
                subject = f"NPS {response.score}/10 — {document['customer']['email'] or ''}"
                lines = [
                    f"Score: {response.score}/10 ({response.category})",
                    f"Comment: {response.comment or '—'}",
                ]
                _send(session, rule, delivery, document, subject, lines, client, email, mails)
                sent += delivery.status == "sent"
    finally:
        if own:
            client.close()
    if mails and deliver is not None:
        deliver(mails)  # after the commit: the messages exist
    return sent


def check_silence(
    db: Database,
    now: dt.datetime | None = None,
    *,
    base_url: str,
    client: httpx.Client | None = None,
    email: EmailAlert | None = None,
    deliver: Deliver | None = None,
) -> int:
    """Alert when orders came in for N hours but no invitation went out (a broken hook)."""
    now = now or utcnow()
    sent = 0
    mails: list[int] = []
    own = client is None
    client = client or httpx.Client()
    try:
        with db.session() as session:
            for rule in session.scalars(
                select(AlertRule).where(AlertRule.kind == "silence", AlertRule.active.is_(True))
            ).all():
                hours = float((rule.filters or {}).get("silence_hours", 6))
                since = now - dt.timedelta(hours=hours)
                orders = (
                    session.scalar(
                        select(func.count())
                        .select_from(Order)
                        .where(Order.workspace_id == rule.workspace_id, Order.placed_at >= since)
                    )
                    or 0
                )
                invited = (
                    session.scalar(
                        select(func.count())
                        .select_from(Invitation)
                        .where(
                            Invitation.workspace_id == rule.workspace_id,
                            Invitation.sent_at >= since,
                        )
                    )
                    or 0
                )
                if orders == 0 or invited > 0:
                    continue
                # One alert per silent window, not one per check.
                window = int(now.timestamp() // (hours * 3600))
                delivery = _claim(session, rule, f"silence:{window}")
                if delivery is None:
                    continue
                workspace = session.get(Workspace, rule.workspace_id)
                document = {
                    "type": "nps.silence",
                    "workspace_id": rule.workspace_id,
                    "hours": hours,
                    "orders": int(orders),
                    "invitations": 0,
                    "link": f"{base_url}/w/{rule.workspace_id}/",
                    "text": f"{workspace.name if workspace else ''}: {orders} orders in the last "
                    f"{hours:g} h and no NPS invitation sent. Check the store hooks.",
                }
                _send(
                    session,
                    rule,
                    delivery,
                    document,
                    "cxloop: no NPS invitation sent",
                    [str(document["text"])],
                    client,
                    email,
                    mails,
                )
                sent += delivery.status == "sent"
    finally:
        if own:
            client.close()
    if mails and deliver is not None:
        deliver(mails)
    return sent
