"""Alert background work: answers, silence and theme spikes."""

from __future__ import annotations

from typing import Any

from huey import crontab

from cxloop.alerts import flows
from cxloop.alerts import service as alerts
from cxloop.config import get_settings
from cxloop.store.runtime import get_database
from cxloop.worker.queue import huey
from cxloop.worker.service import recorded


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
    alerts.answer_settled(response_id)


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
