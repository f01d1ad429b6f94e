"""Ingest against a running `cxloop serve`: the official Python library, unchanged (kills of the
server under load: tests/test_durability.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from segment.analytics.client import Client

from tests.helpers.services import free_port, wait_for_port

CXLOOP = str(Path(sys.executable).with_name("cxloop"))


@dataclass
class Served:
    url: str
    process: subprocess.Popen[bytes]
    write_key: str
    admin_key: str


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """`cxloop serve` in its own process, over its own SQLite store, with one workspace."""
    env = dict(os.environ)
    env["CXLOOP_HOME"] = str(tmp_path / "home")
    env["CXLOOP_DATABASE_URL"] = f"sqlite:///{tmp_path / 'store.db'}"
    created = subprocess.run(
        [CXLOOP, "workspace", "create", "Live", "--json"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    keys = json.loads(created.stdout)
    port = free_port()
    process = subprocess.Popen(
        [CXLOOP, "serve", "--port", str(port), "--no-worker"],
        env=env,
        stderr=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, timeout=30)
        yield Served(
            f"http://127.0.0.1:{port}",
            process,
            keys["write_key"],
            keys["admin_key"],
        )
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=20)


def test_the_official_python_library_works_unchanged(served: Served) -> None:
    # given Segment's own client pointed at cxloop, gzip on
    errors: list[Exception] = []
    client = Client(
        served.write_key,
        host=served.url,
        gzip=True,
        sync_mode=True,
        on_error=lambda exc, _batch: errors.append(exc),
    )
    # when it identifies a customer and tracks her
    client.identify(
        "lou-1", {"email": "lou@example.com", "firstName": "Lou"}, anonymous_id="anon-1"
    )
    client.track("lou-1", "Product Viewed", {"sku": "PULL-01", "price": 39.9})
    client.page("lou-1", "Catalogue", "Pulls", {"path": "/pulls"})
    client.flush()
    assert errors == []
    # then the customer 360 shows her and her calls
    body = httpx.get(
        f"{served.url}/api/v1/customers/lou-1",
        headers={"Authorization": f"Bearer {served.admin_key}"},
    ).json()
    assert body["traits"]["email"] == "lou@example.com"
    assert body["event_count"] == 3
    by_type = {e["type"]: e for e in body["recent_events"]}
    assert by_type["track"]["event"] == "Product Viewed"
    assert by_type["page"]["event"] == "Pulls"
    assert {"anonymous_id", "user_id", "email"} <= {i["kind"] for i in body["identities"]}
