"""Guardrails on journey messages: quiet hours in the customer's zone, the French SMS rules."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from cxloop.errors import InvalidInput
from cxloop.journeys import guardrails
from cxloop.journeys.guardrails import Limits

PARIS = ZoneInfo("Europe/Paris")
MONTREAL = ZoneInfo("America/Montreal")


def _at(text: str, zone: ZoneInfo = PARIS) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=zone).astimezone(dt.UTC)


def test_easter_and_the_french_public_holidays() -> None:
    assert guardrails.easter(2026) == dt.date(2026, 4, 5)
    assert guardrails.easter(2027) == dt.date(2027, 3, 28)
    assert guardrails.easter(2038) == dt.date(2038, 4, 25)
    days = guardrails.french_holidays(2027)
    assert len(days) == 11
    for day in ("2027-01-01", "2027-03-29", "2027-05-01", "2027-05-06", "2027-05-08",
                "2027-05-17", "2027-07-14", "2027-08-15", "2027-11-01", "2027-11-11",
                "2027-12-25"):  # fmt: skip
        assert dt.date.fromisoformat(day) in days
    assert dt.date(2027, 3, 28) not in days  # Easter Sunday is a Sunday, not a holiday here


def test_quiet_hours_hold_until_they_end_in_the_customers_zone() -> None:
    limits = Limits()  # 21:00 to 08:00
    assert guardrails.quiet_release(_at("2026-12-07T14:00"), limits, PARIS) is None
    assert guardrails.quiet_release(_at("2026-12-07T22:30"), limits, PARIS) == _at(
        "2026-12-08T08:00"
    )
    assert guardrails.quiet_release(_at("2026-12-08T06:59"), limits, PARIS) == _at(
        "2026-12-08T08:00"
    )
    # 14:00 in Paris is 08:00 in Montreal: not quiet there; 03:00 in Paris is 21:00 there.
    assert guardrails.quiet_release(_at("2026-12-07T14:00"), limits, MONTREAL) is None
    moment = _at("2026-12-08T03:00")
    assert guardrails.quiet_release(moment, limits, MONTREAL) == _at("2026-12-08T08:00", MONTREAL)
    # A window inside one day.
    lunch = Limits(quiet_start="12:00", quiet_end="14:00")
    assert guardrails.quiet_release(_at("2026-12-07T12:30"), lunch, PARIS) == _at(
        "2026-12-07T14:00"
    )
    assert guardrails.quiet_release(_at("2026-12-07T22:30"), lunch, PARIS) is None


def test_the_french_sms_rules_skip_nights_sundays_and_public_holidays() -> None:
    off = Limits()
    assert guardrails.sms_release(_at("2026-12-06T23:00"), off, PARIS) is None
    rules = Limits(sms_french_rules=True)
    assert guardrails.sms_release(_at("2026-12-07T10:00"), rules, PARIS) is None  # a Monday
    # Saturday 20:30 -> Monday 08:00 (Sunday is closed).
    assert guardrails.sms_release(_at("2026-12-05T20:30"), rules, PARIS) == _at("2026-12-07T08:00")
    # Christmas Eve evening -> the 26th (the 25th is a holiday; the 26th a Saturday).
    assert guardrails.sms_release(_at("2026-12-24T21:00"), rules, PARIS) == _at("2026-12-26T08:00")
    # Early morning the same day.
    assert guardrails.sms_release(_at("2026-12-07T07:15"), rules, PARIS) == _at("2026-12-07T08:00")
    later = Limits(sms_french_rules=True, sms_start="10:00", sms_end="19:00")
    assert guardrails.sms_release(_at("2026-12-07T09:00"), later, PARIS) == _at("2026-12-07T10:00")


def test_guardrails_are_checked_and_audited(db, make_workspace) -> None:
    ws = make_workspace().workspace_id
    with db.session() as session:
        assert guardrails.limits_of(session, ws) == Limits()
        changed = guardrails.set_limits(
            session, ws, {"cap_messages": 1, "sms_french_rules": True}, actor="test"
        )
        assert (changed.cap_messages, changed.sms_french_rules, changed.cap_days) == (1, True, 7)
    for bad in ({"cap_messages": 0}, {"quiet_start": "7h"}, {"colour": 1}, {"sms_end": "07:00"}):
        with db.session() as session, pytest.raises(InvalidInput):
            guardrails.set_limits(session, ws, bad, actor="test")
    with db.session() as session:
        assert guardrails.limits_of(session, ws).cap_messages == 1
