"""The predictions on the demo store: the propensity model against the first order's value on the
held-out months, the purchase model's holdout check, and both where people and programs read
them (the admin API, the predictions page and its CSV exports, the customer page)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cxloop import analytics
from cxloop.analytics.models import CustomerScore
from cxloop.demo import nps as demo_nps
from cxloop.demo.generator import history_end
from cxloop.demo.service import build_demo
from cxloop.store.db import Database
from cxloop.web.app import create_app
from cxloop.workspaces import service as workspaces
from tests.helpers.browser import chromium
from tests.helpers.console import PASSWORD, login
from tests.helpers.services import live_server

TODAY = dt.date(2026, 12, 1)


@dataclass(frozen=True)
class Shop:
    """The demo store (5,000 customers, scored), a small one (200 customers, scored) and an
    empty one, served to an English owner and a French viewer of the demo store."""

    db: Database
    client: TestClient
    workspace_id: str
    admin_key: str
    small_id: str
    small_key: str
    empty_id: str


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    """The demo store with its NPS history, run through the analytics as of TODAY."""
    folder: Path = tmp_path_factory.mktemp("models")
    db = Database(f"sqlite:///{folder / 'cxloop.db'}")
    end = history_end(TODAY)
    demo = build_demo(db, customers=5000, seed=1, as_of=TODAY)
    demo_nps.run_history(db, demo.workspace_id, seed=1, end=end)
    small = build_demo(db, customers=200, seed=2, as_of=TODAY)
    empty = build_demo(db, customers=20, seed=3, as_of=TODAY)
    for ws in (demo.workspace_id, small.workspace_id):
        url = f"duckdb://{folder / (ws + '.duckdb')}"
        analytics.run_analytics(db, url, ws, as_of=end, actor="test")
    with db.session() as session:
        for address, locale, ws in (
            ("owner@example.com", "en", demo.workspace_id),
            ("viewer@example.com", "fr", demo.workspace_id),
            ("small@example.com", "en", small.workspace_id),
        ):
            user = workspaces.create_user(session, email=address, password=PASSWORD, locale=locale)
            workspaces.add_member(session, workspace_id=ws, user=user, role="owner")
            if ws == demo.workspace_id:
                workspaces.add_member(
                    session, workspace_id=empty.workspace_id, user=user, role="owner"
                )
    with TestClient(create_app(db)) as client:
        login(client, "owner@example.com")
        yield Shop(
            db,
            client,
            demo.workspace_id,
            demo.admin_key,
            small.workspace_id,
            small.admin_key,
            empty.workspace_id,
        )
    db.dispose()


def _api(shop: Shop, key: str) -> dict:
    answer = shop.client.get("/api/v1/analytics/models", headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 200
    return answer.json()


def _propensities(shop: Shop) -> dict[int, float]:
    with shop.db.session() as session:
        rows = session.execute(
            select(CustomerScore.customer_id, CustomerScore.propensity).where(
                CustomerScore.workspace_id == shop.workspace_id,
                CustomerScore.propensity.is_not(None),
            )
        ).all()
    return {int(cid): float(p) for cid, p in rows}


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_the_model_beats_the_first_order_value_on_the_demos_held_out_months(shop: Shop) -> None:
    # Given the demo store scored by a run
    # When its models' reports are read through the admin API
    reports = _api(shop, shop.admin_key)
    fit, check = reports["propensity"], reports["clv"]
    # Then the propensity model ranks future top customers better than the first order's value
    # on the latest three months of first orders with a full year, kept out of training
    assert fit["status"] == "ok"
    assert fit["test"]["first_from"] > fit["train"]["first_to"]
    assert fit["test"]["first_to"] <= (TODAY - dt.timedelta(days=365)).isoformat()
    assert fit["test"]["positives"] >= 50
    assert fit["auc"] > fit["baseline_auc"] + 0.02
    assert fit["brier"] < fit["baseline_brier"]
    # its calibration covers the test customers, the chances rising from decile to decile
    rows = fit["calibration"]
    assert sum(r["customers"] for r in rows) == fit["test"]["customers"]
    assert rows[-1]["observed"] > 2 * rows[0]["observed"]
    # the customers of the last 12 months, and only they, are scored
    scored = _propensities(shop)
    assert len(scored) == fit["scored"] == fit["new_customers"]
    assert all(0.0 <= p <= 1.0 for p in scored.values())
    # and the purchase model's holdout check sets predicted against actual repeat purchases
    assert check["status"] == "ok"
    assert [g["frequency"] for g in check["groups"]] == [*map(str, range(7)), "7+"]
    assert sum(g["customers"] for g in check["groups"]) == check["customers"]
    assert abs(check["predicted"] - check["actual"]) < 0.25 * check["actual"]
    assert check["holdout_end"] == TODAY.isoformat()


def test_the_api_needs_the_workspaces_admin_key_and_says_why_a_model_is_missing(
    shop: Shop,
) -> None:
    # Given no key, a workspace too small for the propensity model, and one never run
    assert shop.client.get("/api/v1/analytics/models").status_code == 401
    small = _api(shop, shop.small_key)
    # Then the small one says why there are no scores, with its figures
    assert small["propensity"]["status"] == "too_little_data"
    assert small["propensity"]["reason"] == "few_labelled"
    assert small["propensity"]["labelled"] < 200
    assert small["computed_at"] is not None


def test_the_page_says_how_the_model_does_in_plain_words_and_lists_the_promising(
    shop: Shop,
) -> None:
    ws = shop.workspace_id
    fit = _api(shop, shop.admin_key)["propensity"]
    # When the owner opens the predictions page
    page = shop.client.get(f"/w/{ws}/models")
    assert page.status_code == 200
    html = page.text
    # Then the verdict, the AUC against the first order's value, in percent
    assert 'data-verdict="better"' in html
    assert f"higher {fit['auc'] * 100:.1f}% of the time" in html
    assert f"does so {fit['baseline_auc'] * 100:.1f}% of the time" in html
    # the calibration's ten deciles, the features by their names, the holdout's eight groups
    assert len(re.findall(r"data-decile=", html)) == 10
    assert "spend in the first weeks" in html and "first order&#39;s value" in html
    assert len(re.findall(r"data-frequency=", html)) == 8
    # and the new customers likeliest to become top customers, first, linked to their pages
    listed = [int(n) for n in re.findall(rf"/w/{ws}/customers/(\d+)\"", html)]
    scored = _propensities(shop)
    best = sorted(scored, key=lambda c: (-scored[c], c))
    assert listed == best[:50]
    # the nav leads there, right after the segments
    nav = html[html.index('class="mainnav"') :]
    assert nav.index("/segments") < nav.index("/models") < nav.index("/outbox")


def test_the_page_reads_in_french(shop: Shop) -> None:
    with TestClient(shop.client.app) as viewer:
        login(viewer, "viewer@example.com")
        html = viewer.get(f"/w/{shop.workspace_id}/models").text
    assert "Prédictions" in html and "dépenses des premières semaines" in html
    assert "Contrôle du modèle d'achat" in html.replace("&#39;", "'")
    assert re.search(r"dans \d+,\d\s?% des cas \(AUC\)", html.replace("\u202f", " ")), html


def test_each_table_exports_as_csv(shop: Shop) -> None:
    ws = shop.workspace_id
    reports = _api(shop, shop.admin_key)
    fit, check = reports["propensity"], reports["clv"]

    def export(name: str) -> list[dict[str, str]]:
        answer = shop.client.get(f"/w/{ws}/models?export={name}")
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/csv")
        return _csv(answer.text)

    deciles = export("calibration")
    assert [float(r["mean_predicted"]) for r in deciles] == [
        r["predicted"] for r in fit["calibration"]
    ]
    assert [r["feature"] for r in export("features")] == [r["feature"] for r in fit["importance"]]
    groups = export("clv_holdout")
    assert [int(r["customers"]) for r in groups] == [g["customers"] for g in check["groups"]]
    new = export("new_customers")
    assert len(new) == fit["scored"]
    chances = [float(r["propensity"]) for r in new]
    assert chances == sorted(chances, reverse=True)


def test_the_empty_states_say_why(shop: Shop) -> None:
    # Given a store never run, and a store too small for the propensity model
    empty = shop.client.get(f"/w/{shop.empty_id}/models").text
    assert "No analytics run yet" in empty
    assert 'data-not-computed="propensity"' in empty and 'data-not-computed="clv"' in empty
    with TestClient(shop.client.app) as small_owner:
        login(small_owner, "small@example.com")
        small = small_owner.get(f"/w/{shop.small_id}/models").text
    assert 'data-reason="few_labelled"' in small
    assert "Too little history to train the model" in small
    assert "No new customer scored yet." in small


def test_the_customer_page_gives_a_new_customers_chance_in_a_sentence(shop: Shop) -> None:
    scored = _propensities(shop)
    best = max(scored, key=lambda c: scored[c])
    page = shop.client.get(f"/w/{shop.workspace_id}/customers/{best}").text
    assert 'data-score="propensity"' in page
    assert f"{scored[best] * 100:.1f}%" in page
    assert "first 12 months of orders end among the top 20% of customers" in page
    # a customer of more than a year gets no such sentence
    with shop.db.session() as session:
        old = session.scalars(
            select(CustomerScore.customer_id).where(
                CustomerScore.workspace_id == shop.workspace_id,
                CustomerScore.propensity.is_(None),
            )
        ).first()
    assert old is not None
    other = shop.client.get(f"/w/{shop.workspace_id}/customers/{old}").text
    assert 'data-score="propensity"' not in other


@pytest.mark.browser
def test_chromium_draws_both_charts_on_a_phone(shop: Shop) -> None:
    # Given the French viewer on a phone-wide screen
    with chromium() as browser, live_server(create_app(shop.db)) as base:
        context = browser.new_context(viewport={"width": 390, "height": 844}, locale="fr-FR")
        page = context.new_page()
        page.goto(f"{base}/login")
        page.fill("input[name=email]", "viewer@example.com")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        # When she opens the predictions page
        page.goto(f"{base}/w/{shop.workspace_id}/models")
        page.wait_for_selector("body[data-models-ready]")
        # Then both charts are drawn, and the page does not scroll sideways
        drawn = page.evaluate(
            "['calibration-chart', 'holdout-chart'].map("
            "(id) => document.getElementById(id).chart.data.datasets.length)"
        )
        assert drawn == [2, 2]
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        context.close()
