"""What may stop or delay a journey's message: the frequency cap, quiet hours in the customer's
time zone, and (a workspace option) the French rules for marketing SMS.

Quiet hours hold a message until they end (21:00 to 08:00 by default, in the customer's zone,
else the workspace's). The French rules for marketing SMS, a workspace option, allow them from
Monday to Saturday, 08:00 to 20:00 by default, never on a Sunday or one of France's eleven
public holidays. No statute sets these hours: they are the professional rule French SMS
gateways apply and publish (the telecom operators' code of conduct for SMS marketing, as
summarised for instance by https://sendtargetsms.com/fr/horaires-legaux-sms/), and some
sources open at 10:00 instead of 08:00, hence ``sms_start`` and ``sms_end``. Transactional
messages (a step with ``marketing: false``) are outside both, as those sources say.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from cxloop import i18n, workspaces
from cxloop.errors import InvalidInput
from cxloop.journeys.models import Guardrails
from cxloop.store.base import utcnow

_LOOKAHEAD_DAYS = 14


@dataclass(frozen=True)
class Limits:
    """A workspace's guardrails, read once per batch of runs."""

    cap_messages: int = 3
    cap_days: int = 7
    quiet_start: str = "21:00"
    quiet_end: str = "08:00"
    sms_french_rules: bool = False
    sms_start: str = "08:00"
    sms_end: str = "20:00"


def limits_of(session: Session, workspace_id: str) -> Limits:
    """The workspace's guardrails (the defaults if it never changed them)."""
    row = session.get(Guardrails, workspace_id)
    if row is None:
        return Limits()
    return Limits(
        cap_messages=row.cap_messages,
        cap_days=row.cap_days,
        quiet_start=row.quiet_start,
        quiet_end=row.quiet_end,
        sms_french_rules=row.sms_french_rules,
        sms_start=row.sms_start,
        sms_end=row.sms_end,
    )


def _minutes(hhmm: str, field: str) -> int:
    try:
        hour, minute = (int(p) for p in hhmm.split(":"))
    except ValueError:
        hour = minute = -1
    if not (0 <= hour <= 23 and 0 <= minute <= 59) or len(hhmm) != 5:
        raise InvalidInput(field, i18n.gettext("a time of day such as 09:30"))
    return hour * 60 + minute


def set_limits(
    session: Session, workspace_id: str, changes: dict[str, object], *, actor: str
) -> Limits:
    """Change some of the workspace's guardrails (checked, audited); the result."""
    row = session.get(Guardrails, workspace_id)
    if row is None:
        row = Guardrails(workspace_id=workspace_id, **Limits().__dict__)
        session.add(row)
    for name, value in changes.items():
        if name in ("cap_messages", "cap_days"):
            high = 100 if name == "cap_messages" else 90
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
                raise InvalidInput(
                    name, i18n.gettext("a whole number from %(a)s to %(b)s") % {"a": 1, "b": high}
                )
        elif name in ("quiet_start", "quiet_end", "sms_start", "sms_end"):
            _minutes(str(value), name)
        elif name == "sms_french_rules":
            if not isinstance(value, bool):
                raise InvalidInput(name, i18n.gettext("true or false"))
        else:
            raise InvalidInput(name, i18n.gettext("not a guardrail"))
        setattr(row, name, value)
    if _minutes(row.sms_start, "sms_start") >= _minutes(row.sms_end, "sms_end"):
        raise InvalidInput("sms_end", i18n.gettext("must come after sms_start"))
    row.updated_at = utcnow()
    session.flush()
    workspaces.audit(
        session,
        actor=actor,
        action="journeys.guardrails",
        workspace_id=workspace_id,
        data=dict(changes.items()),
    )
    return limits_of(session, workspace_id)


@lru_cache(maxsize=512)
def zone(name: str | None, fallback: str) -> ZoneInfo:
    """The customer's time zone, else the workspace's, else Paris."""
    for candidate in (name, fallback, "Europe/Paris"):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def _in_window(minute: int, start: int, end: int) -> bool:
    """Whether ``minute`` of the day is inside [start, end), a window that may wrap midnight."""
    if start == end:
        return False
    return start <= minute < end if start < end else minute >= start or minute < end


def quiet_release(now: dt.datetime, limits: Limits, tz: ZoneInfo) -> dt.datetime | None:
    """When a message held by quiet hours may go (UTC), or None if ``now`` is not quiet."""
    start, end = (
        _minutes(limits.quiet_start, "quiet_start"),
        _minutes(limits.quiet_end, "quiet_end"),
    )
    local = now.astimezone(tz)
    if not _in_window(local.hour * 60 + local.minute, start, end):
        return None
    release = local.replace(hour=end // 60, minute=end % 60, second=0, microsecond=0)
    if release <= local:
        release = _next_day(release, end, tz)
    return release.astimezone(dt.UTC)


def _next_day(moment: dt.datetime, minute_of_day: int, tz: ZoneInfo) -> dt.datetime:
    day = (moment + dt.timedelta(days=1)).date()
    return dt.datetime.combine(day, dt.time(minute_of_day // 60, minute_of_day % 60), tzinfo=tz)


def easter(year: int) -> dt.date:
    """Easter Sunday of ``year`` (the Gregorian computus, Meeus/Jones/Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month = (h + ell - 7 * m + 114) // 31
    day = (h + ell - 7 * m + 114) % 31 + 1
    return dt.date(year, month, day)


@lru_cache(maxsize=64)
def french_holidays(year: int) -> frozenset[dt.date]:
    """France's eleven public holidays (Code du travail, L3133-1) of ``year``."""
    sunday = easter(year)
    fixed = [(1, 1), (5, 1), (5, 8), (7, 14), (8, 15), (11, 1), (11, 11), (12, 25)]
    days = {dt.date(year, m, d) for m, d in fixed}
    days |= {
        sunday + dt.timedelta(days=n) for n in (1, 39, 50)
    }  # Easter Monday, Ascension, Whit Monday
    return frozenset(days)


def sms_release(now: dt.datetime, limits: Limits, tz: ZoneInfo) -> dt.datetime | None:
    """Under the French rules, when a marketing SMS may go (UTC), or None if it may go now."""
    if not limits.sms_french_rules:
        return None
    start, end = _minutes(limits.sms_start, "sms_start"), _minutes(limits.sms_end, "sms_end")
    local = now.astimezone(tz)
    for offset in range(_LOOKAHEAD_DAYS):
        day = local.date() + dt.timedelta(days=offset)
        if day.weekday() == 6 or day in french_holidays(day.year):
            continue
        opens = dt.datetime.combine(day, dt.time(start // 60, start % 60), tzinfo=tz)
        closes = dt.datetime.combine(day, dt.time(end // 60, end % 60), tzinfo=tz)
        if offset == 0 and opens <= local < closes:
            return None
        if local < opens:
            return opens.astimezone(dt.UTC)
    return (local + dt.timedelta(days=1)).astimezone(dt.UTC)  # pragma: no cover
