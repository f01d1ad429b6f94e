"""Who is asked and when: planning, suppression and throttling, each with its reason."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from cxloop.profiles.models import Customer
from cxloop.store.db import Database
from cxloop.surveys import service
from cxloop.surveys.definitions import Limits
from cxloop.surveys.models import Invitation, SurveyDecision
from tests.helpers import factories as f

NOW = dt.datetime(2026, 6, 10, 12, 0, tzinfo=dt.UTC)
LONG_AGO = NOW - dt.timedelta(days=400)


@pytest.fixture
def ws(make_workspace) -> str:
    return make_workspace().workspace_id


def plan(db: Database, ws: str, now: dt.datetime = NOW) -> service.PlanReport:
    with db.session() as session:
        return service.plan(session, ws, now)


def invitations(db: Database) -> list[Invitation]:
    with db.session() as session:
        return list(session.scalars(select(Invitation).order_by(Invitation.id)))


def reasons(db: Database) -> list[tuple[str, str]]:
    with db.session() as session:
        return [
            (d.decision, d.reason)
            for d in session.scalars(select(SurveyDecision).order_by(SurveyDecision.id))
        ]


def test_a_delivery_schedules_a_question_three_days_later_within_sending_hours(db, ws) -> None:
    # given the default survey (3 days after delivery) and a parcel delivered at 22:30 Paris
    f.survey(db, ws, created_at=LONG_AGO)
    delivered = dt.datetime(2026, 6, 8, 20, 30, tzinfo=dt.UTC)
    cid = f.customer(db, ws)
    f.order(db, ws, cid, delivered - dt.timedelta(days=3), delivered_at=delivered)
    # when planning runs
    report = plan(db, ws)
    # then one invitation is due three days later, moved to 09:00 Paris the next morning
    [invitation] = invitations(db)
    assert report.scheduled == 1
    assert invitation.status == "scheduled"
    assert invitation.touchpoint == "after_delivery" and invitation.channel == "email"
    assert invitation.scheduled_at == dt.datetime(2026, 6, 12, 7, 0, tzinfo=dt.UTC)
    assert invitation.locale == "fr"
    assert reasons(db) == [("scheduled", "eligible")]


def test_planning_twice_plans_nothing_twice(db, ws) -> None:
    f.survey(db, ws, created_at=LONG_AGO)
    cid = f.customer(db, ws)
    f.order(db, ws, cid, NOW - dt.timedelta(days=5), delivered_at=NOW - dt.timedelta(days=2))
    plan(db, ws)
    again = plan(db, ws)
    assert again.scheduled == 0 and again.suppressed == {}
    assert len(invitations(db)) == 1


@pytest.mark.parametrize(
    ("order_fields", "customer_fields", "survey_changes", "reason"),
    [
        ({"status": "cancelled"}, {}, {}, "order_cancelled"),
        ({"status": "refunded", "refunded_cents": 4990}, {}, {}, "order_refunded"),
        ({}, {"consent": {"email": {"status": "denied"}}}, {}, "no_consent"),
        ({}, {"email": None}, {}, "no_email_address"),
        ({}, {}, {"sample_rate": 0.0}, "sampled_out"),
    ],
)
def test_suppressions_are_recorded_with_their_reason(
    db, ws, order_fields, customer_fields, survey_changes, reason
) -> None:
    f.survey(db, ws, created_at=LONG_AGO, **survey_changes)
    cid = f.customer(db, ws, **customer_fields)
    f.order(
        db,
        ws,
        cid,
        NOW - dt.timedelta(days=5),
        delivered_at=NOW - dt.timedelta(days=2),
        **order_fields,
    )
    report = plan(db, ws)
    assert report.suppressed == {reason: 1}
    assert [i.status for i in invitations(db)] == ["suppressed"]
    assert reasons(db) == [("suppressed", reason)]
    with db.session() as session:
        [decision] = service.decisions_for(session, ws, cid)
    assert decision.reason == reason and decision.detail


def test_never_the_same_customer_twice_within_the_cooldown_across_surveys(db, ws) -> None:
    # given a customer asked 30 days ago after an order, who now receives a parcel
    after_order = f.survey(
        db, ws, trigger="order_placed", created_at=LONG_AGO, key="after-order", lookback_days=60
    )
    f.survey(db, ws, created_at=LONG_AGO)
    cid = f.customer(db, ws)
    f.order(db, ws, cid, NOW - dt.timedelta(days=31))
    plan(db, ws, NOW - dt.timedelta(days=30))
    with db.session() as session:
        [first] = session.scalars(select(Invitation)).all()
        service.mark_sent(session, session.get(Invitation, first.id), NOW - dt.timedelta(days=30))
    f.order(db, ws, cid, NOW - dt.timedelta(days=4), delivered_at=NOW - dt.timedelta(days=1))
    # when planning runs
    plan(db, ws)
    # then the delivery survey is suppressed as throttled, and the reason says when she was asked
    by_survey = {i.survey_id: i for i in invitations(db) if i.survey_id != after_order}
    assert [i.status for i in by_survey.values()] == ["suppressed"]
    with db.session() as session:
        decision = service.decisions_for(session, ws, cid)[0]
    assert decision.reason == "throttled"
    assert "within 90 days" in decision.detail


def test_the_cooldown_is_a_setting(db, ws) -> None:
    f.survey(
        db, ws, created_at=LONG_AGO, limits=Limits(global_cooldown_days=0, survey_cooldown_days=0)
    )
    cid = f.customer(db, ws)
    for days in (10, 5):
        f.order(
            db,
            ws,
            cid,
            NOW - dt.timedelta(days=days + 2),
            delivered_at=NOW - dt.timedelta(days=days),
        )
    assert plan(db, ws).scheduled == 2


def test_a_survey_ignores_what_happened_before_it_existed(db, ws) -> None:
    f.survey(db, ws, created_at=NOW - dt.timedelta(days=1))
    cid = f.customer(db, ws)
    f.order(db, ws, cid, NOW - dt.timedelta(days=6), delivered_at=NOW - dt.timedelta(days=3))
    assert plan(db, ws).scheduled == 0
    assert invitations(db) == []


def test_sending_checks_again_what_changed_since_planning(db, ws) -> None:
    # given an after-order invitation planned, then the order is cancelled
    f.survey(db, ws, trigger="order_placed", created_at=LONG_AGO, key="after-order")
    cid = f.customer(db, ws)
    oid, _ = f.order(db, ws, cid, NOW - dt.timedelta(hours=3))
    plan(db, ws)
    with db.session() as session:
        from cxloop.commerce.models import Order

        session.get(Order, oid).status = "cancelled"
    # when the invitation is due
    with db.session() as session:
        [due] = service.due_invitations(session, NOW + dt.timedelta(days=1))
        reason = service.recheck(session, due, NOW)
    # then it is not sent, and the reason names the order
    assert reason is not None and reason[0] == "order_cancelled"
    assert "was cancelled" in reason[1]


def test_a_late_parcel_not_yet_delivered_holds_the_after_order_question(db, ws) -> None:
    f.survey(db, ws, trigger="order_placed", created_at=LONG_AGO, key="after-order")
    cid = f.customer(db, ws)
    f.order(db, ws, cid, NOW - dt.timedelta(hours=5), promised_at=NOW - dt.timedelta(hours=1))
    plan(db, ws)
    with db.session() as session:
        [due] = service.due_invitations(session, NOW + dt.timedelta(days=1))
        reason = service.recheck(session, due, NOW)
    assert reason is not None and reason[0] == "shipment_late"


def test_withdrawn_consent_stops_a_scheduled_email(db, ws) -> None:
    f.survey(db, ws, created_at=LONG_AGO)
    cid = f.customer(db, ws)
    f.order(db, ws, cid, NOW - dt.timedelta(days=4), delivered_at=NOW - dt.timedelta(days=1))
    plan(db, ws)
    with db.session() as session:
        session.get(Customer, cid).consent = {"email": {"status": "denied"}}
    with db.session() as session:
        [due] = service.due_invitations(session, NOW + dt.timedelta(days=5))
        assert service.recheck(session, due, NOW)[0] == "no_consent"


def test_an_invitation_is_claimed_for_sending_once(db, ws) -> None:
    f.survey(db, ws, created_at=LONG_AGO)
    cid = f.customer(db, ws)
    f.order(db, ws, cid, NOW - dt.timedelta(days=4), delivered_at=NOW - dt.timedelta(days=1))
    plan(db, ws)
    later = NOW + dt.timedelta(days=5)
    with db.session() as session:
        first = service.claim(session, later)
    with db.session() as session:
        second = service.claim(session, later)
    assert len(first) == 1 and second == []
    assert [i.status for i in invitations(db)] == ["sending"]
