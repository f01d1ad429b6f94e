"""The whole NPS path against a running `cxloop serve`, a real SMTP server and a browser:
a Shopify delivery → the invitation after the delay → the email, with score links and
unsubscribe headers → scanners open every link and answer nothing → a person confirms her
score and answers the follow-up in Chromium → the NPS counts her → the alert webhook, once."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import sync_playwright

from tests.helpers.browser import CHROMIUM, CHROMIUM_ARGS
from tests.helpers.mail import Inbox
from tests.helpers.services import free_port, wait_for_port
from tests.helpers.store_webhooks import post_shopify
from tests.helpers.webhooks import Receiver

CXLOOP = str(Path(sys.executable).with_name("cxloop"))
SHOPIFY = Path(__file__).resolve().parents[1] / "data" / "webhooks" / "shopify"
SECRET = "shpss_e2e_0123456789abcdef"
pytestmark = pytest.mark.browser


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def _shopify(base: str, workspace_id: str, topic: str, document: dict) -> None:
    answer = post_shopify(
        base, workspace_id, topic, document, secret=SECRET, delivery=f"e2e-{topic}"
    )
    assert answer.status_code == 200, answer.text


def test_the_whole_nps_path(tmp_path: Path) -> None:
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    receiver = Receiver()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(
        os.environ,
        CXLOOP_HOME=str(tmp_path / "home"),
        CXLOOP_DATABASE_URL=f"sqlite:///{tmp_path / 'store.db'}",
        CXLOOP_SMTP_URL=f"smtp://127.0.0.1:{smtp.port}",
        CXLOOP_PUBLIC_URL=base,
    )
    keys = json.loads(
        subprocess.run(
            [CXLOOP, "workspace", "create", "Maison Lou", "--json"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    ws = keys["workspace_id"]
    subprocess.run(
        [CXLOOP, "webhook", "secret", "shopify", SECRET, "--workspace", ws],
        env=env,
        check=True,
        capture_output=True,
    )
    server = subprocess.Popen(
        [CXLOOP, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    admin = {"Authorization": f"Bearer {keys['admin_key']}"}
    store = sqlite3.connect(tmp_path / "store.db", timeout=30)
    try:
        wait_for_port(port, timeout=30)
        # given an after-delivery survey asking ~5 s after delivery, and an alert on scores ≤ 6
        from cxloop.surveys.definitions import default_definition

        survey = default_definition("shipment_delivered").model_dump(mode="json")
        survey.update(delay_hours=0.0015, send_hours=[0, 24])
        assert (
            httpx.put(
                f"{base}/api/v1/surveys/after-delivery", json=survey, headers=admin
            ).status_code
            == 200
        )
        rule = {
            "name": "Detractors",
            "target": "webhook",
            "address": receiver.url,
            "filters": {"max_score": 6},
            "secret": "alert-secret-0123456789",
        }
        assert httpx.post(f"{base}/api/v1/alert-rules", json=rule, headers=admin).status_code == 201
        # when Shopify reports an order, then its parcel delivered now
        # (Shopify times have whole seconds: let one pass, so the delivery follows the survey)
        time.sleep(1.1)
        now = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
        order = json.loads((SHOPIFY / "orders_create.json").read_text())
        order.update(created_at=now, updated_at=now, processed_at=now)
        _shopify(base, ws, "orders/create", order)
        parcel = json.loads((SHOPIFY / "fulfillments_update.json").read_text())
        parcel.update(created_at=now, updated_at=now, estimated_delivery_at=now)
        _shopify(base, ws, "fulfillments/update", parcel)
        # then one invitation email arrives after the delay, with its links and headers
        wait_until(lambda: len(inbox.messages()) == 1, 60, "the invitation email")
        [mail] = inbox.messages()
        assert mail["To"] == "camille.martin@example.fr"
        assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert re.search(r"<http://127\.0\.0\.1:\d+/u/[^>]+>", mail["List-Unsubscribe"])
        html = mail.get_body(("html",)).get_content()
        links = sorted(set(re.findall(r'href="(http://127\.0\.0\.1:\d+/[^"]+)"', html)))
        score_links = [link.replace("&amp;", "&") for link in links if "?score=" in link]
        assert len(score_links) == 11
        assert mail.get_body(("plain",)).get_content().count("?score=") == 11
        # when a mail scanner opens every link
        for link in links:
            assert httpx.get(link.replace("&amp;", "&")).status_code in (200, 410)
        # then no answer is recorded, and nobody is unsubscribed
        assert store.execute(
            "select count(*) from responses where status='confirmed'"
        ).fetchone() == (0,)
        assert "denied" not in store.execute("select consent from customers").fetchone()[0]
        # when the customer opens the 3 and tells why, in a real browser
        link3 = next(link for link in score_links if link.endswith("score=3"))
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            page = browser.new_page()
            page.goto(link3)
            assert page.locator("input[name=score][value='3']").is_checked()
            page.locator("label.score.s3").click()
            follow_up = page.locator(".followup .question:not([hidden])")
            assert follow_up.inner_text() in (
                "Qu'est-ce qui vous a déplu ?",
                "What disappointed you?",
            )
            page.locator("#comment").fill("Colis arrivé avec trois jours de retard.")
            page.locator("button.send").click()
            page.wait_for_selector("text=Merci de nous l'avoir dit", timeout=10_000)
            browser.close()
        # then the NPS counts her answer, with her comment
        rows = store.execute("select score, status, comment from responses").fetchall()
        assert rows == [(3, "confirmed", "Colis arrivé avec trois jours de retard.")]
        nps = httpx.get(f"{base}/api/v1/nps", headers=admin).json()
        assert (nps["n"], nps["detractors"], nps["nps"]) == (1, 1, -100.0)
        # and the alert webhook is received once, signed
        wait_until(lambda: len(receiver.calls) == 1, 30, "the alert webhook")
        time.sleep(2)
        assert len(receiver.calls) == 1
        headers, body = receiver.calls[0]
        assert (
            headers["X-Cxloop-Signature"]
            == "sha256=" + hmac.new(b"alert-secret-0123456789", body, hashlib.sha256).hexdigest()
        )
        assert json.loads(body)["response"]["comment"].startswith("Colis arrivé")
    finally:
        store.close()
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
        smtp.stop()
        receiver.server.shutdown()
        receiver.server.server_close()
