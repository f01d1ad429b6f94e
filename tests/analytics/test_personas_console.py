"""Personas of a demo store after a run: in the admin API (in French or English), on their console
page with CSV export, as a filter of the customer list, and on the customer page."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cxloop import analytics
from cxloop.analytics.models import CustomerScore
from cxloop.analytics.rfm import COLUMNS
from cxloop.analytics.service import write_scores
from cxloop.demo.generator import history_end
from cxloop.demo.service import build_demo
from cxloop.store.db import Database
from cxloop.web.app import create_app
from cxloop.workspaces import service as workspaces
from cxloop.workspaces.schemas import WorkspaceCreate
from tests.helpers.console import PASSWORD, login


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """A demo store of 400 customers scored by an analytics run; an owner reading in English, a
    viewer in French, and the owner of another workspace."""
    today = dt.datetime.now(dt.UTC).date()
    folder: Path = tmp_path_factory.mktemp("personas")
    db = Database(f"sqlite:///{folder / 'cxloop.db'}")
    ws = build_demo(db, customers=400, seed=3, as_of=today).workspace_id
    warehouse = f"duckdb://{folder / 'w.duckdb'}"
    analytics.run_analytics(db, warehouse, ws, as_of=history_end(today), actor="test")
    with db.session() as session:
        key = workspaces.issue_key(session, ws, "admin")
        other = workspaces.create_workspace(session, WorkspaceCreate(name="Other")).workspace_id
        for address, locale, where in (
            ("owner@example.com", "en", ws),
            ("viewer@example.com", "fr", ws),
            ("outsider@example.com", "en", other),
        ):
            user = workspaces.create_user(session, email=address, password=PASSWORD, locale=locale)
            workspaces.add_member(session, workspace_id=where, user=user, role="owner")
    with TestClient(create_app(db)) as client:
        login(client, "owner@example.com")
        yield Store(client, key, db, ws, other)
    db.dispose()


class Store(NamedTuple):
    """A scored demo store in ``db`` with its admin key, a client signed in as its owner, and
    another workspace: ``workspace_id``, ``other_workspace_id``."""

    client: TestClient
    admin_key: str
    db: Database
    workspace_id: str
    other_workspace_id: str


def _personas_of(db: Database, workspace_id: str) -> dict[int, str | None]:
    with db.session() as session:
        rows = session.execute(
            select(CustomerScore.customer_id, CustomerScore.persona).where(
                CustomerScore.workspace_id == workspace_id
            )
        ).all()
    return {int(cid): persona for cid, persona in rows}


def _report(db: Database, workspace_id: str) -> dict:
    with db.session() as session:
        found = analytics.report(session, workspace_id, "personas")
    assert found is not None
    return found.body


def test_a_run_on_the_demo_store_gives_every_buyer_a_persona(store: Store) -> None:
    # Given the demo store after a run
    body = _report(store.db, store.workspace_id)
    assigned = _personas_of(store.db, store.workspace_id)
    # Then between 2 and 8 personas share every scored customer, largest first, at least 2% each
    codes = [p["code"] for p in body["personas"]]
    assert 2 <= body["k"] <= 8 and codes == [f"p{i}" for i in range(1, body["k"] + 1)]
    sizes = [p["customers"] for p in body["personas"]]
    assert sizes == sorted(sizes, reverse=True) and sum(sizes) == len(assigned)
    assert min(sizes) >= 0.02 * len(assigned)
    assert {p: list(assigned.values()).count(p) for p in codes} == dict(
        zip(codes, sizes, strict=True)
    )
    # and each has a name and description in both languages, from its distinguishing features
    for persona in body["personas"]:
        assert persona["distinct"], persona["code"]
        for locale in ("fr", "en"):
            assert persona["words"][locale]["name"] and persona["words"][locale]["description"]
        assert persona["words"]["fr"]["name"] != persona["words"]["en"]["name"]
    assert sum(p["revenue_share"] for p in body["personas"]) == pytest.approx(1, abs=0.01)


def test_the_admin_api_names_the_personas_in_the_asked_language(store: Store) -> None:
    body = _report(store.db, store.workspace_id)
    headers = {"Authorization": f"Bearer {store.admin_key}"}
    # When asked in French, then in English
    french = store.client.get("/api/v1/analytics/personas?locale=fr", headers=headers).json()
    english = store.client.get("/api/v1/analytics/personas?locale=en", headers=headers).json()
    # Then the names and descriptions are the report's in each language, figures alike
    for answer, locale in ((french, "fr"), (english, "en")):
        assert answer["locale"] == locale and answer["k"] == body["k"]
        assert [(p["code"], p["name"], p["description"]) for p in answer["personas"]] == [
            (p["code"], p["words"][locale]["name"], p["words"][locale]["description"])
            for p in body["personas"]
        ]
    assert french["personas"][0]["customers"] == english["personas"][0]["customers"]
    assert set(english["bic"]) == {str(k) for k in range(2, 9)}
    # A language it does not speak is refused, naming the field; no key, no answer
    wrong = store.client.get("/api/v1/analytics/personas?locale=de", headers=headers)
    assert wrong.status_code in (400, 422) and "locale" in wrong.text
    assert store.client.get("/api/v1/analytics/personas").status_code == 401


def test_the_page_shows_each_persona_linked_to_exactly_its_customers(store: Store) -> None:
    client, ws = store.client, store.workspace_id
    body = _report(store.db, ws)
    assigned = _personas_of(store.db, ws)
    page = client.get(f"/w/{ws}/personas")
    assert page.status_code == 200
    # Then each persona has a card with its English name and a link to its customers
    for persona in body["personas"]:
        assert f'data-persona="{persona["code"]}"' in page.text
        assert persona["words"]["en"]["name"].replace("'", "&#39;") in page.text
        assert f"/w/{ws}/customers?persona={persona['code']}" in page.text
    # and the customer list filtered by the smallest persona lists its members only
    smallest = body["personas"][-1]
    listed = client.get(f"/w/{ws}/customers?persona={smallest['code']}&format=csv")
    ids = {int(row["id"]) for row in csv.DictReader(io.StringIO(listed.text))}
    assert ids == {cid for cid, p in assigned.items() if p == smallest["code"]}
    shown = client.get(f"/w/{ws}/customers?persona={smallest['code']}").text
    assert "selected>" + smallest["words"]["en"]["name"].replace("'", "&#39;") in shown
    # and an unknown persona filters nothing
    everyone = client.get(f"/w/{ws}/customers?persona=zz&format=csv").text
    assert len(everyone.splitlines()) > len(listed.text.splitlines())


def test_the_personas_table_exports_as_csv(store: Store) -> None:
    body = _report(store.db, store.workspace_id)
    answer = store.client.get(f"/w/{store.workspace_id}/personas?export=personas")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [r["persona"] for r in rows] == [p["code"] for p in body["personas"]]
    assert [int(r["customers"]) for r in rows] == [p["customers"] for p in body["personas"]]
    first = body["personas"][0]
    assert float(rows[0]["orders"]) == pytest.approx(first["means"]["orders"])
    assert rows[0]["name"] == first["words"]["en"]["name"]


def test_the_customer_page_names_the_persona_in_the_readers_language(store: Store) -> None:
    ws = store.workspace_id
    body = _report(store.db, ws)
    words = {p["code"]: p["words"] for p in body["personas"]}
    customer_id, code = next((c, p) for c, p in _personas_of(store.db, ws).items() if p)
    url = f"/w/{ws}/customers/{customer_id}"
    page = store.client.get(url).text
    assert re.search(r'data-score="persona"><a href="[^"]+">([^<]+)</a>', page).group(1) == (
        words[code]["en"]["name"].replace("'", "&#39;")
    )
    with TestClient(store.client.app) as viewer:
        login(viewer, "viewer@example.com")
        french = viewer.get(url).text
        personas_page = viewer.get(f"/w/{ws}/personas").text
    assert words[code]["fr"]["name"].replace("'", "&#39;") in french
    assert "Ce qui les distingue" in personas_page


def test_without_a_run_or_with_too_few_customers_the_page_says_why_and_escapes_names(
    store: Store,
) -> None:
    other = store.other_workspace_id
    with TestClient(store.client.app) as outsider:
        login(outsider, "outsider@example.com")
        # Given no run yet: the page says so
        assert "No analytics run yet" in outsider.get(f"/w/{other}/personas").text
        # Given a run with too few customers
        empty = pa.table(
            {n: pa.array([], pa.string() if n == "rfm_segment" else pa.int64()) for n in COLUMNS}
        )
        report = {"customers": 12, "k": 0, "reason": "too_few_customers", "personas": []}
        with store.db.session() as session:
            write_scores(session, other, empty, at=dt.datetime.now(dt.UTC), actor="t",
                         reports={"personas": report})  # fmt: skip
        assert "12 customers bought, at least 100" in outsider.get(f"/w/{other}/personas").text
        # Given a persona named after a category with markup: shown as text
        words = {"name": "Buyers of <b>Toys</b>", "description": "Buyers of <b>Toys</b>"}
        persona = {"code": "p1", "customers": 120, "share": 1.0, "revenue_share": 1.0,
                   "average_clv_12m": None, "means": {"category:<b>Toys</b>": 1.0},
                   "distinct": [], "words": {"fr": words, "en": words}}  # fmt: skip
        report = {"customers": 120, "k": 1, "bic": {}, "sample": 120, "personas": [persona],
                  "features": ["category:<b>Toys</b>"], "population": {}}  # fmt: skip
        with store.db.session() as session:
            write_scores(session, other, empty, at=dt.datetime.now(dt.UTC), actor="t",
                         reports={"personas": report})  # fmt: skip
        page = outsider.get(f"/w/{other}/personas").text
        assert "<b>Toys</b>" not in page and "Buyers of &lt;b&gt;Toys&lt;/b&gt;" in page
        assert "Spend in &lt;b&gt;Toys&lt;/b&gt;" in page
        # and another workspace's personas are not found
        assert outsider.get(f"/w/{store.workspace_id}/personas").status_code == 404
