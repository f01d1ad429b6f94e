"""The admin API and the operations endpoints, through HTTP."""

from __future__ import annotations

import datetime as dt

from fastapi import FastAPI
from fastapi.testclient import TestClient

from cxloop.commerce.models import Order, Shipment
from cxloop.profiles.models import Customer
from cxloop.store.db import Database


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_health_reports_the_store_and_no_worker_yet(app: FastAPI) -> None:
    with TestClient(app) as client:
        body = client.get("/healthz").json()
    assert body["status"] == "ok"
    assert body["database"] == "sqlite"
    assert body["worker_alive"] is False


def test_metrics_are_prometheus_text_and_count_requests(app: FastAPI) -> None:
    with TestClient(app) as client:
        client.get("/healthz")
        client.get("/healthz")
        response = client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    assert 'cxloop_http_requests_total{method="GET",route="/healthz",status="200"} 2.0' in (
        response.text
    )
    assert "cxloop_worker_last_heartbeat_timestamp_seconds 0.0" in response.text


def test_openapi_lists_the_admin_api(app: FastAPI) -> None:
    with TestClient(app) as client:
        spec = client.get("/api/v1/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    assert {"/api/v1/workspace", "/api/v1/overview"} <= set(spec["paths"])
    assert "/login" not in spec["paths"]


def test_admin_api_needs_an_admin_key_and_names_the_field(app: FastAPI, make_workspace) -> None:
    creds = make_workspace()
    with TestClient(app) as client:
        missing = client.get("/api/v1/workspace")
        wrong = client.get("/api/v1/workspace", headers=_bearer("cxa_000000000000_nope"))
        write = client.get("/api/v1/workspace", headers=_bearer(creds.write_key))
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert missing.json() == {
        "error": "unauthorized",
        "detail": "admin key required as Bearer token",
        "field": "authorization",
    }
    assert wrong.status_code == 401
    assert write.status_code == 403
    assert write.json()["field"] == "authorization"


def test_each_key_sees_only_its_own_workspace(app: FastAPI, db: Database, make_workspace) -> None:
    # given two stores, only the first with orders
    mine, other = make_workspace("Mine"), make_workspace("Other")
    when = dt.datetime(2026, 5, 10, 12, tzinfo=dt.UTC)
    with db.session() as session:
        buyer = Customer(workspace_id=mine.workspace_id, user_id="u1")
        session.add(buyer)
        session.flush()
        for n, (total, status) in enumerate([(5000, "paid"), (3000, "paid"), (9900, "cancelled")]):
            session.add(
                Order(
                    workspace_id=mine.workspace_id,
                    external_id=str(n),
                    customer_id=buyer.id,
                    status=status,
                    total_cents=total,
                    placed_at=when,
                )
            )
        session.flush()
        session.add(
            Shipment(
                workspace_id=mine.workspace_id,
                order_id=1,
                external_id="s1",
                promised_at=when,
                delivered_at=when + dt.timedelta(days=2),
            )
        )
    # when each admin key asks for its overview
    with TestClient(app) as client:
        ours = client.get("/api/v1/overview", headers=_bearer(mine.admin_key)).json()
        theirs = client.get("/api/v1/overview", headers=_bearer(other.admin_key)).json()
        name = client.get("/api/v1/workspace", headers=_bearer(other.admin_key)).json()["name"]
    # then each sees its own figures only; cancelled orders bring no revenue
    assert ours["orders"] == 2
    assert ours["revenue"] == 80.0
    assert ours["average_order_value"] == 40.0
    assert ours["repeat_buyer_share"] == 1.0
    assert ours["late_shipment_share"] == 1.0
    assert ours["months"] == [{"month": "2026-05", "orders": 2, "revenue": 80.0}]
    assert theirs["orders"] == 0 and theirs["customers"] == 0 and theirs["months"] == []
    assert name == "Other"


def test_security_headers_are_set(app: FastAPI) -> None:
    with TestClient(app) as client:
        response = client.get("/login")
    assert response.headers["x-frame-options"] == "DENY"
    assert "script-src 'self'" in response.headers["content-security-policy"]


def test_metrics_need_the_token_when_one_is_set(db: Database) -> None:
    from cxloop.config import Settings
    from cxloop.web.app import create_app

    app = create_app(db, settings=Settings(metrics_token="s" * 24))
    with TestClient(app) as client:
        refused = client.get("/metrics")
        wrong = client.get("/metrics", headers=_bearer("x" * 24))
        allowed = client.get("/metrics", headers=_bearer("s" * 24))
    assert refused.status_code == 401 and wrong.status_code == 401
    assert refused.json()["field"] == "authorization"
    assert allowed.status_code == 200


def test_metrics_without_a_token_refuse_remote_clients(db: Database) -> None:
    from cxloop.web.app import create_app

    app = create_app(db)
    with TestClient(app, client=("203.0.113.9", 50000)) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/healthz").status_code == 200
