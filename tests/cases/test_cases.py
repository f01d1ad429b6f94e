"""Cases: opened by hand, by an alert rule or a journey; owned, due, noted, closed; the
customer's next order and next answer noted on them; kept to their workspace."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from cxloop.alerts import service as alerts
from cxloop.cases import service
from cxloop.cases.models import Case, CaseNote
from cxloop.ingest import service as ingest
from cxloop.store.db import Database
from cxloop.wiring import wire
from tests.helpers import factories as f


def test_the_inbox_over_the_api(app: FastAPI, db: Database, make_workspace: Any) -> None:
    owner, other = make_workspace(), make_workspace(name="Autre")
    headers = {"Authorization": f"Bearer {owner.admin_key}"}
    theirs = {"Authorization": f"Bearer {other.admin_key}"}
    f.customer(db, owner.workspace_id, user_id="lou")
    with TestClient(app) as client:
        made = client.post(
            "/api/v1/cases",
            json={
                "title": "Colis perdu",
                "user_id": "lou",
                "owner": "sav@shop.fr",
                "due_at": "2027-01-05T10:00:00+01:00",
                "note": "Appel reçu",
            },
            headers=headers,
        )
        assert made.status_code == 201, made.text
        case = made.json()
        assert (case["status"], case["user_id"], case["owner"]) == ("open", "lou", "sav@shop.fr")
        assert case["due_at"].startswith("2027-01-05T09:00:00")
        assert [n["text"] for n in case["notes"]] == ["Appel reçu"]
        later = client.post("/api/v1/cases", json={"title": "Sans client"}, headers=headers).json()
        # soonest due first, undated after
        assert [c["id"] for c in client.get("/api/v1/cases", headers=headers).json()] == [
            case["id"],
            later["id"],
        ]
        assert (
            client.get("/api/v1/cases?user_id=lou", headers=headers).json()[0]["id"] == case["id"]
        )
        assert client.get("/api/v1/cases?user_id=nobody", headers=headers).json() == []
        noted = client.post(
            f"/api/v1/cases/{case['id']}/notes", json={"text": "Rappelée"}, headers=headers
        )
        assert [n["text"] for n in noted.json()["notes"]] == ["Appel reçu", "Rappelée"]
        closed = client.patch(
            f"/api/v1/cases/{case['id']}", json={"status": "closed"}, headers=headers
        ).json()
        assert closed["status"] == "closed" and closed["closed_at"] is not None
        assert (
            client.get("/api/v1/cases?status=closed", headers=headers).json()[0]["id"] == case["id"]
        )
        # refused: another workspace's case, an unknown customer, a naive date, a bad status
        assert client.get(f"/api/v1/cases/{case['id']}", headers=theirs).status_code == 404
        assert (
            client.patch(
                f"/api/v1/cases/{case['id']}", json={"status": "x"}, headers=theirs
            ).status_code
            == 422
        )
        unknown = client.post(
            "/api/v1/cases", json={"title": "t", "user_id": "zz"}, headers=headers
        )
        assert unknown.status_code == 404 and unknown.json()["field"] == "user_id"
        naive = client.post(
            "/api/v1/cases", json={"title": "t", "due_at": "2027-01-05T10:00:00"}, headers=headers
        )
        assert naive.status_code == 422 and naive.json()["field"] == "due_at"
        assert client.get(f"/api/v1/cases/{2**63}", headers=headers).status_code == 422


def test_an_alert_rule_opens_one_case_per_answer(db: Database, make_workspace: Any) -> None:
    ws = make_workspace().workspace_id
    with db.session() as session:
        alerts.create_rule(
            session,
            ws,
            name="Détracteurs",
            kind="response",
            target="case",
            address="sav@shop.fr",
            filters={"max_score": 6},
        )
    low = f.answer(db, ws, 2, "Livraison en retard")
    f.answer(db, ws, 9, "Parfait")
    for _ in range(2):  # the task retried
        alerts.alert_on_response(db, low, base_url="http://cx.example")
    with db.session() as session:
        case = session.scalars(select(Case)).one()
        notes = session.scalars(select(CaseNote.text)).all()
    assert (case.owner, case.source, case.status) == ("sav@shop.fr", "alert", "open")
    assert case.customer_id is not None and "2" in case.title
    assert any("Livraison en retard" in n for n in notes)


def test_the_customers_next_order_and_answer_show_on_their_open_case(
    db: Database, make_workspace: Any
) -> None:
    wire()
    ws = make_workspace().workspace_id
    cid = f.customer(db, ws)
    with db.session() as session:
        case = service.open_case(session, ws, title="Remboursement", customer_id=cid, actor="test")
        done = service.open_case(session, ws, title="Ancien", customer_id=cid, actor="test")
        service.update_case(session, ws, done.id, actor="test", status="closed")
    now = dt.datetime.now(dt.UTC)
    for at in (now - dt.timedelta(days=10), now):  # an old order (an import) is not news
        with db.session() as session:
            ingest.record_event(
                session,
                ws,
                message_id=uuid.uuid4().hex,
                event_type="track",
                event="Order Completed",
                timestamp=at,
                properties={"order_id": "#1042", "total": 59.9, "currency": "EUR"},
                customer_id=cid,
            )
    with db.session() as session:
        service.hear_answer(session, ws, cid, 9, "Merci pour le geste")
        notes = session.scalars(
            select(CaseNote.text).where(CaseNote.case_id == case.id).order_by(CaseNote.id)
        ).all()
        closed_notes = session.scalars(
            select(CaseNote.text).where(CaseNote.case_id == done.id)
        ).all()
    assert notes == [
        "Nouvelle commande #1042, 59.9 EUR",
        "Nouvelle réponse NPS : 9/10: Merci pour le geste",
    ]
    assert closed_notes == []
