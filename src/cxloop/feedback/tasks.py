"""NPS background work: the loop every minute, alerts (answers, silence, spikes), rollups."""

from __future__ import annotations

from typing import Any

from huey import crontab
from sqlalchemy import select

from cxloop.config import get_settings
from cxloop.feedback import alerts, flows, rollups, tagging
from cxloop.store.runtime import get_database
from cxloop.worker.queue import huey
from cxloop.worker.service import recorded
from cxloop.workspaces.models import Workspace


@huey.periodic_task(crontab(minute="*"), context=True)
@recorded("nps.tick")
def nps_tick(task: Any = None) -> None:
    """Plan, send and remind, every minute."""
    flows.tick(get_database(), get_settings())


@huey.task(context=True, retries=3, retry_delay=30)
@recorded("nps.answer")
def nps_answer(response_id: int, task: Any = None) -> None:
    """Send the alerts a new answer calls for."""
    settings = get_settings()
    db = get_database()
    alerts.alert_on_response(
        db,
        response_id,
        base_url=settings.public_url,
        email=flows.email_alert(settings),
        deliver=flows.deliver_mail(db, settings),
    )


@huey.periodic_task(crontab(minute="*/15"), context=True)
@recorded("nps.silence")
def nps_silence(task: Any = None) -> None:
    """Alert when orders come in but no invitation goes out."""
    settings = get_settings()
    db = get_database()
    alerts.check_silence(
        db,
        base_url=settings.public_url,
        email=flows.email_alert(settings),
        deliver=flows.deliver_mail(db, settings),
    )


# Hourly at :07, away from the quarter-hour silence check; each spike alerts once a week anyway.
@huey.periodic_task(crontab(minute="7"), context=True)
@recorded("nps.theme_spikes")
def nps_theme_spikes(task: Any = None) -> None:
    """Alert when a theme's share of this week's answers jumps above its usual range."""
    settings = get_settings()
    db = get_database()
    alerts.check_theme_spikes(
        db,
        base_url=settings.public_url,
        email=flows.email_alert(settings),
        deliver=flows.deliver_mail(db, settings),
    )


# Daily at 02:13 UTC: the days that became final since yesterday join the funnel aggregate.
@huey.periodic_task(crontab(minute="13", hour="2"), context=True)
@recorded("nps.rollups")
def nps_rollups(task: Any = None) -> None:
    """Pre-count the funnel of the days whose invitations can no longer change."""
    db = get_database()
    with db.session() as session:
        workspaces = session.scalars(select(Workspace.id)).all()
    for workspace_id in workspaces:
        with db.session() as session:
            rollups.fill_funnel(session, workspace_id)


@huey.task(context=True)
@recorded("feedback.retag")
def feedback_retag(workspace_id: str, task: Any = None) -> None:
    """Re-tag a workspace's answers after its taxonomy changed (batch by batch, resumable)."""
    tagging.retag_all(get_database(), workspace_id)


@huey.task(context=True)
@recorded("feedback.train")
def feedback_train(workspace_id: str, task: Any = None) -> None:
    """Retrain a workspace's theme model on its corrections (after a person made one)."""
    db = get_database()
    with db.session() as session:
        tagging.train(session, workspace_id)


@huey.task(context=True)
@recorded("nps.plan")
def nps_plan(workspace_id: str, task: Any = None) -> None:
    """Plan a workspace's invitations now (after a webhook), each sent at its own time."""
    for invitation_id, due in flows.plan_now(get_database(), workspace_id):
        nps_send.schedule(args=(invitation_id,), eta=due)


@huey.task(context=True)
@recorded("nps.send")
def nps_send(invitation_id: int, task: Any = None) -> None:
    """Send one invitation when it is due (the minute tick catches any that slip)."""
    flows.send_one(get_database(), get_settings(), invitation_id)
