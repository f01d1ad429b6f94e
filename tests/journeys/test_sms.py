"""SMS from journeys through a Twilio-compatible API and a generic one, both local servers that
check the documented request shape; consent, numbers and the French rules for marketing SMS."""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from cxloop.channels import sms
from cxloop.channels.models import OutboundMessage, SmsProvider
from cxloop.config import get_settings
from cxloop.ingest import service as ingest
from cxloop.journeys import engine, guardrails, service
from cxloop.journeys.models import JourneyStep
from cxloop.profiles import service as profiles
from cxloop.store.db import Database
from cxloop.wiring import wire
from tests.helpers import factories as f

SID, TOKEN = "AC0123456789abcdef0123456789abcdef", "twilio-token-0123"
PARIS = ZoneInfo("Europe/Paris")


class Provider:
    """Twilio's Messages API and a generic JSON endpoint on 127.0.0.1, checking each request."""

    def __init__(self) -> None:
        self.twilio: list[dict[str, list[str]]] = []
        self.generic: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.refused: list[str] = []
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                try:
                    if self.path == f"/2010-04-01/Accounts/{SID}/Messages.json":
                        auth = "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
                        assert self.headers["Authorization"] == auth, "basic auth"
                        assert self.headers["Content-Type"] == "application/x-www-form-urlencoded"
                        form = parse_qs(raw.decode())
                        assert set(form) == {"To", "From", "Body"}, sorted(form)
                        provider.twilio.append(form)
                        answer = {"sid": f"SM{len(provider.twilio):032d}", "status": "queued"}
                    elif self.path == "/sms":
                        assert self.headers["Authorization"] == f"Bearer {TOKEN}"
                        body = json.loads(raw)
                        assert set(body) == {"id", "to", "from", "text"}
                        assert self.headers["Idempotency-Key"] == body["id"]
                        provider.generic.append((dict(self.headers), body))
                        answer = {"id": f"g{len(provider.generic)}"}
                    else:
                        raise AssertionError(self.path)
                    status = 201
                except AssertionError as exc:
                    provider.refused.append(str(exc))
                    status, answer = 400, {"message": str(exc)}
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def provider() -> Iterator[Provider]:
    p = Provider()
    yield p
    p.server.shutdown()
    p.server.server_close()


JOURNEY = """
key: late_parcel_sms
trigger: {{event: Parcel Late}}
steps:
  - send:
      channel: sms
      marketing: {marketing}
      body:
        fr: "Bonjour {{{{ first_name }}}}, votre colis a du retard."
        en: "Hi {{{{ first_name }}}}, your parcel is late."
"""


def _monday(hour: int) -> dt.datetime:
    today = dt.datetime.now(PARIS).date()
    monday = today + dt.timedelta(days=7 - today.weekday())
    return dt.datetime.combine(monday, dt.time(hour), tzinfo=PARIS).astimezone(dt.UTC)


def _run(db: Database, now: dt.datetime) -> engine.Effects:
    with db.session() as session:
        effects, _ = engine.hear(session, now)
        effects.runs += engine.due_runs(session, now)
    done = engine.advance(db, effects.runs, get_settings(), now)
    sms.deliver_sms(db, done.sms, get_settings().resolved_secret_key())
    return done


def _event(db: Database, ws: str, cid: int, at: dt.datetime) -> None:
    with db.session() as session:
        ingest.record_event(
            session, ws, message_id=uuid.uuid4().hex, event_type="track", event="Parcel Late",
            timestamp=at, customer_id=cid,
        )  # fmt: skip


def test_e164() -> None:
    assert sms.e164("06 12 34 56 78") == "+33612345678"
    assert sms.e164("0033 6 12 34 56 78") == "+33612345678"
    assert sms.e164("+1 (415) 555-0100") == "+14155550100"
    assert sms.e164("0612", "FR") is None and sms.e164(None) is None
    assert sms.e164("0612345678", "BE") is None  # a national form elsewhere needs its +


def test_a_service_sms_goes_through_twilio_to_those_who_agreed(
    app: FastAPI, db: Database, make_workspace: Any, provider: Provider
) -> None:
    wire()
    owner = make_workspace()
    ws = owner.workspace_id
    with TestClient(app) as client:
        made = client.put(
            "/api/v1/sms-provider",
            json={
                "kind": "twilio",
                "url": provider.url,
                "account": SID,
                "token": TOKEN,
                "sender": "Colibri",
            },
            headers={"Authorization": f"Bearer {owner.admin_key}"},
        )
        assert made.status_code == 200 and TOKEN not in made.text
    with db.session() as session:
        stored = session.get(SmsProvider, ws)
        assert stored is not None and TOKEN not in stored.credentials
        service.create_journey(
            session, ws, JOURNEY.format(marketing="false"), actor="t", status="active"
        )
    agreed = f.customer(db, ws, first_name="Lou", phone="06 12 34 56 78")
    silent = f.customer(db, ws, first_name="Max", phone="06 98 76 54 32")
    unknown = f.customer(db, ws, first_name="Ana")
    with db.session() as session:
        profiles.set_consent(session, ws, agreed, "sms", "granted", source="checkout")
    now = _monday(22)  # a service message goes even at night
    for cid in (agreed, silent, unknown):
        _event(db, ws, cid, now)
    _run(db, now)
    assert provider.refused == []
    assert provider.twilio == [
        {
            "To": ["+33612345678"],
            "From": ["Colibri"],
            "Body": ["Bonjour Lou, votre colis a du retard."],
        }
    ]
    with db.session() as session:
        message = session.scalars(select(OutboundMessage)).one()
        reasons = dict(session.execute(select(JourneyStep.customer_id, JourneyStep.reason)).all())
    assert (message.status, message.headers["provider_id"]) == ("sent", "SM" + "0" * 31 + "1")
    assert reasons == {agreed: "", silent: "consent_denied", unknown: "no_address"}


def test_marketing_sms_keep_the_french_rules_and_end_with_stop(
    db: Database, make_workspace: Any, provider: Provider
) -> None:
    wire()
    ws = make_workspace().workspace_id
    with db.session() as session:
        sms.set_provider(
            session, ws, kind="generic", url=f"{provider.url}/sms", sender="+33700000000",
            account="", token=TOKEN, secret_key=get_settings().resolved_secret_key(), actor="t",
        )  # fmt: skip
        guardrails.set_limits(
            session,
            ws,
            {"sms_french_rules": True, "quiet_start": "23:00", "quiet_end": "06:00"},
            actor="t",
        )
        service.create_journey(
            session, ws, JOURNEY.format(marketing="true"), actor="t", status="active"
        )
    cid = f.customer(db, ws, first_name="Lou", phone="+33612345678")
    with db.session() as session:
        profiles.set_consent(session, ws, cid, "sms", "granted", source="checkout")
    sunday = _monday(11) - dt.timedelta(days=1)  # Sunday 11:00 in Paris
    _event(db, ws, cid, sunday)
    _run(db, sunday)
    assert provider.generic == []
    _run(db, _monday(7) + dt.timedelta(minutes=59))  # Monday 07:59: still closed
    assert provider.generic == []
    _run(db, _monday(8))
    [(_headers, body)] = provider.generic
    assert body["to"] == "+33612345678" and body["from"] == "+33700000000"
    assert body["text"] == "Bonjour Lou, votre colis a du retard.\nSTOP : répondez STOP"
    with db.session() as session:
        outcomes = [
            o for (o,) in session.execute(select(JourneyStep.reason).order_by(JourneyStep.id))
        ]
    assert outcomes == ["sms_hours", ""]
