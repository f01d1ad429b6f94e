"""Key drivers of the NPS, theme trends and theme spikes: which themes cost points, which rise.

The numeric core works on arrays: one score (0–10) and one list of theme keys per answer, or
per group of identical answers with ``counts`` (what the SQL aggregation hands over). Themes
are reduced to the few distinct *sets* of themes that occur, so every figure, the regression
included, costs one pass over the answers and then only small matrices.

Methods and sources:

- Shares and impact. For a theme t, among n answers: its share among detractors, passives and
  promoters (answers of that category mentioning t / answers of that category), and its
  *impact*: the NPS points gained if the detractors mentioning t had been passives,
  100 × d_t / n, since NPS = 100 × (P − D) / n (Reichheld 2003). The counterpart for praise,
  the *promoter lift*, is the points the promoters mentioning t carry: 100 × p_t / n. Answers
  can mention several themes, so impacts overlap and do not add up.
- Their 95% intervals: the Wilson score interval of the proportion d_t / n (or p_t / n), as
  recommended for small counts and proportions near 0 by Brown, Cai & DasGupta (2001),
  "Interval Estimation for a Binomial Proportion", Statistical Science 16(2), 101–133. Wilson
  (1927), JASA 22(158), 209–212.
- The regression view: ordinary least squares of the score on one 0/1 dummy per theme plus an
  intercept, with the usual (homoskedastic) standard errors σ̂²(XᵀX)⁻¹, σ̂² = RSS / (n − p),
  and Student-t 95% intervals. A coefficient is the difference in mean score when the theme is
  mentioned, the other themes held fixed. It is fitted as weighted least squares on the
  distinct theme sets (``numpy.linalg.lstsq``), which gives the same estimates as the fit on
  every answer; the residual sum of squares adds back the spread within each set. Themes never
  mentioned, mentioned by every answer, or exact combinations of others (collinear) get no
  coefficient; nor does any theme when fewer than 10 residual degrees of freedom remain.
  The t quantile is ``scipy.stats.t``'s; Wilson's normal quantile, ``scipy.stats.norm``'s.
- Spikes: a theme's share of one period's answers is compared with its pooled share over the
  previous 8 periods by the one-sided Fisher exact test of the 2×2 table (mentions / answers,
  this period / baseline): Fisher (1935), "The Logic of Inductive Inference", JRSS 98(1),
  39–82 (``scipy.stats.fisher_exact``). Exact at small counts, and it accounts for the baseline
  being an estimate too. See ``spikes`` for the rule and its thresholds.

The distributions come from ``scipy.stats``, imported by the functions that need them: it takes
about a second to import, which the importers of this module (web app, worker) should not pay.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import math
from collections.abc import Iterable, Sequence
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt
import orjson
from sqlalchemy.orm import Session

from cxloop import surveys
from cxloop.errors import InvalidInput
from cxloop.store.base import utcnow
from cxloop.surveys import DashboardFilters
from cxloop.themes.schemas import Driver, DriversReport, Spike, ThemeSeries, ThemeTrend

Period = Literal["week", "month"]

# Why 30: the usual floor for a normal approximation (as the surveys' SMALL_SAMPLE); below it, a
# theme's shares by category and its coefficient move by several points with each mention.
SMALL_MENTIONS: Final = 30
# Fewer residual degrees of freedom and σ̂ itself is too unsure for the intervals to mean much
# (t_0.975 rises from 2.23 at 10 to 2.57 at 5 and 12.7 at 1).
MIN_RESIDUAL_DF: Final = 10
# A column whose part not explained by the columns before it is this small is collinear.
_COLLINEAR: Final = 1e-9

# Spike rule (see ``spikes``).
BASELINE_PERIODS: Final = 8
MIN_BASELINE_PERIODS: Final = 4
MIN_BASELINE_RESPONSES: Final = 30
SPIKE_MIN_MENTIONS: Final = 5
SPIKE_MIN_RATIO: Final = 1.5
SPIKE_ALPHA: Final = 0.001

Scores = Sequence[int] | npt.NDArray[np.integer]
ThemeLists = Sequence[Iterable[str] | None]


# ------------------------------------------------------------------------------ encoding


class _Encoded:
    """Answers reduced to distinct theme sets: a set id per row and a sets × themes matrix."""

    def __init__(self, themes_per_response: ThemeLists, theme_keys: Sequence[str] | None):
        seen: dict[tuple[str, ...], int] = {}
        sets: list[frozenset[str]] = []
        ids: list[int] = []
        append = ids.append
        # The one loop over every answer: a dict lookup each, new sets are rare.
        for themes in themes_per_response:
            raw = tuple(themes) if themes else ()
            index = seen.get(raw)
            if index is None:
                index = seen[raw] = len(sets)
                sets.append(frozenset(t for t in raw if isinstance(t, str)))
            append(index)
        if theme_keys is None:
            theme_keys = sorted(set().union(*sets)) if sets else []
        elif len(set(theme_keys)) != len(theme_keys):
            raise ValueError("theme_keys must not repeat a theme")
        self.keys: list[str] = list(theme_keys)
        column = {key: j for j, key in enumerate(self.keys)}
        width = len(self.keys)
        # Flat cell numbers: one fancy assignment instead of one per mention.
        cells = [
            i * width + column[theme]
            for i, found in enumerate(sets)
            for theme in found
            if theme in column
        ]
        matrix = np.zeros(len(sets) * width, dtype=bool)
        matrix[cells] = True
        self.matrix = matrix.reshape(len(sets), width)
        self.ids = np.asarray(ids, dtype=np.int64)


def _weights(counts: Sequence[int] | npt.NDArray[np.integer] | None, rows: int) -> Any:
    if counts is None:
        return np.ones(rows, dtype=np.int64)
    weights = np.asarray(counts, dtype=np.int64)
    if weights.shape != (rows,):
        raise ValueError("counts must give one count per row")
    if rows and weights.min() < 0:
        raise ValueError("counts cannot be negative")
    return weights


def _scores(scores: Scores) -> Any:
    values = np.asarray(scores)
    if values.size and (
        not np.issubdtype(values.dtype, np.integer)
        or np.issubdtype(values.dtype, np.bool_)
        or values.min() < 0
        or values.max() > 10
    ):
        raise ValueError("scores must be integers from 0 to 10")
    return values.astype(np.int64).reshape(-1)


def _bincount(ids: Any, weights: Any, size: int) -> Any:
    """Exact integer sums of ``weights`` per id (bincount sums in floats, exact below 2⁵³)."""
    return np.rint(np.bincount(ids, weights=weights, minlength=size)).astype(np.int64)


# ------------------------------------------------------------------------------ key drivers


@functools.cache
def _z975() -> float:
    """The 97.5th percentile of the standard normal distribution."""
    from scipy.stats import norm

    return float(norm.ppf(0.975))


def wilson(successes: int, n: int, z: float | None = None) -> tuple[float, float]:
    """The Wilson score interval of ``successes / n``, as proportions (Wilson 1927); 95% default."""
    if n <= 0:
        return (0.0, 1.0)
    if z is None:
        z = _z975()
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def t_quantile_975(df: int) -> float:
    """Student's t 97.5th percentile with ``df`` degrees of freedom."""
    if df < 1:
        raise ValueError("degrees of freedom must be 1 or more")
    from scipy.stats import t

    return float(t.ppf(0.975, df))


def _independent(gram: Any, order: Sequence[int]) -> list[int]:
    """The columns, taken in ``order``, that are not combinations of the ones kept before.

    Sequential Gram–Schmidt on XᵀX (a pivoted Cholesky in a fixed order): column j is kept
    when the part of it the kept columns do not explain is more than a tiny fraction of it.
    """
    kept: list[int] = []
    for j in order:
        own = float(gram[j, j])
        if own <= 0:
            continue
        if kept:
            sub = gram[np.ix_(kept, kept)]
            cross = gram[kept, j]
            residual = own - float(cross @ np.linalg.solve(sub, cross))
        else:
            residual = own
        if residual > _COLLINEAR * own:
            kept.append(j)
    return kept


def _regression(matrix: Any, size: Any, sum_y: Any, sum_y2: Any) -> tuple[Any, Any, int]:
    """OLS of the score on theme dummies from per-set sums: coefficients, half-widths, df.

    ``matrix`` is sets × themes; ``size``, ``sum_y`` and ``sum_y2`` are, per set, the number of
    answers, the sum of their scores and of their squares. Themes without an estimate are NaN.
    """
    themes = matrix.shape[1]
    coefficient = np.full(themes, np.nan)
    half_width = np.full(themes, np.nan)
    present = size > 0
    n = int(size.sum())
    if n == 0:
        return coefficient, half_width, 0
    weight = size[present].astype(float)
    design = np.column_stack([np.ones(int(present.sum())), matrix[present].astype(float)])
    mean = sum_y[present] / weight
    # The spread within each set: what no dummy can explain.
    within = float(np.clip(sum_y2[present] - sum_y[present] * mean, 0, None).sum())
    gram = design.T @ (design * weight[:, None])
    # The intercept first, then the most mentioned themes: of two aliased themes, the rarer one
    # goes without a coefficient (on a tie, the later key).
    by_mentions = sorted(range(1, themes + 1), key=lambda j: -gram[0, j])
    kept = _independent(gram, [0, *by_mentions])
    df = n - len(kept)
    if df < MIN_RESIDUAL_DF:
        return coefficient, half_width, df
    root = np.sqrt(weight)[:, None]
    a = design[:, kept] * root
    b = mean * root[:, 0]
    beta, *_ = np.linalg.lstsq(a, b, rcond=None)
    rss = within + float(np.sum((a @ beta - b) ** 2))
    covariance = rss / df * np.linalg.inv(a.T @ a)
    se = np.sqrt(np.clip(np.diag(covariance), 0, None))
    t = t_quantile_975(df)
    for position, column in enumerate(kept):
        if column:
            coefficient[column - 1] = beta[position]
            half_width[column - 1] = t * se[position]
    return coefficient, half_width, df


def _points(interval: tuple[float, float]) -> tuple[float, float]:
    return (100.0 * interval[0], 100.0 * interval[1])


def key_drivers(
    scores: Scores,
    themes_per_response: ThemeLists,
    theme_keys: Sequence[str] | None = None,
    *,
    counts: Sequence[int] | npt.NDArray[np.integer] | None = None,
) -> list[Driver]:
    """Per theme: shares by category, NPS impact and promoter lift (Wilson), OLS coefficient.

    Row i is one answer, or ``counts[i]`` identical answers. ``theme_keys`` chooses the themes
    (default: every theme seen); other themes are ignored, their answers still count in n.
    Ranked most damaging first: impact, then mentions, then key. No answers, no drivers.
    """
    y = _scores(scores)
    weights = _weights(counts, y.size)
    category = np.where(y >= surveys.PROMOTER_MIN, 2, np.where(y >= surveys.PASSIVE_MIN, 1, 0))
    by_category = np.zeros((y.size, 3), dtype=np.int64)
    by_category[np.arange(y.size), category] = weights
    return _drivers(
        _Encoded(themes_per_response, theme_keys), by_category, weights * y, weights * y * y
    )


def _drivers(encoded: _Encoded, by_category: Any, sum_y: Any, sum_y2: Any) -> list[Driver]:
    """The drivers from per-row sums: (detractors, passives, promoters), Σ score, Σ score².

    A row is whatever the caller aggregated (one answer, or every answer with one theme list);
    rows are summed again per distinct set of themes.
    """
    rows = encoded.ids.size
    if by_category.shape != (rows, 3) or sum_y.shape != (rows,) or sum_y2.shape != (rows,):
        raise ValueError("one list of themes per score is needed")
    sets = encoded.matrix.shape[0]
    # answers per (set, category), then per (theme, category) through the set matrix
    by_set = np.column_stack([_bincount(encoded.ids, by_category[:, c], sets) for c in range(3)])
    totals = by_set.sum(axis=0)
    n = int(totals.sum())
    if n == 0:
        return []
    by_theme = encoded.matrix.T.astype(np.int64) @ by_set
    coefficient, half_width, _df = _regression(
        encoded.matrix,
        by_set.sum(axis=1),
        np.bincount(encoded.ids, weights=sum_y, minlength=sets),
        np.bincount(encoded.ids, weights=sum_y2, minlength=sets),
    )
    drivers: list[Driver] = []
    for j, theme in enumerate(encoded.keys):
        detractors, passives, promoters = (int(v) for v in by_theme[j])
        mentions = detractors + passives + promoters
        shares = [int(by_theme[j, c]) / int(totals[c]) if totals[c] else None for c in range(3)]
        fitted = not math.isnan(coefficient[j])
        drivers.append(
            Driver(
                theme=theme,
                mentions=mentions,
                detractors=detractors,
                passives=passives,
                promoters=promoters,
                detractor_share=shares[0],
                passive_share=shares[1],
                promoter_share=shares[2],
                impact=100.0 * detractors / n,
                impact_ci95=_points(wilson(detractors, n)),
                promoter_lift=100.0 * promoters / n,
                promoter_lift_ci95=_points(wilson(promoters, n)),
                coefficient=float(coefficient[j]) if fitted else None,
                coefficient_ci95=(
                    (
                        float(coefficient[j] - half_width[j]),
                        float(coefficient[j] + half_width[j]),
                    )
                    if fitted
                    else None
                ),
                small_sample=mentions < SMALL_MENTIONS,
            )
        )
    drivers.sort(key=lambda d: (-d.impact, -d.mentions, d.theme))
    return drivers


def praised(drivers: Iterable[Driver]) -> list[Driver]:
    """The themes promoters mention, the most NPS points carried first (promoter lift)."""
    return sorted(
        (d for d in drivers if d.promoters), key=lambda d: (-d.promoter_lift, -d.mentions, d.theme)
    )


# ------------------------------------------------------------------------------ trend, spikes


def _period_start(moment: dt.date, period: Period) -> dt.date:
    if isinstance(moment, dt.datetime):
        if moment.tzinfo is None:
            raise ValueError("naive datetime: give timezone-aware UTC instants")
        moment = moment.astimezone(dt.UTC).date()
    if period == "week":
        return moment - dt.timedelta(days=moment.weekday())
    return moment.replace(day=1)


def _next_period(start: dt.date, period: Period) -> dt.date:
    if period == "week":
        return start + dt.timedelta(days=7)
    return (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def theme_trend(
    dates: Sequence[dt.date],
    themes_per_response: ThemeLists,
    theme_keys: Sequence[str] | None = None,
    period: Period = "week",
    *,
    counts: Sequence[int] | npt.NDArray[np.integer] | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> ThemeTrend:
    """Per theme and period: answers, mentions and share, every period from start to end kept.

    ``dates`` are dates or aware datetimes (periods are UTC: weeks from Monday, months from the
    1st); ``start`` and ``end`` widen or clip the range to the periods holding them.
    """
    if period not in ("week", "month"):
        raise ValueError("period must be week or month")
    weights = _weights(counts, len(dates))
    encoded = _Encoded(themes_per_response, theme_keys)
    if encoded.ids.size != len(dates):
        raise ValueError("one list of themes per date is needed")
    cache: dict[dt.date, dt.date] = {}
    starts = []
    for moment in dates:
        first = cache.get(moment)
        if first is None:
            first = cache[moment] = _period_start(moment, period)
        starts.append(first)
    low = _period_start(start, period) if start is not None else min(starts, default=None)
    high = _period_start(end, period) if end is not None else max(starts, default=None)
    if low is None or high is None or high < low:
        return ThemeTrend(period=period, periods=[], responses=[], themes=[])
    periods = [low]
    while periods[-1] < high:
        periods.append(_next_period(periods[-1], period))
    position = {p: i for i, p in enumerate(periods)}
    index = np.fromiter((position.get(s, -1) for s in starts), dtype=np.int64, count=len(starts))
    inside = index >= 0
    index, ids, weights = index[inside], encoded.ids[inside], weights[inside]
    size, sets = len(periods), encoded.matrix.shape[0]
    responses = _bincount(index, weights, size)
    by_set = _bincount(ids * size + index, weights, sets * size).reshape(sets, size)
    mentions = encoded.matrix.T.astype(np.int64) @ by_set
    return ThemeTrend(
        period=period,
        periods=periods,
        responses=[int(v) for v in responses],
        themes=[
            ThemeSeries(
                theme=theme,
                mentions=[int(v) for v in mentions[j]],
                share=[
                    int(m) / int(r) if r else None
                    for m, r in zip(mentions[j], responses, strict=True)
                ],
            )
            for j, theme in enumerate(encoded.keys)
        ],
    )


def fisher_greater(x: int, n_1: int, y: int, n_2: int) -> float:
    """One-sided Fisher exact p-value that x of n_1 is a larger share than y of n_2."""
    from scipy.stats import fisher_exact

    table = [[x, n_1 - x], [y, n_2 - y]]
    return float(fisher_exact(table, alternative="greater").pvalue)


def spikes(
    trend: ThemeTrend,
    *,
    themes: Iterable[str] | None = None,
    baseline_periods: int = BASELINE_PERIODS,
    min_baseline_periods: int = MIN_BASELINE_PERIODS,
    min_baseline_responses: int = MIN_BASELINE_RESPONSES,
    min_mentions: int = SPIKE_MIN_MENTIONS,
    min_ratio: float = SPIKE_MIN_RATIO,
    alpha: float = SPIKE_ALPHA,
) -> list[Spike]:
    """The (theme, period) pairs whose share is well above the theme's baseline, oldest first.

    The baseline of a period is the pooled share over the ``baseline_periods`` periods before
    it (mentions / answers). A period spikes when all hold:

    - at least ``min_baseline_periods`` earlier periods and ``min_baseline_responses`` answers
      in them (no verdict on a new store);
    - at least ``min_mentions`` mentions in the period (no alarm on 2 mentions out of 3);
    - its share is at least ``min_ratio`` × the baseline share (a change worth reading: at
      10,000 answers a week, 5% → 5.5% is significant but not news);
    - the one-sided Fisher exact test of the two shares gives p < ``alpha``. 0.001 because
      every theme is tested every period: 30 themes a week make under 1.6 false alarms a year
      from chance alone (Fisher's test is conservative, so fewer).
    """
    wanted = None if themes is None else set(themes)
    found: list[Spike] = []
    responses = trend.responses
    for series in trend.themes:
        if wanted is not None and series.theme not in wanted:
            continue
        mentions = series.mentions
        for t in range(min_baseline_periods, len(trend.periods)):
            window = range(max(0, t - baseline_periods), t)
            x, n_t = mentions[t], responses[t]
            y = sum(mentions[i] for i in window)
            n_b = sum(responses[i] for i in window)
            if x < min_mentions or n_t == 0 or n_b < min_baseline_responses:
                continue
            share, base = x / n_t, y / n_b
            if share < min_ratio * base or share <= base:
                continue
            p_value = fisher_greater(x, n_t, y, n_b)
            if p_value >= alpha:
                continue
            pooled = (x + y) / (n_t + n_b)
            z = (share - base) / math.sqrt(pooled * (1 - pooled) * (1 / n_t + 1 / n_b))
            found.append(
                Spike(
                    theme=series.theme,
                    period_start=trend.periods[t],
                    mentions=x,
                    responses=n_t,
                    share=share,
                    baseline_periods=len(window),
                    baseline_mentions=y,
                    baseline_responses=n_b,
                    baseline_share=base,
                    z=z,
                    p_value=p_value,
                )
            )
    found.sort(key=lambda s: (s.period_start, s.p_value, s.theme))
    return found


# ------------------------------------------------------------------------------ queries


def _themes_of(value: Any, decoded: dict[str, list[str]]) -> list[str]:
    """A stored themes value as a list: JSON text is decoded once per distinct text."""
    if value is None:
        return []
    if isinstance(value, str):
        themes = decoded.get(value)
        if themes is None:
            loaded = orjson.loads(value)
            themes = decoded[value] = loaded if isinstance(loaded, list) else []
        return themes
    return list(value) if isinstance(value, list) else []


def drivers_for(
    session: Session,
    workspace_id: str,
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    survey_id: int | None = None,
    channel: str | None = None,
    touchpoint: str | None = None,
    theme_keys: Sequence[str] | None = None,
) -> DriversReport:
    """The key drivers of the confirmed answers created in [since, until), ranked by impact.

    ``n`` and ``nps`` count every answer; the drivers leave out those in another language than
    French or English that no one gave themes to (``not_tagged``): their text was not read.
    """
    if since is not None and until is not None and until <= since:
        raise InvalidInput("until", "must be after since")
    filters = DashboardFilters(survey_id=survey_id, channel=channel, touchpoint=touchpoint)
    rows = surveys.theme_groups(session, workspace_id, filters, since=since, until=until)
    decoded: dict[str, list[str]] = {}
    lists = [_themes_of(r[0], decoded) for r in rows]
    sums = np.array([r[1:] for r in rows], dtype=np.int64).reshape(len(rows), 10)
    # Answers in another language and without themes were not read (a person may still have
    # set themes on one: those count): they weigh in the NPS, not in the drivers.
    unread = sums[:, 5:] * np.array([not themes for themes in lists], dtype=np.int64)[:, None]
    read = sums[:, :5] - unread
    detractors, passives, promoters = (int(v) for v in sums[:, :3].sum(axis=0))
    nps = surveys.summarize(promoters=promoters, passives=passives, detractors=detractors)
    drivers = _drivers(_Encoded(lists, theme_keys), read[:, :3], read[:, 3], read[:, 4])
    return DriversReport(n=nps.n, nps=nps, not_tagged=int(unread[:, :3].sum()), drivers=drivers)


def trend_for(
    session: Session,
    workspace_id: str,
    *,
    weeks: int = 12,
    until: dt.datetime | None = None,
    survey_id: int | None = None,
    channel: str | None = None,
    touchpoint: str | None = None,
    theme_keys: Sequence[str] | None = None,
) -> ThemeTrend:
    """The themes of the last ``weeks`` weeks of confirmed answers, up to ``until`` (now).

    The last week is the one holding ``until`` (so, by default, the current one, partial).
    """
    if not 1 <= weeks <= surveys.MAX_PERIODS:
        raise InvalidInput("weeks", f"must be from 1 to {surveys.MAX_PERIODS}")
    until = until or utcnow()
    last = surveys.period_start(until, "week")
    starts = [last - dt.timedelta(days=7 * (weeks - 1 - i)) for i in range(weeks)]
    filters = DashboardFilters(survey_id=survey_id, channel=channel, touchpoint=touchpoint)
    bounds = list(itertools.pairwise([*starts, until]))
    decoded: dict[str, list[str]] = {}
    dates: list[dt.date] = []
    themes: list[list[str]] = []
    counts: list[int] = []
    for start, text, count, other in surveys.theme_groups_by_period(
        session, workspace_id, filters, bounds
    ):
        found = _themes_of(text, decoded)
        dates.append(start)
        themes.append(found)
        # as for the drivers: untagged answers in another language are not in the shares
        counts.append(count if found else count - other)
    return theme_trend(
        dates,
        themes,
        theme_keys,
        "week",
        counts=counts,
        start=starts[0].date(),
        end=starts[-1].date(),
    )


__all__ = [
    "BASELINE_PERIODS",
    "SMALL_MENTIONS",
    "Driver",
    "DriversReport",
    "Spike",
    "ThemeSeries",
    "ThemeTrend",
    "drivers_for",
    "fisher_greater",
    "key_drivers",
    "praised",
    "spikes",
    "t_quantile_975",
    "theme_trend",
    "trend_for",
    "wilson",
]
