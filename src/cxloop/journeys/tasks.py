"""Journey background work: hear the inbox, take runs' steps, sweep every minute; and the hooks
by which other domains' changes reach journeys (connected by ``cxloop.wiring``).

After each transaction that took steps, what leaves cxloop goes: email through the outbox,
webhooks through their queue; a run that waits less than ``SCHEDULE_WITHIN`` is also put on the
queue for its time, the rest wait for the sweep (every minute, from the store: nothing is lost
if the queue is).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import partial
from typing import Any

from huey import crontab
from sqlalchemy.orm import Session

from cxloop import channels, commerce, surveys
from cxloop.config import Settings, get_settings
from cxloop.journeys import engine, service
from cxloop.store.base import utcnow
from cxloop.store.db import Database, after_commit
from cxloop.store.runtime import get_database
from cxloop.worker.queue import huey
from cxloop.worker.service import recorded

SCHEDULE_WITHIN = dt.timedelta(hours=1)
ADVANCE_CHUNK = 500
_ROUNDS = 20


def carry_out(db: Database, settings: Settings, effects: engine.Effects) -> None:
    """Send what committed steps queued, and take the runs that are due now."""
    for _ in range(_ROUNDS):
        if effects.emails:
            channels.deliver(db, effects.emails, channels.sender_for(settings))
        if effects.calls:
            channels.post_calls(db, effects.calls, settings)
        if effects.sms:
            channels.deliver_sms(db, effects.sms, settings.resolved_secret_key())
        if effects.push:
            channels.deliver_push(db, effects.push, settings)
        if effects.coupons:
            commerce.write_coupons(db, effects.coupons, settings.resolved_secret_key())
        now = utcnow()
        for run_id, at in effects.later:
            if at - now <= SCHEDULE_WITHIN:
                advance_runs.schedule(args=([run_id],), eta=max(at, now))
        if not effects.runs:
            return
        effects = engine.advance(db, effects.runs, settings)


def hear_now(db: Database, settings: Settings, workspace_id: str | None = None) -> int:
    """Hear the inbox until it is empty, taking the steps it calls for; how many events."""
    heard = 0
    while True:
        with db.session() as session:
            effects, count = engine.hear(session, utcnow(), workspace_id=workspace_id)
        heard += count
        carry_out(db, settings, effects)
        if count < engine.HEAR_BATCH:
            return heard


@huey.task(context=True)
@recorded("journeys.hear")
def hear_inbox(workspace_id: str, task: Any = None) -> None:
    """Hear the workspace's new inbox events (enqueued once they are committed)."""
    hear_now(get_database(), get_settings(), workspace_id)


@huey.task(context=True)
@recorded("journeys.advance")
def advance_runs(run_ids: list[int], task: Any = None) -> None:
    """Take the steps of these runs that are due."""
    settings = get_settings()
    db = get_database()
    carry_out(db, settings, engine.advance(db, run_ids, settings))


@huey.periodic_task(crontab(minute="*"), context=True)
@recorded("journeys.sweep")
def sweep(task: Any = None) -> None:
    """Every minute: inbox events not heard yet, runs whose time has come, schedules due."""
    settings = get_settings()
    db = get_database()
    hear_now(db, settings)
    now = utcnow()
    with db.session() as session:
        due = engine.due_runs(session, now)
    carry_out(db, settings, engine.Effects(runs=due))
    with db.session() as session:
        started: list[int] = []
        for journey in service.schedules_due(session, now):
            started += service.run_schedule(session, journey, now)
    carry_out(db, settings, engine.Effects(runs=started))


def _advance_later(run_ids: Sequence[int]) -> None:
    for start in range(0, len(run_ids), ADVANCE_CHUNK):
        advance_runs(list(run_ids[start : start + ADVANCE_CHUNK]))


# Hooks (cxloop.wiring) -----------------------------------------------------------------------


def listen(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Stored events: those journeys listen to go to the inbox, heard once committed."""
    for workspace_id in engine.listen(session, rows):
        after_commit(session, partial(hear_inbox, workspace_id))


def segment_entry(
    session: Session, workspace_id: str, key: str, customer_ids: list[int], at: dt.datetime
) -> None:
    """Customers entered a segment: the journeys it triggers start, their steps once committed."""
    started = engine.enter_segment(session, workspace_id, key, customer_ids, at)
    if started:
        after_commit(session, partial(_advance_later, started))


def answer_settled(response_id: int) -> None:
    """An NPS answer is settled (the alerts' moment): journeys listening to it hear it now."""
    db = get_database()
    with db.session() as session:
        response = surveys.answer_by_id(session, response_id)
        if response is None or response.status != "confirmed":
            return
        queued = engine.listen_answer(session, response, utcnow())
        workspace_id = response.workspace_id
    if queued:
        hear_now(db, get_settings(), workspace_id)
