"""The NPS loop across domains: plan, send through the email channel, remind."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from cxloop import channels as email_channel
from cxloop import profiles
from cxloop.channels import unsubscribe_url
from cxloop.config import Settings
from cxloop.errors import InvalidInput
from cxloop.store.base import utcnow
from cxloop.store.db import Database
from cxloop.surveys import service
from cxloop.surveys.models import Invitation, Survey
from cxloop.workspaces import get_workspace


@dataclass
class TickReport:
    """What one pass of the loop did."""

    planned: int = 0
    suppressed: dict[str, int] = field(default_factory=dict)
    sent: int = 0
    reminded: int = 0


def survey_url(settings: Settings, invitation: Invitation) -> str:
    """The page a survey link opens (the email's buttons add ``?score=N``)."""
    return f"{settings.public_url}/s/{invitation.token}"


def _texts_context(
    session: Session, settings: Settings, invitation: Invitation, reminder: bool
) -> tuple[str, dict[str, object]]:
    survey = session.get(Survey, invitation.survey_id)
    workspace = get_workspace(session, invitation.workspace_id)
    customer = (
        profiles.get_customer(session, invitation.workspace_id, invitation.customer_id)
        if invitation.customer_id
        else None
    )
    assert survey is not None and workspace is not None and customer is not None
    texts = service.definition_of(survey).texts["fr" if invitation.locale == "fr" else "en"]
    store = workspace.name
    intro = texts.reminder_intro if reminder and texts.reminder_intro else texts.intro
    context: dict[str, object] = {
        "store_name": store,
        "greeting": customer.first_name or "",
        "intro": intro.replace("{store}", store),
        "question": texts.question.replace("{store}", store),
        "low_label": texts.low_label,
        "high_label": texts.high_label,
        "score_url": survey_url(settings, invitation),
        "subject": texts.subject.replace("{store}", store),
    }
    return customer.email or "", context


def _draft(
    session: Session, settings: Settings, invitation: Invitation, reminder: bool
) -> dict[str, Any]:
    address, context = _texts_context(session, settings, invitation, reminder)
    unsubscribe = unsubscribe_url(
        settings, invitation.workspace_id, invitation.customer_id or 0, "email"
    )
    context["unsubscribe_url"] = unsubscribe
    rendered = email_channel.render(
        "nps_reminder" if reminder else "nps_invitation", context, invitation.locale
    )
    return email_channel.draft_email(
        session,
        invitation.workspace_id,
        to=address,
        rendered=rendered,
        purpose="nps_reminder" if reminder else "nps_invitation",
        related_key=f"invitation:{invitation.id}",
        customer_id=invitation.customer_id,
        unsubscribe_url=unsubscribe,
    )


def send_invitation(
    session: Session,
    settings: Settings,
    invitation: Invitation,
    now: dt.datetime,
    reason: tuple[str, str] | None = None,
    *,
    checked: bool = False,
    pending: list[dict[str, Any]] | None = None,
) -> dict[str, Any] | None:
    """Send one claimed invitation, unless something changed; returns its email's outbox row.

    The row is checked but not written: the caller writes a batch of them with
    ``email_channel.queue_drafts``.
    """
    if invitation.status != "sending":
        return None
    if not checked:
        reason = service.recheck(session, invitation, now)
    if reason is not None:
        service.suppress(session, invitation, reason[0], reason[1], now)
        return None
    message = None
    if invitation.channel == "email":
        try:
            message = _draft(session, settings, invitation, False)
        except email_channel.Undeliverable as exc:
            service.suppress(session, invitation, "no_consent", f"email refused: {exc.reason}", now)
            return None
        except InvalidInput as exc:
            service.suppress(session, invitation, "no_email_address", exc.message, now)
            return None
    service.mark_sent(session, invitation, now, pending)
    return message


def track_invitations(
    session: Session, deliveries: Sequence[email_channel.Delivery], kind: str, at: dt.datetime
) -> None:
    """Keep the invitations' funnel times in step with what happened to their emails (the email
    channel's delivery hook, connected by ``cxloop.wiring.wire`` at start-up)."""
    column = {
        "sent": "delivered_at",
        "outbox": "delivered_at",
        "delivered": "delivered_at",
        "opened": "opened_at",
    }.get(kind)
    if column is None:
        return
    ids = [
        int(d.related_key.split(":", 1)[1])
        for d in deliveries
        if d.related_key.startswith("invitation:")
    ]
    if not ids:
        return
    # One plain UPDATE for the whole batch, no load and no flush.
    table = Invitation.metadata.tables["invitations"]
    session.connection().execute(
        update(table).where(table.c.id.in_(ids), table.c[column].is_(None)).values({column: at})
    )


def plan_now(
    db: Database, workspace_id: str, now: dt.datetime | None = None
) -> list[tuple[int, dt.datetime]]:
    """Plan one workspace; returns the new scheduled invitations with their due times."""
    now = now or utcnow()
    with db.session() as session:
        before = session.scalar(select(func.max(Invitation.id))) or 0
        service.plan(session, workspace_id, now)
        return [
            (invitation.id, invitation.scheduled_at)
            for invitation in session.scalars(
                select(Invitation).where(
                    Invitation.id > before,
                    Invitation.workspace_id == workspace_id,
                    Invitation.status == "scheduled",
                )
            )
        ]


def send_one(
    db: Database, settings: Settings, invitation_id: int, now: dt.datetime | None = None
) -> bool:
    """Send one invitation if it is still scheduled and due; True if it went out."""
    now = now or utcnow()
    with db.session() as session:
        if not service.claim(session, now, invitation_id=invitation_id):
            return False
    with db.session() as session:
        invitation = session.get(Invitation, invitation_id)
        if invitation is None:
            return False
        draft = send_invitation(session, settings, invitation, now)
        sent = invitation.status == "sent"
        session.flush()
        message_ids = email_channel.queue_drafts(session, [draft] if draft else [])
    if message_ids:
        email_channel.deliver(db, message_ids, email_channel.sender_for(settings))
    return sent


def _send_batch(
    db: Database, settings: Settings, claimed: list[int], now: dt.datetime, report: TickReport
) -> None:
    drafts: list[dict[str, Any]] = []
    decisions: list[dict[str, Any]] = []
    with db.session() as session:
        batch = list(session.scalars(select(Invitation).where(Invitation.id.in_(claimed))))
        reasons = service.recheck_many(session, batch, now)
        # The session's identity map holds objects weakly: keep the batch's customers, surveys
        # and workspaces referenced here so each is loaded once, not once per invitation.
        customer_ids = [i.customer_id for i in batch if i.customer_id]
        held: list[object] = list(profiles.customers_by_id(session, customer_ids).values())
        held += [session.get(Survey, sid) for sid in {i.survey_id for i in batch}]
        held += [get_workspace(session, wid) for wid in {i.workspace_id for i in batch}]
        with session.no_autoflush:
            for invitation in sorted(batch, key=lambda i: i.id):
                queued = send_invitation(
                    session,
                    settings,
                    invitation,
                    now,
                    reasons.get(invitation.id),
                    checked=True,
                    pending=decisions,
                )
                report.sent += invitation.status == "sent"
                if queued is not None:
                    drafts.append(queued)
        session.flush()
        service.record_decisions(session, decisions)
        message_ids = email_channel.queue_drafts(session, drafts)
    if message_ids:
        email_channel.deliver(db, message_ids, email_channel.sender_for(settings))


def _send_reminders(db: Database, settings: Settings, now: dt.datetime, report: TickReport) -> None:
    drafts: list[dict[str, Any]] = []
    with db.session() as session:
        for invitation in session.scalars(
            select(Invitation)
            .where(
                Invitation.status == "sent",
                Invitation.channel == "email",
                Invitation.reminder_at <= now,
                Invitation.reminder_sent_at.is_(None),
                Invitation.responded_at.is_(None),
                Invitation.expires_at > now,
            )
            .limit(500)
        ).all():
            invitation.reminder_sent_at = now  # tried once, sent or not
            try:
                drafts.append(_draft(session, settings, invitation, True))
            except (email_channel.Undeliverable, InvalidInput):
                continue
            report.reminded += 1
        session.flush()
        message_ids = email_channel.queue_drafts(session, drafts)
    if message_ids:
        email_channel.deliver(db, message_ids, email_channel.sender_for(settings))


def tick(
    db: Database,
    settings: Settings,
    now: dt.datetime | None = None,
    *,
    budget_seconds: float = 50.0,
) -> TickReport:
    """One pass: plan what happened, send everything due (in batches, within the time budget,
    so a busy day is not capped at one batch a minute), then the reminders."""
    now = now or utcnow()
    started = time.monotonic()
    report = TickReport()
    with db.session() as session:
        workspaces = session.scalars(
            select(Survey.workspace_id).where(Survey.active.is_(True)).distinct()
        ).all()
        for workspace_id in workspaces:
            planned = service.plan(session, workspace_id, now)
            report.planned += planned.scheduled
            for reason, count in planned.suppressed.items():
                report.suppressed[reason] = report.suppressed.get(reason, 0) + count
    while time.monotonic() - started < budget_seconds:
        with db.session() as session:
            claimed = service.claim(session, now, limit=2000)
        if not claimed:
            break
        _send_batch(db, settings, claimed, now, report)
    _send_reminders(db, settings, now, report)
    return report
