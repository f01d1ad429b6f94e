"""Journeys over the admin API: created from YAML and refused with the place named, versioned,
switched on and off, their runs shown; guardrails changed; kept to their workspace."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from cxloop.config import get_settings
from cxloop.journeys import engine
from cxloop.store.db import Database
from tests.helpers import factories

SOURCE = """
key: welcome
name: {fr: "Bienvenue", en: "Welcome"}
holdout: 10
trigger: {event: Signed Up}
steps:
  - send: {subject: {fr: "Bienvenue", en: "Welcome"}, body: {fr: "Bonjour", en: "Hello"}}
  - wait: 1d
  - exit: {}
"""


def test_a_journey_is_made_versioned_switched_and_shown(
    app: FastAPI, db: Database, make_workspace: Any
) -> None:
    owner, other = make_workspace(), make_workspace(name="Autre")
    headers = {"Authorization": f"Bearer {owner.admin_key}"}
    theirs = {"Authorization": f"Bearer {other.admin_key}"}
    with TestClient(app) as client:
        made = client.post("/api/v1/journeys", json={"source": SOURCE}, headers=headers)
        assert made.status_code == 201, made.text
        body = made.json()
        assert (body["key"], body["status"], body["version"], body["holdout"]) == (
            "welcome",
            "draft",
            1,
            10,
        )
        assert [s["kind"] for s in body["steps"]] == ["send", "wait", "exit"]
        assert body["steps"][1]["summary"] == {"seconds": 86400}
        assert body["trigger"] == {"kind": "event", "event": "Signed Up"}
        assert body["summary"] == {
            "entered": 0,
            "holdout": 0,
            "messages": 0,
            "coupons": 0,
            "cases": 0,
        }
        # A second with the same key is a conflict; another workspace does not see it.
        assert (
            client.post("/api/v1/journeys", json={"source": SOURCE}, headers=headers).status_code
            == 409
        )
        assert client.get("/api/v1/journeys/welcome", headers=theirs).status_code == 404
        assert client.get("/api/v1/journeys", headers=theirs).json() == []
        # A new version.
        changed = client.put(
            "/api/v1/journeys/welcome",
            json={"source": SOURCE.replace("wait: 1d", "wait: 2d")},
            headers=headers,
        )
        assert changed.json()["version"] == 2
        versions = client.get("/api/v1/journeys/welcome/versions", headers=headers).json()
        assert [v["version"] for v in versions] == [2, 1]
        assert "wait: 1d" in versions[1]["source"]
        # The key cannot change.
        renamed = client.put(
            "/api/v1/journeys/welcome",
            json={"source": SOURCE.replace("key: welcome", "key: hello")},
            headers=headers,
        )
        assert renamed.status_code == 422 and renamed.json()["field"] == "definition"
        on = client.post(
            "/api/v1/journeys/welcome/status", json={"status": "active"}, headers=headers
        )
        assert on.json()["status"] == "active"
        cid = factories.customer(db, owner.workspace_id)
        with db.session() as session:
            from cxloop.ingest import service as ingest
            from cxloop.wiring import wire

            wire()
            ingest.record_event(
                session,
                owner.workspace_id,
                message_id=uuid.uuid4().hex,
                event_type="track",
                event="Signed Up",
                timestamp=engine.utcnow(),
                customer_id=cid,
            )
        with db.session() as session:
            heard, _ = engine.hear(session, engine.utcnow())
        engine.advance(db, heard.runs, get_settings())
        runs = client.get("/api/v1/journeys/welcome/runs", headers=headers).json()
        assert len(runs) == 1 and runs[0]["customer_id"] == cid and runs[0]["version"] == 2
        if not runs[0]["holdout"]:
            assert [s["kind"] for s in runs[0]["steps"]][:1] == ["send"]
        counts = client.get("/api/v1/journeys/welcome/steps", headers=headers).json()
        assert all(c["count"] >= 1 for c in counts)
        assert (
            client.post(
                "/api/v1/journeys/welcome/status", json={"status": "archived"}, headers=headers
            ).json()["status"]
            == "archived"
        )
        assert (
            client.put(
                "/api/v1/journeys/welcome", json={"source": SOURCE}, headers=headers
            ).status_code
            == 409
        )


def test_a_wrong_definition_is_a_422_naming_the_place(app: FastAPI, make_workspace: Any) -> None:
    owner = make_workspace()
    headers = {"Authorization": f"Bearer {owner.admin_key}"}
    with TestClient(app) as client:
        bad = client.post(
            "/api/v1/journeys",
            json={"source": SOURCE.replace("wait: 1d", "wait: 1 day")},
            headers=headers,
        )
        assert bad.status_code == 422
        error = bad.json()
        assert error["field"] == "definition" and error["detail"].startswith("steps[1].wait: ")
        french = client.post(
            "/api/v1/journeys",
            json={"source": "key: x\ntrigger: {event: A}\nsteps: []"},
            headers={**headers, "Accept-Language": "fr"},
        )
        assert french.json()["detail"] == "steps: une liste d'au moins une étape"
        assert (
            client.post(
                "/api/v1/journeys", json={"source": "a: [", "status": "active"}, headers=headers
            ).status_code
            == 422
        )
        assert client.get("/api/v1/journeys").status_code == 401


def test_guardrails_and_the_signing_secret(app: FastAPI, make_workspace: Any) -> None:
    owner, other = make_workspace(), make_workspace(name="Autre")
    headers = {"Authorization": f"Bearer {owner.admin_key}"}
    with TestClient(app) as client:
        shown = client.get("/api/v1/journeys/guardrails", headers=headers).json()
        assert shown == {
            "cap_messages": 3,
            "cap_days": 7,
            "quiet_start": "21:00",
            "quiet_end": "08:00",
            "sms_french_rules": False,
            "sms_start": "08:00",
            "sms_end": "20:00",
        }
        changed = client.put(
            "/api/v1/journeys/guardrails",
            json={"cap_messages": 2, "sms_french_rules": True},
            headers=headers,
        ).json()
        assert (changed["cap_messages"], changed["sms_french_rules"]) == (2, True)
        bad = client.put(
            "/api/v1/journeys/guardrails", json={"quiet_start": "25:00"}, headers=headers
        )
        assert bad.status_code == 422
        mine = client.get("/api/v1/journeys/signing-secret", headers=headers).json()["secret"]
        theirs = client.get(
            "/api/v1/journeys/signing-secret",
            headers={"Authorization": f"Bearer {other.admin_key}"},
        ).json()["secret"]
        assert len(mine) == 64 and mine != theirs
