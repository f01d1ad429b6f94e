"""A worker killed in the middle of journeys (SIGKILL, `cxloop worker` in its own process),
then started again: every customer gets their coupon, their email, their webhook call and
their case, none twice, none lost.

What the kill can leave: a step's transaction never committed (it is taken again from scratch),
an email or a webhook claimed but not recorded (sent again with the same Message-ID or
Idempotency-Key once stale; here "once stale" is brought forward), queue tasks that died with
the process (the sweep finds their runs and inbox events in the store)."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from huey.storage import SqliteStorage
from sqlalchemy import func, select

from cxloop.cases.models import Case
from cxloop.channels import email, hooks
from cxloop.channels.models import OutboundMessage, WebhookCall
from cxloop.commerce.models import Coupon
from cxloop.config import get_settings
from cxloop.ingest import service as ingest
from cxloop.journeys import service
from cxloop.journeys import tasks as journey_tasks
from cxloop.journeys.models import JourneyRun
from cxloop.store.base import utcnow
from cxloop.store.db import Database
from cxloop.wiring import wire
from cxloop.worker.queue import huey
from cxloop.workspaces import service as workspaces
from cxloop.workspaces.schemas import WorkspaceCreate
from tests.helpers import factories as f
from tests.helpers.journeys import awake
from tests.helpers.services import free_port
from tests.helpers.webhooks import Receiver

CXLOOP = str(Path(sys.executable).with_name("cxloop"))
CUSTOMERS = 150
JOURNEY = """
key: recovery
trigger: {{event: Parcel Lost}}
steps:
  - coupon: {{kind: percent, value: 20, expires_in: 30d}}
  - send: {{subject: "Code {{{{ coupon.code }}}}", body: "Votre code : {{{{ coupon.code }}}}"}}
  - webhook: {{url: "{url}"}}
  - case: {{title: "Colis perdu de {{{{ first_name }}}}"}}
"""


class SlowInbox:
    """An SMTP server that takes 20 ms per message: the kill lands while mail is going out."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        await asyncio.sleep(0.02)
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def message_ids(self) -> list[str]:
        found = []
        for envelope in self.envelopes:
            content = envelope.original_content or envelope.content
            assert isinstance(content, bytes)
            found.append(str(message_from_bytes(content, policy=policy.default)["Message-ID"]))
        return found


@pytest.fixture
def slow_smtp() -> Iterator[tuple[SlowInbox, int]]:
    inbox = SlowInbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()


def _wait(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_a_killed_worker_loses_nothing_and_repeats_nothing(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    slow_smtp: tuple[SlowInbox, int],
    engine: str,
) -> None:
    inbox, smtp_port = slow_smtp
    url = (
        f"sqlite:///{tmp_path / 'store.db'}"
        if engine == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    db = Database(url)
    queue = tmp_path / "queue.db"
    env = dict(
        os.environ,
        CXLOOP_HOME=str(tmp_path / "home"),
        CXLOOP_DATABASE_URL=url,
        CXLOOP_QUEUE_URL=f"sqlite:///{queue}",
        CXLOOP_SMTP_URL=f"smtp://127.0.0.1:{smtp_port}",
    )
    # This process enqueues into the worker's queue, and signs as it does.
    storage = SqliteStorage("cxloop", filename=str(queue))
    monkeypatch.setattr(huey, "storage", storage)
    for name in ("CXLOOP_HOME", "CXLOOP_DATABASE_URL", "CXLOOP_SMTP_URL"):
        monkeypatch.setenv(name, env[name])
    get_settings.cache_clear()
    wire()
    receiver = Receiver()
    try:
        with db.session() as session:
            ws = workspaces.create_workspace(session, WorkspaceCreate(name="Boutique")).workspace_id
        awake(db, ws)
        with db.session() as session:
            service.create_journey(
                session, ws, JOURNEY.format(url=receiver.url), actor="test", status="active"
            )
        people = [f.customer(db, ws, first_name=f"P{i}") for i in range(CUSTOMERS)]
        for cid in people:
            with db.session() as session:
                ingest.record_event(
                    session,
                    ws,
                    message_id=uuid.uuid4().hex,
                    event_type="track",
                    event="Parcel Lost",
                    timestamp=utcnow(),
                    customer_id=cid,
                )
        quiet: dict[str, Any] = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        worker = subprocess.Popen([CXLOOP, "worker", "--threads", "4"], env=env, **quiet)
        try:
            _wait(lambda: len(inbox.envelopes) >= CUSTOMERS // 4, 120, "mail to start")
        finally:
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=30)
        sent_before = len(inbox.envelopes)
        assert sent_before < CUSTOMERS, "the kill came too late to test anything"
        # Time passes: what the dead worker held is stale. The restarted worker's sweep and
        # the channels' periodic tasks find it; here they are run at once.
        with db.session() as session:
            stranded = email.stranded(session, dt.timedelta(0), stale=dt.timedelta(0))
            calls = hooks.pending_calls(session, stale=dt.timedelta(0))
        email.deliver(db, stranded, email.sender_for(get_settings()), stale=dt.timedelta(0))
        hooks.post_calls(db, calls, get_settings(), stale=dt.timedelta(0))
        worker = subprocess.Popen([CXLOOP, "worker", "--threads", "4"], env=env, **quiet)
        try:
            journey_tasks.sweep()
            _wait(lambda: _done(db) == CUSTOMERS, 180, "every run to finish")
            journey_tasks.sweep()  # what the last runs queued and a dead task left behind
            _wait(lambda: _sent(db) == (CUSTOMERS, CUSTOMERS), 120, "every email and call")
        finally:
            worker.send_signal(signal.SIGINT)
            worker.wait(timeout=60)
        with db.session() as session:
            coupons = session.scalar(select(func.count()).select_from(Coupon))
            cases = session.scalar(select(func.count()).select_from(Case))
            messages = session.execute(
                select(OutboundMessage.customer_id, OutboundMessage.message_id)
            ).all()
            keys = list(session.scalars(select(WebhookCall.idempotency_key)))
        # One of each per customer in the store...
        assert coupons == cases == CUSTOMERS
        assert sorted(c for c, _ in messages) == sorted(people)
        assert len(set(keys)) == len(keys) == CUSTOMERS
        # ... and at the receivers: every message arrived, each Message-ID once, but for one
        # taken by the kill between the server's acceptance and our record, at most.
        received = Counter(inbox.message_ids())
        assert set(received) == {m for _, m in messages}
        assert sum(n - 1 for n in received.values()) <= 1
        posted = Counter(headers["Idempotency-Key"] for headers, _ in receiver.calls)
        assert set(posted) == set(keys)
        assert sum(n - 1 for n in posted.values()) <= 1
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
        storage.close()
        get_settings.cache_clear()
        db.dispose()


def _done(db: Database) -> int:
    with db.session() as session:
        return int(
            session.scalar(
                select(func.count()).select_from(JourneyRun).where(JourneyRun.status == "done")
            )
            or 0
        )


def _sent(db: Database) -> tuple[int, int]:
    with db.session() as session:
        mails = session.scalar(
            select(func.count())
            .select_from(OutboundMessage)
            .where(OutboundMessage.status == "sent")
        )
        calls = session.scalar(
            select(func.count()).select_from(WebhookCall).where(WebhookCall.status == "sent")
        )
        return int(mails or 0), int(calls or 0)
