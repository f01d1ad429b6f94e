"""Key drivers, theme trends and spikes: hand-computed cases, then the queries on both stores."""

from __future__ import annotations

import datetime as dt
import itertools
import math

import numpy as np
import pytest
from sqlalchemy.orm import Session

from cxloop.errors import InvalidInput
from cxloop.store.db import Database
from cxloop.surveys import dashboard, stats
from cxloop.surveys.models import Response
from cxloop.surveys.schemas import DashboardFilters
from cxloop.themes import drivers
from cxloop.themes.drivers import Driver, ThemeSeries, ThemeTrend
from cxloop.workspaces import service as workspaces
from cxloop.workspaces.schemas import WorkspaceCreate
from tests.helpers import factories as f

# Ten answers whose every figure is worked out by hand below.
#
# | score | category  | themes               |
# |-------|-----------|----------------------|
# | 0     | detractor | delivery             |
# | 3     | detractor | delivery, price      |
# | 5     | detractor | price                |
# | 6     | detractor | —                    |
# | 7     | passive   | delivery             |
# | 8     | passive   | —                    |
# | 9     | promoter  | quality              |
# | 10    | promoter  | quality              |
# | 10    | promoter  | quality, delivery    |
# | 9     | promoter  | —                    |
SCORES = [0, 3, 5, 6, 7, 8, 9, 10, 10, 9]
THEMES = [
    ["delivery"],
    ["delivery", "price"],
    ["price"],
    [],
    ["delivery"],
    [],
    ["quality"],
    ["quality"],
    ["quality", "delivery"],
    [],
]


def by_theme(result: list[Driver]) -> dict[str, Driver]:
    return {d.theme: d for d in result}


# ------------------------------------------------------------------ key drivers


def test_shares_impact_and_lift_of_each_theme() -> None:
    # given ten answers: 4 detractors, 2 passives, 4 promoters (NPS 0)
    # when
    result = by_theme(drivers.key_drivers(SCORES, THEMES))
    # then delivery: detractors 0 and 3, passive 7, promoter 10
    delivery = result["delivery"]
    assert (delivery.mentions, delivery.detractors, delivery.passives, delivery.promoters) == (
        4,
        2,
        1,
        1,
    )
    assert (delivery.detractor_share, delivery.passive_share, delivery.promoter_share) == (
        2 / 4,
        1 / 2,
        1 / 4,
    )
    # two detractors turned passive: NPS from (4 − 4)/10 to (4 − 2)/10, +20 points
    assert delivery.impact == pytest.approx(20.0)
    assert delivery.promoter_lift == pytest.approx(10.0)
    price, quality = result["price"], result["quality"]
    assert (price.mentions, price.impact, price.promoter_lift) == (2, 20.0, 0.0)
    assert (price.detractor_share, price.passive_share, price.promoter_share) == (0.5, 0.0, 0.0)
    assert (quality.mentions, quality.impact, quality.promoter_lift) == (3, 0.0, 30.0)
    assert quality.promoter_share == 3 / 4
    # and every theme here has fewer than 30 mentions
    assert all(d.small_sample for d in result.values())


def test_impact_interval_is_wilson() -> None:
    # 2 detractors mentioning it of 10 answers: Wilson 95% interval 5.67%–50.98%
    delivery = by_theme(drivers.key_drivers(SCORES, THEMES))["delivery"]
    assert delivery.impact_ci95 == pytest.approx((5.6682, 50.9838), abs=1e-4)
    assert delivery.promoter_lift_ci95 == pytest.approx(
        tuple(100 * v for v in drivers.wilson(1, 10))
    )


@pytest.mark.parametrize(
    ("successes", "n", "expected"),
    [
        # Newcombe (1998), Statistics in Medicine 17, 857–872, table II, method 3 (Wilson).
        (81, 263, (0.2553, 0.3662)),
        (15, 148, (0.0624, 0.1605)),
        (0, 20, (0.0, 0.1611)),
        (1, 29, (0.0061, 0.1718)),
    ],
)
def test_wilson_matches_the_published_intervals(
    successes: int, n: int, expected: tuple[float, float]
) -> None:
    assert drivers.wilson(successes, n) == pytest.approx(expected, abs=5e-5)


def test_ranked_most_damaging_first_ties_by_mentions() -> None:
    # delivery and price both cost 20 points; delivery has more mentions
    result = drivers.key_drivers(SCORES, THEMES)
    assert [d.theme for d in result] == ["delivery", "price", "quality"]
    # and praise ranks by promoter lift, leaving out themes no promoter mentions
    assert [d.theme for d in drivers.praised(result)] == ["quality", "delivery"]


def test_chosen_themes_only_and_unmentioned_ones_kept() -> None:
    # when asking for two themes, one of which nobody mentions
    result = drivers.key_drivers(SCORES, THEMES, ["quality", "returns"])
    # then the others are ignored, but their answers still count in n
    assert [(d.theme, d.mentions, d.promoter_lift) for d in result] == [
        ("quality", 3, 30.0),
        ("returns", 0, 0.0),
    ]
    assert result[1].coefficient is None


def test_grouped_rows_equal_the_same_answers_one_by_one() -> None:
    # given the same answers, once per answer and once as (score, themes) × count
    groups: dict[tuple[int, tuple[str, ...]], int] = {}
    for score, themes in zip(SCORES * 3, THEMES * 3, strict=True):
        key = (score, tuple(themes))
        groups[key] = groups.get(key, 0) + 1
    one_by_one = drivers.key_drivers(SCORES * 3, THEMES * 3)
    grouped = drivers.key_drivers(
        [s for s, _ in groups], [list(t) for _, t in groups], counts=list(groups.values())
    )
    assert grouped == one_by_one


def test_no_answers_no_drivers_and_bad_input_refused() -> None:
    assert drivers.key_drivers([], []) == []
    with pytest.raises(ValueError, match="scores"):
        drivers.key_drivers([11], [["a"]])
    with pytest.raises(ValueError, match="one list of themes"):
        drivers.key_drivers([1, 2], [["a"]])
    with pytest.raises(ValueError, match="repeat"):
        drivers.key_drivers([1], [["a"]], ["a", "a"])


def _designed(per_cell: int) -> tuple[list[int], list[list[str]]]:
    """Scores = 8 − 4·slow + 1·gift ± 1, balanced: every cell has per_cell at −1 and at +1."""
    scores: list[int] = []
    themes: list[list[str]] = []
    for slow, gift in itertools.product((0, 1), (0, 1)):
        mean = 8 - 4 * slow + gift
        cell = [t for t, on in (("slow", slow), ("gift", gift)) if on]
        for offset in (-1, 1):
            scores += [mean + offset] * per_cell
            themes += [list(cell)] * per_cell
    return scores, themes


def test_regression_recovers_the_built_in_coefficients() -> None:
    # given 40 answers built as 8 − 4·slow + 1·gift, residuals ±1 balanced in every cell
    scores, themes = _designed(per_cell=5)
    # when
    result = by_theme(drivers.key_drivers(scores, themes))
    # then OLS finds −4 and +1 exactly; σ² = RSS/(n − p) = 40/37, and in a balanced 2×2
    # design Var(b) = 4σ²/n, so se = 2/√37, and the interval is ± t(0.975, 37) · se
    half = 2.0261924630 * 2 / math.sqrt(37)
    assert result["slow"].coefficient == pytest.approx(-4.0)
    assert result["slow"].coefficient_ci95 == pytest.approx((-4 - half, -4 + half), abs=1e-6)
    assert result["gift"].coefficient == pytest.approx(1.0)
    assert result["gift"].coefficient_ci95 == pytest.approx((1 - half, 1 + half), abs=1e-6)


def test_regression_matches_least_squares_on_every_answer() -> None:
    # given random answers with three themes
    rng = np.random.default_rng(3)
    mentioned = rng.random((300, 3)) < [0.3, 0.2, 0.1]
    noise = rng.normal(0, 2, 300)
    scores = np.clip(np.rint(7 - 3 * mentioned[:, 0] + mentioned[:, 1] + noise), 0, 10)
    themes = [[k for k, on in zip("abc", row, strict=True) if on] for row in mentioned]
    # when
    result = by_theme(drivers.key_drivers(scores.astype(int), themes))
    # then the coefficients are numpy's least squares on the full 300 × 4 design
    design = np.column_stack([np.ones(300), mentioned]).astype(float)
    beta, *_ = np.linalg.lstsq(design, scores, rcond=None)
    assert [result[k].coefficient for k in "abc"] == pytest.approx(list(beta[1:]))


def test_collinear_and_universal_themes_get_no_coefficient() -> None:
    # given "transit" always together with "slow", and "order" on every answer
    scores, themes = _designed(per_cell=5)
    themes = [[*t, "order", *(["transit"] if "slow" in t else [])] for t in themes]
    # when
    result = by_theme(drivers.key_drivers(scores, themes))
    # then the constant has none, nor the twin (as many mentions: the later key goes without)
    assert result["transit"].coefficient is None
    assert result["order"].coefficient is None
    assert result["slow"].coefficient == pytest.approx(-4.0)
    assert result["gift"].coefficient == pytest.approx(1.0)
    # and the shares and impact of the aliased theme are still there
    assert result["transit"].mentions == result["slow"].mentions == 20
    assert result["transit"].impact == result["slow"].impact


def test_too_few_answers_for_a_regression() -> None:
    # given 12 answers and 3 parameters: 9 residual degrees of freedom, fewer than 10
    scores, themes = _designed(per_cell=1)
    scores, themes = scores + scores[:4], themes + themes[:4]
    result = drivers.key_drivers(scores, themes)
    assert [d.coefficient for d in result] == [None, None]
    # and one more answer is enough
    result = drivers.key_drivers([*scores, 8], [*themes, []])
    assert all(d.coefficient is not None for d in result)


def test_t_quantile_matches_the_tables() -> None:
    # Student's t, 97.5th percentile, from the usual tables (3 decimals)
    for df, expected in ((10, 2.228), (20, 2.086), (30, 2.042), (120, 1.980)):
        assert drivers.t_quantile_975(df) == pytest.approx(expected, abs=5e-4)


# ------------------------------------------------------------------ theme trend


def utc(day: str, hour: int = 12) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=dt.UTC)


def test_weekly_trend_counts_answers_and_mentions_per_week() -> None:
    # given answers on Mon 5 Jan, Sun 11 Jan (same week), and Tue 20 Jan; none the week between
    dates = [utc("2026-01-05", 0), utc("2026-01-11", 23), utc("2026-01-11"), utc("2026-01-20")]
    themes = [["price"], ["price", "delivery"], [], ["delivery"]]
    # when
    trend = drivers.theme_trend(dates, themes)
    # then three weeks from Monday 5 January, the empty one kept
    assert trend == ThemeTrend(
        period="week",
        periods=[dt.date(2026, 1, 5), dt.date(2026, 1, 12), dt.date(2026, 1, 19)],
        responses=[3, 0, 1],
        themes=[
            ThemeSeries(theme="delivery", mentions=[1, 0, 1], share=[1 / 3, None, 1.0]),
            ThemeSeries(theme="price", mentions=[2, 0, 0], share=[2 / 3, None, 0.0]),
        ],
    )


def test_monthly_trend_with_counts_and_a_wider_range() -> None:
    # given grouped rows, and a range that starts a month before the first answer
    trend = drivers.theme_trend(
        [dt.date(2026, 2, 3), dt.date(2026, 2, 28), dt.date(2026, 3, 1)],
        [["price"], [], ["price"]],
        ["price"],
        "month",
        counts=[4, 6, 5],
        start=dt.date(2026, 1, 15),
    )
    assert trend.periods == [dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 3, 1)]
    assert trend.responses == [0, 10, 5]
    assert trend.themes == [ThemeSeries(theme="price", mentions=[0, 4, 5], share=[None, 0.4, 1])]


def test_trend_refuses_naive_times() -> None:
    with pytest.raises(ValueError, match="naive"):
        drivers.theme_trend([dt.datetime(2026, 1, 5)], [[]])  # noqa: DTZ001


# ------------------------------------------------------------------ spikes


def weekly(mentions: list[int], responses: list[int] | int = 100) -> ThemeTrend:
    """A weekly trend of one theme, "delivery", from Monday 5 January 2026."""
    sizes = responses if isinstance(responses, list) else [responses] * len(mentions)
    start = dt.date(2026, 1, 5)
    return ThemeTrend(
        period="week",
        periods=[start + dt.timedelta(weeks=i) for i in range(len(mentions))],
        responses=sizes,
        themes=[
            ThemeSeries(
                theme="delivery",
                mentions=mentions,
                share=[m / n if n else None for m, n in zip(mentions, sizes, strict=True)],
            )
        ],
    )


def test_a_constructed_spike_fires_once_with_its_figures() -> None:
    # given 5% of 100 answers for nine weeks, then 20% in the tenth
    trend = weekly([5] * 9 + [20])
    # when
    [spike] = drivers.spikes(trend)
    # then only the tenth week, against the eight weeks before it (40 of 800)
    assert (spike.theme, spike.period_start) == ("delivery", dt.date(2026, 3, 9))
    assert (spike.mentions, spike.responses, spike.share) == (20, 100, 0.2)
    assert (spike.baseline_periods, spike.baseline_mentions, spike.baseline_responses) == (
        8,
        40,
        800,
    )
    assert spike.baseline_share == 0.05
    # one-sided Fisher exact test of 20/100 against 40/800 (scipy.stats.fisher_exact agrees)
    assert spike.p_value == pytest.approx(1.3953455572e-06, rel=1e-8)
    pooled = 60 / 900
    z = 0.15 / math.sqrt(pooled * (1 - pooled) * (1 / 100 + 1 / 800))
    assert spike.z == pytest.approx(z)


def test_ordinary_noise_does_not_fire() -> None:
    # given mentions wandering around 5% of 100, up to 9% one week (Fisher p ≈ 0.08)
    trend = weekly([5, 3, 7, 4, 6, 5, 8, 2, 5, 9, 4, 6])
    assert drivers.spikes(trend) == []


def test_tiny_counts_do_not_fire() -> None:
    # given a theme never seen for eight weeks, then 4 of 10 answers: extreme, but 4 mentions
    trend = weekly([0] * 8 + [4], responses=[100] * 8 + [10])
    assert drivers.spikes(trend) == []
    # and it is the minimum count that holds it back
    assert len(drivers.spikes(trend, min_mentions=4)) == 1


def test_no_verdict_without_a_baseline() -> None:
    # three earlier weeks only, or eight weeks of 3 answers (24 < 30)
    assert drivers.spikes(weekly([1, 1, 1, 30])) == []
    assert drivers.spikes(weekly([0] * 8 + [10], responses=[3] * 8 + [20])) == []


def test_a_significant_but_small_rise_does_not_fire() -> None:
    # given 10,000 answers a week: 5% → 6% is significant (p ≈ 1.5e-5) but only ×1.2
    trend = weekly([500] * 8 + [600], responses=10_000)
    assert drivers.spikes(trend) == []
    assert len(drivers.spikes(trend, min_ratio=1.0)) == 1


def test_spikes_of_chosen_themes_only() -> None:
    trend = weekly([5] * 9 + [20])
    assert drivers.spikes(trend, themes=["price"]) == []
    assert len(drivers.spikes(trend, themes=["delivery"])) == 1


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        # Fisher's tea-tasting: 4 of 4 cups right, p = 1/70
        ((4, 4, 0, 4), 1 / 70),
        # 3 of 3 against 0 of 3: C(3,3)·C(3,0)/C(6,3) = 1/20
        ((3, 3, 0, 3), 1 / 20),
        # no larger share at all
        ((0, 10, 5, 10), 1.0),
    ],
)
def test_fisher_exact_small_tables(table: tuple[int, int, int, int], expected: float) -> None:
    assert drivers.fisher_greater(*table) == pytest.approx(expected)


# ------------------------------------------------------------------ queries, both stores


def answer(
    session: Session,
    workspace_id: str,
    score: int,
    themes: list[str],
    created_at: dt.datetime,
    **fields: object,
) -> None:
    """A confirmed answer (unless ``status`` says otherwise)."""
    values: dict[str, object] = {
        "status": "confirmed",
        "channel": "email",
        "touchpoint": "after_order",
        "locale": "fr",
        **fields,
    }
    session.add(
        Response(
            workspace_id=workspace_id,
            score=score,
            category=stats.category_of(score),
            themes=themes,
            created_at=created_at,
            updated_at=created_at,
            **values,
        )
    )


def seed(db: Database) -> tuple[str, int]:
    """The ten answers above in January, plus what must not count; returns (workspace, survey)."""
    with db.session() as session:
        ws = workspaces.create_workspace(session, WorkspaceCreate(name="Boutique")).workspace_id
        other = workspaces.create_workspace(session, WorkspaceCreate(name="Autre")).workspace_id
    survey_id = f.survey(db, ws)
    with db.session() as session:
        for i, (score, themes) in enumerate(zip(SCORES, THEMES, strict=True)):
            answer(session, ws, score, themes, utc("2026-01-05") + dt.timedelta(days=i))
        # not counted: provisional, another workspace, outside January (when asked)
        answer(session, ws, 0, ["price"], utc("2026-01-06"), status="provisional")
        answer(session, other, 0, ["price"], utc("2026-01-06"))
        answer(session, ws, 0, ["price"], utc("2026-02-10"), channel="widget")
        answer(session, ws, 10, ["quality"], utc("2026-02-11"), survey_id=survey_id)
    return ws, survey_id


def test_drivers_for_reads_the_confirmed_answers_of_the_range(any_db: Database) -> None:
    # given
    ws, _survey = seed(any_db)
    january = {"since": utc("2026-01-01", 0), "until": utc("2026-02-01", 0)}
    # when
    with any_db.session() as session:
        report = drivers.drivers_for(session, ws, **january)
        overview = dashboard.overview(
            session, ws, DashboardFilters(start=january["since"], end=january["until"])
        )
    # then the figures are the hand-computed ones, and n and NPS are the dashboard's
    assert (report.n, report.nps.nps) == (10, 0.0)
    assert report.nps == overview.summary
    assert report.drivers == drivers.key_drivers(SCORES, THEMES)
    assert [(d.theme, d.impact) for d in report.drivers] == [
        ("delivery", 20.0),
        ("price", 20.0),
        ("quality", 0.0),
    ]


def test_drivers_for_takes_the_filters(any_db: Database) -> None:
    ws, survey_id = seed(any_db)
    with any_db.session() as session:
        everything = drivers.drivers_for(session, ws)
        widget = drivers.drivers_for(session, ws, channel="widget")
        surveyed = drivers.drivers_for(session, ws, survey_id=survey_id)
        nothing = drivers.drivers_for(session, ws, until=utc("2026-01-01"))
        with pytest.raises(InvalidInput, match="until"):
            drivers.drivers_for(session, ws, since=utc("2026-02-01"), until=utc("2026-01-01"))
    assert (everything.n, by_theme(everything.drivers)["price"].detractors) == (12, 3)
    assert [(d.theme, d.mentions, d.impact) for d in widget.drivers] == [("price", 1, 100.0)]
    assert [(d.theme, d.promoter_lift) for d in surveyed.drivers] == [("quality", 100.0)]
    assert (nothing.n, nothing.nps.nps, nothing.drivers) == (0, None, [])


def test_trend_for_gives_the_last_weeks_up_to_now(any_db: Database) -> None:
    # given the ten answers from Monday 5 to Wednesday 14 January
    ws, _survey = seed(any_db)
    # when asking for four weeks on Thursday 15 January at noon
    with any_db.session() as session:
        trend = drivers.trend_for(session, ws, weeks=4, until=utc("2026-01-15"))
        with pytest.raises(InvalidInput, match="weeks"):
            drivers.trend_for(session, ws, weeks=0)
    # then weeks from 22 December; 7 answers the week of the 5th, 3 the (current) week of the 12th
    assert trend.periods == [dt.date(2025, 12, 22) + dt.timedelta(weeks=i) for i in range(4)]
    assert trend.responses == [0, 0, 7, 3]
    assert {s.theme: s.mentions for s in trend.themes} == {
        "delivery": [0, 0, 3, 1],
        "price": [0, 0, 2, 0],
        "quality": [0, 0, 1, 2],
    }
