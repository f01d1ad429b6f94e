"""On-site messages: a journey's message waits for the customer's next page, which fetches it
with the write key and a user hash only the store's server can compute; shown once."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from cxloop.config import get_settings
from cxloop.journeys import engine, service
from cxloop.segments import service as segments
from cxloop.segments.schemas import SegmentCreate
from cxloop.store.db import Database
from cxloop.wiring import wire
from tests.helpers import factories as f

JOURNEY = """
key: banner
trigger: {segment: vip}
steps:
  - coupon: {kind: percent, value: 10, expires_in: 7d}
  - send:
      channel: onsite
      subject: {fr: "Pour vous, {{ first_name }}", en: "For you, {{ first_name }}"}
      body: {fr: "10 % avec le code {{ coupon.code }}", en: "10% off with {{ coupon.code }}"}
      link: "https://shop.example/nouveautes"
      link_label: {fr: "Voir", en: "See"}
"""


def test_an_onsite_message_is_fetched_once_by_the_right_visitor(
    app: FastAPI, db: Database, make_workspace: Any
) -> None:
    wire()
    owner, other = make_workspace(), make_workspace(name="Autre")
    ws = owner.workspace_id
    lou = f.customer(db, ws, user_id="lou", first_name="Lou")
    with db.session() as session:
        segments.create_segment(
            session, ws, SegmentCreate(key="vip", name="VIP", kind="static"), actor="t"
        )
        service.create_journey(session, ws, JOURNEY, actor="t", status="active")
        segments.set_members(session, ws, "vip", [lou], actor="t")
    now = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    with db.session() as session:
        due = engine.due_runs(session, now)
    engine.advance(db, due, get_settings(), now)
    headers = {"Authorization": f"Bearer {owner.admin_key}"}
    with TestClient(app) as client:
        secrets = client.get("/api/v1/journeys/signing-secret", headers=headers).json()
        proof = hmac.new(secrets["identity_secret"].encode(), b"lou", hashlib.sha256).hexdigest()
        query = {"writeKey": owner.write_key, "userId": "lou", "userHash": proof}
        shown = client.get("/p/v1/messages", params=query)
        assert shown.status_code == 200 and shown.headers["access-control-allow-origin"] == "*"
        [message] = shown.json()["messages"]
        assert message["title"] == "Pour vous, Lou"
        assert message["coupon_code"] in message["body"]
        assert (
            message["link"] == "https://shop.example/nouveautes" and message["link_label"] == "Voir"
        )
        assert client.get("/p/v1/messages", params=query).json() == {"messages": []}
        # Refused: another user's id with Lou's hash, another workspace's key, no hash.
        forged = client.get("/p/v1/messages", params={**query, "userId": "max"})
        assert forged.status_code == 401 and forged.json()["field"] == "userHash"
        foreign = client.get("/p/v1/messages", params={**query, "writeKey": other.write_key})
        assert foreign.status_code == 401
        assert (
            client.get(
                "/p/v1/messages", params={"writeKey": owner.write_key, "userId": "lou"}
            ).status_code
            == 422
        )
        assert (
            client.get("/p/v1/messages", params={**query, "writeKey": owner.admin_key}).status_code
            == 401
        )
