"""The on-site widget: shown to a customer with an open widget invitation, under the same rules."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import select

from cxloop.store.db import Database
from cxloop.surveys import service
from cxloop.surveys.models import Invitation, Response
from cxloop.web.app import create_app
from tests.helpers import factories as f
from tests.helpers.services import RunningWorker

NOW = dt.datetime.now(dt.UTC)


def test_the_widget_shows_an_open_invitation_and_takes_the_answer(
    db: Database, make_workspace, worker: RunningWorker
) -> None:
    creds = make_workspace("Maison Lou")
    ws = creds.workspace_id
    f.survey(
        db,
        ws,
        created_at=NOW - dt.timedelta(days=30),
        channels=["widget"],
        send_hours=(0, 24),
        delay_hours=0,
    )
    cid = f.customer(db, ws, user_id="lou", locale="en")
    f.customer(db, ws, user_id="max")
    f.order(db, ws, cid, NOW - dt.timedelta(days=3), delivered_at=NOW - dt.timedelta(days=1))
    with db.session() as session:
        service.plan(session, ws, NOW)
        [invitation] = service.due_invitations(session, NOW + dt.timedelta(minutes=1))
        assert invitation.channel == "widget"
        service.mark_sent(session, invitation, NOW)
    with TestClient(create_app(db)) as client:
        shown = client.post("/widget/v1/nps", json={"writeKey": creds.write_key, "userId": "lou"})
        other = client.post("/widget/v1/nps", json={"writeKey": creds.write_key, "userId": "max"})
        refused = client.post("/widget/v1/nps", json={"writeKey": "cxw_0_x", "userId": "lou"})
        body = shown.json()
        confirmed_at = dt.datetime.now(dt.UTC)
        seen = client.post(f"/s/{body['token']}/seen", json={"key": body["key"], "score": 8})
        after = client.post("/widget/v1/nps", json={"writeKey": creds.write_key, "userId": "lou"})
        script = client.get("/static/widget/nps.js")
    assert body["show"] is True
    assert "recommend Maison Lou" in body["question"]
    assert other.json() == {"show": False}
    assert refused.status_code == 401 and refused.json()["field"] == "writeKey"
    assert seen.json()["category"] == "passive"
    assert after.json() == {"show": False}  # answered: not shown again
    assert script.status_code == 200 and "textContent" in script.text
    with db.session() as session:
        [response] = session.scalars(select(Response)).all()
        assert (response.score, response.channel, response.status) == (8, "widget", "confirmed")
        assert session.scalars(select(Invitation)).one().responded_at is not None
    # and its alerts wait two minutes in the worker's schedule, for a comment
    worker.settle()
    [(name, args, due)] = worker.scheduled()
    assert (name, args) == ("nps_answer", (response.id,))
    assert dt.timedelta(seconds=119) < due - confirmed_at < dt.timedelta(seconds=125)
