"""Fixtures for the email channel: real SMTP servers on 127.0.0.1, a shop with a customer."""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from cxloop.profiles import service as profiles
from cxloop.store.db import Database
from tests.helpers.mail import Inbox, Shop, SmtpServer
from tests.helpers.services import free_port


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A plain SMTP server (no STARTTLS offered) on a loopback port."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield SmtpServer(controller.port, inbox)
    finally:
        controller.stop()


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1: (cert, key)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
            "-keyout", str(key), "-out", str(cert), "-days", "2",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def _server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(certificate[0]), str(certificate[1]))
    return context


@pytest.fixture
def starttls_server(certificate: tuple[Path, Path]) -> Iterator[SmtpServer]:
    """An SMTP server that offers STARTTLS and refuses mail without it."""
    inbox = Inbox()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=_server_context(certificate),
        require_starttls=True,
    )
    controller.start()
    try:
        yield SmtpServer(controller.port, inbox, tls=True)
    finally:
        controller.stop()


@pytest.fixture
def smtps_server(certificate: tuple[Path, Path]) -> Iterator[SmtpServer]:
    """An SMTP server speaking TLS from the first byte (smtps, port 465 style)."""
    inbox = Inbox()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=free_port(),
        ssl_context=_server_context(certificate),
    )
    controller.start()
    try:
        yield SmtpServer(controller.port, inbox, tls=True)
    finally:
        controller.stop()


@pytest.fixture
def shop(db: Database, make_workspace: Any) -> Shop:
    """The workspace "Chez Lou" with the customer Zoé (zoe@example.com)."""
    creds = make_workspace("Chez Lou")
    with db.session() as session:
        customer = profiles.resolve(
            session,
            creds.workspace_id,
            profiles.Keys(user_id="c-1", email="zoe@example.com"),
            source="test",
            traits={"firstName": "Zoé", "locale": "fr-FR"},
        )
        assert customer is not None
        return Shop(creds.workspace_id, customer.id, "zoe@example.com")
