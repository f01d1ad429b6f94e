"""Pre-aggregated NPS counts: the invitation funnel per day, for the days that are over.

An invitation's funnel times (delivered, opened, clicked, confirmed, commented) can change
until it expires; after that its day is final. ``fill_funnel`` counts each final day once, as
a whole (idempotent, resumable: a crash leaves the mark where it was and the next run redoes
the same days), into ``invitation_funnel_days``; ``funnel_counts`` adds those rows to a live
count of the days that are not final yet, so the dashboard's funnel reads a few thousand rows
instead of every invitation. A day is final once every survey's invitations sent that day have
expired, plus a week for late provider events (an "opened" reported days later).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any, Final

from sqlalchemy import ColumnElement, bindparam, delete, func, insert, select
from sqlalchemy.orm import Session

from cxloop.store.base import utcnow
from cxloop.surveys.models import FunnelDay, Invitation, RollupMark, Survey
from cxloop.surveys.schemas import DashboardFilters

FUNNEL: Final = "funnel_days"
LATE_EVENTS: Final = dt.timedelta(days=7)
DEFAULT_EXPIRY_DAYS: Final = 30
STEPS: Final = ("sent", "delivered", "opened", "clicked", "responded", "commented")
_COUNTED: Final = (
    Invitation.sent_at,
    Invitation.delivered_at,
    Invitation.opened_at,
    Invitation.clicked_at,
    Invitation.responded_at,
    Invitation.commented_at,
)
_KEYS: Final = (Invitation.survey_id, Invitation.channel, Invitation.touchpoint, Invitation.locale)

# Per channel: [sent, delivered, opened, clicked, responded, commented].
ChannelCounts = dict[str, list[int]]


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def _days(first: dt.date, end: dt.date) -> Iterator[dt.date]:
    day = first
    while day < end:
        yield day
        day += dt.timedelta(days=1)


def final_before(session: Session, workspace_id: str, now: dt.datetime) -> dt.date:
    """The first day whose invitations may still change: every earlier day is final."""
    # Read from the stored documents (validated when saved): no need to parse them all.
    longest = max(
        (
            int((definition or {}).get("expires_after_days") or DEFAULT_EXPIRY_DAYS)
            for definition in session.scalars(
                select(Survey.definition).where(Survey.workspace_id == workspace_id)
            )
        ),
        default=DEFAULT_EXPIRY_DAYS,
    )
    return (now - dt.timedelta(days=longest) - LATE_EVENTS).astimezone(dt.UTC).date()


def fill_funnel(session: Session, workspace_id: str, now: dt.datetime | None = None) -> int:
    """Count the workspace's newly final days into the daily funnel; returns the days counted."""
    now = now or utcnow()
    until = final_before(session, workspace_id, now)
    mark = session.get(RollupMark, (workspace_id, FUNNEL))
    if mark is None:
        first_sent = session.scalar(
            select(func.min(Invitation.sent_at)).where(Invitation.workspace_id == workspace_id)
        )
        if first_sent is None:
            return 0
        start = first_sent.astimezone(dt.UTC).date()
    else:
        start = mark.final_before
    if start >= until:
        return 0
    session.execute(
        delete(FunnelDay).where(
            FunnelDay.workspace_id == workspace_id, FunnelDay.day >= start, FunnelDay.day < until
        )
    )
    # One index range scan per day (ix_invitations_workspace_sent), as the trend does.
    query = (
        select(*_KEYS, *(func.count(column) for column in _COUNTED))
        .where(
            Invitation.workspace_id == workspace_id,
            Invitation.sent_at >= bindparam("low", type_=Invitation.sent_at.type),
            Invitation.sent_at < bindparam("high", type_=Invitation.sent_at.type),
        )
        .group_by(*_KEYS)
    )
    rows: list[dict[str, Any]] = []
    for day in _days(start, until):
        low = _midnight(day)
        for survey_id, channel, touchpoint, locale, *counts in session.execute(
            query, {"low": low, "high": low + dt.timedelta(days=1)}
        ):
            rows.append(
                {
                    "workspace_id": workspace_id,
                    "day": day,
                    "survey_id": survey_id,
                    "channel": channel,
                    "touchpoint": touchpoint,
                    "locale": locale,
                    **dict(zip(STEPS, (int(c) for c in counts), strict=True)),
                }
            )
    for begin in range(0, len(rows), 5000):
        session.execute(insert(FunnelDay), rows[begin : begin + 5000])
    if mark is None:
        session.add(RollupMark(workspace_id=workspace_id, name=FUNNEL, final_before=until))
    else:
        mark.final_before, mark.filled_at = until, now
    session.flush()
    return (until - start).days


def _filters(columns: Any, filters: DashboardFilters) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    for column, value in (
        (columns.survey_id, filters.survey_id),
        (columns.channel, filters.channel),
        (columns.touchpoint, filters.touchpoint),
        (columns.locale, filters.locale),
    ):
        if value is not None:
            where.append(column == value)
    return where


def _add(into: ChannelCounts, rows: Any) -> None:
    for channel, *counts in rows:
        sums = into.setdefault(str(channel), [0] * len(STEPS))
        for i, count in enumerate(counts):
            sums[i] += int(count or 0)


def _live(
    session: Session,
    workspace_id: str,
    filters: DashboardFilters,
    low: dt.datetime | None,
    high: dt.datetime | None,
    into: ChannelCounts,
) -> None:
    where = [Invitation.workspace_id == workspace_id, *_filters(Invitation, filters)]
    if low is not None:
        where.append(Invitation.sent_at >= low)
    if high is not None:
        where.append(Invitation.sent_at < high)
    _add(
        into,
        session.execute(
            select(Invitation.channel, *(func.count(column) for column in _COUNTED))
            .where(*where)
            .group_by(Invitation.channel)
        ),
    )


def funnel_counts(session: Session, workspace_id: str, filters: DashboardFilters) -> ChannelCounts:
    """Funnel counts per channel of the invitations sent in the filters' range.

    Whole final days come from ``invitation_funnel_days``; the rest (days not final yet, and
    the partial days at either end of the range) is counted live from ``invitations``.
    """
    counts: ChannelCounts = {}
    mark = session.get(RollupMark, (workspace_id, FUNNEL))
    start, end = filters.start, filters.end
    if mark is None:
        _live(session, workspace_id, filters, start, end, counts)
        return counts
    # Whole days inside [start, end), before the mark.
    first = start.astimezone(dt.UTC).date() if start is not None else None
    if start is not None and first is not None and _midnight(first) < start:
        first += dt.timedelta(days=1)
    last = mark.final_before
    if end is not None:
        last = min(last, end.astimezone(dt.UTC).date())
    if first is not None and first >= last:
        _live(session, workspace_id, filters, start, end, counts)
        return counts
    where = [
        FunnelDay.workspace_id == workspace_id,
        FunnelDay.day < last,
        *_filters(FunnelDay, filters),
    ]
    if first is not None:
        where.append(FunnelDay.day >= first)
    _add(
        counts,
        session.execute(
            select(FunnelDay.channel, *(func.sum(getattr(FunnelDay, s)) for s in STEPS))
            .where(*where)
            .group_by(FunnelDay.channel)
        ),
    )
    if first is not None and start is not None and start < _midnight(first):
        _live(session, workspace_id, filters, start, _midnight(first), counts)
    if end is None or _midnight(last) < end:
        _live(session, workspace_id, filters, _midnight(last), end, counts)
    return counts


__all__ = ["FUNNEL", "STEPS", "fill_funnel", "final_before", "funnel_counts"]
