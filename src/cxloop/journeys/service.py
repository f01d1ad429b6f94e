"""Journeys as merchants manage them: create one from YAML, change it (a new version each
time), switch it on, pause it, archive it; each change audited. And what they did: runs by
status, steps by outcome and reason, and the figures of each journey.

A run follows the version it entered with; a change takes effect for those who enter after.
A journey triggered by a score change (``trigger: {score: "<condition>"}``) keeps a dynamic
segment of that condition, ``journey_<key>``: entering it is the change.
"""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cxloop import cases, commerce, i18n, segments, workspaces
from cxloop.errors import InvalidInput
from cxloop.journeys import engine, guardrails
from cxloop.journeys.definition import Definition, read
from cxloop.journeys.models import Journey, JourneyRun, JourneyStep, JourneyVersion
from cxloop.store.base import utcnow
from cxloop.store.db import after_commit

STATUSES = ("draft", "active", "paused", "archived")


def _trigger_key(spec: Definition) -> str:
    trigger = spec.trigger
    if trigger.kind == "event":
        return trigger.event
    if trigger.kind == "score":
        return f"journey_{spec.key}"[:64]
    return trigger.segment


def _changed(session: Session, workspace_id: str) -> None:
    """The journeys of a workspace changed: the events they listen to are read again, now and
    once this transaction commits."""
    engine.forget(workspace_id)
    after_commit(session, partial(engine.forget, workspace_id))


def get_journey(session: Session, workspace_id: str, key: str) -> Journey | None:
    """The workspace's journey of that key."""
    return session.scalar(
        select(Journey).where(Journey.workspace_id == workspace_id, Journey.key == key)
    )


def found_journey(session: Session, workspace_id: str, key: str) -> Journey:
    journey = get_journey(session, workspace_id, key)
    if journey is None:
        raise InvalidInput(
            "key", i18n.gettext("no journey of that key"), status=404, code="not_found"
        )
    return journey


def list_journeys(session: Session, workspace_id: str) -> list[Journey]:
    """The workspace's journeys, by key."""
    return list(
        session.scalars(
            select(Journey).where(Journey.workspace_id == workspace_id).order_by(Journey.key)
        )
    )


def _score_segment(session: Session, journey: Journey, spec: Definition, actor: str) -> None:
    if spec.trigger.kind == "score":
        segments.ensure_segment(
            session,
            journey.workspace_id,
            journey.trigger_key,
            f"{spec.name.get('en')} (journey)",
            spec.trigger.score,
            actor=actor,
        )


def create_journey(
    session: Session, workspace_id: str, source: str, *, actor: str, status: str = "draft"
) -> Journey:
    """A new journey from its YAML (version 1); audited."""
    spec = read(source)
    if get_journey(session, workspace_id, spec.key) is not None:
        raise InvalidInput(
            "key", i18n.gettext("a journey of that key exists already"), status=409, code="conflict"
        )
    if status not in ("draft", "active"):
        raise InvalidInput("status", i18n.gettext("a new journey is a draft or active"))
    now = utcnow()
    journey = Journey(
        workspace_id=workspace_id,
        key=spec.key,
        status=status,
        version=1,
        source=source,
        priority=spec.priority,
        trigger_kind=spec.trigger.kind,
        trigger_key=_trigger_key(spec),
        created_at=now,
        updated_at=now,
    )
    session.add(journey)
    session.flush()
    session.add(
        JourneyVersion(
            journey_id=journey.id,
            workspace_id=workspace_id,
            version=1,
            source=source,
            actor=actor,
            created_at=now,
        )
    )
    if status == "active":
        _score_segment(session, journey, spec, actor)
    _changed(session, workspace_id)
    workspaces.audit(
        session,
        actor=actor,
        action="journeys.created",
        workspace_id=workspace_id,
        subject=spec.key,
        data={"version": 1, "status": status},
    )
    return journey


def update_journey(
    session: Session, workspace_id: str, key: str, source: str, *, actor: str
) -> Journey:
    """A new version of the journey (its key cannot change); audited. Unchanged text is no new
    version."""
    journey = found_journey(session, workspace_id, key)
    if journey.status == "archived":
        raise InvalidInput(
            "key", i18n.gettext("an archived journey cannot change"), status=409, code="conflict"
        )
    spec = read(source)
    if spec.key != key:
        raise InvalidInput("definition", i18n.gettext("key: a journey keeps its key"))
    if source == journey.source:
        return journey
    now = utcnow()
    journey.version += 1
    journey.source = source
    journey.priority = spec.priority
    journey.trigger_kind = spec.trigger.kind
    journey.trigger_key = _trigger_key(spec)
    journey.updated_at = now
    session.add(
        JourneyVersion(
            journey_id=journey.id,
            workspace_id=workspace_id,
            version=journey.version,
            source=source,
            actor=actor,
            created_at=now,
        )
    )
    if journey.status == "active":
        _score_segment(session, journey, spec, actor)
    _changed(session, workspace_id)
    workspaces.audit(
        session,
        actor=actor,
        action="journeys.updated",
        workspace_id=workspace_id,
        subject=key,
        data={"version": journey.version},
    )
    return journey


def set_status(
    session: Session, workspace_id: str, key: str, status: str, *, actor: str
) -> Journey:
    """Switch a journey on (``active``), pause it (no one enters; runs in flight go on), or
    archive it (runs in flight end); audited."""
    if status not in STATUSES or status == "draft":
        raise InvalidInput(
            "status", i18n.gettext("one of %(names)s") % {"names": "active, paused, archived"}
        )
    journey = found_journey(session, workspace_id, key)
    if journey.status == "archived":
        raise InvalidInput(
            "status",
            i18n.gettext("an archived journey stays archived"),
            status=409,
            code="conflict",
        )
    if journey.status == status:
        return journey
    before = journey.status
    journey.status, journey.updated_at = status, utcnow()
    ended = 0
    if status == "active":
        _score_segment(session, journey, engine.plan(journey.source), actor)
    if status == "archived":
        ended = engine.pause_runs(session, journey, journey.updated_at)
    _changed(session, workspace_id)
    workspaces.audit(
        session,
        actor=actor,
        action="journeys.status",
        workspace_id=workspace_id,
        subject=key,
        data={"from": before, "to": status, "runs_ended": ended},
    )
    return journey


def versions_of(session: Session, journey: Journey) -> list[JourneyVersion]:
    """Every version of the journey, newest first."""
    return list(
        session.scalars(
            select(JourneyVersion)
            .where(JourneyVersion.journey_id == journey.id)
            .order_by(JourneyVersion.version.desc())
        )
    )


def get_version(session: Session, journey: Journey, version: int) -> JourneyVersion | None:
    """One version of the journey."""
    return session.scalar(
        select(JourneyVersion).where(
            JourneyVersion.journey_id == journey.id, JourneyVersion.version == version
        )
    )


def run_counts(session: Session, journey: Journey) -> dict[str, int]:
    """The journey's runs by status, plus ``entered`` (all) and ``converted`` (goal met)."""
    counts = {
        status: int(n)
        for status, n in session.execute(
            select(JourneyRun.status, func.count())
            .where(JourneyRun.journey_id == journey.id)
            .group_by(JourneyRun.status)
        )
    }
    counts["entered"] = sum(counts.values())
    counts["converted_all"] = int(
        session.scalar(
            select(func.count()).where(
                JourneyRun.journey_id == journey.id, JourneyRun.converted_at.is_not(None)
            )
        )
        or 0
    )
    return counts


def step_counts(session: Session, journey: Journey) -> list[dict[str, Any]]:
    """What the journey's steps did: per step, outcome and reason, how many times."""
    rows = session.execute(
        select(
            JourneyStep.step_id,
            JourneyStep.kind,
            JourneyStep.outcome,
            JourneyStep.reason,
            func.count(),
        )
        .where(JourneyStep.journey_id == journey.id)
        .group_by(JourneyStep.step_id, JourneyStep.kind, JourneyStep.outcome, JourneyStep.reason)
        .order_by(JourneyStep.step_id, JourneyStep.outcome, JourneyStep.reason)
    ).all()
    return [
        {"step": step, "kind": kind, "outcome": outcome, "reason": reason, "count": int(n)}
        for step, kind, outcome, reason, n in rows
    ]


def summary(session: Session, journey: Journey) -> dict[str, int]:
    """The demo's figures: entered, in the holdout, messages sent, coupons, cases."""
    entered = session.scalar(select(func.count()).where(JourneyRun.journey_id == journey.id)) or 0
    holdout = (
        session.scalar(
            select(func.count()).where(
                JourneyRun.journey_id == journey.id, JourneyRun.holdout.is_(True)
            )
        )
        or 0
    )
    sent = (
        session.scalar(
            select(func.count()).where(
                JourneyStep.journey_id == journey.id,
                JourneyStep.kind == "send",
                JourneyStep.outcome == "sent",
            )
        )
        or 0
    )
    source = f"journey:{journey.key}"
    coupons = commerce.coupon_counts(session, journey.workspace_id, [source]).get(source, (0, 0))[0]
    opened = cases.count_cases(session, journey.workspace_id, [source]).get(source, 0)
    return {
        "entered": int(entered),
        "holdout": int(holdout),
        "messages": int(sent),
        "coupons": int(coupons),
        "cases": int(opened),
    }


def runs_of(
    session: Session,
    journey: Journey,
    *,
    status: str = "",
    customer_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[JourneyRun]:
    """The journey's runs, newest first."""
    query = select(JourneyRun).where(JourneyRun.journey_id == journey.id)
    if status:
        query = query.where(JourneyRun.status == status)
    if customer_id is not None:
        query = query.where(JourneyRun.customer_id == customer_id)
    return list(session.scalars(query.order_by(JourneyRun.id.desc()).limit(limit).offset(offset)))


def steps_of(session: Session, run: JourneyRun) -> list[JourneyStep]:
    """What a run did, in order."""
    return list(
        session.scalars(
            select(JourneyStep).where(JourneyStep.run_id == run.id).order_by(JourneyStep.id)
        )
    )


def customer_runs(
    session: Session, workspace_id: str, customer_id: int
) -> list[tuple[JourneyRun, str]]:
    """A customer's runs (newest first) with their journey's key: the customer page's list."""
    rows = session.execute(
        select(JourneyRun, Journey.key)
        .join(Journey, Journey.id == JourneyRun.journey_id)
        .where(JourneyRun.workspace_id == workspace_id, JourneyRun.customer_id == customer_id)
        .order_by(JourneyRun.id.desc())
        .limit(100)
    ).all()
    return [(run, key) for run, key in rows]


def schedules_due(session: Session, now: dt.datetime) -> list[Journey]:
    """Active journeys on a schedule whose time has come."""
    due = []
    for journey in session.scalars(
        select(Journey).where(Journey.status == "active", Journey.trigger_kind == "schedule")
    ):
        trigger = engine.plan(journey.source).trigger
        last = journey.last_scheduled_at
        if last is None or now >= last + dt.timedelta(seconds=trigger.every_seconds) - dt.timedelta(
            minutes=1
        ):
            if trigger.at:
                place = workspaces.get_workspace(session, journey.workspace_id)
                zone = guardrails.zone(None, getattr(place, "timezone", "Europe/Paris"))
                local = now.astimezone(zone)
                hour, minute = (int(p) for p in trigger.at.split(":"))
                if (local.hour, local.minute) < (hour, minute):
                    continue
                if last is not None and last.astimezone(zone).date() == local.date():
                    continue
            due.append(journey)
    return due


def run_schedule(session: Session, journey: Journey, now: dt.datetime) -> list[int]:
    """Enter the members of a scheduled journey's segment (those its re-entry rule lets in)."""
    trigger = engine.plan(journey.source).trigger
    members = segments.members_of(session, journey.workspace_id, trigger.segment)
    journey.last_scheduled_at = now
    return engine.enter(session, journey, engine.matching(session, journey, members, now), now)
