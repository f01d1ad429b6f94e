"""The scores in the console: the segments page (grid, segments, value, churn risk), the customer
list's filters, sorting and CSV export, and the customer page's explanation."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from cxloop import analytics
from cxloop.analytics.models import CustomerScore
from cxloop.demo import nps as demo_nps
from cxloop.demo.generator import history_end
from cxloop.demo.service import build_demo
from cxloop.store.db import Database
from cxloop.surveys import Response
from cxloop.web.app import create_app
from cxloop.workspaces import service as workspaces
from cxloop.workspaces.schemas import WorkspaceCreate
from tests.helpers.console import PASSWORD, login


@dataclass(frozen=True)
class Store:
    """A scored demo store served to an owner, a viewer and an outsider."""

    db: Database
    app_client: TestClient
    workspace_id: str
    other_workspace_id: str


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """A demo store of 200 customers with its NPS history, scored by an analytics run."""
    folder: Path = tmp_path_factory.mktemp("console")
    db = Database(f"sqlite:///{folder / 'cxloop.db'}")
    today = dt.datetime.now(dt.UTC).date()
    ws = build_demo(db, customers=200, seed=5, as_of=today).workspace_id
    demo_nps.run_history(db, ws, seed=5, end=history_end(today))
    analytics.run_analytics(
        db, f"duckdb://{folder / 'w.duckdb'}", ws, as_of=history_end(today), actor="test"
    )
    with db.session() as session:
        other = workspaces.create_workspace(session, WorkspaceCreate(name="Other")).workspace_id
        for address, role, locale, where in (
            ("owner@example.com", "owner", "en", ws),
            ("viewer@example.com", "agent", "fr", ws),
            ("outsider@example.com", "owner", "en", other),
        ):
            user = workspaces.create_user(session, email=address, password=PASSWORD, locale=locale)
            workspaces.add_member(session, workspace_id=where, user=user, role=role)
    with TestClient(create_app(db)) as client:
        login(client, "owner@example.com")
        yield Store(db, client, ws, other)
    db.dispose()


def _ids(html: str, workspace_id: str) -> list[int]:
    return [int(n) for n in re.findall(rf"/w/{workspace_id}/customers/(\d+)\"", html)]


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _scores(db: Database, workspace_id: str) -> list[CustomerScore]:
    with db.session() as session:
        rows = session.scalars(
            select(CustomerScore).where(CustomerScore.workspace_id == workspace_id)
        ).all()
        session.expunge_all()
        return list(rows)


@contextmanager
def model_scores(db: Database, workspace_id: str, filled: dict[int, tuple[float, float, str]]):
    """Only these customers given a 12-month value, P(alive) and churn band (the run's own
    model scores set aside, the others NULL); the run's scores back afterwards."""
    columns = ("clv_12m", "p_alive", "churn_band", "expected_orders_90d", "next_order_days")
    mine = CustomerScore.workspace_id == workspace_id
    with db.session() as session:
        kept = session.execute(
            select(CustomerScore.customer_id, *(getattr(CustomerScore, c) for c in columns)).where(
                mine
            )
        ).all()
        session.execute(update(CustomerScore).where(mine).values(dict.fromkeys(columns)))
        for cid, (clv, alive, band) in filled.items():
            session.execute(
                update(CustomerScore)
                .where(mine, CustomerScore.customer_id == cid)
                .values(
                    clv_12m=clv,
                    p_alive=alive,
                    churn_band=band,
                    expected_orders_90d=round(alive, 1),
                    next_order_days=30.0 / alive,
                )
            )
    try:
        yield
    finally:
        with db.session() as session:
            for cid, *values in kept:
                session.execute(
                    update(CustomerScore)
                    .where(mine, CustomerScore.customer_id == cid)
                    .values(dict(zip(columns, values, strict=True)))
                )


def test_the_customer_list_filters_by_grid_cell_segment_and_nps(store: Store) -> None:
    client, ws = store.app_client, store.workspace_id
    scores = _scores(store.db, ws)
    # given the most populated cell of the grid
    cells: dict[tuple[int, int], set[int]] = {}
    for s in scores:
        cells.setdefault((s.r, s.f), set()).add(s.customer_id)
    (r, f), members = max(cells.items(), key=lambda item: len(item[1]))
    # when its customers are exported, then exactly they are listed
    rows = _csv(client.get(f"/w/{ws}/customers", params={"r": r, "f": f, "format": "csv"}).text)
    assert {int(row["id"]) for row in rows} == members
    assert {(row["r"], row["f"]) for row in rows} == {(str(r), str(f))}
    # and a segment's customers are those of its cells
    champions = {s.customer_id for s in scores if s.rfm_segment == "champions"}
    exported = client.get(f"/w/{ws}/customers?segment=champions&format=csv").text
    assert {int(row["id"]) for row in _csv(exported)} == champions
    # and the detractors are those whose latest confirmed answer is a detractor's
    with store.db.session() as session:
        answers = session.execute(
            select(Response.customer_id, Response.category)
            .where(Response.workspace_id == ws, Response.status == "confirmed")
            .order_by(Response.created_at, Response.id)
        ).all()
    latest = {cid: category for cid, category in answers if cid is not None}
    detractors = {cid for cid, category in latest.items() if category == "detractor"}
    assert detractors
    exported = client.get(f"/w/{ws}/customers?nps=detractor&format=csv").text
    assert {int(row["id"]) for row in _csv(exported)} == detractors
    # and a page (its answers asked for its rows only) shows what the export holds
    everyone = _csv(client.get(f"/w/{ws}/customers?format=csv").text)[:50]
    page = client.get(f"/w/{ws}/customers").text
    shown = re.findall(r'<span class="(\w+)" title="[^"]*">(\d+)</span>', page)
    assert shown == [(r["nps_category"], r["nps_score"]) for r in everyone if r["nps_score"]]
    assert shown


def test_the_csv_export_has_a_header_and_plain_values(store: Store) -> None:
    client, ws = store.app_client, store.workspace_id
    response = client.get(f"/w/{ws}/customers?format=csv&sort=revenue")
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="customers.csv"' in response.headers["content-disposition"]
    header = response.text.splitlines()[0]
    assert header == (
        "id,user_id,email,name,orders,revenue,last_seen_at,nps_score,nps_category,"
        "rfm_segment,r,f,clv_12m,p_alive,churn_band"
    )
    rows = _csv(response.text)
    assert len(rows) == 200
    revenues = [float(row["revenue"]) for row in rows]
    assert revenues == sorted(revenues, reverse=True)
    assert all(row["rfm_segment"] in (*analytics.SEGMENTS, "") for row in rows)


def test_the_list_sorts_by_orders_and_shows_the_new_columns_in_the_readers_locale(
    store: Store,
) -> None:
    client, ws = store.app_client, store.workspace_id
    rows = _csv(client.get(f"/w/{ws}/customers?format=csv&sort=orders").text)
    orders = [int(row["orders"]) for row in rows]
    assert orders == sorted(orders, reverse=True)
    page = client.get(f"/w/{ws}/customers?sort=orders").text
    assert _ids(page, ws)[:50] == [int(row["id"]) for row in rows[:50]]
    for heading in ("NPS", "Segment", "12-month value", "Churn risk", "Export as CSV"):
        assert heading in page


def test_sorting_by_value_and_churn_risk_uses_the_model_scores_when_filled(store: Store) -> None:
    client, ws = store.app_client, store.workspace_id
    scores = _scores(store.db, ws)
    # given three customers with a value and a churn band (the others not computed)
    picked = [s.customer_id for s in scores[:3]]
    filled = {
        picked[0]: (120.0, 0.2, "high"),
        picked[1]: (900.5, 0.9, "low"),
        picked[2]: (40.0, 0.5, "medium"),
    }
    with model_scores(store.db, ws, filled):
        # when sorted by value, then by churn risk
        by_value = _csv(client.get(f"/w/{ws}/customers?format=csv&sort=clv").text)
        by_risk = _csv(client.get(f"/w/{ws}/customers?format=csv&sort=churn").text)
        # then those come first, in order, with their figures plain
        assert [int(row["id"]) for row in by_value[:3]] == [picked[1], picked[0], picked[2]]
        assert by_value[0]["clv_12m"] == "900.5"
        assert [int(row["id"]) for row in by_risk[:3]] == [picked[0], picked[2], picked[1]]
        assert by_risk[0]["churn_band"] == "high"
        high = _csv(client.get(f"/w/{ws}/customers?format=csv&churn=high").text)
        assert [int(row["id"]) for row in high] == [picked[0]]
        # and the page shows them in the reader's language
        page = client.get(f"/w/{ws}/customers?sort=clv").text
        assert re.search(r"[€$]900\.50", page)
        assert "high risk" in page


def test_the_grid_cells_count_and_link_to_exactly_their_customers(store: Store) -> None:
    client, ws = store.app_client, store.workspace_id
    # given the service's overview
    with store.db.session() as session:
        overview = analytics.rfm_overview(session, ws)
    # when the segments page is read
    page = client.get(f"/w/{ws}/segments")
    assert page.status_code == 200
    html = page.text
    # then each cell shows the service's count and links to a list of exactly that many
    cells = re.findall(
        r'href="(/w/[^"]+/customers\?r=(\d)&amp;f=(\d))"[^>]*>\s*<strong>([\d,]+)</strong>', html
    )
    assert len(cells) == 25
    counts = {(c.r, c.f): c.customers for c in overview.grid}
    for link, r, f, shown in cells:
        assert int(shown.replace(",", "")) == counts[(int(r), int(f))]
        listed = _csv(client.get(link.replace("&amp;", "&") + "&format=csv").text)
        assert len(listed) == counts[(int(r), int(f))]
    # and the last run's time and the rules are said; the run's value and churn scores shown
    assert "as of the last analytics run" in html
    assert "bought very recently and often (R 5, F 4–5)" in html
    assert 'data-not-computed="clv"' not in html and 'id="clv-data"' in html
    # and without model scores, their absence is said
    with model_scores(store.db, ws, {}):
        bare = client.get(f"/w/{ws}/segments").text
    assert 'data-not-computed="clv"' in bare and 'data-not-computed="churn"' in bare
    assert "not computed yet" in bare


def test_the_segments_page_exports_each_table(store: Store) -> None:
    client, ws = store.app_client, store.workspace_id
    with store.db.session() as session:
        overview = analytics.rfm_overview(session, ws)
    segments = client.get(f"/w/{ws}/segments?export=segments")
    assert segments.headers["content-type"].startswith("text/csv")
    assert 'filename="rfm_segments.csv"' in segments.headers["content-disposition"]
    rows = _csv(segments.text)
    assert [row["segment"] for row in rows] == list(analytics.SEGMENTS)
    assert {row["segment"]: int(row["customers"]) for row in rows} == {
        name: s.customers for name, s in overview.segments.items()
    }
    assert abs(sum(float(row["share"]) for row in rows) - 1) < 0.01
    # the run's values averaged per segment; empty without model scores
    assert any(row["average_clv_12m"] for row in rows)
    with model_scores(store.db, ws, {}):
        bare = _csv(client.get(f"/w/{ws}/segments?export=segments").text)
        header = client.get(f"/w/{ws}/segments?export=churn").text.splitlines()
    assert {row["average_clv_12m"] for row in bare} == {""}
    grid = _csv(client.get(f"/w/{ws}/segments?export=grid").text)
    assert [(int(g["r"]), int(g["f"]), int(g["customers"])) for g in grid] == [
        (c.r, c.f, c.customers) for c in overview.grid
    ]
    assert header[0].startswith("customer_id,name,rfm_segment,r,f,m,recency_days")
    assert len(header) == 1
    # an unknown table is the page itself
    assert (
        client.get(f"/w/{ws}/segments?export=nothing")
        .headers["content-type"]
        .startswith("text/html")
    )


def test_with_model_scores_the_page_shows_value_and_risks_high_band_first(store: Store) -> None:
    client, ws = store.app_client, store.workspace_id
    scores = [s for s in _scores(store.db, ws) if s.frequency > 1][:4]
    filled = {
        scores[0].customer_id: (300.0, 0.6, "medium"),
        scores[1].customer_id: (1500.0, 0.1, "high"),
        scores[2].customer_id: (80.0, 0.95, "low"),
        scores[3].customer_id: (20.0, 0.3, "high"),
    }
    with model_scores(store.db, ws, filled):
        html = client.get(f"/w/{ws}/segments").text
        # then the churn list holds the high band (least alive first), then the medium one
        bands = re.findall(r'<tr data-band="(\w+)"><td><a href="/w/[^"]+/customers/(\d+)"', html)
        assert [(band, int(cid)) for band, cid in bands] == [
            ("high", scores[1].customer_id),
            ("high", scores[3].customer_id),
            ("medium", scores[0].customer_id),
        ]
        # with what drives each risk in words
        risky = scores[1]
        assert f"no order for {risky.recency_days:,} days, usually orders every" in html
        # and the most valuable customers, the distribution and the segment averages
        assert 'id="clv-data"' in html and "Most valuable customers" in html
        churn = _csv(client.get(f"/w/{ws}/segments?export=churn").text)
        assert [int(row["customer_id"]) for row in churn] == [int(cid) for _, cid in bands]
        assert churn[0]["p_alive"] == "0.1"
        values = _csv(client.get(f"/w/{ws}/segments?export=clv").text)
        assert [float(row["clv_12m"]) for row in values] == [1500.0, 300.0, 80.0, 20.0]
        bands = _csv(client.get(f"/w/{ws}/segments?export=clv_bands").text)
        assert [(b["from"], b["up_to"], b["customers"]) for b in bands] == [
            ("0.0", "25.0", "1"), ("25.0", "50.0", "0"), ("50.0", "100.0", "1"),
            ("100.0", "250.0", "0"), ("250.0", "500.0", "1"), ("500.0", "1000.0", "0"),
            ("1000.0", "2500.0", "1"), ("2500.0", "", "0"),
        ]  # fmt: skip


def test_the_customer_page_explains_the_scores_in_both_languages(store: Store) -> None:
    client, ws = store.app_client, store.workspace_id
    scored = next(s for s in _scores(store.db, ws) if s.frequency > 1)
    url = f"/w/{ws}/customers/{scored.customer_id}"
    # given no model score yet: the RFM scores in words, the others not computed yet
    with model_scores(store.db, ws, {}):
        page = client.get(url).text
    assert f"last order {scored.recency_days:,} day" in page
    assert f"{scored.frequency} orders" in page
    assert page.count("not computed yet") == 4
    # given the model scores: figures in the reader's language
    with model_scores(store.db, ws, {scored.customer_id: (1234.5, 0.25, "high")}):
        page = client.get(url).text
        assert "25.0%" in page and "high risk" in page and "in 120 days" in page
        with TestClient(store.app_client.app) as viewer:
            login(viewer, "viewer@example.com")
            french = viewer.get(url).text
        assert "risque élevé" in french and "25,0" in french and "dans 120 jours" in french
        assert "1 234,50" in french.replace("\u202f", " ").replace("\xa0", " ")


def test_a_viewer_reads_in_french_and_another_workspace_is_not_found(store: Store) -> None:
    ws = store.workspace_id
    with TestClient(store.app_client.app) as viewer:
        login(viewer, "viewer@example.com")
        page = viewer.get(f"/w/{ws}/customers?segment=champions")
        assert page.status_code == 200
        assert "Champions" in page.text and "Valeur à 12 mois" in page.text
        segments = viewer.get(f"/w/{ws}/segments")
        assert segments.status_code == 200 and "Récence × fréquence" in segments.text
    with TestClient(store.app_client.app) as outsider:
        login(outsider, "outsider@example.com")
        assert outsider.get(f"/w/{ws}/customers?format=csv").status_code == 404
        assert outsider.get(f"/w/{ws}/segments?export=grid").status_code == 404
        empty = outsider.get(f"/w/{store.other_workspace_id}/segments")
        assert empty.status_code == 200 and "No analytics run yet" in empty.text
