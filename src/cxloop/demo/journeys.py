"""The demo's journeys: the six playbooks switched on, and the last weeks of the store's history
replayed through them, so that a newcomer sees messages sent, coupons made, cases opened and
the uplift page filled.

The replay is the engine itself, fed the store's history a day at a time: each day's answers,
parcels shipped and delivered and orders placed go to the journeys' inbox as the store's
webhooks would have put them, and the engine hears them and takes the steps due, its clock set
to that day at 10:00 in Paris. Messages go to the outbox (the console's mailbox). What the
customers did after is the generated history's: the holdout comparison measures it, and as the
generator knows nothing of the journeys, the honest uplift there is near zero.

The journeys started by a score (``win_back``, ``high_potential_welcome``) start when the
analytics run refreshes their segments, at the end of the history (``after_analytics``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from cxloop import channels, commerce, surveys
from cxloop.config import Settings
from cxloop.journeys import engine, playbook, service
from cxloop.store.db import Database

Progress = Callable[[str, int, int], None]
REPLAY_DAYS = 60
PARIS = ZoneInfo("Europe/Paris")


def _tick(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(10), tzinfo=PARIS).astimezone(dt.UTC)


def switch_on(db: Database, workspace_id: str) -> None:
    """The six playbooks, active (before the analytics run: its segments start two of them)."""
    with db.session() as session:
        playbook.install(session, workspace_id, actor="demo", status="active")


def _take_steps(db: Database, settings: Settings, now: dt.datetime) -> None:
    runs: list[int] = []
    while True:
        with db.session() as session:
            effects, heard = engine.hear(session, now)
        runs += effects.runs
        if heard < engine.HEAR_BATCH:
            break
    sender = channels.sender_for(settings)
    for _ in range(50):
        with db.session() as session:
            runs += engine.due_runs(session, now)
        if not runs:
            return
        effects = engine.advance(db, runs, settings, now)
        if effects.emails:
            channels.deliver(db, effects.emails, sender)
        if effects.calls:
            channels.post_calls(db, effects.calls, settings)
        runs = list(effects.runs)


def replay(
    db: Database,
    workspace_id: str,
    settings: Settings,
    *,
    end: dt.datetime,
    days: int = REPLAY_DAYS,
    progress: Progress | None = None,
) -> None:
    """Replay the ``days`` before ``end`` through the active journeys, a day at a time."""
    start = end - dt.timedelta(days=days)
    with db.session() as session:
        moments = commerce.moments_between(session, workspace_id, start, end)
        answers = surveys.confirmed_between(session, workspace_id, start, end)
    by_day: dict[dt.date, list[dict[str, Any]]] = {}
    for name, order, customer_id, at in moments:
        by_day.setdefault(at.astimezone(PARIS).date(), []).append(
            {
                "workspace_id": workspace_id,
                "message_id": f"demo-{name.lower().replace(' ', '-')}-{order}",
                "event": name,
                "customer_id": customer_id,
                "properties": {"order_id": order},
                "timestamp": at,
            }
        )
    answered: dict[dt.date, list[Any]] = {}
    for response in answers:
        confirmed = response.confirmed_at
        assert confirmed is not None
        moment = confirmed if confirmed.tzinfo else confirmed.replace(tzinfo=dt.UTC)
        answered.setdefault(moment.astimezone(PARIS).date(), []).append((response, moment))
    first, last = start.astimezone(PARIS).date(), end.astimezone(PARIS).date()
    total = (last - first).days
    for n in range(total):
        day = first + dt.timedelta(days=n)
        with db.session() as session:
            engine.listen(session, by_day.get(day, []), replay=True)
            for response, moment in answered.get(day, []):
                engine.listen_answer(session, response, moment)
        _take_steps(db, settings, _tick(day))
        if progress is not None:
            progress("journeys", n + 1, total)


def after_analytics(
    db: Database, workspace_id: str, settings: Settings, *, end: dt.datetime
) -> None:
    """Take the first steps of the runs the analytics run's segments started."""
    _take_steps(db, settings, _tick(end.astimezone(PARIS).date()))


def summary(db: Database, workspace_id: str) -> dict[str, dict[str, int]]:
    """Per playbook: entered, holdout, messages, coupons, cases."""
    with db.session() as session:
        found = {}
        for key in playbook.KEYS:
            journey = service.get_journey(session, workspace_id, key)
            if journey is not None:
                found[key] = service.summary(session, journey)
        return found
