"""Experience against revenue: the intervals against published and reference figures, the
report on hand-built stores (every engine), its sentences in French and English, the API and
the console page."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from pathlib import Path

import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from scipy import stats

from cxloop import analytics
from cxloop.analytics import experience
from cxloop.commerce.models import Order, Shipment
from cxloop.profiles.models import Customer
from cxloop.store.db import Database
from cxloop.surveys import Response
from cxloop.workspaces import service as workspaces
from cxloop.workspaces.schemas import WorkspaceCreate
from tests.helpers.console import login

NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


# The intervals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    # Newcombe (1998), "Two-sided confidence intervals for the single proportion", table I,
    # method 3 (Wilson's score interval); and 8/10.
    [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611),
     (1, 29, 0.0061, 0.1718), (8, 10, 0.4902, 0.9433)],
)  # fmt: skip
def test_wilson_intervals_match_the_published_ones(
    successes: int, n: int, low: float, high: float
) -> None:
    share, lower, upper = experience.wilson(successes, n)
    assert share == pytest.approx(successes / n)
    assert (round(lower, 4), round(upper, 4)) == (low, high)


def test_the_t_interval_is_scipys_and_the_clustered_ratio_reduces_to_it() -> None:
    values = np.array([0.0, 12.5, 40.0, 0.0, 99.9, 23.0, 7.0, 0.0, 61.2, 18.0])
    mean, low, high, se = experience.t_interval(values)
    reference = stats.ttest_1samp(values, 0.0).confidence_interval(0.95)
    assert (low, high) == pytest.approx((reference.low, reference.high))
    assert se == pytest.approx(stats.sem(values))
    assert mean == pytest.approx(values.mean())
    # one order per customer: the basket is the plain mean, with the same interval
    assert experience.clustered_ratio(values, np.ones(10)) == pytest.approx((mean, low, high))
    # customers without an order add nothing to the basket
    padded = experience.clustered_ratio(np.append(values, 0.0), np.append(np.ones(10), 0))
    assert padded == pytest.approx((mean, low, high))


def test_the_basket_interval_counts_each_customers_orders_as_one_cluster() -> None:
    # Two customers: one of ten orders of 10, one of one order of 100. Twenty orders look like
    # many observations, but there are two clusters: the interval is wide.
    ratio, low, high = experience.clustered_ratio([100.0, 100.0], [10, 1])
    assert ratio == pytest.approx(200 / 11)
    residual = np.array([100 - ratio * 10, 100 - ratio])
    se = math.sqrt(2 * (residual**2).sum()) / 11
    half = stats.t.ppf(0.975, 1) * se
    assert (low, high) == pytest.approx((ratio - half, ratio + half))


def test_the_ratio_interval_is_symmetric_on_the_log_scale() -> None:
    ratio, low, high = experience.log_ratio(200.0, 20.0, 100.0, 15.0)
    spread = math.sqrt(0.1**2 + 0.15**2)
    assert ratio == 2.0
    assert (low, high) == pytest.approx((2 * math.exp(-1.959964 * spread),
                                         2 * math.exp(1.959964 * spread)), rel=1e-6)  # fmt: skip
    assert math.isnan(experience.log_ratio(10.0, 1.0, 0.0, 0.0)[0])


def test_first_orders_fall_in_quarters_of_value_an_edge_opening_the_next() -> None:
    edges, groups = experience.quarters([1000, 5000, 2000, 4000, 3000])
    assert edges == [20.0, 30.0, 40.0]
    assert list(groups) == ["q1", "q4", "q2", "q4", "q3"]
    assert experience.quarters([]) == ([], pytest.approx([]))


# Hand-built stores ------------------------------------------------------------------------------


def _workspace(db: Database) -> str:
    with db.session() as session:
        return workspaces.create_workspace(
            session, WorkspaceCreate(name="Boutique", locale="fr")
        ).workspace_id


def _customer(
    db: Database,
    workspace_id: str,
    *,
    score: int | None,
    answered: dt.datetime,
    late: bool,
    after: list[int],
) -> int:
    """A customer with a first order delivered (late or not) a few days before ``answered``,
    an answer of ``score`` then, and orders of ``after`` cents in the months that follow."""
    with db.session() as session:
        n = session.query(Customer).count()
        customer = Customer(workspace_id=workspace_id, user_id=f"k{n}", email=f"k{n}@example.com")
        session.add(customer)
        session.flush()
        first = Order(workspace_id=workspace_id, external_id=f"#{n}-0",
                      customer_id=customer.id, placed_at=answered - 8 * DAY,
                      status="fulfilled", total_cents=5000)  # fmt: skip
        session.add(first)
        session.flush()
        delivered = answered - 3 * DAY
        session.add(
            Shipment(workspace_id=workspace_id, order_id=first.id, external_id=f"S{n}",
                     carrier="Colissimo", status="delivered", delivered_at=delivered,
                     promised_at=delivered + (-2 if late else 1) * DAY)
        )  # fmt: skip
        for k, cents in enumerate(after):
            session.add(
                Order(workspace_id=workspace_id, external_id=f"#{n}-{k + 1}",
                      customer_id=customer.id, placed_at=answered + (20 + 40 * k) * DAY,
                      status="paid", total_cents=cents)
            )  # fmt: skip
        if score is not None:
            category = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
            session.add(
                Response(workspace_id=workspace_id, customer_id=customer.id, score=score,
                         category=category, status="confirmed", channel="email",
                         created_at=answered, updated_at=answered)
            )  # fmt: skip
        return customer.id


def _clear_store(db: Database, groups: int = 40) -> str:
    """Promoters served on time who keep buying, detractors whose parcel came late and who
    mostly do not, and a few passives; all answered 400 days before ``NOW``."""
    workspace_id = _workspace(db)
    answered = NOW - 400 * DAY
    for i in range(groups):
        spend = [8000 + 500 * (i % 5)] * (1 + i % 4)
        _customer(db, workspace_id, score=9 + i % 2, answered=answered, late=False, after=spend)
        spend = [4000 + 300 * (i % 3)] if i % 4 == 0 else []
        _customer(db, workspace_id, score=i % 7, answered=answered, late=True, after=spend)
    for i in range(5):
        _customer(db, workspace_id, score=7, answered=answered, late=False, after=[3000] * i)
    return workspace_id


def _run(db: Database, url: str, workspace_id: str) -> dict:
    analytics.run_analytics(db, url, workspace_id, as_of=NOW)
    with db.session() as session:
        found = analytics.report(session, workspace_id, experience.KIND)
    assert found is not None
    return found.body


def test_promoters_and_on_time_customers_spend_more_on_every_engine(
    stores: tuple[Database, str],
) -> None:
    db, url = stores
    # Given promoters who keep buying and detractors, served late, who mostly stop
    workspace_id = _clear_store(db)
    # When the analytics run
    body = _run(db, url, workspace_id)
    # Then each group's figures are exactly those of the store
    nps = body["nps"]
    assert nps["horizon_days"] == 365
    groups = {g["code"]: g for g in nps["groups"]}
    assert [g["customers"] for g in nps["groups"]] == [40, 5, 40]
    promoters, detractors = groups["promoter"], groups["detractor"]
    spent = [(8000 + 500 * (i % 5)) * (1 + i % 4) / 100 for i in range(40)]
    assert promoters["revenue"]["mean"] == pytest.approx(np.mean(spent), abs=1e-4)
    assert promoters["orders"]["total"] == sum(1 + i % 4 for i in range(40))
    assert promoters["retention"] == {
        "share": 1.0, "low": pytest.approx(0.9124, abs=1e-4), "high": 1.0, "retained": 40
    }  # fmt: skip
    assert detractors["retention"]["retained"] == 10
    assert detractors["basket"]["mean"] == pytest.approx(np.mean([40, 43, 46, 40, 43, 46, 40, 43,
                                                                   46, 40]), abs=1e-4)  # fmt: skip
    # and promoters spent more, a difference the interval establishes
    ratio = nps["ratio"]
    assert (ratio["of"], ratio["to"], ratio["established"]) == ("promoter", "detractor", True)
    assert 1 < ratio["low"] < ratio["estimate"] < ratio["high"]
    delivery = body["delivery"]
    assert [g["customers"] for g in delivery["groups"]] == [45, 40]
    assert delivery["ratio"]["established"] is True
    assert delivery["ratio"]["low"] > 1
    # and by first order: every first order was 50 €, so all are in the top quarter and no
    # difference can be claimed
    first = body["first_order"]
    assert first["edges"] == [50.0, 50.0, 50.0]
    assert [g["customers"] for g in first["groups"]] == [0, 0, 0, 85]
    assert (first["ratio"]["established"], first["ratio"]["reason"]) == (False, "small")
    # and the sentences say it, in each language, with the horizon from the data
    english = {s.topic: s for s in experience.sentences(body, "en")}
    french = {s.topic: s for s in experience.sentences(body, "fr")}
    estimate = f"{ratio['estimate']:.1f}"
    assert english["nps"].established
    assert english["nps"].text.startswith(f"Promoters spent {estimate}× what detractors spent")
    assert "12 months" in english["nps"].text
    assert "40 and 40 customers" in english["nps"].text
    assert french["nps"].text.startswith(
        f"Les promoteurs ont dépensé {estimate.replace('.', ',')} fois"
    )
    assert "12 mois" in french["nps"].text
    assert english["delivery"].text.startswith("Customers whose first parcel came on time")
    assert "45 et 40 clients" in french["delivery"].text


def test_small_groups_and_recent_answers_give_no_claim(db: Database, tmp_path: Path) -> None:
    # Given ten promoters and five detractors who answered 200 days ago, promoters spending more
    workspace_id = _workspace(db)
    for i in range(10):
        _customer(db, workspace_id, score=10, answered=NOW - 200 * DAY, late=False,
                  after=[9000 + 100 * i] * 2)  # fmt: skip
    for i in range(5):
        _customer(db, workspace_id, score=2, answered=NOW - 200 * DAY, late=False,
                  after=[1000 + 100 * i] * (i % 2))  # fmt: skip
    # When the analytics run
    body = _run(db, f"duckdb://{tmp_path / 'w.duckdb'}", workspace_id)
    # Then the horizon falls back to the 180 days that were observed, and no difference is claimed
    nps = body["nps"]
    assert nps["horizon_days"] == 180
    assert (nps["ratio"]["established"], nps["ratio"]["reason"]) == (False, "small")
    assert nps["ratio"]["estimate"] > 1
    english = experience.sentences(body, "en")[0]
    french = experience.sentences(body, "fr")[0]
    assert not english.established
    assert english.text == (
        "A difference in spending between promoters and detractors is not established: too few"
        " customers answered at least 6 months ago (10 promoters and 5 detractors; 30 of each"
        " are needed)."
    )
    assert "n’est pas établie" in french.text
    assert "6 mois" in french.text


def test_an_interval_including_one_is_said_not_to_establish_a_difference(
    db: Database, tmp_path: Path
) -> None:
    # Given two large groups who spend alike
    workspace_id = _workspace(db)
    for i in range(64):
        _customer(db, workspace_id, score=10 if i % 2 else 0, answered=NOW - 380 * DAY,
                  late=bool(i % 2), after=[5000 + 100 * (i % 7)] * (i % 3))  # fmt: skip
    body = _run(db, f"duckdb://{tmp_path / 'w.duckdb'}", workspace_id)
    ratio = body["nps"]["ratio"]
    assert ratio["low"] < 1 < ratio["high"]
    assert (ratio["established"], ratio["reason"]) == (False, "includes_one")
    text = experience.sentences(body, "en")[0].text
    assert "is not established" in text
    assert "includes 1 (32 and 32 customers)" in text


# The API and the page ----------------------------------------------------------------------------


def test_the_api_and_the_page(
    db: Database, app: FastAPI, make_workspace, make_user, tmp_path: Path
) -> None:
    creds = make_workspace()
    empty = make_workspace(name="Empty")
    make_user("owner@example.com", creds.workspace_id, empty.workspace_id, locale="en")
    make_user("fr@example.com", creds.workspace_id, empty.workspace_id, locale="fr")
    client, reader = TestClient(app), TestClient(app)
    login(client, "owner@example.com")
    login(reader, "fr@example.com")
    headers = {"Authorization": f"Bearer {creds.admin_key}"}
    # Before any run: no figures, no sentence, and the page says why
    before = client.get("/api/v1/analytics/experience", headers=headers).json()
    assert (before["computed_at"], before["sentences"], before["nps"]) == (None, [], None)
    assert "No analytics run yet" in client.get(f"/w/{creds.workspace_id}/experience").text
    # Given a clear store, run
    answered = NOW - 400 * DAY
    for i in range(40):
        _customer(db, creds.workspace_id, score=10, answered=answered, late=False,
                  after=[8000 + 500 * (i % 5)] * (1 + i % 4))  # fmt: skip
        _customer(db, creds.workspace_id, score=3, answered=answered, late=True,
                  after=[4000] if i % 4 == 0 else [])  # fmt: skip
    url = f"duckdb://{tmp_path / 'w.duckdb'}"
    analytics.run_analytics(db, url, creds.workspace_id, as_of=NOW)
    analytics.run_analytics(db, url, empty.workspace_id, as_of=NOW)
    # When the API is asked in each language
    english = client.get("/api/v1/analytics/experience?locale=en", headers=headers).json()
    french = client.get("/api/v1/analytics/experience?locale=fr", headers=headers).json()
    default = client.get("/api/v1/analytics/experience", headers=headers).json()
    # Then the figures are the same and the sentences in the language asked (default: the
    # workspace's, French)
    assert english["nps"] == french["nps"]
    assert english["nps"]["groups"][0]["code"] == "promoter"
    assert english["nps"]["ratio"]["established"] is True
    assert english["sentences"][0]["text"].startswith("Promoters spent")
    assert french["sentences"][0]["text"].startswith("Les promoteurs ont dépensé")
    assert default["sentences"] == french["sentences"]
    # and a bad language is refused, naming the field; no key, no figures
    refused = client.get("/api/v1/analytics/experience?locale=de", headers=headers)
    assert refused.status_code == 422
    assert "locale" in refused.json()["field"]
    assert client.get("/api/v1/analytics/experience").status_code == 401
    # When the owner opens the page
    page = client.get(f"/w/{creds.workspace_id}/experience").text
    assert english["sentences"][0]["text"].replace("'", "&#39;") in page
    assert page.count('data-bar="promoter"') == 2  # revenue and retention charts
    assert 'data-group="detractor"' in page
    assert "First parcel late" in page
    # and each table comes as CSV, with plain figures
    rows = list(csv.DictReader(io.StringIO(client.get(
        f"/w/{creds.workspace_id}/experience?export=nps").text)))  # fmt: skip
    assert [r["group"] for r in rows] == ["promoter", "passive", "detractor"]
    assert float(rows[0]["revenue_per_customer"]) == pytest.approx(
        english["nps"]["groups"][0]["revenue_per_customer"]["value"]
    )
    assert rows[0]["horizon_days"] == "365"
    delivery = client.get(f"/w/{creds.workspace_id}/experience?export=delivery").text
    assert delivery.splitlines()[1].startswith("on_time,40,365,")
    first = client.get(f"/w/{creds.workspace_id}/experience?export=first_order").text
    assert [line.split(",")[:2] for line in first.splitlines()[1:]] == [
        ["q1", "0"],
        ["q2", "0"],
        ["q3", "0"],
        ["q4", "80"],
    ]
    # and a French reader reads it in French, the workspace without answers nor parcels too
    page = reader.get(f"/w/{creds.workspace_id}/experience").text
    assert "Expérience et chiffre d’affaires" in page
    assert french["sentences"][1]["text"] in page
    assert "Premier colis en retard" in page
    blank = reader.get(f"/w/{empty.workspace_id}/experience").text
    assert 'data-empty="nps"' in blank and 'data-empty="delivery"' in blank
    assert "Pas encore de réponse NPS" in blank
