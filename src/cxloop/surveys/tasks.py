"""NPS background work: the loop every minute, planning and sending, the daily rollups."""

from __future__ import annotations

from typing import Any

from huey import crontab

from cxloop import workspaces
from cxloop.config import get_settings
from cxloop.store.runtime import get_database
from cxloop.surveys import flows, rollups
from cxloop.worker.queue import huey
from cxloop.worker.service import recorded


@huey.periodic_task(crontab(minute="*"), context=True)
@recorded("nps.tick")
def nps_tick(task: Any = None) -> None:
    """Plan, send and remind, every minute."""
    flows.tick(get_database(), get_settings())


# Daily at 02:13 UTC: the days that became final since yesterday join the funnel aggregate.
@huey.periodic_task(crontab(minute="13", hour="2"), context=True)
@recorded("nps.rollups")
def nps_rollups(task: Any = None) -> None:
    """Pre-count the funnel of the days whose invitations can no longer change."""
    db = get_database()
    with db.session() as session:
        every = workspaces.workspace_ids(session)
    for workspace_id in every:
        with db.session() as session:
            rollups.fill_funnel(session, workspace_id)


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
