"""The NPS dashboard: score, distribution, trend, breakdowns, verbatims and the funnel.

Every figure is an SQL aggregation on the operational store (SQLite or PostgreSQL, same
queries); Python only receives counts and turns them into scores and intervals (``stats``).
Only confirmed answers count: a provisional one is a bare page load, possibly a mail scanner.

Answers are placed in time by ``responses.created_at`` (when the score was first recorded),
invitations by ``sent_at``. Periods are UTC: weeks start on Monday 00:00 UTC, months on the
1st. The covering indexes ``ix_responses_dashboard`` and ``ix_responses_categories`` (migration
0007) serve every query on answers without reading the table; the funnel of days that are over
comes pre-counted (``rollups``). The query shapes are chosen for SQLite, which has no hash
aggregation: ``count(*) FILTER (WHERE …)`` instead of grouping by score, and one range query
per period for trends (SQLite and PostgreSQL both support FILTER). See docs/nps-statistics.md.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy import ColumnElement, Text, bindparam, cast, exists, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import type_coerce

from cxloop.errors import InvalidInput
from cxloop.store.base import utcnow
from cxloop.surveys import rollups, stats
from cxloop.surveys.models import Response
from cxloop.surveys.schemas import (
    Breakdown,
    BreakdownRow,
    ChannelFunnel,
    DashboardFilters,
    Dimension,
    Funnel,
    FunnelStep,
    FunnelStepName,
    Granularity,
    NpsOverview,
    NpsSummary,
    ScoreCount,
    Trend,
    TrendPoint,
    Verbatim,
    VerbatimFilters,
    VerbatimPage,
)

CONFIRMED: Final = "confirmed"
MAX_PAGE: Final = 100
# One range query per period: a weekly trend over ten years is 520 queries; refuse beyond.
MAX_PERIODS: Final = 600
NO_FILTERS: Final = DashboardFilters()
# Breakdowns on a column of the answer as it is (product_category is split into categories).
DIRECT: Final[tuple[Dimension, ...]] = ("touchpoint", "channel", "locale", "country")

# The languages the themes domain tags; an answer in another one is recognised, not tagged.
TAGGED_LANGS: Final = ("fr", "en")
# An answer whose text is in another language (NULL, not known, is not another language).
OTHER_LANGUAGE: Final = Response.lang.not_in(TAGGED_LANGS)

_PROMOTERS = func.count().filter(Response.score >= stats.PROMOTER_MIN)
_PASSIVES_UP = func.count().filter(Response.score >= stats.PASSIVE_MIN)
_ANSWERS = func.count()


def answer_conditions(workspace_id: str, filters: DashboardFilters) -> list[ColumnElement[bool]]:
    """The rule for the answers that count (confirmed, in the workspace) and the filters."""
    where = [Response.workspace_id == workspace_id, Response.status == CONFIRMED]
    if filters.start is not None:
        where.append(Response.created_at >= filters.start)
    if filters.end is not None:
        where.append(Response.created_at < filters.end)
    if filters.survey_id is not None:
        where.append(Response.survey_id == filters.survey_id)
    if filters.channel is not None:
        where.append(Response.channel == filters.channel)
    if filters.touchpoint is not None:
        where.append(Response.touchpoint == filters.touchpoint)
    if filters.locale is not None:
        where.append(Response.locale == filters.locale)
    return where


def _summary(counted: Sequence[Any]) -> NpsSummary:
    """A summary from (promoters, promoters + passives, answers) as the queries count them."""
    promoters, upper, answers = (int(v or 0) for v in counted)
    return stats.summarize(
        promoters=promoters, passives=upper - promoters, detractors=answers - upper
    )


def overview(
    session: Session, workspace_id: str, filters: DashboardFilters = NO_FILTERS
) -> NpsOverview:
    """The NPS with its interval and the 0–10 distribution of the confirmed answers."""
    counts = session.execute(
        select(*(func.count().filter(Response.score == s) for s in range(11))).where(
            *answer_conditions(workspace_id, filters)
        )
    ).one()
    by_score = [int(c or 0) for c in counts]
    return NpsOverview(
        summary=stats.summarize(
            promoters=sum(by_score[stats.PROMOTER_MIN :]),
            passives=sum(by_score[stats.PASSIVE_MIN : stats.PROMOTER_MIN]),
            detractors=sum(by_score[: stats.PASSIVE_MIN]),
        ),
        distribution=[ScoreCount(score=s, count=c) for s, c in enumerate(by_score)],
    )


def period_start(moment: dt.datetime, granularity: Granularity) -> dt.datetime:
    """The start (UTC) of the week (Monday) or calendar month holding ``moment``."""
    day = moment.astimezone(dt.UTC).date()
    if granularity == "week":
        day -= dt.timedelta(days=day.weekday())
    else:
        day = day.replace(day=1)
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def _next_period(start: dt.datetime, granularity: Granularity) -> dt.datetime:
    if granularity == "week":
        return start + dt.timedelta(days=7)
    if start.month == 12:
        return start.replace(year=start.year + 1, month=1)
    return start.replace(month=start.month + 1)


def trend(
    session: Session,
    workspace_id: str,
    filters: DashboardFilters = NO_FILTERS,
    *,
    granularity: Granularity = "week",
    now: dt.datetime | None = None,
) -> Trend:
    """The NPS per week or month from the first to the last answer in range, with changes;
    a period that ends after ``now`` is marked partial."""
    now = now or utcnow()
    if granularity not in ("week", "month"):
        raise InvalidInput("granularity", "must be week or month")
    where = answer_conditions(workspace_id, filters)
    # Two queries: SQLite finds a lone min() or max() in the index, both together by a scan.
    first = session.scalar(select(func.min(Response.created_at)).where(*where))
    last = session.scalar(select(func.max(Response.created_at)).where(*where))
    if first is None or last is None:
        return Trend(granularity=granularity, points=[])
    bounds = [period_start(first, granularity)]
    while bounds[-1] <= last:
        if len(bounds) > MAX_PERIODS:
            raise InvalidInput(
                "granularity", f"more than {MAX_PERIODS} periods: narrow the dates or use months"
            )
        bounds.append(_next_period(bounds[-1], granularity))
    # One index range scan per period: SQLite would otherwise sort every answer to group them.
    query = select(_PROMOTERS, _PASSIVES_UP, _ANSWERS).where(
        *where, Response.created_at >= bindparam("low"), Response.created_at < bindparam("high")
    )
    points: list[TrendPoint] = []
    previous: NpsSummary | None = None
    for start, end in itertools.pairwise(bounds):
        summary = _summary(tuple(session.execute(query, {"low": start, "high": end}).one()))
        vs_previous = None
        if previous is not None and previous.n and summary.n:
            vs_previous = stats.compare(previous, summary)
        points.append(
            TrendPoint(
                period_start=start.date(),
                summary=summary,
                vs_previous=vs_previous,
                partial=end > now,
            )
        )
        previous = summary
    return Trend(granularity=granularity, points=points)


def _rows(counted: Sequence[Any]) -> list[BreakdownRow]:
    """Breakdown rows from (key, promoters, promoters + passives, n), largest first.

    A blank key and NULL both mean unknown: they are merged here rather than by grouping on
    ``nullif(key, '')``, an expression that costs SQLite a fifth more than the bare column.
    """
    merged: dict[str | None, list[int]] = {}
    for key, *values in counted:
        sums = merged.setdefault(key or None, [0, 0, 0])
        for i, value in enumerate(values):
            sums[i] += int(value or 0)
    rows = [BreakdownRow(key=key, summary=_summary(sums)) for key, sums in merged.items()]
    rows.sort(key=lambda row: (-row.summary.n, row.key is None, row.key or ""))
    return rows


def _expand(counted: Sequence[Any]) -> list[tuple[str | None, int, int, int]]:
    """Counts per "|a|b|" set of categories, credited to each category of the set."""
    rows: list[tuple[str | None, int, int, int]] = []
    for key, promoters, upper, answers in counted:
        names = [name for name in (key or "").split("|") if name]
        rows.extend((name, promoters, upper, answers) for name in names or [None])
    return rows


def breakdown(
    session: Session,
    workspace_id: str,
    dimension: Dimension,
    filters: DashboardFilters = NO_FILTERS,
) -> Breakdown:
    """The NPS per touchpoint, channel, locale, country, product category or customer segment.

    Segment and categories were copied from the order onto the answer when it was recorded
    (``service.order_facets``): no join. An answer counts once in each category its order held.
    """
    if dimension not in (*DIRECT, "segment", "product_category"):
        raise InvalidInput("dimension", f"unknown dimension {dimension!r}")
    column = "categories" if dimension == "product_category" else dimension
    key = getattr(Response, column)
    counted: Sequence[Any] = session.execute(
        select(key, _PROMOTERS, _PASSIVES_UP, _ANSWERS)
        .where(*answer_conditions(workspace_id, filters))
        .group_by(key)
    ).all()
    if dimension == "product_category":
        counted = _expand(counted)
    return Breakdown(dimension=dimension, rows=_rows(counted))


def _theme_condition(session: Session, theme: str) -> ColumnElement[bool]:
    if session.get_bind().dialect.name == "postgresql":
        return Response.themes.op("@>")(type_coerce([theme], JSONB))
    each = func.json_each(Response.themes).table_valued("value")
    return exists().select_from(each).where(each.c.value == theme)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def verbatims(
    session: Session,
    workspace_id: str,
    filters: DashboardFilters = NO_FILTERS,
    which: VerbatimFilters | None = None,
    *,
    offset: int = 0,
    limit: int = 20,
) -> VerbatimPage:
    """The latest comments of confirmed answers, newest first, filtered and paged."""
    if offset < 0:
        raise InvalidInput("offset", "must be 0 or more")
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput("limit", f"must be from 1 to {MAX_PAGE}")
    which = which or VerbatimFilters()
    where = [*answer_conditions(workspace_id, filters), func.trim(Response.comment) != ""]
    low, high = which.min_score, which.max_score
    if which.category is not None:
        span = {"detractor": (0, 6), "passive": (7, 8), "promoter": (9, 10)}[which.category]
        low, high = max(low or 0, span[0]), min(10 if high is None else high, span[1])
    if low is not None:
        where.append(Response.score >= low)
    if high is not None:
        where.append(Response.score <= high)
    if which.text:
        where.append(Response.comment.ilike(f"%{_escape_like(which.text)}%", escape="\\"))
    if which.theme:
        where.append(_theme_condition(session, which.theme))
    if which.other_languages:
        where.append(OTHER_LANGUAGE)
    rows = session.scalars(
        select(Response)
        .where(*where)
        .order_by(Response.created_at.desc(), Response.id.desc())
        .offset(offset)
        .limit(limit + 1)
    ).all()
    items = [
        Verbatim(
            response_id=r.id,
            survey_id=r.survey_id,
            customer_id=r.customer_id,
            score=r.score,
            category=stats.category_of(r.score),
            comment=r.comment,
            followup=r.followup,
            channel=r.channel,
            locale=r.locale,
            lang=r.lang,
            themes=list(r.themes or []),
            created_at=r.created_at,
        )
        for r in rows[:limit]
    ]
    return VerbatimPage(items=items, offset=offset, limit=limit, has_more=len(rows) > limit)


FUNNEL_STEPS: Final[tuple[FunnelStepName, ...]] = (
    "invited",
    "delivered",
    "opened",
    "clicked",
    "confirmed",
    "commented",
)


def _channel_funnel(channel: str, counts: Sequence[int]) -> ChannelFunnel:
    steps: list[FunnelStep] = []
    invited = counts[0]
    for i, (name, count) in enumerate(zip(FUNNEL_STEPS, counts, strict=True)):
        before = counts[i - 1] if i else 0
        steps.append(
            FunnelStep(
                step=name,
                count=count,
                rate=count / invited if invited else None,
                step_rate=count / before if i and before else None,
            )
        )
    return ChannelFunnel(channel=channel, steps=steps)


def funnel(session: Session, workspace_id: str, filters: DashboardFilters = NO_FILTERS) -> Funnel:
    """invited → delivered → opened → clicked a score → confirmed → commented, per channel.

    Final days come pre-counted from ``rollups`` (filled daily); recent days are counted live.
    """
    counted = rollups.funnel_counts(session, workspace_id, filters)
    per_channel = sorted((channel, c) for channel, c in counted.items() if c[0] > 0)
    totals = [sum(counts[i] for _, counts in per_channel) for i in range(len(FUNNEL_STEPS))]
    return Funnel(
        total=_channel_funnel("all", totals),
        channels=[_channel_funnel(channel, counts) for channel, counts in per_channel],
    )


__all__ = [
    "DIRECT",
    "FUNNEL_STEPS",
    "OTHER_LANGUAGE",
    "TAGGED_LANGS",
    "answer_conditions",
    "breakdown",
    "funnel",
    "overview",
    "period_start",
    "trend",
    "verbatims",
]


# Themes of answers, grouped (the themes domain's key drivers and theme trend) ---------------

# Grouped on in SQL, so a few hundred distinct theme lists reach Python, not every answer
# (JSONB on PostgreSQL, JSON text on SQLite). The bare column, not an expression: SQLite then
# reads ``ix_responses_themes`` in themes order and groups without sorting (migration 0010).
_THEMES = Response.themes
# The weekly trend reads a week of answers by ``created_at``: grouping on an expression keeps
# SQLite on that range (and a small sort) instead of the whole themes index once per week.
_THEMES_TEXT = cast(Response.themes, Text)


def theme_groups(
    session: Session,
    workspace_id: str,
    filters: DashboardFilters,
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> list[tuple[Any, ...]]:
    """Confirmed answers in [since, until) per distinct theme list: (themes, detractors,
    passives, promoters, Σ score, Σ score²), the dashboard's rule for what counts; then the
    same five figures for those of them in another language than French or English."""
    where = answer_conditions(workspace_id, filters)
    if since is not None:
        where.append(Response.created_at >= since)
    if until is not None:
        where.append(Response.created_at < until)
    score = Response.score
    other = OTHER_LANGUAGE
    rows = session.execute(
        select(
            _THEMES,
            func.count().filter(score < stats.PASSIVE_MIN),
            func.count().filter(score >= stats.PASSIVE_MIN, score < stats.PROMOTER_MIN),
            func.count().filter(score >= stats.PROMOTER_MIN),
            func.sum(score),
            func.sum(score * score),
            # lang is in ix_responses_themes (0012): still read from the index alone
            func.count().filter(other, score < stats.PASSIVE_MIN),
            func.count().filter(other, score >= stats.PASSIVE_MIN, score < stats.PROMOTER_MIN),
            func.count().filter(other, score >= stats.PROMOTER_MIN),
            func.sum(score).filter(other),
            func.sum(score * score).filter(other),
        )
        .where(*where)
        .group_by(_THEMES)
    ).all()
    return [(r[0], *(int(v or 0) for v in r[1:])) for r in rows]


def theme_groups_by_period(
    session: Session,
    workspace_id: str,
    filters: DashboardFilters,
    bounds: Sequence[tuple[dt.datetime, dt.datetime]],
) -> list[tuple[dt.date, Any, int, int]]:
    """Confirmed answers per period [low, high) and distinct theme list (JSON text):
    (period start, themes, answers, of which in another language than French or English)."""
    # One index range scan per period, as the dashboard's trend (SQLite sorts otherwise).
    query = (
        select(_THEMES_TEXT, func.count(), func.count().filter(OTHER_LANGUAGE))
        .where(
            *answer_conditions(workspace_id, filters),
            Response.created_at >= bindparam("low"),
            Response.created_at < bindparam("high"),
        )
        .group_by(_THEMES_TEXT)
    )
    found: list[tuple[dt.date, Any, int, int]] = []
    for low, high in bounds:
        for text, count, other in session.execute(query, {"low": low, "high": high}):
            found.append((low.date(), text, int(count), int(other or 0)))
    return found


def nps_summary(session: Session, workspace_id: str) -> NpsSummary:
    """The workspace's NPS over all its confirmed answers, with its interval (the overview)."""
    return overview(session, workspace_id).summary
