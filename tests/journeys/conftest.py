"""Fixtures for journeys: a real SMTP server and a webhook endpoint on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller

from cxloop.config import get_settings
from tests.helpers.mail import Inbox, SmtpServer
from tests.helpers.services import free_port
from tests.helpers.webhooks import Receiver


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    """An SMTP server on a loopback port, which the app's settings send through."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    monkeypatch.setenv("CXLOOP_SMTP_URL", f"smtp://127.0.0.1:{controller.port}")
    get_settings.cache_clear()
    try:
        yield SmtpServer(controller.port, inbox)
    finally:
        controller.stop()
        get_settings.cache_clear()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook endpoint that keeps what it receives."""
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()
