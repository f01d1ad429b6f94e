"""Segments in the console: the editor's live count (with the position of a mistake), a
segment made and changed, its members shown, French."""

from __future__ import annotations

import datetime as dt
import html
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cxloop import analytics
from cxloop.config import get_settings
from cxloop.segments import service
from cxloop.store.db import Database
from tests.helpers import factories as f
from tests.helpers.console import csrf_of, login

NOW = dt.datetime.now(dt.UTC)


def test_the_segment_editor(
    app: FastAPI,
    db: Database,
    make_workspace: Any,
    make_user: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ws = make_workspace().workspace_id
    make_user("lou@shop.fr", ws, locale="fr")
    fan = f.customer(db, ws, first_name="Fan")
    once = f.customer(db, ws, first_name="Once")
    for days in (5, 40):
        f.order(db, ws, fan, NOW - dt.timedelta(days=days))
    f.order(db, ws, once, NOW - dt.timedelta(days=9))
    with TestClient(app, follow_redirects=False) as client:
        login(client, "lou@shop.fr")
        url = f"duckdb://{tmp_path / 'w.duckdb'}"
        monkeypatch.setenv("CXLOOP_ANALYTICS_URL", url)
        get_settings.cache_clear()
        analytics.run_analytics(db, url, ws, as_of=NOW)
        counted = client.get(
            f"/w/{ws}/segments/custom/count", params={"condition": "orders.count >= 2"}
        ).json()
        assert (counted["members"], counted["customers"], counted["error"]) == (1, 2, "")
        wrong = client.get(
            f"/w/{ws}/segments/custom/count", params={"condition": "orders.count >="}
        ).json()
        assert wrong["members"] is None and "caractère 16" in wrong["error"]
        page = client.get(f"/w/{ws}/segments/custom/new")
        token = csrf_of(page.text)
        refused = client.post(
            f"/w/{ws}/segments/custom/new",
            data={
                "csrf_token": token,
                "key": "fans",
                "name": "Fans",
                "condition": "orders.count >> 2",
            },
        )
        assert refused.status_code == 422 and "orders.count &gt;&gt; 2" in refused.text
        made = client.post(
            f"/w/{ws}/segments/custom/new",
            data={
                "csrf_token": token,
                "key": "fans",
                "name": "Fans",
                "condition": "orders.count >= 2",
            },
        )
        assert made.status_code == 303
        shown = html.unescape(client.get(f"/w/{ws}/segments/custom/fans").text)
        assert "1 clients sur 2 en ce moment." in shown and "Fan" in shown
        assert "Vos segments" in client.get(f"/w/{ws}/segments").text
        saved = client.post(
            f"/w/{ws}/segments/custom/fans",
            data={"csrf_token": token, "name": "Tous", "condition": "orders.count >= 1"},
        )
        assert saved.status_code == 303
        get_settings.cache_clear()
    with db.session() as session:
        segment = service.get_segment(session, ws, "fans")
        assert segment is not None and (segment.name, segment.condition) == (
            "Tous",
            "orders.count >= 1",
        )
