"""The survey page: provisional scores from link loads, answers from people, closed links."""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
from collections.abc import Iterator
from contextlib import closing

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from cxloop import themes
from cxloop.alerts import service as alerts
from cxloop.store.db import Database
from cxloop.surveys import service
from cxloop.surveys.models import Invitation, Response
from cxloop.surveys.schemas import AnswerTags
from cxloop.web.app import create_app
from cxloop.worker import service as runs
from tests.helpers import factories as f
from tests.helpers.services import RunningWorker
from tests.helpers.webhooks import Receiver

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


@pytest.fixture
def token(db: Database, make_workspace, receiver: Receiver) -> str:
    ws = make_workspace("Maison Lou").workspace_id
    with db.session() as session:
        alerts.create_rule(
            session, ws, name="Every answer", kind="response", target="webhook",
            address=receiver.url,
        )  # fmt: skip
    f.survey(db, ws, created_at=NOW - dt.timedelta(days=30), send_hours=(0, 24))
    cid = f.customer(db, ws, locale="en")
    f.order(db, ws, cid, NOW - dt.timedelta(days=6), delivered_at=NOW - dt.timedelta(days=4))
    with db.session() as session:
        service.plan(session, ws, NOW)
        [invitation] = session.scalars(select(Invitation)).all()
        service.mark_sent(session, invitation, NOW)
        return invitation.token


def responses(db: Database) -> list[Response]:
    with db.session() as session:
        return list(session.scalars(select(Response)))


def alert_runs(db: Database) -> list[str]:
    """How the answer-alert task's runs ended, oldest first."""
    with db.session() as session:
        return [run.status for run in runs.runs_of(session, "nps.answer")]


def _key(html: str) -> str:
    match = re.search(r'name="key" value="([0-9a-f]+)"', html)
    assert match is not None
    return match.group(1)


def test_a_link_load_records_only_a_provisional_score(app, db, token, worker) -> None:
    with TestClient(app) as client:
        page = client.get(f"/s/{token}?score=3")
    assert page.status_code == 200
    assert "How likely are you to recommend Maison Lou" in page.text
    assert 'value="3" checked' in page.text
    [response] = responses(db)
    assert (response.score, response.status, response.category) == (3, "provisional", "detractor")
    # copied from the order for the dashboard: her first order, with no catalogued product
    assert (response.segment, response.categories) == ("new", "")
    assert worker.enqueued == []  # no alert for a score nobody confirmed
    with db.session() as session:
        invitation = session.scalars(select(Invitation)).one()
        assert invitation.clicked_at is None and invitation.responded_at is None


def test_a_scanner_opening_every_link_records_no_answer(app, db, token, worker) -> None:
    with TestClient(app) as client:
        for score in range(11):
            assert client.get(f"/s/{token}?score={score}").status_code == 200
    assert [r.status for r in responses(db)] == ["provisional"]
    assert worker.enqueued == []


def test_the_page_script_confirms_a_person_and_a_scanner_cannot_undo_it(
    app, db, token, worker: RunningWorker, receiver: Receiver
) -> None:
    with TestClient(app) as client:
        page = client.get(f"/s/{token}?score=9")
        confirmed_at = dt.datetime.now(dt.UTC)
        seen = client.post(f"/s/{token}/seen", json={"key": _key(page.text), "score": 9})
        client.get(f"/s/{token}?score=0")  # a scanner comes by afterwards
    assert seen.json() == {"ok": True, "category": "promoter"}
    [response] = responses(db)
    assert (response.score, response.status) == (9, "confirmed")
    # then the alert waits two minutes in the worker's schedule for a comment
    worker.settle()
    [(name, args, due)] = worker.scheduled()
    assert (name, args) == ("nps_answer", (response.id,))
    assert dt.timedelta(seconds=119) < due - confirmed_at < dt.timedelta(seconds=125)
    assert alert_runs(db) == [] and receiver.calls == []
    # and when its time comes, the worker sends it
    worker.skip_ahead(130)
    assert alert_runs(db) == ["done"]
    [(_, body)] = receiver.calls
    assert json.loads(body)["response"]["score"] == 9


def test_posting_the_form_confirms_with_the_comment_then_updates(
    app, db, token, worker: RunningWorker, receiver: Receiver
) -> None:
    with TestClient(app) as client:
        key = _key(client.get(f"/s/{token}?score=4").text)
        thanks = client.post(
            f"/s/{token}", data={"score": "4", "key": key, "comment": "Colis arrivé abîmé"}
        )
        again = client.post(f"/s/{token}", data={"score": "6", "key": key, "comment": ""})
    assert "Thank you for telling us" in thanks.text
    assert again.status_code == 200
    [response] = responses(db)
    assert (response.score, response.status, response.comment) == (
        6,
        "confirmed",
        "Colis arrivé abîmé",
    )
    # each submission has the worker check the alerts at once; an alert goes out once per rule
    worker.settle()
    assert worker.enqueued == [("nps_answer", (response.id,))] * 2
    assert worker.scheduled() == []
    assert alert_runs(db) == ["done", "done"]
    [(_, body)] = receiver.calls
    assert json.loads(body)["response"]["comment"] == "Colis arrivé abîmé"
    with db.session() as session:
        invitation = session.scalars(select(Invitation)).one()
        assert invitation.commented_at is not None and invitation.responded_at is not None


def test_forms_need_the_page_key(app, db, token) -> None:
    with TestClient(app) as client:
        forged = client.post(f"/s/{token}", data={"score": "10", "key": "0" * 32})
        seen = client.post(f"/s/{token}/seen", json={"key": "nope", "score": 10})
    assert forged.status_code == 403 and seen.status_code == 403
    assert forged.json()["field"] == "key"
    assert responses(db) == []


def test_unknown_and_expired_links(app, db, token) -> None:
    with db.session() as session:
        invitation = session.scalars(select(Invitation)).one()
        invitation.expires_at = NOW - dt.timedelta(minutes=1)
    with TestClient(app) as client:
        unknown = client.get("/s/not-a-token?score=5")
        expired = client.get(f"/s/{token}?score=5")
    assert unknown.status_code == 404 and "Survey not found" in unknown.text
    assert expired.status_code == 410 and "This survey is closed" in expired.text
    assert responses(db) == []


def test_an_answer_is_closed_after_its_window(app, db, token) -> None:
    with TestClient(app) as client:
        key = _key(client.get(f"/s/{token}").text)
        client.post(f"/s/{token}", data={"score": "8", "key": key})
    with db.session() as session:
        response = session.scalars(select(Response)).one()
        response.confirmed_at = NOW - dt.timedelta(days=8)
    with TestClient(app) as client:
        late = client.post(f"/s/{token}", data={"score": "2", "key": key})
    assert late.status_code == 410
    assert [r.score for r in responses(db)] == [8]


def test_the_page_speaks_the_customer_language_and_escapes_store_text(db, make_workspace) -> None:
    ws = make_workspace('<b>Chez "Lou"</b>').workspace_id
    f.survey(db, ws, created_at=NOW - dt.timedelta(days=30))
    cid = f.customer(db, ws, locale="fr")
    f.order(db, ws, cid, NOW - dt.timedelta(days=6), delivered_at=NOW - dt.timedelta(days=4))
    with db.session() as session:
        service.plan(session, ws, NOW)
        token = session.scalars(select(Invitation)).one().token
    with TestClient(create_app(db)) as client:
        page = client.get(f"/s/{token}?score=10")
    assert "Quelle est la probabilité que vous recommandiez" in page.text
    assert "<b>Chez" not in page.text and "&lt;b&gt;Chez" in page.text
    assert '<html lang="fr">' in page.text


def test_the_customer_360_and_page_show_her_answer_and_survey_decisions(
    app, db, token, make_user
) -> None:
    from cxloop.workspaces.models import Workspace
    from tests.helpers.console import login

    with TestClient(app) as client:
        key = _key(client.get(f"/s/{token}").text)
        client.post(f"/s/{token}", data={"score": "10", "key": key})
    with db.session() as session:
        ws = session.scalars(select(Workspace.id)).one()
        invitation = session.scalars(select(Invitation)).one()
        customer_id = invitation.customer_id
    make_user("owner@example.com", ws)
    with TestClient(app) as client:
        login(client, "owner@example.com")
        page = client.get(f"/w/{ws}/customers/{customer_id}").text
    assert "eligible" in page and '<span class="tag">sent</span>' in page
    from cxloop.profiles import flows as profile_flows
    from cxloop.profiles import service as profiles

    with db.session() as session:
        customer = profiles.get_customer(session, ws, customer_id)
        summary = profile_flows.customer_360(session, ws, customer).nps
    assert (summary.responses, summary.last_score, summary.category) == (1, 10, "promoter")


def test_an_answer_is_tagged_before_it_writes(db: Database, make_workspace) -> None:
    # given an invitation, on SQLite, where one writer at a time holds the store
    ws = make_workspace("Maison Lou").workspace_id
    token = f.sent_invitation(db, ws, NOW)
    path = db.url.removeprefix("sqlite:///")
    free_while_tagging: list[bool] = []

    def tag(session: Session, workspace_id: str, text: str) -> AnswerTags | None:
        tags = themes.tags_for(session, workspace_id, text)
        # another writer tries the store, without waiting, as the comment is tagged (building
        # the tagger takes about a second: ingest would stall behind it)
        with closing(sqlite3.connect(path, timeout=0, isolation_level=None)) as other:
            try:
                other.execute("BEGIN IMMEDIATE")
                other.execute("ROLLBACK")
                free_while_tagging.append(True)
            except sqlite3.OperationalError:
                free_while_tagging.append(False)
        return tags

    # when a person answers with a comment, over a provisional score or not
    for confirmed in (False, True):
        with db.session() as session:
            invitation = service.invitation_by_token(session, token)
            assert invitation is not None
            service.record_answer(
                session, invitation, 3, confirmed=confirmed, comment="Colis abîmé, en retard.",
                tag=tag, on_confirmed=lambda *_: None,
            )  # fmt: skip
    # then no write held the store while the comment was tagged, and the tags are stored
    assert free_while_tagging == [True, True]
    with db.session() as session:
        answer = session.scalars(select(Response)).one()
        assert (answer.score, answer.status) == (3, "confirmed")
        assert "delivery_delay" in answer.themes
