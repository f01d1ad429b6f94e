"""The documented Redis set-up: `cxloop serve --no-worker` beside `cxloop worker`, one SQLite
store, a Redis queue. A store webhook received by the server has the worker plan and send the
invitation; the email provider's delivered and opened events, received by the server alone,
reach the invitation's funnel."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from huey.storage import RedisStorage
from sqlalchemy import select

from cxloop import signing
from cxloop.channels.models import OutboundMessage
from cxloop.store.db import Database
from cxloop.surveys.definitions import default_definition
from cxloop.surveys.models import Invitation
from cxloop.worker import service as runs
from tests.helpers.services import free_port, wait_for_port
from tests.helpers.store_webhooks import post_shopify

CXLOOP = str(Path(sys.executable).with_name("cxloop"))
SHOPIFY = Path(__file__).resolve().parents[1] / "data" / "webhooks" / "shopify"
SHOP_SECRET = "shpss_split_0123456789abcdef"
EMAIL_SECRET = "esp-split-0123456789"
UTC = dt.UTC
pytestmark = pytest.mark.redis


@dataclass
class HeldInbox:
    """An SMTP server that holds each message until released: the provider has delivered it,
    but its answer to our relay is still on the way."""

    envelopes: list[Envelope] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        self.envelopes.append(envelope)
        self.arrived.set()
        while not self.release.is_set():
            await asyncio.sleep(0.05)
        return "250 Message accepted for delivery"

    def message_id(self) -> str:
        """The Message-ID of the first message."""
        content = self.envelopes[0].original_content or self.envelopes[0].content
        assert isinstance(content, bytes)
        return str(message_from_bytes(content, policy=policy.default)["Message-ID"])


@pytest.fixture
def inbox() -> Iterator[tuple[HeldInbox, int]]:
    held = HeldInbox()
    controller = Controller(held, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield held, controller.port
    finally:
        held.release.set()
        controller.stop()


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _cli(env: dict[str, str], *args: str) -> str:
    return subprocess.run(
        [CXLOOP, *args], env=env, check=True, capture_output=True, text=True
    ).stdout


def _shopify(base: str, workspace_id: str, topic: str, document: dict[str, Any]) -> None:
    answer = post_shopify(
        base, workspace_id, topic, document, secret=SHOP_SECRET, delivery=f"split-{topic}"
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "applied"


def _funnel(db: Database) -> tuple[str, dt.datetime | None, dt.datetime | None]:
    with db.session() as session:
        invitation = session.scalars(select(Invitation)).one()
        return invitation.status, invitation.delivered_at, invitation.opened_at


def _email_status(db: Database) -> str:
    with db.session() as session:
        return session.scalars(select(OutboundMessage.status)).one()


def test_provider_events_reach_the_invitation_with_the_worker_apart(
    tmp_path: Path, redis_url: str, inbox: tuple[HeldInbox, int]
) -> None:
    held, smtp_port = inbox
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(
        os.environ,
        CXLOOP_HOME=str(tmp_path / "home"),
        CXLOOP_DATABASE_URL=f"sqlite:///{tmp_path / 'store.db'}",
        CXLOOP_QUEUE_URL=redis_url,
        CXLOOP_SMTP_URL=f"smtp://127.0.0.1:{smtp_port}?timeout=60",
        CXLOOP_PUBLIC_URL=base,
    )
    queue = RedisStorage("cxloop", url=redis_url)
    queue.flush_all()  # what earlier tests left on the shared server
    queue.pool.disconnect()
    keys = json.loads(_cli(env, "workspace", "create", "Maison Lou", "--json"))
    ws = keys["workspace_id"]
    _cli(env, "webhook", "secret", "shopify", SHOP_SECRET, "--workspace", ws)
    _cli(env, "webhook", "secret", "email", EMAIL_SECRET, "--workspace", ws)
    db = Database(env["CXLOOP_DATABASE_URL"])
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    worker = subprocess.Popen([CXLOOP, "worker"], env=env, **quiet)
    server = subprocess.Popen(
        [CXLOOP, "serve", "--no-worker", "--port", str(port)], env=env, **quiet
    )
    admin = {"Authorization": f"Bearer {keys['admin_key']}"}
    try:
        wait_for_port(port, timeout=30)
        # given an after-delivery survey asking ~5 s after delivery
        survey = default_definition("shipment_delivered").model_dump(mode="json")
        survey.update(delay_hours=0.0015, send_hours=[0, 24])
        answer = httpx.put(f"{base}/api/v1/surveys/after-delivery", json=survey, headers=admin)
        assert answer.status_code == 200, answer.text
        # when Shopify tells the server of an order, then of its parcel delivered now
        time.sleep(1.1)  # Shopify times have whole seconds: the delivery follows the survey
        now = dt.datetime.now(UTC).replace(microsecond=0).isoformat()
        order = json.loads((SHOPIFY / "orders_create.json").read_text())
        order.update(created_at=now, updated_at=now, processed_at=now)
        _shopify(base, ws, "orders/create", order)
        parcel = json.loads((SHOPIFY / "fulfillments_update.json").read_text())
        parcel.update(created_at=now, updated_at=now, estimated_delivery_at=now)
        _shopify(base, ws, "fulfillments/update", parcel)
        # then the worker plans the invitation (handed over by the server after its commit)
        # and sends its email when due
        assert held.arrived.wait(timeout=60), "the invitation email never reached SMTP"
        with db.session() as session:
            assert "done" in [run.status for run in runs.runs_of(session, "nps.plan")]
        assert _funnel(db) == ("sent", None, None)
        assert _email_status(db) == "sending"
        # when the provider reports the delivery and the opening, before our relay hears back
        events_body = json.dumps(
            [
                {
                    "type": "delivered",
                    "message_id": held.message_id(),
                    "at": "2026-03-01T10:05:00Z",
                },
                {"type": "opened", "message_id": held.message_id(), "at": "2026-03-01T10:20:00Z"},
            ]
        ).encode()
        answer = httpx.post(
            f"{base}/webhooks/email/{ws}",
            content=events_body,
            headers={
                "Content-Type": "application/json",
                signing.HEADER: signing.header_value(EMAIL_SECRET, events_body),
            },
        )
        # then the server alone moves the invitation along its funnel
        assert answer.status_code == 200, answer.text
        assert answer.json()["recorded"] == 2
        delivered = dt.datetime(2026, 3, 1, 10, 5, tzinfo=UTC)
        opened = dt.datetime(2026, 3, 1, 10, 20, tzinfo=UTC)
        assert _funnel(db) == ("sent", delivered, opened)
        # and once the relay answers, the worker records the send; the first word stays
        held.release.set()
        wait_until(lambda: _email_status(db) == "sent", 30, "the send to be recorded")
        assert _funnel(db) == ("sent", delivered, opened)
    finally:
        held.release.set()
        server.send_signal(signal.SIGINT)
        worker.send_signal(signal.SIGINT)
        server.wait(timeout=30)
        worker.wait(timeout=30)
        db.dispose()
