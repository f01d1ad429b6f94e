"""The scores where people and programs read them: the CLI, the admin API, the customer 360."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from cxloop import analytics
from cxloop.store.db import Database
from tests.helpers import factories
from tests.helpers.console import login

NOW = dt.datetime.now(dt.UTC)


def _buyers(db: Database, workspace_id: str) -> list[int]:
    """Five customers, customer i with i orders, the last one 10 × i days ago."""
    ids = []
    for i in range(1, 6):
        cid = factories.customer(db, workspace_id, user_id=f"u{i}")
        for k in range(i):
            factories.order(db, workspace_id, cid, NOW - dt.timedelta(days=10 * i + k))
        ids.append(cid)
    return ids


def test_the_admin_api_shows_segments_the_grid_and_each_customers_scores(
    db: Database, app: FastAPI, make_workspace, tmp_path: Path
) -> None:
    # Given five buyers scored by a run
    creds = make_workspace()
    _buyers(db, creds.workspace_id)
    analytics.run_analytics(db, f"duckdb://{tmp_path / 'w.duckdb'}", creds.workspace_id)
    client = TestClient(app)
    headers = {"Authorization": f"Bearer {creds.admin_key}"}
    # When the RFM overview is asked for
    overview = client.get("/api/v1/analytics/rfm", headers=headers).json()
    # Then the most frequent buyer, also the oldest (R 1, F 5), is one not to lose, the most recent
    # single buyer (R 5, F 1) new, and each one between walks the grid's diagonal
    assert overview["customers"] == 5
    assert overview["segments"]["cant_lose"] == {"customers": 1, "revenue": 249.5}
    assert overview["segments"]["new"] == {"customers": 1, "revenue": 49.9}
    diagonal = ("potential_loyalist", "need_attention", "at_risk")
    assert [overview["segments"][name]["customers"] for name in diagonal] == [1, 1, 1]
    assert overview["segments"]["champions"] == {"customers": 0, "revenue": 0.0}
    assert len(overview["grid"]) == 25
    cell = next(c for c in overview["grid"] if (c["r"], c["f"]) == (5, 1))
    assert cell == {"r": 5, "f": 1, "segment": "new", "customers": 1, "revenue": 49.9}
    assert sum(c["customers"] for c in overview["grid"]) == 5
    # and the 360 of the frequent buyer carries its scores, in the shape it had
    profile = client.get("/api/v1/customers/u5", headers=headers).json()
    scores = profile["scores"]
    assert (scores["rfm_segment"], scores["r"], scores["f"], scores["m"]) == ("cant_lose", 1, 5, 5)
    assert scores["clv"] is None
    assert {"rfm_segment", "clv", "churn_risk"} <= set(scores)


def test_the_customer_page_shows_the_segment_in_french(
    db: Database, app: FastAPI, make_workspace, make_user, tmp_path: Path
) -> None:
    creds = make_workspace()
    ids = _buyers(db, creds.workspace_id)
    analytics.run_analytics(db, f"duckdb://{tmp_path / 'w.duckdb'}", creds.workspace_id)
    make_user("fr@example.com", creds.workspace_id, locale="fr")
    client = TestClient(app)
    login(client, "fr@example.com")
    page = client.get(f"/w/{creds.workspace_id}/customers/{ids[0]}").text
    assert "Segment RFM" in page
    assert "Nouveaux clients" in page


def test_cxloop_analytics_run_prints_its_summary(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "CXLOOP_HOME": str(tmp_path / "home"),
        "CXLOOP_DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}",
    }
    cli = str(Path(sys.executable).with_name("cxloop"))
    made = subprocess.run(
        [cli, "workspace", "create", "Shop", "--json"], env=env, capture_output=True, text=True
    )
    workspace_id = json.loads(made.stdout)["workspace_id"]
    db = Database(env["CXLOOP_DATABASE_URL"])
    _buyers(db, workspace_id)
    db.dispose()
    result = subprocess.run(
        [cli, "analytics", "run", "--workspace", workspace_id, "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["customers"] == 5
    assert summary["loaded"]["orders"] == 15
    assert sum(summary["rfm_segments"].values()) == 5
    assert (tmp_path / "home" / "warehouse.duckdb").exists()
