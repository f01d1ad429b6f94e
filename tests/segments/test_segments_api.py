"""Segments over the admin API: created and refused with the field named, previewed against the
customers' facts, refreshed by the analytics run, listed, kept to their workspace."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cxloop import analytics
from cxloop.config import get_settings
from cxloop.store.db import Database
from tests.helpers import factories

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture
def warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"duckdb://{tmp_path / 'warehouse.duckdb'}"
    monkeypatch.setenv("CXLOOP_ANALYTICS_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_a_segment_is_previewed_made_refreshed_and_listed(
    app: FastAPI, db: Database, make_workspace: Any, warehouse: str
) -> None:
    # given a store with a frequent buyer, a one-time buyer, and a customer who never bought
    owner = make_workspace()
    other = make_workspace(name="Autre boutique")
    ws = owner.workspace_id
    fan, once, _never = (factories.customer(db, ws) for _ in range(3))
    for days in (5, 40, 90):
        factories.order(db, ws, fan, NOW - dt.timedelta(days=days))
    factories.order(db, ws, once, NOW - dt.timedelta(days=10))
    analytics.run_analytics(db, warehouse, ws, as_of=NOW)
    headers = {"Authorization": f"Bearer {owner.admin_key}"}
    with TestClient(app) as client:
        # when a condition is previewed
        shown = client.post(
            "/api/v1/segments/preview", json={"condition": "orders.count >= 2"}, headers=headers
        )
        # then it counts the customers it holds now, out of all
        assert shown.status_code == 200, shown.text
        assert shown.json() == {"members": 1, "customers": 3, "sample": [fan]}
        # when a segment is made of it, and of a faulty one
        made = client.post(
            "/api/v1/segments",
            json={"key": "repeat", "name": "Clients fidèles", "condition": "orders.count >= 2"},
            headers=headers,
        )
        faulty = client.post(
            "/api/v1/segments",
            json={"key": "bad", "name": "Bad", "condition": "orders.count >="},
            headers={**headers, "Accept-Language": "fr"},
        )
        # then the first is made, empty until the next run; the second refused, naming the field
        assert made.status_code == 201 and made.json()["members"] == 0
        assert faulty.status_code == 422
        assert faulty.json()["field"] == "condition"
        assert faulty.json()["detail"].startswith("au caractère 16")
        # when the analytics run again
        analytics.run_analytics(db, warehouse, ws, as_of=NOW)
        # then the segment holds the frequent buyer
        listed = client.get("/api/v1/segments", headers=headers).json()
        assert [(s["key"], s["members"]) for s in listed] == [("repeat", 1)]
        page = client.get("/api/v1/segments/repeat/members", headers=headers).json()
        assert page == {"members": 1, "customer_ids": [fan]}
        # and another workspace sees none of it
        theirs = {"Authorization": f"Bearer {other.admin_key}"}
        assert client.get("/api/v1/segments", headers=theirs).json() == []
        assert client.get("/api/v1/segments/repeat", headers=theirs).status_code == 404
        # and a static list refuses a customer of another workspace
        client.post(
            "/api/v1/segments", json={"key": "vip", "name": "VIP", "kind": "static"}, headers=theirs
        )
        refused = client.put(
            "/api/v1/segments/vip/members", json={"customer_ids": [fan]}, headers=theirs
        )
        assert refused.status_code == 422 and refused.json()["field"] == "customer_ids"
        # and a segment removed is gone
        assert client.delete("/api/v1/segments/repeat", headers=headers).status_code == 204
        assert client.get("/api/v1/segments/repeat", headers=headers).status_code == 404


def test_a_static_list_comes_from_a_csv_file(
    app: FastAPI, db: Database, make_workspace: Any
) -> None:
    owner, other = make_workspace(), make_workspace(name="Autre")
    ws = owner.workspace_id
    lou = factories.customer(db, ws, user_id="lou", email="lou@example.com")
    max_ = factories.customer(db, ws, user_id="max", email="max@example.com")
    factories.customer(db, other.workspace_id, user_id="zoe", email="zoe@example.com")
    headers = {"Authorization": f"Bearer {owner.admin_key}", "Content-Type": "text/csv"}
    with TestClient(app) as client:
        made = client.post(
            "/api/v1/segments",
            json={"key": "vip", "name": "VIP", "kind": "static"},
            headers={"Authorization": headers["Authorization"]},
        )
        assert made.status_code == 201
        by_id = client.put(
            "/api/v1/segments/vip/members.csv", content=b"user_id\nlou\nmax\n", headers=headers
        )
        assert by_id.status_code == 200 and sorted(by_id.json()["entered"]) == sorted([lou, max_])
        by_email = client.put(
            "/api/v1/segments/vip/members.csv",
            content="\ufeffName;Email\nLou;LOU@example.com\n".encode(),
            headers=headers,
        )
        assert by_email.json() == {"entered": [], "left": [max_]}
        stranger = client.put(
            "/api/v1/segments/vip/members.csv",
            content=b"email\nlou@example.com\nzoe@example.com\n",
            headers=headers,
        )
        assert stranger.status_code == 422 and "line 3" in stranger.json()["detail"]
        no_column = client.put(
            "/api/v1/segments/vip/members.csv", content=b"name\nLou\n", headers=headers
        )
        assert no_column.status_code == 422 and no_column.json()["field"] == "file"
        members = client.get(
            "/api/v1/segments/vip/members", headers={"Authorization": headers["Authorization"]}
        ).json()
        assert members == {"members": 1, "customer_ids": [lou]}
