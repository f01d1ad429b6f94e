"""The input policy at every entry point: a value out of bounds is a 4xx naming its field, and
nothing is stored; the classes of input that used to answer 5xx each have a case here."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from cxloop.ingest import imports
from cxloop.ingest.models import Event
from cxloop.store.db import Database
from cxloop.surveys.models import Response
from cxloop.workspaces.schemas import WorkspaceCredentials
from tests.helpers import factories as f
from tests.helpers.services import free_port, wait_for_port
from tests.helpers.store_webhooks import Store, modified, open_store

CXLOOP = str(Path(sys.executable).with_name("cxloop"))
NOW = dt.datetime.now(dt.UTC)


def basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def nested(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def stored_events(db: Database) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(Event)) or 0)


def refused(response: Any, status: int, field: str) -> None:
    assert (response.status_code, response.json()["field"]) == (status, field), response.text
    assert set(response.json()) == {"error", "detail", "field"}


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def keys(make_workspace: Any) -> WorkspaceCredentials:
    return make_workspace()


# Segment ingest: dates at the edges of the calendar ------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"timestamp": "0001-01-01T00:00:00+05:00"}, "body.timestamp"),
        ({"timestamp": "9999-12-31T23:59:59-05:00"}, "body.timestamp"),
        ({"sentAt": "0001-01-01T00:00:00+05:00"}, "body.sentAt"),
        ({"sentAt": "9999-12-31T23:59:59-05:00"}, "body.sentAt"),
        # both in range, but the skew correction would land before 1970
        ({"timestamp": "1970-01-01T00:00:00Z", "sentAt": "2200-12-31T00:00:00Z"}, "body.timestamp"),
    ],
)
def test_times_at_the_edges_of_the_calendar_are_a_400_naming_the_field(
    client: TestClient,
    db: Database,
    keys: WorkspaceCredentials,
    changes: dict[str, str],
    field: str,
) -> None:
    body = {"userId": "u-1", "event": "Viewed", **changes}
    response = client.post("/v1/track", json=body, headers=basic(keys.write_key))
    refused(response, 400, field)
    assert stored_events(db) == 0


def test_a_batch_names_the_call_at_fault(
    client: TestClient, db: Database, keys: WorkspaceCredentials
) -> None:
    calls = [{"type": "track", "userId": "u", "event": "E"} for _ in range(4)]
    calls[3]["timestamp"] = "9999-12-31T23:59:59-05:00"
    response = client.post("/v1/batch", json={"batch": calls}, headers=basic(keys.write_key))
    refused(response, 400, "batch[3].timestamp")
    assert stored_events(db) == 0


# Segment ingest: deep JSON --------------------------------------------------------------------


def test_a_deep_identify_is_refused_and_the_customer_360_stays_200(
    client: TestClient, db: Database, keys: WorkspaceCredentials
) -> None:
    # given a known customer
    ok = client.post(
        "/v1/identify",
        json={"userId": "u-1", "traits": {"plan": "pro"}},
        headers=basic(keys.write_key),
    )
    assert ok.status_code == 200
    # when an identify arrives with traits nested 300 levels (JSON parsers take 1,024)
    deep = client.post(
        "/v1/identify", json={"userId": "u-1", "traits": nested(300)}, headers=basic(keys.write_key)
    )
    # then it is refused naming the traits, and nothing of it is stored
    refused(deep, 400, "body.traits")
    assert stored_events(db) == 1
    # and the customer's 360 still answers
    view = client.get(
        "/api/v1/customers/u-1", headers={"Authorization": f"Bearer {keys.admin_key}"}
    )
    assert view.status_code == 200
    assert view.json()["traits"] == {"plan": "pro"}


@pytest.mark.parametrize("part", ["traits", "properties", "context", "integrations"])
def test_deep_json_in_a_batch_is_refused_naming_its_place(
    client: TestClient, db: Database, keys: WorkspaceCredentials, part: str
) -> None:
    calls: list[dict[str, Any]] = [{"type": "track", "userId": "u", "event": "E"} for _ in range(4)]
    calls[3][part] = nested(33)
    response = client.post("/v1/batch", json={"batch": calls}, headers=basic(keys.write_key))
    refused(response, 400, f"batch[3].{part}")
    assert stored_events(db) == 0


def test_json_at_the_depth_limit_is_stored(
    client: TestClient, db: Database, keys: WorkspaceCredentials
) -> None:
    body = {"userId": "u", "event": "E", "properties": nested(32)}
    response = client.post("/v1/track", json=body, headers=basic(keys.write_key))
    assert response.status_code == 200
    assert stored_events(db) == 1


# Segment ingest: bodies are capped before they are read ----------------------------------------


def test_a_huge_chunked_body_without_a_header_key_is_refused_at_the_cap(
    client: TestClient, keys: WorkspaceCredentials
) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"writeKey": "' + keys.write_key.encode() + b'", "batch": ['
        for _ in range(10_000):
            yield b'{"type": "track", "userId": "u", "event": "E"},' * 20

    response = client.post("/v1/batch", content=chunks())
    refused(response, 400, "body")
    assert response.json()["error"] == "too_large"


def _rss_kb(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    assert match is not None
    return int(match.group(1))


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen[bytes], str]]:
    """`cxloop serve` in its own process over its own SQLite store, with one workspace."""
    env = dict(os.environ)
    env["CXLOOP_HOME"] = str(tmp_path / "home")
    env["CXLOOP_DATABASE_URL"] = f"sqlite:///{tmp_path / 'store.db'}"
    created = subprocess.run(
        [CXLOOP, "workspace", "create", "Live", "--json"],
        env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    port = free_port()
    process = subprocess.Popen(
        [CXLOOP, "serve", "--port", str(port), "--no-worker"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for_port(port, timeout=30)
        yield port, process, json.loads(created.stdout)["write_key"]
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_a_bogus_key_with_a_100_mb_chunked_body_is_refused_without_buffering_it(
    served: tuple[int, subprocess.Popen[bytes], str],
) -> None:
    port, process, _write_key = served
    # given a warmed-up server (first requests load code and caches)
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", port)) as warm:
            warm.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            while warm.recv(65536):
                pass
    before = _rss_kb(process.pid)
    # when a client with an unknown write key streams 100 MB in chunks
    chunk = b"x" * (1024 * 1024)
    sent = 0
    with socket.create_connection(("127.0.0.1", port)) as conn:
        conn.sendall(
            b"POST /v1/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n"
            + f"Authorization: {basic('bogus-key')['Authorization']}\r\n\r\n".encode()
        )
        try:
            for _ in range(100):
                conn.sendall(b"100000\r\n" + chunk + b"\r\n")
                sent += len(chunk)
            conn.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server answered and closed the connection while we were sending
        conn.settimeout(10)
        answer = b""
        try:
            while part := conn.recv(65536):
                answer += part
        except OSError:
            pass
    time.sleep(0.5)
    grown_mb = (_rss_kb(process.pid) - before) / 1024
    print(
        f"\nbogus key, 100 MB chunked: {sent // 2**20} MB sent, server RSS grew {grown_mb:.1f} MB"
    )
    # then it is refused as unauthorised, and the server did not keep the body
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    assert b'"field":"writeKey"' in answer
    assert grown_mb < 20


# Store webhooks --------------------------------------------------------------------------------


@pytest.fixture
def store(app: FastAPI, db: Database, make_workspace: Any) -> Iterator[Store]:
    """A workspace with its webhook secrets, and a client that sends it signed deliveries."""
    with open_store(app, db, make_workspace) as opened:
        yield opened


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"created_at": "0001-01-01T00:00:00+05:00"}, "created_at"),
        ({"updated_at": "9999-12-31T23:59:59-05:00"}, "updated_at"),
        ({"total_price": "1e30"}, "total_price"),
        ({"total_price": 1e30}, "total_price"),
        ({"total_price": "9" * 5000}, "total_price"),
        ({"total_discounts": "-1e30"}, "total_discounts"),
    ],
)
def test_shopify_dates_and_money_out_of_range_are_a_422_naming_the_field(
    store: Store, db: Database, changes: dict[str, Any], field: str
) -> None:
    response = store.shopify("orders/create", modified("shopify", "orders_create", **changes))
    refused(response, 422, field)
    assert stored_events(db) == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"date_created_gmt": "0001-01-01T00:00:00"}, "date_created_gmt"),
        ({"total": "1e30"}, "total"),
        ({"total": 1e30}, "total"),
        (
            {
                "meta_data": [
                    {
                        "key": "_wc_shipment_tracking_items",
                        "value": [{"tracking_id": "t-1", "date_shipped": 10**20}],
                    }
                ]
            },
            "date_shipped",
        ),
    ],
)
def test_woocommerce_dates_and_money_out_of_range_are_a_422_naming_the_field(
    store: Store, db: Database, changes: dict[str, Any], field: str
) -> None:
    response = store.woo("order.created", modified("woocommerce", "order_created", **changes))
    refused(response, 422, field)
    assert stored_events(db) == 0


def test_a_deep_or_huge_number_webhook_body_is_a_400(store: Store) -> None:
    deep = b'{"a": ' * 5000 + b"1" + b"}" * 5000
    refused(store.shopify("orders/create", deep), 400, "body")
    huge = b'{"id": ' + b"9" * 5000 + b"}"
    refused(store.shopify("orders/create", huge), 400, "body")


# Survey page and widget ------------------------------------------------------------------------


@pytest.fixture
def token(db: Database, make_workspace: Any) -> str:
    return f.sent_invitation(db, make_workspace("Maison Lou").workspace_id, NOW)


def answers(db: Database) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(Response)) or 0)


@pytest.mark.parametrize("score", ["٩", "９", "²", "9" * 5000, "1e1", "11"])
def test_a_score_that_is_not_0_to_10_in_ascii_digits_is_a_422(
    client: TestClient, db: Database, token: str, score: str
) -> None:
    page = client.get(f"/s/{token}")
    match = re.search(r'name="key" value="([0-9a-f]+)"', page.text)
    assert match is not None
    posted = client.post(f"/s/{token}", data={"score": score, "key": match.group(1)})
    assert posted.status_code == 422
    seen = client.post(f"/s/{token}/seen", json={"key": match.group(1), "score": score})
    refused(seen, 422, "score")
    link = client.get(f"/s/{token}", params={"score": score})
    assert link.status_code < 500
    assert answers(db) == 0


def test_the_widget_refuses_an_overlong_user_id(
    client: TestClient, keys: WorkspaceCredentials
) -> None:
    response = client.post(
        "/widget/v1/nps", json={"writeKey": keys.write_key, "userId": "u" * 5000}
    )
    refused(response, 422, "userId")


# CSV imports -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        ("placed_at=0001-01-01T00:00:00+05:00", "placed_at: '0001-01-01T00:00:00+05:00' must be"),
        ("placed_at=9999-12-31T23:59:59-05:00", "placed_at: '9999-12-31T23:59:59-05:00' must be"),
        ("unit_price=" + "9" * 5000, "unit_price: must be at most 21474836.47 either way"),
        ("unit_price=٩٩", "unit_price: '٩٩' is not an amount"),
        ("quantity=٣", "quantity: '٣' is not a whole number"),
    ],
)
def test_csv_rows_out_of_range_are_bad_rows_with_their_reason(
    tmp_path: Path, cell: str, reason: str
) -> None:
    row = {
        "order_id": "F-1",
        "placed_at": "2026-03-01 09:15",
        "email": "zoe@example.fr",
        "sku": "E-1",
        "title": "Écharpe",
        "quantity": "2",
        "unit_price": "24.50",
    }
    column, value = cell.split("=", 1)
    row[column] = value
    path = tmp_path / "orders.csv"
    path.write_text(",".join(row) + "\n" + ",".join(row.values()) + "\n", encoding="utf-8")
    defaults = imports.Defaults(timezone=imports.ZoneInfo("Europe/Paris"), currency="EUR")
    with pytest.raises(imports.BadRow) as bad:
        imports.read_file("orders", path, defaults)
    assert bad.value.line == 2
    assert reason in bad.value.reason


# Admin API bodies --------------------------------------------------------------------------------


def test_a_deep_or_oversized_taxonomy_is_refused_naming_the_body(
    client: TestClient, keys: WorkspaceCredentials
) -> None:
    admin = {"Authorization": f"Bearer {keys.admin_key}", "Content-Type": "application/json"}
    deep = b'{"themes": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    refused(client.put("/api/v1/feedback/taxonomy", content=deep, headers=admin), 422, "body")
    huge = b" " * (2 * 1024 * 1024)
    refused(client.put("/api/v1/feedback/taxonomy", content=huge, headers=admin), 413, "body")


# YAML with aliases ("billion laughs") and oversized survey bodies -----------------------------

LAUGHS = "\n".join(
    ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    + [f"{chr(98 + n)}: &{chr(98 + n)} [{', '.join(['*' + chr(97 + n)] * 9)}]" for n in range(8)]
    + ["key: nps_after_delivery"]
)


@pytest.mark.parametrize(
    "path", ["/api/v1/surveys/nps_after_delivery", "/api/v1/feedback/taxonomy"]
)
def test_a_yaml_alias_bomb_is_refused_before_it_is_walked(
    client: TestClient, keys: WorkspaceCredentials, path: str
) -> None:
    # given a 600-byte YAML document that describes 9^9 (387 million) strings through aliases
    admin = {"Authorization": f"Bearer {keys.admin_key}", "Content-Type": "application/yaml"}
    assert len(LAUGHS) < 1000
    # when it is put as a survey or a taxonomy
    answer = client.put(path, content=LAUGHS.encode(), headers=admin)
    # then it is refused by the node count, naming the body
    refused(answer, 400, "body")
    assert "more than" in answer.json()["detail"]


def test_a_survey_body_over_256_kb_is_refused_naming_the_body(
    client: TestClient, keys: WorkspaceCredentials
) -> None:
    admin = {"Authorization": f"Bearer {keys.admin_key}", "Content-Type": "application/json"}
    huge = b'{"key": "nps_after_delivery", "name": "' + b"x" * (300 * 1024) + b'"}'
    answer = client.put("/api/v1/surveys/nps_after_delivery", content=huge, headers=admin)
    refused(answer, 413, "body")
    deep = b'{"key": "nps_after_delivery", "texts": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    answer = client.put("/api/v1/surveys/nps_after_delivery", content=deep, headers=admin)
    refused(answer, 422, "body")
