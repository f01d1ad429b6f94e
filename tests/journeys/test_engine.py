"""The journey engine on a real store: entries, steps, waits, guardrails, holdouts, goals, and
every effect exactly once. Time is given to the engine (a Monday morning in Paris, a few days
ahead), so that quiet hours and waits are checked without sleeping."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from cxloop.cases.models import Case
from cxloop.channels import hooks
from cxloop.channels.models import OutboundMessage, WebhookCall
from cxloop.commerce.models import Coupon
from cxloop.config import get_settings
from cxloop.ingest import service as ingest
from cxloop.journeys import engine, guardrails, service
from cxloop.journeys.models import JourneyInbox, JourneyRun, JourneyStep
from cxloop.profiles import service as profiles
from cxloop.profiles.models import Customer
from cxloop.segments import service as segments
from cxloop.segments.schemas import SegmentCreate
from cxloop.store.db import Database
from cxloop.wiring import wire
from tests.helpers import factories as f

PARIS = ZoneInfo("Europe/Paris")


def _next_monday_at(hour: int) -> dt.datetime:
    today = dt.datetime.now(PARIS).date()
    monday = today + dt.timedelta(days=7 - today.weekday())
    return dt.datetime.combine(monday, dt.time(hour), tzinfo=PARIS).astimezone(dt.UTC)


NOW = _next_monday_at(10)

DETRACTORS = """
key: detractor_recovery
name: {fr: "Reconquête des détracteurs", en: "Detractor recovery"}
priority: 80
trigger:
  event: Complaint Filed
  when: "event.properties.score <= 6"
steps:
  - coupon: {kind: free_shipping, expires_in: 30d}
  - id: sorry
    send:
      subject: {fr: "Désolés, {{ first_name }}", en: "Sorry, {{ first_name }}"}
      body:
        fr: "Bonjour {{ first_name }},\\n\\nVotre colis est arrivé en retard. Livraison offerte."
        en: "Hello {{ first_name }},\\n\\nYour parcel was late. Shipping is on us next time."
  - case: {title: "Rappeler {{ first_name }}", due_in: 2d, owner: sav@shop.fr}
  - webhook: {url: "http://127.0.0.1:9/tickets", body: {priority: high}}
  - set: {field: recovering, value: true}
"""


@pytest.fixture(autouse=True)
def wired() -> None:
    wire()


def _journey(db: Database, ws: str, source: str, status: str = "active") -> None:
    with db.session() as session:
        service.create_journey(session, ws, source, actor="test", status=status)


def _event(db: Database, ws: str, cid: int, name: str, at: dt.datetime = NOW, **props: Any) -> None:
    with db.session() as session:
        ingest.record_event(
            session,
            ws,
            message_id=uuid.uuid4().hex,
            event_type="track",
            event=name,
            timestamp=at,
            properties=props,
            customer_id=cid,
        )


def _run(db: Database, now: dt.datetime = NOW) -> engine.Effects:
    """Hear the inbox and take every step due at ``now``; what all of it asked to send."""
    settings = get_settings()
    done = engine.Effects()
    with db.session() as session:
        heard, _ = engine.hear(session, now)
    runs = heard.runs
    while True:
        with db.session() as session:
            runs += engine.due_runs(session, now)
        if not runs:
            return done
        effects = engine.advance(db, runs, settings, now)
        done.extend(effects)
        runs = list(effects.runs)


def _count(db: Database, model: Any, *where: Any) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _steps(db: Database, cid: int) -> list[tuple[str, str, str]]:
    with db.session() as session:
        rows = session.execute(
            select(JourneyStep.kind, JourneyStep.outcome, JourneyStep.reason)
            .where(JourneyStep.customer_id == cid)
            .order_by(JourneyStep.id)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


def test_a_detractor_gets_each_effect_once(db, make_workspace) -> None:
    ws = make_workspace().workspace_id
    _journey(db, ws, DETRACTORS)
    unhappy = f.customer(db, ws, first_name="Lou")
    happy = f.customer(db, ws, first_name="Max")
    _event(db, ws, unhappy, "Complaint Filed", score=3)
    _event(db, ws, happy, "Complaint Filed", score=9)
    effects = _run(db)
    assert len(effects.emails) == 1 and len(effects.calls) == 1
    assert _steps(db, unhappy) == [
        ("coupon", "created", ""),
        ("send", "sent", ""),
        ("case", "created", ""),
        ("webhook", "called", ""),
        ("set", "set", ""),
    ]
    assert _steps(db, happy) == []  # the trigger's condition keeps the promoter out
    with db.session() as session:
        coupon = session.scalars(select(Coupon)).one()
        assert (coupon.customer_id, coupon.kind, coupon.source) == (
            unhappy,
            "free_shipping",
            "journey:detractor_recovery",
        )
        assert coupon.expires_at - NOW == dt.timedelta(days=30)
        message = session.scalars(select(OutboundMessage)).one()
        assert message.subject == "Désolés, Lou"
        assert coupon.code in message.text and coupon.code in message.html
        assert "livraison gratuite" in message.text  # the coupon's words, in French
        assert "Bonjour Lou," in message.text
        case = session.scalars(select(Case)).one()
        assert (case.title, case.owner, case.customer_id, case.source) == (
            "Rappeler Lou",
            "sav@shop.fr",
            unhappy,
            "journey",
        )
        assert case.due_at == NOW + dt.timedelta(days=2)
        call = session.scalars(select(WebhookCall)).one()
        assert call.body["customer"]["id"] == unhappy
        assert call.body["coupon"]["code"] == coupon.code
        assert call.body["data"] == {"priority": "high"}
        assert session.get(Customer, unhappy).traits["recovering"] is True
        run = session.scalars(select(JourneyRun)).one()
        assert (run.status, run.customer_id, run.visits) == ("done", unhappy, 5)
    # Heard again, run again: nothing more.
    assert not _run(db, NOW + dt.timedelta(hours=1))
    assert _count(db, OutboundMessage) == 1 and _count(db, Coupon) == 1 and _count(db, Case) == 1


def test_messages_not_sent_are_recorded_with_their_reason(db, make_workspace) -> None:
    ws = make_workspace().workspace_id
    _journey(db, ws, DETRACTORS)
    unsubscribed = f.customer(db, ws, first_name="Ana")
    listed = f.customer(db, ws, first_name="Bob")
    silent = f.customer(db, ws, first_name="Cyd", email=None)
    address = _email(db, listed).upper()  # the list ignores case
    with db.session() as session:
        profiles.set_consent(session, ws, unsubscribed, "email", "denied", source="unsubscribe")
        hooks.suppress(session, ws, "email", address, "asked by phone")
    for cid in (unsubscribed, listed, silent):
        _event(db, ws, cid, "Complaint Filed", score=2)
    _run(db)
    reasons = {
        cid: [s for s in _steps(db, cid) if s[0] == "send"]
        for cid in (unsubscribed, listed, silent)
    }
    assert reasons == {
        unsubscribed: [("send", "skipped", "consent_denied")],
        listed: [("send", "skipped", "suppressed")],
        silent: [("send", "skipped", "no_address")],
    }
    assert _count(db, OutboundMessage) == 0
    assert _count(db, Case) == 3  # the rest of the journey goes on


def _email(db: Database, cid: int) -> str:
    with db.session() as session:
        return session.get(Customer, cid).email or ""


CAPPED = """
key: {key}
priority: {priority}
trigger: {{event: Parcel Late}}
steps:
  - send: {{subject: "{key}", body: "{key}"}}
"""


def test_the_frequency_cap_lets_the_higher_priority_message_win(db, make_workspace) -> None:
    ws = make_workspace().workspace_id
    with db.session() as session:
        guardrails.set_limits(session, ws, {"cap_messages": 1, "cap_days": 7}, actor="test")
    # Created low first: the order of creation must not decide.
    _journey(db, ws, CAPPED.format(key="promo", priority=10))
    _journey(db, ws, CAPPED.format(key="apology", priority=90))
    cid = f.customer(db, ws)
    _event(db, ws, cid, "Parcel Late")
    _run(db)
    with db.session() as session:
        subjects = list(session.scalars(select(OutboundMessage.subject)))
        skipped = (
            session.execute(select(JourneyStep.reason).where(JourneyStep.outcome == "skipped"))
            .scalars()
            .all()
        )
    assert subjects == ["apology"] and skipped == ["frequency_cap"]
    # A week later the cap has room again.
    _event(db, ws, cid, "Parcel Late", at=NOW + dt.timedelta(days=8))
    with db.session() as session:
        for journey in service.list_journeys(session, ws):
            service.update_journey(
                session, ws, journey.key, journey.source + "reentry: always\n", actor="test"
            )
    _run(db, NOW + dt.timedelta(days=8))
    assert _count(db, OutboundMessage) == 2


def test_quiet_hours_hold_a_message_until_morning_in_the_customers_zone(db, make_workspace) -> None:
    ws = make_workspace().workspace_id
    _journey(db, ws, CAPPED.format(key="late_note", priority=50))
    night = NOW.replace(hour=22)  # 23:00 in Paris
    paris = f.customer(db, ws, timezone="Europe/Paris")
    montreal = f.customer(db, ws, timezone="America/Montreal")  # 17:00 there
    for cid in (paris, montreal):
        _event(db, ws, cid, "Parcel Late", at=night)
    _run(db, night)
    assert _steps(db, paris) == [("send", "held", "quiet_hours")]
    assert _steps(db, montreal) == [("send", "sent", "")]
    with db.session() as session:
        held = session.scalars(select(JourneyRun).where(JourneyRun.customer_id == paris)).one()
        assert held.status == "active"
        assert held.wake_at == dt.datetime.combine(
            night.astimezone(PARIS).date() + dt.timedelta(days=1), dt.time(8), tzinfo=PARIS
        ).astimezone(dt.UTC)
        release = held.wake_at
    _run(db, release - dt.timedelta(minutes=1))
    assert _steps(db, paris) == [("send", "held", "quiet_hours")]
    _run(db, release)
    assert _steps(db, paris) == [("send", "held", "quiet_hours"), ("send", "sent", "")]
    assert _count(db, OutboundMessage) == 2


DELIVERY = """
key: shipping_delay
trigger: {event: Order Shipped}
steps:
  - wait: {event: Order Delivered, same_order: true, timeout: 5d, on_timeout: apology}
  - id: thanks
    send: {subject: "Livré", body: "Bonne réception"}
  - exit: {}
  - id: apology
    send: {subject: "Retard", body: "Toutes nos excuses"}
"""


def test_a_wait_for_the_same_order_ends_with_its_event_or_its_timeout(db, make_workspace) -> None:
    ws = make_workspace().workspace_id
    _journey(db, ws, DELIVERY)
    patient, forgotten = f.customer(db, ws), f.customer(db, ws)
    _event(db, ws, patient, "Order Shipped", order_id="A1")
    _event(db, ws, forgotten, "Order Shipped", order_id="B1")
    _run(db)
    with db.session() as session:
        waiting = session.scalars(select(JourneyRun).order_by(JourneyRun.id)).all()
        assert [(r.status, r.waiting_event, r.waiting_order) for r in waiting] == [
            ("waiting", "Order Delivered", "A1"),
            ("waiting", "Order Delivered", "B1"),
        ]
    later = NOW + dt.timedelta(days=1)
    _event(db, ws, patient, "Order Delivered", at=later, order_id="A2")  # another order
    _run(db, later)
    assert _count(db, OutboundMessage) == 0
    _event(db, ws, patient, "Order Delivered", at=later, order_id="A1")
    _run(db, later)
    assert [s[1] for s in _steps(db, patient)] == ["waited", "sent", "exited"]
    _run(db, NOW + dt.timedelta(days=5, seconds=1))
    assert [s[1] for s in _steps(db, forgotten)] == ["waited", "timed_out", "sent"]
    with db.session() as session:
        subjects = dict(
            session.execute(select(OutboundMessage.customer_id, OutboundMessage.subject)).all()
        )
    assert subjects == {patient: "Livré", forgotten: "Retard"}


GOAL = """
key: win_back
holdout: 50
reentry: never
goal: {event: Order Completed, within: 30d}
trigger: {segment: lapsed}
steps:
  - send: {subject: "On vous a manqué", body: "Revenez"}
  - wait: 7d
  - send: {subject: "Dernière chance", body: "Revenez vite"}
"""


def test_a_segment_entry_starts_a_journey_with_a_holdout_and_a_goal(db, make_workspace) -> None:
    ws = make_workspace().workspace_id
    people = [f.customer(db, ws) for _ in range(40)]
    with db.session() as session:
        segments.create_segment(
            session, ws, SegmentCreate(key="lapsed", name="Lapsed", kind="static"), actor="test"
        )
    _journey(db, ws, GOAL)
    with db.session() as session:
        segments.set_members(session, ws, "lapsed", people, actor="test")
    # The entries were made in the segment's transaction; their steps are due now.
    _run(db)
    with db.session() as session:
        runs = session.scalars(select(JourneyRun)).all()
    assert len(runs) == 40
    holdout = {r.customer_id for r in runs if r.holdout}
    treated = {r.customer_id for r in runs if not r.holdout}
    assert 10 <= len(holdout) <= 30  # a fair draw
    assert all(engine.in_holdout("win_back", c, 50) for c in holdout)
    assert {r.status for r in runs if r.holdout} == {"holdout"}
    with db.session() as session:
        sent_to = set(session.scalars(select(OutboundMessage.customer_id)))
    assert sent_to == treated
    # One treated and one holdout customer buy: both count as converted; the treated run ends.
    buyer, control = min(treated), min(holdout)
    for cid in (buyer, control):
        _event(db, ws, cid, "Order Completed", at=NOW + dt.timedelta(days=2), order_id=f"o{cid}")
    _run(db, NOW + dt.timedelta(days=2))
    _run(db, NOW + dt.timedelta(days=7, minutes=1))
    with db.session() as session:
        by_customer = {r.customer_id: r for r in session.scalars(select(JourneyRun))}
    assert (by_customer[buyer].status, by_customer[buyer].exit_reason) == ("converted", "goal")
    assert (
        by_customer[control].converted_at is not None and by_customer[control].status == "holdout"
    )
    assert _count(db, OutboundMessage) == 2 * len(treated) - 1  # the buyer gets no second one
    # Never again: leaving and entering the segment changes nothing.
    with db.session() as session:
        segments.set_members(session, ws, "lapsed", [], actor="test")
        segments.set_members(session, ws, "lapsed", people, actor="test")
    assert _count(db, JourneyRun) == 40


def test_a_step_interrupted_leaves_nothing_and_is_taken_again_once(db, make_workspace) -> None:
    ws = make_workspace().workspace_id
    _journey(db, ws, DETRACTORS)
    cid = f.customer(db, ws, first_name="Lou")
    _event(db, ws, cid, "Complaint Filed", score=1)
    with db.session() as session:
        heard, _ = engine.hear(session, NOW)
    with pytest.raises(RuntimeError), db.session() as session:
        engine.advance_in(session, heard.runs, get_settings(), NOW)
        raise RuntimeError("the worker dies before its commit")
    counts = [_count(db, m) for m in (Coupon, OutboundMessage, Case, WebhookCall, JourneyStep)]
    assert counts == [0, 0, 0, 0, 0]
    _run(db)
    _run(db)
    counts = [_count(db, m) for m in (Coupon, OutboundMessage, Case, WebhookCall, JourneyStep)]
    assert counts == [1, 1, 1, 1, 5]


def test_two_workers_on_the_same_runs_take_each_step_once(any_db, make_workspace) -> None:
    db = any_db
    ws = _workspace(db)
    _journey(db, ws, DETRACTORS)
    people = [f.customer(db, ws, first_name=f"P{i}") for i in range(30)]
    for cid in people:
        _event(db, ws, cid, "Complaint Filed", score=0)
    with db.session() as session:
        heard, _ = engine.hear(session, NOW)
    assert len(heard.runs) == 30
    errors: list[BaseException] = []

    def work() -> None:
        try:
            engine.advance(db, heard.runs, get_settings(), NOW)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    _run(db)  # what a lost race left due, the sweep takes
    assert _count(db, OutboundMessage) == 30
    assert _count(db, Coupon) == 30 and _count(db, Case) == 30 and _count(db, WebhookCall) == 30
    with db.session() as session:
        per_run = session.execute(
            select(JourneyStep.run_id, func.count()).group_by(JourneyStep.run_id)
        ).all()
    assert {n for _, n in per_run} == {5}


def _workspace(db: Database) -> str:
    from cxloop.workspaces import service as workspaces
    from cxloop.workspaces.schemas import WorkspaceCreate

    with db.session() as session:
        return workspaces.create_workspace(session, WorkspaceCreate(name="Shop")).workspace_id


def test_old_events_and_events_nobody_listens_to_stay_out_of_the_inbox(db, make_workspace) -> None:
    ws = make_workspace().workspace_id
    _journey(db, ws, DETRACTORS)
    cid = f.customer(db, ws)
    _event(
        db, ws, cid, "Complaint Filed", at=dt.datetime.now(dt.UTC) - dt.timedelta(days=3), score=1
    )
    _event(db, ws, cid, "Page Viewed")
    assert _count(db, JourneyInbox) == 0
    _event(db, ws, cid, "Complaint Filed", score=1)
    assert _count(db, JourneyInbox) == 1


def test_a_paused_journey_takes_no_one_and_an_archived_one_ends_its_runs(
    db, make_workspace
) -> None:
    ws = make_workspace().workspace_id
    _journey(db, ws, DELIVERY)
    first, second = f.customer(db, ws), f.customer(db, ws)
    _event(db, ws, first, "Order Shipped", order_id="A")
    _run(db)
    with db.session() as session:
        service.set_status(session, ws, "shipping_delay", "paused", actor="test")
    _event(db, ws, second, "Order Shipped", order_id="B")
    _run(db)
    assert _count(db, JourneyRun) == 1
    with db.session() as session:
        service.set_status(session, ws, "shipping_delay", "archived", actor="test")
        run = session.scalars(select(JourneyRun)).one()
        assert (run.status, run.exit_reason) == ("exited", "journey_archived")


SCHEDULED = """
key: monday_note
reentry: 7d
trigger: {schedule: {every: 1d, at: "09:00", segment: lapsed}}
steps:
  - wait: {until: "10:30"}
  - send: {subject: "Du nouveau", body: "Du nouveau chaque lundi"}
"""


def test_a_schedule_enters_its_segment_daily_and_waits_until_a_time_of_day(
    db, make_workspace
) -> None:
    ws = make_workspace().workspace_id
    people = [f.customer(db, ws), f.customer(db, ws, timezone="America/Montreal")]
    with db.session() as session:
        segments.create_segment(
            session, ws, SegmentCreate(key="lapsed", name="L", kind="static"), actor="t"
        )
        segments.set_members(session, ws, "lapsed", people, actor="t")
        service.create_journey(session, ws, SCHEDULED, actor="test", status="active")
    early = NOW.replace(hour=7)  # 08:00 in Paris: not yet 09:00
    with db.session() as session:
        assert service.schedules_due(session, early) == []
        [due] = service.schedules_due(session, NOW)  # 10:00 in Paris
        started = service.run_schedule(session, due, NOW)
        assert len(started) == 2
        assert service.schedules_due(session, NOW + dt.timedelta(hours=2)) == []  # once a day
    _run(db)
    with db.session() as session:
        wakes = {r.customer_id: r.wake_at for r in session.scalars(select(JourneyRun))}
    # At 10:00 in Paris the next 10:30 is half an hour away; in Montreal it is 04:00 there.
    assert wakes[people[0]] == NOW + dt.timedelta(minutes=30)
    montreal = ZoneInfo("America/Montreal")
    assert wakes[people[1]] == dt.datetime.combine(
        NOW.astimezone(montreal).date(), dt.time(10, 30), tzinfo=montreal
    )
    _run(db, NOW + dt.timedelta(hours=8))  # 18:00 in Paris, noon in Montreal
    assert _count(db, OutboundMessage) == 2
    # The next day the schedule comes again, but the re-entry rule (7 days) keeps them out.
    with db.session() as session:
        [due] = service.schedules_due(session, NOW + dt.timedelta(days=1))
        assert service.run_schedule(session, due, NOW + dt.timedelta(days=1)) == []
