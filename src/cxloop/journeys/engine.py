"""The journey engine: customers enter journeys, and their runs take steps until they wait or end.

Exactly once. A run takes its steps in one transaction: the step's effect (an email in the
outbox, a coupon, a case, a webhook call, a field set), the record of the step (``journey_steps``,
whose key, the run and its step count, is unique) and the run's new place are written together
or not at all. A worker that dies mid-step leaves the run where it was, and the step is taken
again as if for the first time; two workers that take the same run cannot both commit (the
second's step key already exists, or on PostgreSQL it skips the row the first has locked).
What leaves cxloop goes after the commit, from the outbox (``Effects``): email through
``channels.deliver``, webhooks through ``channels.post_calls``, each claimed once.

Waiting. A run that waits has ``wake_at``; ``due_runs`` finds those whose time has come (the
worker sweeps every minute, and a short wait is also scheduled on the queue). A run waiting for
an event (``waiting``) is woken by ``hear`` when the event comes, or times out at ``wake_at``.
Delays live in the operational store, so they survive restarts.

Events reach journeys through the inbox: ``listen`` writes the events a journey listens to in
the transaction that stores them, and ``hear`` takes them in order: goals met, waits ended,
journeys entered.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal
from sqlalchemy import insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cxloop import (
    analytics,
    cases,
    channels,
    commerce,
    i18n,
    ingest,
    profiles,
    recommend,
    segments,
    surveys,
    workspaces,
)
from cxloop.config import Settings
from cxloop.journeys import definition, guardrails, templates
from cxloop.journeys.definition import Definition, Step
from cxloop.journeys.models import Journey, JourneyInbox, JourneyRun, JourneyStep, JourneyVersion
from cxloop.profiles import Customer
from cxloop.store.base import utcnow
from cxloop.store.db import Database

log = logging.getLogger(__name__)
CHUNK = 200
INSERT_CHUNK = 1000
# Steps one run may take without waiting: a branch that loops back ends the run.
MAX_STEPS_AT_ONCE = 50
LIVE = ("active", "waiting")
PURPOSE = "journey"


@lru_cache(maxsize=512)
def plan(source: str) -> Definition:
    """The definition of a stored source (checked when it was saved)."""
    return definition.read(source)


@dataclass
class Effects:
    """What to do once the transaction that wrote it has committed."""

    emails: list[int] = field(default_factory=list)
    calls: list[int] = field(default_factory=list)
    coupons: list[int] = field(default_factory=list)  # to write to the store
    sms: list[int] = field(default_factory=list)
    push: list[int] = field(default_factory=list)
    runs: list[int] = field(default_factory=list)  # runs due now
    later: list[tuple[int, dt.datetime]] = field(default_factory=list)  # runs due later

    def extend(self, other: Effects) -> None:
        self.emails += other.emails
        self.calls += other.calls
        self.coupons += other.coupons
        self.sms += other.sms
        self.push += other.push
        self.runs += other.runs
        self.later += other.later

    def __bool__(self) -> bool:
        return bool(
            self.emails
            or self.calls
            or self.coupons
            or self.sms
            or self.push
            or self.runs
            or self.later
        )


# Entering ------------------------------------------------------------------------------------


def in_holdout(journey_key: str, customer_id: int | str, percent: int) -> bool:
    """Whether this customer is in the journey's holdout: a stable draw, so that a customer who
    enters again stays on the same side."""
    if percent <= 0:
        return False
    digest = hashlib.sha256(f"{journey_key}:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 10_000 < percent * 100


def _chunks(values: Sequence[int], size: int) -> Iterable[Sequence[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def enter(
    session: Session,
    journey: Journey,
    customer_ids: Iterable[int],
    at: dt.datetime,
    contexts: Mapping[int, dict[str, Any]] | None = None,
) -> list[int]:
    """Enter customers into ``journey`` (in the caller's transaction), keeping its re-entry rule:
    one run at a time per customer, then never again, always, or after a delay. Customers in the
    holdout enter and end at once (``holdout``). Returns the ids of the runs that take steps."""
    spec = plan(journey.source)
    ids = sorted({int(c) for c in customer_ids})
    blocked: set[int] = set()
    for chunk in _chunks(ids, INSERT_CHUNK):
        for cid, status, entered in session.execute(
            select(JourneyRun.customer_id, JourneyRun.status, JourneyRun.entered_at).where(
                JourneyRun.journey_id == journey.id, JourneyRun.customer_id.in_(list(chunk))
            )
        ):
            recent = entered > at - dt.timedelta(seconds=spec.reentry_seconds)
            if status in LIVE or spec.reentry == "never" or (spec.reentry == "after" and recent):
                blocked.add(cid)
    started: list[int] = []
    rows = []
    for cid in ids:
        if cid in blocked:
            continue
        holdout = in_holdout(journey.key, cid, spec.holdout)
        rows.append(
            {
                "workspace_id": journey.workspace_id,
                "journey_id": journey.id,
                "version": journey.version,
                "customer_id": cid,
                "status": "holdout" if holdout else "active",
                "holdout": holdout,
                "step": 0,
                "visits": 0,
                "wake_at": None if holdout else at,
                "waiting_event": "",
                "waiting_order": "",
                "context": (contexts or {}).get(cid, {}),
                "entered_at": at,
                "finished_at": at if holdout else None,
                "exit_reason": "holdout" if holdout else "",
            }
        )
    for start in range(0, len(rows), INSERT_CHUNK):
        chunk_rows = rows[start : start + INSERT_CHUNK]
        returned = session.execute(
            insert(JourneyRun).returning(JourneyRun.id, JourneyRun.holdout), chunk_rows
        ).all()
        started += [run_id for run_id, holdout in returned if not holdout]
    return sorted(started)


def listened(session: Session, workspace_id: str) -> dict[str, list[Journey]]:
    """The workspace's active and paused journeys by the event names they listen to (paused
    ones still hear the events their runs wait for and their goals)."""
    found: dict[str, list[Journey]] = {}
    for journey in session.scalars(
        select(Journey).where(
            Journey.workspace_id == workspace_id, Journey.status.in_(("active", "paused"))
        )
    ):
        for name in plan(journey.source).events:
            found.setdefault(name, []).append(journey)
    return found


def _inbox_insert(session: Session) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(JourneyInbox).on_conflict_do_nothing(
            index_elements=["workspace_id", "message_id"]
        )
    return sqlite.insert(JourneyInbox).on_conflict_do_nothing(
        index_elements=["workspace_id", "message_id"]
    )


# The event names each workspace's journeys listen to, kept a moment: every stored event asks.
# A change of journey in this process forgets them at once (``forget``); another process
# (a worker, a second server) sees it within ``_NAMES_TTL``.
_NAMES_TTL = 2.0
_names: dict[str, tuple[float, frozenset[str]]] = {}


def forget(workspace_id: str) -> None:
    """Drop the names kept for a workspace (its journeys changed)."""
    _names.pop(workspace_id, None)


def _listened_names(session: Session, workspace_id: str) -> frozenset[str]:
    now = time.monotonic()
    kept = _names.get(workspace_id)
    if kept is not None and kept[0] > now:
        return kept[1]
    names = frozenset(listened(session, workspace_id))
    _names[workspace_id] = (now + _NAMES_TTL, names)
    return names


def listen(
    session: Session, rows: Sequence[Mapping[str, Any]], *, replay: bool = False
) -> set[str]:
    """Put the stored events (``events`` rows) that a journey listens to in the inbox, in the
    caller's transaction, if they are news (``ingest.is_news``; any time, for a ``replay``
    of history such as the demo's); returns the workspaces that have new ones."""
    found: list[dict[str, Any]] = []
    for row in rows:
        workspace_id, name, customer_id = (
            row.get("workspace_id"),
            row.get("event"),
            row.get("customer_id"),
        )
        if not name or customer_id is None or not workspace_id:
            continue
        if name not in _listened_names(session, workspace_id):
            continue
        if not replay and not ingest.is_news(row):
            continue
        found.append(
            {
                "workspace_id": workspace_id,
                "message_id": str(row.get("message_id"))[:200],
                "customer_id": int(customer_id),
                "name": name,
                "properties": dict(row.get("properties") or {}),
                "at": row.get("timestamp") or utcnow(),
                "heard": False,
            }
        )
    if found:
        session.execute(_inbox_insert(session), found)
    return {row["workspace_id"] for row in found}


def _facts(
    session: Session, workspace_id: str, customer_id: int, now: dt.datetime
) -> dict[str, Any]:
    return analytics.facts_of(session, workspace_id, [customer_id], now).get(customer_id, {})


def _order_of(properties: Mapping[str, Any]) -> str:
    value = properties.get("order_id") or properties.get("orderId") or ""
    return str(value)[:200]


HEAR_BATCH = 500


def hear(
    session: Session, now: dt.datetime, *, workspace_id: str | None = None, limit: int = HEAR_BATCH
) -> tuple[Effects, int]:
    """Take pending inbox events in order (in the caller's transaction): goals met, waits for
    the event ended, journeys triggered by it entered. Returns the runs to advance, and how
    many events were heard."""
    query = select(JourneyInbox).where(JourneyInbox.heard.is_(False))
    if workspace_id is not None:
        query = query.where(JourneyInbox.workspace_id == workspace_id)
    pending = session.scalars(
        query.order_by(JourneyInbox.id).limit(limit).with_for_update(skip_locked=True)
    ).all()
    effects = Effects()
    by_workspace: dict[str, dict[str, list[Journey]]] = {}
    for item in pending:
        item.heard = True
        if item.workspace_id not in by_workspace:
            by_workspace[item.workspace_id] = listened(session, item.workspace_id)
        journeys = by_workspace[item.workspace_id]
        interested = journeys.get(item.name, [])
        if not interested:
            continue
        at = item.at if item.at.tzinfo else item.at.replace(tzinfo=dt.UTC)
        _meet_goals(session, item, at, interested)
        effects.runs += _end_waits(session, item, now)
        effects.runs += _trigger(session, item, now, interested)
    return effects, len(pending)


def _meet_goals(
    session: Session, item: JourneyInbox, at: dt.datetime, journeys: list[Journey]
) -> None:
    goals = {
        j.id: spec.goal
        for j in journeys
        if (spec := plan(j.source)).goal is not None and spec.goal.event == item.name
    }
    if not goals:
        return
    runs = session.scalars(
        select(JourneyRun).where(
            JourneyRun.workspace_id == item.workspace_id,
            JourneyRun.customer_id == item.customer_id,
            JourneyRun.journey_id.in_(list(goals)),
            JourneyRun.converted_at.is_(None),
            JourneyRun.entered_at <= at,
        )
    ).all()
    for run in runs:
        goal = goals[run.journey_id]
        assert goal is not None
        if at > run.entered_at + dt.timedelta(seconds=goal.within_seconds):
            continue
        run.converted_at = at
        if run.status in LIVE:
            run.status, run.finished_at, run.exit_reason = "converted", at, "goal"
            run.wake_at = None


def _end_waits(session: Session, item: JourneyInbox, now: dt.datetime) -> list[int]:
    order = _order_of(item.properties or {})
    runs = session.scalars(
        select(JourneyRun).where(
            JourneyRun.workspace_id == item.workspace_id,
            JourneyRun.customer_id == item.customer_id,
            JourneyRun.status == "waiting",
            JourneyRun.waiting_event == item.name,
            or_(JourneyRun.waiting_order == "", JourneyRun.waiting_order == order),
        )
    ).all()
    for run in runs:
        run.status, run.wake_at, run.step = "active", now, run.step + 1
        run.waiting_event, run.waiting_order = "", ""
        run.context = {**(run.context or {}), "woken_by": item.name}
    return [run.id for run in runs]


def _trigger(
    session: Session, item: JourneyInbox, now: dt.datetime, journeys: list[Journey]
) -> list[int]:
    started: list[int] = []
    facts: dict[str, Any] | None = None
    properties = dict(item.properties or {})
    for journey in journeys:
        spec = plan(journey.source)
        if (
            journey.status != "active"
            or spec.trigger.kind != "event"
            or spec.trigger.event != item.name
        ):
            continue
        if spec.trigger.when:
            if facts is None:
                facts = _facts(session, item.workspace_id, item.customer_id, now)
                facts.update({"event.name": item.name, "event.properties": properties})
            if not segments.matches(segments.parse(spec.trigger.when), facts):
                continue
        context: dict[str, Any] = {"event": {"name": item.name, "properties": properties}}
        order = _order_of(properties)
        if order:
            context["order_id"] = order
        if "nps" in properties and isinstance(properties["nps"], dict):
            context["nps"] = properties["nps"]
        started += enter(session, journey, [item.customer_id], now, {item.customer_id: context})
    return started


def enter_segment(
    session: Session,
    workspace_id: str,
    segment_key: str,
    customer_ids: Sequence[int],
    at: dt.datetime,
) -> list[int]:
    """Enter the customers who just entered a segment into the active journeys it triggers
    (in the refresh's transaction); the runs to advance."""
    started: list[int] = []
    for journey in session.scalars(
        select(Journey).where(
            Journey.workspace_id == workspace_id,
            Journey.status == "active",
            Journey.trigger_kind.in_(("segment", "score")),
            Journey.trigger_key == segment_key,
        )
    ):
        started += enter(session, journey, matching(session, journey, customer_ids, at), at)
    return started


def matching(
    session: Session, journey: Journey, customer_ids: Sequence[int], at: dt.datetime
) -> list[int]:
    """The customers for whom the trigger's ``when`` holds (all of them without one)."""
    when = plan(journey.source).trigger.when
    if not when:
        return list(customer_ids)
    node = segments.parse(when)
    kept: list[int] = []
    for chunk in _chunks(list(customer_ids), 500):
        facts = analytics.facts_of(session, journey.workspace_id, chunk, at)
        kept += [cid for cid in chunk if segments.matches(node, facts.get(cid, {}))]
    return kept


# Taking steps --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What one step did: ``outcome`` (and why, for a step with no effect), what it made
    (``ref``), where the run goes next (``goto``, else the next step) and whether it stops."""

    outcome: str
    reason: str = ""
    ref: str = ""
    goto: int | None = None
    stop: bool = False


@dataclass
class Walk:
    """What the steps of one batch of runs share: the session, the time, the settings, and
    per workspace and customer what the guardrails need."""

    session: Session
    settings: Settings
    now: dt.datetime
    effects: Effects
    limits: dict[str, guardrails.Limits] = field(default_factory=dict)
    sent: dict[tuple[str, int], int] = field(default_factory=dict)
    places: dict[str, Any] = field(default_factory=dict)

    def limits_of(self, workspace_id: str) -> guardrails.Limits:
        if workspace_id not in self.limits:
            self.limits[workspace_id] = guardrails.limits_of(self.session, workspace_id)
        return self.limits[workspace_id]

    def workspace(self, workspace_id: str) -> Any:
        if workspace_id not in self.places:
            self.places[workspace_id] = workspaces.get_workspace(self.session, workspace_id)
        return self.places[workspace_id]

    def sent_recently(self, workspace_id: str, customer_id: int) -> int:
        key = (workspace_id, customer_id)
        if key not in self.sent:
            days = self.limits_of(workspace_id).cap_days
            since = self.now - dt.timedelta(days=days)
            counts = channels.recent_counts(
                self.session, workspace_id, [customer_id], since, PURPOSE
            )
            self.sent[key] = counts.get(customer_id, 0)
        return self.sent[key]


def _locale(customer: Customer, place: Any) -> str:
    return i18n.supported(customer.locale or getattr(place, "locale", None) or "fr")


def _coupon_words(coupon: Mapping[str, Any], locale: str) -> str:
    with i18n.speaking(locale):
        expires = dt.datetime.fromisoformat(str(coupon["expires_at"])).date()
        until = format_date(expires, format="long", locale=locale)
        kind = coupon.get("kind")
        if kind == "percent":
            what = i18n.gettext("%(n)s%% off") % {
                "n": format_decimal(coupon["value"], locale=locale)
            }
        elif kind == "fixed":
            what = i18n.gettext("%(amount)s %(currency)s off") % {
                "amount": format_decimal(coupon["value"], format="#,##0.00", locale=locale),
                "currency": coupon.get("currency", "EUR"),
            }
        else:
            what = i18n.gettext("free shipping")
        return i18n.gettext("%(what)s, one use, until %(date)s") % {"what": what, "date": until}


def _values(run: JourneyRun, customer: Customer, place: Any, locale: str) -> dict[str, Any]:
    context = run.context or {}
    coupon = dict(context.get("coupon") or {})
    if coupon:
        coupon["label"] = _coupon_words(coupon, locale)
    return {
        "first_name": customer.first_name or "",
        "last_name": customer.last_name or "",
        "email": customer.email or "",
        "store_name": getattr(place, "name", "") or "",
        "coupon": coupon,
        "nps": context.get("nps") or {},
        "event": context.get("event") or {},
        "order_id": context.get("order_id") or "",
        "traits": dict(customer.traits or {}),
    }


def _held(
    walk: Walk, run: JourneyRun, step: Step, customer: Customer, place: Any
) -> Outcome | None:
    """A marketing message held until the customer's quiet hours end, or skipped at the
    frequency cap; None when it may go now."""
    if not step.marketing:
        return None
    limits = walk.limits_of(run.workspace_id)
    zone = guardrails.zone(customer.timezone, getattr(place, "timezone", "Europe/Paris"))
    release = guardrails.quiet_release(walk.now, limits, zone)
    if release is not None:
        run.wake_at = release
        walk.effects.later.append((run.id, release))
        return Outcome("held", "quiet_hours", stop=True)
    if walk.sent_recently(run.workspace_id, customer.id) >= limits.cap_messages:
        return Outcome("skipped", "frequency_cap")
    return None


def _send(
    walk: Walk, run: JourneyRun, journey: Journey, step: Step, customer: Customer, key: str
) -> Outcome:
    if step.channel == "onsite":
        return _show(walk, run, journey, step, customer, key)
    if step.channel == "sms":
        return _text(walk, run, journey, step, customer, key)
    if step.channel == "push":
        return _push(walk, run, journey, step, customer, key)
    if not customer.email:
        return Outcome("skipped", "no_address")
    if not profiles.may_contact(customer, "email"):
        return Outcome("skipped", "consent_denied")
    if channels.is_suppressed(walk.session, run.workspace_id, "email", customer.email):
        return Outcome("skipped", "suppressed")
    place = walk.workspace(run.workspace_id)
    held = _held(walk, run, step, customer, place)
    if held is not None:
        return held
    locale = _locale(customer, place)
    values = _values(run, customer, place, locale)
    assert step.body is not None
    subject = templates.fill((step.subject or step.body).get(locale), values)
    body = templates.fill(step.body.get(locale), values)
    unsubscribe = channels.unsubscribe_url(walk.settings, run.workspace_id, customer.id)
    coupon = values["coupon"]
    rendered = channels.render(
        "journey",
        {
            "subject": " ".join(subject.split())[:300] or values["store_name"],
            "paragraphs": templates.paragraphs(body),
            "store_name": values["store_name"] or "cxloop",
            "unsubscribe_url": unsubscribe,
            "coupon_code": coupon.get("code", ""),
            "coupon_label": coupon.get("label", ""),
            "link": channels.click_url(
                walk.settings,
                run.workspace_id,
                f"{journey.key}:{key}",
                templates.fill(step.link, values),
            )
            if step.link
            else "",
            "link_label": step.link_label.get(locale) if step.link_label else _open_label(locale),
            "products": _chosen(walk, run, journey, step, customer, key, locale),
            "chosen_title": _chosen_title(locale) if step.recommendations else "",
        },
        locale,
    )
    try:
        message = channels.queue_email(
            walk.session,
            run.workspace_id,
            to=customer.email,
            rendered=rendered,
            purpose=PURPOSE,
            related_key=f"{journey.key}:{key}",
            customer_id=customer.id,
            unsubscribe_url=unsubscribe,
        )
    except channels.Undeliverable as refusal:
        return Outcome("skipped", refusal.reason)
    walk.effects.emails.append(message.id)
    walk.sent[(run.workspace_id, customer.id)] = (
        walk.sent_recently(run.workspace_id, customer.id) + 1
    )
    return Outcome("sent", ref=str(message.id))


def _text(
    walk: Walk, run: JourneyRun, journey: Journey, step: Step, customer: Customer, key: str
) -> Outcome:
    """An SMS: explicit consent, a number, the suppression list; for marketing, quiet hours,
    the French rules when the workspace keeps them, and the frequency cap."""
    country = customer.country or None
    number = channels.e164(customer.phone, country)
    if number is None:
        return Outcome("skipped", "no_address")
    if not profiles.may_contact(customer, "sms"):
        return Outcome("skipped", "consent_denied")
    if channels.is_suppressed(walk.session, run.workspace_id, "sms", number):
        return Outcome("skipped", "suppressed")
    if channels.sms_provider(walk.session, run.workspace_id) is None:
        return Outcome("skipped", "no_provider")
    place = walk.workspace(run.workspace_id)
    limits = walk.limits_of(run.workspace_id)
    if step.marketing:
        zone = guardrails.zone(customer.timezone, getattr(place, "timezone", "Europe/Paris"))
        for release, reason in (
            (guardrails.quiet_release(walk.now, limits, zone), "quiet_hours"),
            (guardrails.sms_release(walk.now, limits, zone), "sms_hours"),
        ):
            if release is not None:
                run.wake_at = release
                walk.effects.later.append((run.id, release))
                return Outcome("held", reason, stop=True)
        if walk.sent_recently(run.workspace_id, customer.id) >= limits.cap_messages:
            return Outcome("skipped", "frequency_cap")
    locale = _locale(customer, place)
    values = _values(run, customer, place, locale)
    assert step.body is not None
    text = templates.fill(step.body.get(locale), values).strip()
    if step.marketing:
        text = f"{text}\n{channels.opt_out_words(locale)}"
    message = channels.queue_sms(
        walk.session,
        run.workspace_id,
        customer_id=customer.id,
        to=number,
        text=text,
        purpose=PURPOSE,
        related_key=f"{journey.key}:{key}",
    )
    walk.effects.sms.append(message.id)
    walk.sent[(run.workspace_id, customer.id)] = (
        walk.sent_recently(run.workspace_id, customer.id) + 1
    )
    return Outcome("sent", ref=str(message.id))


def _push(
    walk: Walk, run: JourneyRun, journey: Journey, step: Step, customer: Customer, key: str
) -> Outcome:
    """A web push notification to the customer's subscribed browsers (a visitor who never
    gave an email is reached too): the subscription is the consent; for marketing, quiet hours
    and the frequency cap."""
    if not channels.has_push(walk.session, run.workspace_id, customer.id):
        return Outcome("skipped", "no_address")
    place = walk.workspace(run.workspace_id)
    held = _held(walk, run, step, customer, place)
    if held is not None:
        return held
    locale = _locale(customer, place)
    values = _values(run, customer, place, locale)
    assert step.body is not None
    title = templates.fill(step.subject.get(locale), values) if step.subject else ""
    link = templates.fill(step.link, values) if step.link else ""
    message = channels.queue_push(
        walk.session,
        run.workspace_id,
        customer_id=customer.id,
        title=title or values["store_name"] or "cxloop",
        body=templates.fill(step.body.get(locale), values).strip(),
        url=channels.click_url(walk.settings, run.workspace_id, f"{journey.key}:{key}", link)
        if link
        else "",
        purpose=PURPOSE,
        related_key=f"{journey.key}:{key}",
    )
    walk.effects.push.append(message.id)
    walk.sent[(run.workspace_id, customer.id)] = (
        walk.sent_recently(run.workspace_id, customer.id) + 1
    )
    return Outcome("sent", ref=str(message.id))


def _show(
    walk: Walk, run: JourneyRun, journey: Journey, step: Step, customer: Customer, key: str
) -> Outcome:
    """An on-site message, shown on the customer's next visit: no address, consent or quiet
    hours to check (they are on the store's page), the frequency cap still counts it."""
    if not customer.user_id:
        return Outcome("skipped", "no_address")
    limits = walk.limits_of(run.workspace_id)
    if step.marketing and walk.sent_recently(run.workspace_id, customer.id) >= limits.cap_messages:
        return Outcome("skipped", "frequency_cap")
    place = walk.workspace(run.workspace_id)
    locale = _locale(customer, place)
    values = _values(run, customer, place, locale)
    assert step.body is not None
    coupon = values["coupon"]
    details = {
        "coupon_code": coupon.get("code", ""),
        "coupon_label": coupon.get("label", ""),
        "link": templates.fill(step.link, values) if step.link else "",
        "link_label": step.link_label.get(locale) if step.link_label else "",
    }
    message = channels.queue_onsite(
        walk.session,
        run.workspace_id,
        customer_id=customer.id,
        user_id=customer.user_id,
        title=templates.fill(step.subject.get(locale), values) if step.subject else "",
        body=templates.fill(step.body.get(locale), values),
        details={k: v for k, v in details.items() if v},
        related_key=f"{journey.key}:{key}",
        purpose=PURPOSE,
    )
    walk.sent[(run.workspace_id, customer.id)] = (
        walk.sent_recently(run.workspace_id, customer.id) + 1
    )
    return Outcome("sent", ref=str(message.id))


def _chosen(
    walk: Walk,
    run: JourneyRun,
    journey: Journey,
    step: Step,
    customer: Customer,
    key: str,
    locale: str,
) -> list[dict[str, str]]:
    """The products the recommendations' ``email`` placement picks for the customer, each
    with its price in the customer's language and a tracked link."""
    if not step.recommendations:
        return []
    picked = recommend.recommendations(
        walk.session,
        run.workspace_id,
        placement="email",
        customer_id=customer.id,
        k=step.recommendations,
    )
    found = []
    for product in picked.products:
        price = product["sale_price"] if product["sale_price"] is not None else product["price"]
        url = str(product["url"] or "")
        found.append(
            {
                "title": str(product["title"]),
                "price": format_currency(
                    float(str(price)), str(product["currency"]), locale=locale
                ),
                "url": channels.click_url(
                    walk.settings, run.workspace_id, f"{journey.key}:{key}", url
                )
                if url.startswith(("http://", "https://"))
                else "",
                "image_url": str(product["image_url"] or "")
                if str(product["image_url"] or "").startswith("https://")
                else "",
            }
        )
    return found


def _chosen_title(locale: str) -> str:
    with i18n.speaking(locale):
        return i18n.gettext("Chosen for you")


def _open_label(locale: str) -> str:
    with i18n.speaking(locale):
        return i18n.gettext("Open")


def _wait(
    walk: Walk, run: JourneyRun, journey: Journey, step: Step, customer: Customer, key: str
) -> Outcome:
    here = run.step
    if step.event:
        run.status = "waiting"
        run.waiting_event = step.event
        run.waiting_order = str((run.context or {}).get("order_id", "")) if step.same_order else ""
        run.wake_at = walk.now + dt.timedelta(seconds=step.timeout_seconds)
        walk.effects.later.append((run.id, run.wake_at))
        return Outcome("waited", ref=step.event, goto=here, stop=True)
    if step.until:
        place = walk.workspace(run.workspace_id)
        zone = guardrails.zone(customer.timezone, getattr(place, "timezone", "Europe/Paris"))
        run.wake_at = definition.next_time(walk.now, step.until, zone)
    else:
        run.wake_at = walk.now + dt.timedelta(seconds=step.seconds)
    walk.effects.later.append((run.id, run.wake_at))
    return Outcome("waited", ref=run.wake_at.isoformat(), goto=here + 1, stop=True)


def _branch(
    walk: Walk, run: JourneyRun, journey: Journey, step: Step, customer: Customer, key: str
) -> Outcome:
    spec = plan(journey.source)
    facts = _facts(walk.session, run.workspace_id, customer.id, walk.now)
    event = (run.context or {}).get("event") or {}
    facts.update(
        {"event.name": event.get("name"), "event.properties": event.get("properties") or {}}
    )
    taken = segments.matches(segments.parse(step.condition), facts)
    target = step.then if taken else step.otherwise
    return Outcome(
        "branched", ref="then" if taken else "else", goto=spec.index_of(target) if target else None
    )


def _coupon(
    walk: Walk, run: JourneyRun, journey: Journey, step: Step, customer: Customer, key: str
) -> Outcome:
    place = walk.workspace(run.workspace_id)
    coupon = commerce.issue_coupon(
        walk.session,
        run.workspace_id,
        kind=step.coupon_kind,
        value=step.value,
        customer_id=customer.id,
        expires_at=walk.now + dt.timedelta(seconds=step.expires_seconds),
        source=f"journey:{journey.key}",
        currency=getattr(place, "currency", "EUR") or "EUR",
        key=f"journey:{key}",
    )
    if coupon.store_status == "pending":
        walk.effects.coupons.append(coupon.id)
    shown = coupon.value / 100 if coupon.kind == "fixed" else coupon.value
    run.context = {
        **(run.context or {}),
        "coupon": {
            "code": coupon.code,
            "kind": coupon.kind,
            "value": shown,
            "currency": coupon.currency,
            "expires_at": coupon.expires_at.isoformat(),
        },
    }
    return Outcome("created", ref=coupon.code)


def _webhook(
    walk: Walk, run: JourneyRun, journey: Journey, step: Step, customer: Customer, key: str
) -> Outcome:
    context = run.context or {}
    body = {
        "journey": journey.key,
        "step": step.id,
        "run_id": run.id,
        "customer": {
            "id": customer.id,
            "user_id": customer.user_id,
            "email": customer.email,
            "first_name": customer.first_name,
            "last_name": customer.last_name,
        },
        "coupon": context.get("coupon"),
        "nps": context.get("nps"),
        "order_id": context.get("order_id"),
        "data": dict(step.payload),
    }
    call = channels.queue_call(
        walk.session,
        run.workspace_id,
        url=step.url,
        body=body,
        key=f"journey:{key}",
        customer_id=customer.id,
    )
    walk.effects.calls.append(call.id)
    return Outcome("called", ref=str(call.id))


def _case(
    walk: Walk, run: JourneyRun, journey: Journey, step: Step, customer: Customer, key: str
) -> Outcome:
    place = walk.workspace(run.workspace_id)
    locale = i18n.supported(getattr(place, "locale", "fr"))
    values = _values(run, customer, place, locale)
    assert step.title is not None
    nps = values["nps"]
    note = ""
    if nps:
        note = f"NPS {nps.get('score', '')}: {nps.get('comment', '')}".strip()
    case = cases.open_case(
        walk.session,
        run.workspace_id,
        title=templates.fill(step.title.get(locale), values) or journey.key,
        customer_id=customer.id,
        actor=f"journey:{journey.key}",
        owner=step.owner,
        due_at=walk.now + dt.timedelta(seconds=step.due_seconds),
        source="journey",
        source_ref=f"journey:{journey.key}",
        key=f"journey:{key}",
        note=note,
    )
    return Outcome("created", ref=str(case.id))


def _set(
    walk: Walk, run: JourneyRun, journey: Journey, step: Step, customer: Customer, key: str
) -> Outcome:
    profiles.apply_traits(customer, {step.set_field: step.set_value})
    return Outcome("set", ref=step.set_field)


def _exit(
    walk: Walk, run: JourneyRun, journey: Journey, step: Step, customer: Customer, key: str
) -> Outcome:
    _finish(run, walk.now, "exited", "exit_step")
    return Outcome("exited", stop=True)


Handler = Callable[[Walk, JourneyRun, Journey, Step, Customer, str], Outcome]
HANDLERS: dict[str, Handler] = {
    "send": _send,
    "wait": _wait,
    "branch": _branch,
    "coupon": _coupon,
    "webhook": _webhook,
    "case": _case,
    "set": _set,
    "exit": _exit,
}


def _finish(run: JourneyRun, now: dt.datetime, status: str, reason: str) -> None:
    run.status, run.finished_at, run.exit_reason, run.wake_at = status, now, reason, None


def _record(walk: Walk, run: JourneyRun, step: Step, result: Outcome) -> None:
    walk.session.add(
        JourneyStep(
            key=f"{run.id}:{run.visits}",
            workspace_id=run.workspace_id,
            journey_id=run.journey_id,
            run_id=run.id,
            customer_id=run.customer_id,
            step_id=step.id,
            kind=step.kind,
            outcome=result.outcome,
            reason=result.reason,
            ref=result.ref[:100],
            at=walk.now,
        )
    )
    run.visits += 1


def walk_run(walk: Walk, run: JourneyRun, journey: Journey, customer: Customer | None) -> None:
    """Take the run's steps from where it is until it waits or ends."""
    spec = plan(_source(walk.session, journey, run.version))
    if customer is None:
        _finish(run, walk.now, "exited", "customer_gone")
        return
    if run.status == "waiting":  # its event never came
        step = spec.steps[run.step]
        _record(walk, run, step, Outcome("timed_out", ref=step.event))
        run.status, run.waiting_event, run.waiting_order = "active", "", ""
        run.step = spec.index_of(step.on_timeout) if step.on_timeout else run.step + 1
    for _ in range(MAX_STEPS_AT_ONCE):
        if run.step >= len(spec.steps):
            _finish(run, walk.now, "done", "")
            return
        step = spec.steps[run.step]
        result = HANDLERS[step.kind](walk, run, journey, step, customer, f"{run.id}:{run.visits}")
        _record(walk, run, step, result)
        if result.stop:
            if result.goto is not None:
                run.step = result.goto
            return
        run.step = result.goto if result.goto is not None else run.step + 1
    _finish(run, walk.now, "exited", "loop")


def _source(session: Session, journey: Journey, version: int) -> str:
    """The source a run follows: the version it entered with."""
    if version == journey.version:
        return journey.source
    found = session.scalar(
        select(JourneyVersion.source).where(
            JourneyVersion.journey_id == journey.id, JourneyVersion.version == version
        )
    )
    return found or journey.source


def advance_in(
    session: Session, run_ids: Sequence[int], settings: Settings, now: dt.datetime
) -> Effects:
    """Take the steps of these runs that are due (in the caller's transaction), the runs of
    higher-priority journeys first: they win the frequency cap."""
    effects = Effects()
    runs = session.scalars(
        select(JourneyRun)
        .where(
            JourneyRun.id.in_(list(run_ids)),
            JourneyRun.status.in_(LIVE),
            JourneyRun.wake_at <= now,
        )
        .with_for_update(skip_locked=True)
    ).all()
    if not runs:
        return effects
    journeys = {
        j.id: j
        for j in session.scalars(
            select(Journey).where(Journey.id.in_({r.journey_id for r in runs}))
        )
    }
    people = profiles.customers_by_id(session, [r.customer_id for r in runs])
    walk = Walk(session=session, settings=settings, now=now, effects=effects)
    for run in sorted(runs, key=lambda r: (-journeys[r.journey_id].priority, r.id)):
        walk_run(walk, run, journeys[run.journey_id], people.get(run.customer_id))
    return effects


def advance(
    db: Database, run_ids: Sequence[int], settings: Settings, now: dt.datetime | None = None
) -> Effects:
    """Advance runs in batches, each in its own transaction; what to do after the commits.
    A batch that fails (another worker took one of its runs) is taken again run by run."""
    effects = Effects()
    ids = sorted({int(i) for i in run_ids})
    for chunk in _chunks(ids, CHUNK):
        try:
            with db.session() as session:
                done = advance_in(session, chunk, settings, now or utcnow())
        except Exception:
            log.warning(
                "journey batch of %d runs failed; taking them one by one", len(chunk), exc_info=True
            )
            for run_id in chunk:
                try:
                    with db.session() as session:
                        done = advance_in(session, [run_id], settings, now or utcnow())
                except Exception:
                    log.exception("journey run %s failed; the sweep takes it again", run_id)
                    continue
                effects.extend(done)
            continue
        effects.extend(done)
    return effects


def due_runs(session: Session, now: dt.datetime, *, limit: int = 5000) -> list[int]:
    """Runs whose time has come: a wait over, a message held until now, an event timed out."""
    return list(
        session.scalars(
            select(JourneyRun.id)
            .where(JourneyRun.status.in_(LIVE), JourneyRun.wake_at <= now)
            .order_by(JourneyRun.wake_at)
            .limit(limit)
        )
    )


def pending_workspaces(session: Session) -> list[str]:
    """Workspaces with inbox events not heard yet."""
    return list(
        session.scalars(
            select(JourneyInbox.workspace_id).where(JourneyInbox.heard.is_(False)).distinct()
        )
    )


def pause_runs(session: Session, journey: Journey, now: dt.datetime) -> int:
    """End every run in flight of a journey that is archived; how many."""
    result: Any = session.execute(
        update(JourneyRun)
        .where(JourneyRun.journey_id == journey.id, JourneyRun.status.in_(LIVE))
        .values(status="exited", finished_at=now, exit_reason="journey_archived", wake_at=None)
    )
    return int(result.rowcount or 0)


ANSWERED = "NPS Answered"


def listen_answer(session: Session, response: Any, at: dt.datetime) -> bool:
    """Put a settled NPS answer in the inbox as the event ``NPS Answered`` (once per answer),
    if a journey listens to it; its properties carry the answer (``nps``) and the order."""
    if response.customer_id is None or ANSWERED not in _listened_names(
        session, response.workspace_id
    ):
        return False
    mentions = response.mentions or []
    nps = {
        "score": response.score,
        "category": response.category,
        "comment": response.comment or "",
        "themes": list(response.themes or []),
        "praised": [m["theme"] for m in mentions if (m.get("sentiment") or 0) > 0],
        "blamed": [m["theme"] for m in mentions if (m.get("sentiment") or 0) < 0],
    }
    properties: dict[str, Any] = {
        "nps": nps,
        "score": response.score,
        "category": response.category,
    }
    invitation = (
        surveys.invitation_by_id(session, response.workspace_id, response.invitation_id)
        if response.invitation_id is not None
        else None
    )
    if invitation is not None and invitation.order_id is not None:
        order = commerce.get_order(session, response.workspace_id, invitation.order_id)
        if order is not None:
            properties["order_id"] = order.external_id
    written = session.execute(
        _inbox_insert(session).returning(JourneyInbox.id),
        {
            "workspace_id": response.workspace_id,
            "message_id": f"nps-answer:{response.id}",
            "customer_id": int(response.customer_id),
            "name": ANSWERED,
            "properties": properties,
            "at": at,
            "heard": False,
        },
    )
    return written.first() is not None
