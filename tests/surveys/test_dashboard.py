"""The NPS dashboard on a small store whose every figure is known, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cxloop.commerce import service as commerce_service
from cxloop.commerce.models import Order, OrderItem, Product
from cxloop.errors import InvalidInput
from cxloop.profiles.models import Customer
from cxloop.store.db import Database, downgrade, migrate
from cxloop.surveys import dashboard, rollups, stats
from cxloop.surveys.models import Invitation, Response, Survey
from cxloop.surveys.schemas import Breakdown, DashboardFilters, Funnel, NpsSummary, VerbatimFilters
from cxloop.workspaces import service as workspaces
from cxloop.workspaces.schemas import WorkspaceCreate

_numbers = itertools.count(1)


def at(day: str, hour: int = 12) -> dt.datetime:
    """A UTC instant on ``day`` (YYYY-MM-DD)."""
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=dt.UTC)


# ------------------------------------------------------------------ factories


def make_workspace(session: Session, name: str) -> str:
    """A workspace; returns its id."""
    return workspaces.create_workspace(session, WorkspaceCreate(name=name)).workspace_id


def make_survey(session: Session, workspace_id: str, touchpoint: str) -> int:
    """A survey at ``touchpoint``; returns its id."""
    trigger = "order_completed" if touchpoint == "after_order" else "shipment_delivered"
    row = Survey(
        workspace_id=workspace_id,
        key=f"s{next(_numbers)}",
        name=touchpoint,
        trigger=trigger,
        touchpoint=touchpoint,
    )
    session.add(row)
    session.flush()
    return row.id


def make_order(
    session: Session,
    workspace_id: str,
    customer_id: int | None,
    placed_at: dt.datetime,
    products: list[int],
    status: str = "paid",
) -> int:
    """An order with one line per product; returns its id."""
    order = Order(
        workspace_id=workspace_id,
        external_id=f"#{next(_numbers)}",
        customer_id=customer_id,
        placed_at=placed_at,
        status=status,
    )
    session.add(order)
    session.flush()
    for product_id in products:
        session.add(
            OrderItem(
                workspace_id=workspace_id,
                order_id=order.id,
                product_id=product_id,
                sku=f"SKU{product_id}",
                title="x",
                unit_price_cents=1000,
                total_cents=1000,
            )
        )
    session.flush()
    return order.id


def make_invitation(
    session: Session,
    workspace_id: str,
    survey_id: int,
    channel: str,
    *,
    sent_at: dt.datetime | None,
    order_id: int | None = None,
    locale: str = "fr",
    touchpoint: str = "after_order",
    steps: str = "",
) -> int:
    """An invitation; ``steps`` names the funnel timestamps set (d, o, c, r, m); returns its id."""
    n = next(_numbers)
    when = sent_at or at("2026-01-01")
    stamp = {key: (when + dt.timedelta(hours=1) if key in steps else None) for key in "docrm"}
    row = Invitation(
        workspace_id=workspace_id,
        survey_id=survey_id,
        subject_key=f"order:{n}",
        order_id=order_id,
        touchpoint=touchpoint,
        channel=channel,
        locale=locale,
        status="sent" if sent_at else "scheduled",
        token=f"token-{n}",
        scheduled_at=when,
        sent_at=sent_at,
        delivered_at=stamp["d"],
        opened_at=stamp["o"],
        clicked_at=stamp["c"],
        responded_at=stamp["r"],
        commented_at=stamp["m"],
        expires_at=when + dt.timedelta(days=30),
    )
    session.add(row)
    session.flush()
    return row.id


def make_response(
    session: Session,
    workspace_id: str,
    score: int,
    created_at: dt.datetime,
    *,
    status: str = "confirmed",
    survey_id: int | None = None,
    invitation_id: int | None = None,
    customer_id: int | None = None,
    channel: str = "email",
    touchpoint: str = "after_order",
    locale: str = "fr",
    country: str | None = None,
    comment: str = "",
    themes: list[str] | None = None,
) -> int:
    """An answer, with its order's segment and categories as recording copies them; its id."""
    invitation = session.get(Invitation, invitation_id) if invitation_id else None
    order_id = invitation.order_id if invitation else None
    segment, categories = commerce_service.order_facets(session, [order_id]).get(
        order_id or 0, (None, "")
    )
    row = Response(
        segment=segment,
        categories=categories,
        workspace_id=workspace_id,
        survey_id=survey_id,
        invitation_id=invitation_id,
        customer_id=customer_id,
        score=score,
        category=stats.category_of(score),
        status=status,
        channel=channel,
        touchpoint=touchpoint,
        locale=locale,
        country=country,
        comment=comment,
        themes=themes or [],
        created_at=created_at,
        updated_at=created_at,
    )
    session.add(row)
    session.flush()
    return row.id


@dataclass
class Shop:
    """The seeded store: ids the tests refer to."""

    workspace_id: str
    other_workspace_id: str
    survey_order: int
    survey_delivery: int
    responses: dict[str, int]


@pytest.fixture
def shop(any_db: Database) -> Shop:
    """Four confirmed answers, one provisional, one elsewhere; invitations for the funnel.

    | answer | score | channel | touchpoint     | locale | country | its order (categories)  |
    |--------|-------|---------|----------------|--------|---------|-------------------------|
    | r1     | 10    | email   | after_order    | fr     | FR      | alice's 1st (2 robes,   |
    |        |       |         |                |        |         | chaussures)             |
    | r2     | 6     | email   | after_delivery | en     | BE      | bob's 1st live (none)   |
    | r3     | 8     | link    | after_delivery | fr     | FR      | alice's 2nd (chaussures)|
    | r5     | 3     | widget  | (blank)        | en     | —       | no order                |
    | r4     | 0     | email, provisional: never counted                                |
    """
    with any_db.session() as s:
        ws = make_workspace(s, "Boutique")
        other = make_workspace(s, "Ailleurs")
        s_order = make_survey(s, ws, "after_order")
        s_delivery = make_survey(s, ws, "after_delivery")
        products = {}
        for key, category in (("robe", "robes"), ("shoe", "chaussures"), ("misc", "")):
            product = Product(
                workspace_id=ws, sku=key, title=key, category=category, price_cents=1000
            )
            s.add(product)
            s.flush()
            products[key] = product.id
        alice = Customer(workspace_id=ws, user_id="alice", country="FR")
        bob = Customer(workspace_id=ws, user_id="bob", country="BE")
        s.add_all([alice, bob])
        s.flush()
        make_order(s, ws, bob.id, at("2025-12-01"), [products["shoe"]], status="cancelled")
        o_alice1 = make_order(
            s,
            ws,
            alice.id,
            at("2026-01-04"),
            [products["robe"], products["robe"], products["shoe"]],
        )
        o_bob1 = make_order(s, ws, bob.id, at("2026-01-19"), [products["misc"]])
        o_alice2 = make_order(s, ws, alice.id, at("2026-02-09"), [products["shoe"]])
        o_anon = make_order(s, ws, None, at("2026-02-01"), [products["robe"]])

        i1 = make_invitation(
            s, ws, s_order, "email", sent_at=at("2026-01-05", 8), order_id=o_alice1, steps="docrm"
        )
        i2 = make_invitation(
            s, ws, s_delivery, "email", sent_at=at("2026-01-21"), order_id=o_bob1, steps="docr",
            locale="en", touchpoint="after_delivery",
        )  # fmt: skip
        i3 = make_invitation(
            s, ws, s_delivery, "link", sent_at=at("2026-02-11", 8), order_id=o_alice2,
            steps="crm", touchpoint="after_delivery",
        )  # fmt: skip
        i4 = make_invitation(
            s, ws, s_order, "email", sent_at=at("2026-02-02"), order_id=o_anon, steps="do"
        )
        make_invitation(s, ws, s_order, "email", sent_at=at("2026-02-03"), steps="d")
        make_invitation(s, ws, s_order, "email", sent_at=None)
        make_invitation(s, ws, s_order, "sms", sent_at=None)
        i7 = make_invitation(
            s, ws, s_order, "widget", sent_at=at("2026-02-12", 8), steps="cr", locale="en"
        )
        other_survey = make_survey(s, other, "after_order")
        other_invitation = make_invitation(
            s, other, other_survey, "email", sent_at=at("2026-01-10"), steps="docrm"
        )

        responses = {
            "r1": make_response(
                s, ws, 10, at("2026-01-05", 13), survey_id=s_order, invitation_id=i1,
                customer_id=alice.id, country="FR", comment="Livraison rapide, merci !",
                themes=["delivery_delay"],
            ),
            "r2": make_response(
                s, ws, 6, at("2026-01-22", 9), survey_id=s_delivery, invitation_id=i2,
                customer_id=bob.id, touchpoint="after_delivery", locale="en", country="BE",
            ),
            "r3": make_response(
                s, ws, 8, at("2026-02-11", 18), survey_id=s_delivery, invitation_id=i3,
                customer_id=alice.id, channel="link", touchpoint="after_delivery", country="FR",
                comment="Bien, mais 100% coton ? Non.", themes=["product_quality"],
            ),
            "r4": make_response(
                s, ws, 0, at("2026-02-02", 13), status="provisional", survey_id=s_order,
                invitation_id=i4, comment="scanner",
            ),
            "r5": make_response(
                s, ws, 3, at("2026-02-12", 10), invitation_id=i7, channel="widget",
                touchpoint="", locale="en", comment="FRAIS de port trop chers",
                themes=["delivery_cost", "price"],
            ),
            "elsewhere": make_response(
                s, other, 0, at("2026-01-10", 13), survey_id=other_survey,
                invitation_id=other_invitation, comment="pas ici",
            ),
        }  # fmt: skip
    return Shop(ws, other, s_order, s_delivery, responses)


def counts(summary: NpsSummary) -> tuple[int, int, int, int, float | None]:
    """(n, promoters, passives, detractors, nps)."""
    return summary.n, summary.promoters, summary.passives, summary.detractors, summary.nps


def rows(result: Breakdown) -> list[tuple[str | None, int, float | None]]:
    """(key, n, nps) per row, in the order given."""
    return [(row.key, row.summary.n, row.summary.nps) for row in result.rows]


# ------------------------------------------------------------------ overview


def test_overview_counts_the_confirmed_answers_of_the_workspace_only(
    any_db: Database, shop: Shop
) -> None:
    with any_db.session() as s:
        result = dashboard.overview(s, shop.workspace_id)
    # r1 10, r2 6, r3 8, r5 3: the provisional 0 and the other workspace's 0 are left out
    assert counts(result.summary) == (4, 1, 1, 2, -25.0)
    assert result.summary == stats.nps_summary([10, 6, 8, 3])
    assert [(c.score, c.count) for c in result.distribution if c.count] == [
        (3, 1),
        (6, 1),
        (8, 1),
        (10, 1),
    ]
    assert [c.score for c in result.distribution] == list(range(11))


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"start": at("2026-02-01", 0)}, (2, 0, 1, 1, -50.0)),
        ({"end": at("2026-02-01", 0)}, (2, 1, 0, 1, 0.0)),
        ({"start": at("2026-01-05", 13), "end": at("2026-01-22", 9)}, (1, 1, 0, 0, 100.0)),
        ({"channel": "email"}, (2, 1, 0, 1, 0.0)),
        ({"touchpoint": "after_order"}, (1, 1, 0, 0, 100.0)),
        ({"locale": "en"}, (2, 0, 0, 2, -100.0)),
        ({"channel": "sms"}, (0, 0, 0, 0, None)),
    ],
)
def test_overview_filters(
    any_db: Database, shop: Shop, filters: dict[str, Any], expected: tuple[Any, ...]
) -> None:
    with any_db.session() as s:
        result = dashboard.overview(s, shop.workspace_id, DashboardFilters(**filters))
    assert counts(result.summary) == expected


def test_overview_filters_by_survey(any_db: Database, shop: Shop) -> None:
    with any_db.session() as s:
        result = dashboard.overview(
            s, shop.workspace_id, DashboardFilters(survey_id=shop.survey_delivery)
        )
    assert counts(result.summary) == (2, 0, 1, 1, -50.0)


def test_filters_refuse_a_range_that_ends_before_it_starts() -> None:
    with pytest.raises(ValueError, match="end must be after start"):
        DashboardFilters(start=at("2026-02-01"), end=at("2026-01-01"))


# ------------------------------------------------------------------ trend


def test_weekly_trend_runs_monday_to_monday_with_empty_weeks(any_db: Database, shop: Shop) -> None:
    with any_db.session() as s:
        result = dashboard.trend(s, shop.workspace_id, granularity="week")
    assert [(p.period_start.isoformat(), p.summary.n) for p in result.points] == [
        ("2026-01-05", 1),
        ("2026-01-12", 0),
        ("2026-01-19", 1),
        ("2026-01-26", 0),
        ("2026-02-02", 0),
        ("2026-02-09", 2),
    ]
    assert all(p.period_start.weekday() == 0 for p in result.points)
    # Every week beside an empty one: nothing to compare
    assert [p.vs_previous for p in result.points] == [None] * 6


def test_monthly_trend_compares_each_month_with_the_one_before(
    any_db: Database, shop: Shop
) -> None:
    with any_db.session() as s:
        result = dashboard.trend(s, shop.workspace_id, granularity="month")
    january, february = result.points
    assert (january.period_start, counts(january.summary)) == (
        dt.date(2026, 1, 1),
        (2, 1, 0, 1, 0.0),
    )
    assert (february.period_start, counts(february.summary)) == (
        dt.date(2026, 2, 1),
        (2, 0, 1, 1, -50.0),
    )
    assert january.vs_previous is None
    assert february.vs_previous == stats.compare(january.summary, february.summary)
    assert february.vs_previous is not None
    assert february.vs_previous.diff == -50.0
    assert not february.vs_previous.significant


def test_trend_marks_a_significant_change(any_db: Database) -> None:
    # Given NPS +50 in one week, −50 the next, −50 again the week after (60 answers each)
    week = {"a": at("2026-03-03"), "b": at("2026-03-10"), "c": at("2026-03-17")}
    scores = {
        "a": [10] * 40 + [8] * 10 + [2] * 10,
        "b": [10] * 10 + [8] * 10 + [2] * 40,
        "c": [9] * 10 + [7] * 10 + [0] * 40,
    }
    with any_db.session() as s:
        ws = make_workspace(s, "Tendance")
        for key, values in scores.items():
            for score in values:
                make_response(s, ws, score, week[key])
    # When
    with any_db.session() as s:
        result = dashboard.trend(s, ws, granularity="week")
    # Then
    _, b, c = result.points
    assert [p.summary.nps for p in result.points] == [50.0, -50.0, -50.0]
    assert b.vs_previous is not None
    assert c.vs_previous is not None
    assert (b.vs_previous.diff, b.vs_previous.significant) == (-100.0, True)
    assert (c.vs_previous.diff, c.vs_previous.significant) == (0.0, False)
    assert b.vs_previous.p_value is not None
    assert b.vs_previous.p_value < 0.001


def test_trend_of_nothing_is_empty(any_db: Database, shop: Shop) -> None:
    with any_db.session() as s:
        result = dashboard.trend(s, shop.workspace_id, DashboardFilters(channel="sms"))
    assert result.points == []


def test_trend_clips_to_the_requested_range(any_db: Database, shop: Shop) -> None:
    filters = DashboardFilters(start=at("2026-01-20", 0), end=at("2026-02-12", 0))
    with any_db.session() as s:
        result = dashboard.trend(s, shop.workspace_id, filters, granularity="week")
    # r2 (Jan 22) and r3 (Feb 11); r5 (Feb 12, 10:00) is past the end
    assert [(p.period_start.isoformat(), p.summary.n) for p in result.points] == [
        ("2026-01-19", 1),
        ("2026-01-26", 0),
        ("2026-02-02", 0),
        ("2026-02-09", 1),
    ]


@pytest.mark.parametrize(
    ("moment", "granularity", "start"),
    [
        (dt.datetime(2026, 3, 1, 23, 59, tzinfo=dt.UTC), "week", "2026-02-23"),  # a Sunday
        (dt.datetime(2026, 3, 2, 0, 0, tzinfo=dt.UTC), "week", "2026-03-02"),  # a Monday
        (dt.datetime(2026, 3, 2, 0, 30, tzinfo=dt.timezone(dt.timedelta(hours=1))), "week",
         "2026-02-23"),  # still Sunday in UTC
        (dt.datetime(2026, 12, 31, 23, 0, tzinfo=dt.UTC), "month", "2026-12-01"),
    ],
)  # fmt: skip
def test_periods_are_utc_weeks_from_monday_and_calendar_months(
    moment: dt.datetime, granularity: Any, start: str
) -> None:
    assert dashboard.period_start(moment, granularity).date().isoformat() == start


# ------------------------------------------------------------------ breakdowns


def test_breakdowns_by_the_answers_own_fields(any_db: Database, shop: Shop) -> None:
    with any_db.session() as s:
        by = {d: dashboard.breakdown(s, shop.workspace_id, d) for d in dashboard.DIRECT}
    assert rows(by["touchpoint"]) == [
        ("after_delivery", 2, -50.0),
        ("after_order", 1, 100.0),
        (None, 1, -100.0),
    ]
    assert rows(by["channel"]) == [("email", 2, 0.0), ("link", 1, 0.0), ("widget", 1, -100.0)]
    assert rows(by["locale"]) == [("en", 2, -100.0), ("fr", 2, 50.0)]
    assert rows(by["country"]) == [("FR", 2, 50.0), ("BE", 1, -100.0), (None, 1, -100.0)]


def test_a_response_counts_once_per_product_category_of_its_order(
    any_db: Database, shop: Shop
) -> None:
    with any_db.session() as s:
        result = dashboard.breakdown(s, shop.workspace_id, "product_category")
    # r1 bought two robes and shoes; r3 shoes; unknown: r2 (a product without category) and
    # r5 (no order), so that every answer shows in the breakdown, as in the others
    assert rows(result) == [("chaussures", 2, 50.0), (None, 2, -100.0), ("robes", 1, 100.0)]


def test_customers_are_new_on_their_first_live_order(any_db: Database, shop: Shop) -> None:
    with any_db.session() as s:
        result = dashboard.breakdown(s, shop.workspace_id, "segment")
    # r1: alice's first order; r2: bob's earlier order was cancelled; r3: alice's second
    assert rows(result) == [("new", 2, 0.0), ("returning", 1, 0.0), (None, 1, -100.0)]
    assert counts(result.rows[0].summary) == (2, 1, 0, 1, 0.0)


def test_breakdowns_take_the_filters(any_db: Database, shop: Shop) -> None:
    filters = DashboardFilters(locale="fr")
    with any_db.session() as s:
        channel = dashboard.breakdown(s, shop.workspace_id, "channel", filters)
        category = dashboard.breakdown(s, shop.workspace_id, "product_category", filters)
        segment = dashboard.breakdown(s, shop.workspace_id, "segment", filters)
    assert rows(channel) == [("email", 1, 100.0), ("link", 1, 0.0)]
    assert rows(category) == [("chaussures", 2, 50.0), ("robes", 1, 100.0)]
    assert rows(segment) == [("new", 1, 100.0), ("returning", 1, 0.0)]


def test_an_unknown_dimension_is_refused(any_db: Database, shop: Shop) -> None:
    with any_db.session() as s, pytest.raises(InvalidInput, match="dimension"):
        dashboard.breakdown(s, shop.workspace_id, "weather")  # type: ignore[arg-type]


# ------------------------------------------------------------------ verbatims


def verbatim_ids(db: Database, shop: Shop, which: VerbatimFilters) -> list[int]:
    """The response ids of the first page of verbatims."""
    with db.session() as s:
        page = dashboard.verbatims(s, shop.workspace_id, which=which)
    return [v.response_id for v in page.items]


def test_verbatims_are_the_newest_confirmed_comments_first(any_db: Database, shop: Shop) -> None:
    r = shop.responses
    with any_db.session() as s:
        page = dashboard.verbatims(s, shop.workspace_id)
    # r2 has no comment, r4 is provisional, the other workspace's is not ours
    assert [v.response_id for v in page.items] == [r["r5"], r["r3"], r["r1"]]
    assert page.has_more is False
    first = page.items[0]
    assert (first.score, first.category, first.channel, first.locale) == (
        3,
        "detractor",
        "widget",
        "en",
    )
    assert (first.comment, first.themes) == ("FRAIS de port trop chers", ["delivery_cost", "price"])
    assert first.created_at == at("2026-02-12", 10)
    assert page.items[2].customer_id is not None


def test_verbatims_are_paged(any_db: Database, shop: Shop) -> None:
    r = shop.responses
    with any_db.session() as s:
        first = dashboard.verbatims(s, shop.workspace_id, limit=2)
        second = dashboard.verbatims(s, shop.workspace_id, offset=2, limit=2)
    assert ([v.response_id for v in first.items], first.has_more) == ([r["r5"], r["r3"]], True)
    assert ([v.response_id for v in second.items], second.has_more) == ([r["r1"]], False)


@pytest.mark.parametrize(
    ("which", "expected"),
    [
        ({"category": "detractor"}, ["r5"]),
        ({"category": "passive"}, ["r3"]),
        ({"category": "promoter"}, ["r1"]),
        ({"min_score": 5}, ["r3", "r1"]),
        ({"max_score": 8, "min_score": 4}, ["r3"]),
        ({"category": "promoter", "max_score": 9}, []),
        ({"text": "frais"}, ["r5"]),
        ({"text": "%"}, ["r3"]),
        ({"text": "_"}, []),
        ({"theme": "price"}, ["r5"]),
        ({"theme": "delivery_delay"}, ["r1"]),
        ({"theme": "delivery"}, []),
        ({"theme": "price", "category": "promoter"}, []),
    ],
)
def test_verbatim_filters(
    any_db: Database, shop: Shop, which: dict[str, Any], expected: list[str]
) -> None:
    ids = verbatim_ids(any_db, shop, VerbatimFilters(**which))
    assert ids == [shop.responses[key] for key in expected]


def test_verbatims_take_the_dashboard_filters(any_db: Database, shop: Shop) -> None:
    with any_db.session() as s:
        page = dashboard.verbatims(s, shop.workspace_id, DashboardFilters(channel="email"))
    assert [v.response_id for v in page.items] == [shop.responses["r1"]]


@pytest.mark.parametrize(("offset", "limit"), [(-1, 20), (0, 0), (0, 101)])
def test_verbatim_paging_is_bounded(any_db: Database, shop: Shop, offset: int, limit: int) -> None:
    with any_db.session() as s, pytest.raises(InvalidInput):
        dashboard.verbatims(s, shop.workspace_id, offset=offset, limit=limit)


# ------------------------------------------------------------------ funnel


def steps(result: Funnel, channel: str) -> list[int]:
    """The step counts of one channel's funnel."""
    found = (
        result.total
        if channel == "all"
        else next(c for c in result.channels if c.channel == channel)
    )
    return [step.count for step in found.steps]


def test_funnel_per_channel_from_the_invitations(any_db: Database, shop: Shop) -> None:
    with any_db.session() as s:
        result = dashboard.funnel(s, shop.workspace_id)
    # unsent invitations (an email, an sms) are not invited; the other workspace is not ours
    assert [c.channel for c in result.channels] == ["email", "link", "widget"]
    #                               invited delivered opened clicked confirmed commented
    assert steps(result, "email") == [4, 4, 3, 2, 2, 1]
    assert steps(result, "link") == [1, 0, 0, 1, 1, 1]
    assert steps(result, "widget") == [1, 0, 0, 1, 1, 0]
    assert steps(result, "all") == [6, 4, 3, 4, 4, 2]
    email = next(c for c in result.channels if c.channel == "email")
    assert [s.step for s in email.steps] == list(dashboard.FUNNEL_STEPS)
    assert [s.rate for s in email.steps] == [1.0, 1.0, 0.75, 0.5, 0.5, 0.25]
    assert [s.step_rate for s in email.steps] == [None, 1.0, 0.75, 2 / 3, 1.0, 0.5]
    link = next(c for c in result.channels if c.channel == "link")
    # No delivery or open events on a link: the rate after them is unknown, not infinite
    assert [s.step_rate for s in link.steps] == [None, 0.0, None, None, 1.0, 1.0]


def test_funnel_takes_the_filters(any_db: Database, shop: Shop) -> None:
    with any_db.session() as s:
        recent = dashboard.funnel(s, shop.workspace_id, DashboardFilters(start=at("2026-02-01")))
        english = dashboard.funnel(s, shop.workspace_id, DashboardFilters(locale="en"))
        delivery = dashboard.funnel(
            s, shop.workspace_id, DashboardFilters(survey_id=shop.survey_delivery)
        )
    assert steps(recent, "email") == [2, 2, 1, 0, 0, 0]
    assert steps(recent, "all") == [4, 2, 1, 2, 2, 1]
    assert [c.channel for c in english.channels] == ["email", "widget"]
    assert steps(english, "all") == [2, 1, 1, 2, 2, 0]
    assert steps(delivery, "all") == [2, 1, 1, 2, 2, 1]


def test_funnel_of_nothing_has_no_rates(any_db: Database, shop: Shop) -> None:
    with any_db.session() as s:
        result = dashboard.funnel(s, shop.other_workspace_id, DashboardFilters(channel="sms"))
    assert result.channels == []
    assert [(st.count, st.rate, st.step_rate) for st in result.total.steps] == [(0, None, None)] * 6


def test_trend_refuses_an_unknown_granularity(any_db: Database, shop: Shop) -> None:
    with any_db.session() as s, pytest.raises(InvalidInput, match="granularity"):
        dashboard.trend(s, shop.workspace_id, granularity="day")  # type: ignore[arg-type]


# ------------------------------------------------------------------ daily funnel pre-aggregate

FUNNEL_FILTERS = [
    DashboardFilters(),
    DashboardFilters(start=at("2026-01-21", 12)),
    DashboardFilters(start=at("2026-01-05"), end=at("2026-02-11", 9)),
    DashboardFilters(end=at("2026-01-22")),
    DashboardFilters(locale="en"),
    DashboardFilters(channel="email", touchpoint="after_order"),
]


def funnels(db: Database, shop: Shop) -> list[list[list[int]]]:
    """The funnel's steps per channel, for each of FUNNEL_FILTERS."""
    with db.session() as s:
        results = [dashboard.funnel(s, shop.workspace_id, f) for f in FUNNEL_FILTERS]
    return [[steps(r, c.channel) for c in [r.total, *r.channels]] for r in results]


@pytest.mark.parametrize("now", [at("2026-02-28"), at("2027-06-01")])
def test_the_daily_funnel_counts_as_the_live_one(
    any_db: Database, shop: Shop, now: dt.datetime
) -> None:
    # given the funnel counted live from the invitations
    live = funnels(any_db, shop)
    # when the final days are pre-counted (Feb 28: the days before Jan 22, as surveys expire
    # after 30 days and late events get a week; mid-2027: every day)
    with any_db.session() as s:
        filled = rollups.fill_funnel(s, shop.workspace_id, now)
        again = rollups.fill_funnel(s, shop.workspace_id, now)
    # then every filter, whole or partial days, gives the same counts
    assert filled > 0 and again == 0
    assert funnels(any_db, shop) == live


def test_final_days_are_read_from_the_pre_aggregate(any_db: Database, shop: Shop) -> None:
    with any_db.session() as s:
        rollups.fill_funnel(s, shop.workspace_id, at("2026-02-28"))
        before = steps(dashboard.funnel(s, shop.workspace_id), "email")
        # an invitation of a final day (Jan 21) changes in the table, and one of an open day
        late = s.scalars(select(Invitation).where(Invitation.sent_at == at("2026-01-21"))).one()
        late.commented_at = at("2026-03-01")
        recent = s.scalars(select(Invitation).where(Invitation.sent_at == at("2026-02-03"))).one()
        recent.opened_at = at("2026-02-04")
        s.flush()
        after = steps(dashboard.funnel(s, shop.workspace_id), "email")
    # only the open day's change shows: the final day was counted once and for all
    assert after == [before[0], before[1], before[2] + 1, *before[3:]]


def test_answers_recorded_before_0007_get_their_segment_and_categories(
    any_db: Database, shop: Shop
) -> None:
    # given answers as 0007 left them: no segment, no categories
    def facets() -> list[tuple[int, str | None, str]]:
        with any_db.session() as s:
            rows = s.execute(select(Response.id, Response.segment, Response.categories))
            return sorted((int(i), seg, cat) for i, seg, cat in rows)

    expected = facets()
    with any_db.session() as s:
        s.execute(update(Response).values(segment=None, categories=""))
    downgrade(any_db.engine, "0007")
    # when the data migration runs
    migrate(any_db.engine)
    # then each answer has what recording it would have copied from its order
    assert facets() == expected
    assert {(seg, cat) for _, seg, cat in expected} >= {
        ("new", "|chaussures|robes|"),
        ("returning", "|chaussures|"),
        (None, ""),
    }


def test_the_running_period_is_marked_partial(any_db: Database) -> None:
    # Given answers last week and this week, the week still running on Wednesday 18 March
    scores = {at("2026-03-10"): [10] * 40 + [2] * 20, at("2026-03-16"): [2] * 30}
    with any_db.session() as s:
        ws = make_workspace(s, "En cours")
        for moment, values in scores.items():
            for score in values:
                make_response(s, ws, score, moment)
    # When the trend is read on the Wednesday
    with any_db.session() as s:
        result = dashboard.trend(s, ws, granularity="week", now=at("2026-03-18"))
    # Then only the running week is partial, its change still computed but flagged
    last_week, this_week = result.points
    assert (last_week.partial, this_week.partial) == (False, True)
    assert this_week.vs_previous is not None and this_week.vs_previous.significant
