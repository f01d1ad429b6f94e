"""Alert rules in the console: made, changed, switched and deleted through the pages, each post
with its CSRF token; refusals shown in the form in the reader's language; editors only."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from cxloop.alerts import service as alerts
from cxloop.alerts.models import AlertDelivery, AlertRule
from cxloop.store.base import utcnow
from cxloop.store.db import Database
from cxloop.workspaces.models import AuditEntry
from tests.helpers.console import csrf_of, login

NEW_RULE = {
    "name": "Détracteurs",
    "kind": "response",
    "target": "email",
    "address": "cx@example.com",
    "min_score": "0",
    "max_score": "6",
    "channel": "email",
    "category": "",
    "themes": ["delivery_delay"],
    "silence_hours": "",
    "min_mentions": "",
    "active": "on",
}


class Console:
    """A signed-in member's browser on one workspace's alert pages."""

    def __init__(self, client: TestClient, workspace_id: str) -> None:
        self.client = client
        self.base = f"/w/{workspace_id}/alerts"

    def post(self, path: str, data: dict[str, Any]) -> Any:
        token = csrf_of(self.client.get(self.base + "/new").text)
        return self.client.post(self.base + path, data={**data, "csrf_token": token})


@pytest.fixture
def workspace(make_workspace: Any) -> str:
    workspace_id: str = make_workspace().workspace_id
    return workspace_id


@pytest.fixture
def console(app: FastAPI, make_user: Any, workspace: str) -> Iterator[Console]:
    make_user("owner@example.com", workspace, role="owner", locale="fr")
    with TestClient(app) as client:
        login(client, "owner@example.com")
        yield Console(client, workspace)


def _rules(db: Database) -> list[AlertRule]:
    with db.session() as session:
        found = list(session.scalars(select(AlertRule).order_by(AlertRule.id)))
        session.expunge_all()
        return found


def _actions(db: Database) -> list[tuple[str, str]]:
    with db.session() as session:
        rows = session.execute(
            select(AuditEntry.action, AuditEntry.actor)
            .where(AuditEntry.action.like("alert_rule.%"))
            .order_by(AuditEntry.id)
        )
        return [(action, actor) for action, actor in rows]


def test_a_rule_is_made_from_the_form_and_listed_in_words(console: Console, db: Database) -> None:
    # when the owner fills the new alert's form
    response = console.post("/new", NEW_RULE)
    # then she is back on the list, which shows the rule in French words
    assert response.status_code == 200
    assert response.url.path == console.base
    [rule] = _rules(db)
    assert (rule.name, rule.kind, rule.target, rule.address, rule.active) == (
        "Détracteurs", "response", "email", "cx@example.com", True,
    )  # fmt: skip
    assert rule.filters == {
        "min_score": 0,
        "max_score": 6,
        "channel": "email",
        "themes": ["delivery_delay"],
    }
    page = response.text
    assert "nouvelles réponses" in page
    assert "notes de 0 à 6 · par e-mail · thèmes : Délais de livraison" in page
    assert "aucun pour l'instant" in page
    assert _actions(db) == [("alert_rule.create", "owner@example.com")]


def test_the_list_shows_the_last_deliveries_with_their_outcome_and_date(
    console: Console, db: Database, workspace: str
) -> None:
    console.post("/new", NEW_RULE)
    [rule] = _rules(db)
    with db.session() as session:
        for n, status in enumerate(("sent", "failed", "sent", "sent")):
            session.add(
                AlertDelivery(
                    workspace_id=workspace, rule_id=rule.id, subject_key=f"response:{n}",
                    status=status, attempts=3 if status == "failed" else 1,
                    sent_at=utcnow() if status == "sent" else None,
                )
            )  # fmt: skip
    page = console.client.get(console.base).text
    items = re.findall(r'<li class="(\w+)">([^<]+)</li>', page)
    # the last three, newest first, each with its outcome and date in French
    assert [cls for cls, _ in items] == ["sent", "sent", "failed"]
    assert items[0][1].startswith("envoyé · ")
    assert items[2][1].endswith(" · 3 tentatives")
    assert str(utcnow().year) in items[0][1]


def test_a_rule_is_edited_keeping_its_secret_and_the_filters_the_form_does_not_show(
    console: Console, db: Database, workspace: str
) -> None:
    with db.session() as session:
        rule_id = alerts.create_rule(
            session, workspace, name="Hook", kind="response", target="webhook",
            address="https://hooks.example.com/a", filters={"max_score": 6, "survey_id": 3},
            secret="a-long-shared-secret-0123",
        ).id  # fmt: skip
    form = console.client.get(f"{console.base}/{rule_id}").text
    assert "a-long-shared-secret" not in form
    response = console.post(
        f"/{rule_id}",
        {**NEW_RULE, "name": "Hook 2", "target": "webhook", "address": "https://hooks.example.com/b",
         "min_score": "", "max_score": "4", "themes": []},
    )  # fmt: skip
    assert response.url.path == console.base
    [rule] = _rules(db)
    assert (rule.name, rule.address, rule.secret) == (
        "Hook 2", "https://hooks.example.com/b", "a-long-shared-secret-0123",
    )  # fmt: skip
    assert rule.filters == {"max_score": 4, "channel": "email", "survey_id": 3}
    # the secret is removed only when asked
    console.post(f"/{rule_id}", {**NEW_RULE, "name": "Hook 2", "remove_secret": "on"})
    assert _rules(db)[0].secret is None


def test_a_rule_is_switched_off_and_on_from_the_list(console: Console, db: Database) -> None:
    console.post("/new", NEW_RULE)
    [rule] = _rules(db)
    page = console.post(f"/{rule.id}/switch", {"active": "off"})
    assert _rules(db)[0].active is False
    assert "Activer" in page.text
    console.post(f"/{rule.id}/switch", {"active": "on"})
    assert _rules(db)[0].active is True
    assert [a for a, _ in _actions(db)] == [
        "alert_rule.create",
        "alert_rule.switch_off",
        "alert_rule.switch_on",
    ]


def test_a_rule_is_deleted_after_a_confirmation(console: Console, db: Database) -> None:
    console.post("/new", NEW_RULE)
    [rule] = _rules(db)
    confirm = console.client.get(f"{console.base}/{rule.id}/delete")
    assert confirm.status_code == 200
    assert "Supprimer cette alerte" in confirm.text
    assert _rules(db) == [] or True  # the confirmation page deletes nothing
    assert len(_rules(db)) == 1
    response = console.post(f"/{rule.id}/delete", {})
    assert response.url.path == console.base
    assert _rules(db) == []
    assert _actions(db)[-1] == ("alert_rule.delete", "owner@example.com")


@pytest.mark.parametrize(
    ("changes", "french"),
    [
        ({"max_score": "11"}, "Note la plus haute : Une note est un nombre entier de 0 à 10."),
        (
            {"min_score": "7", "max_score": "6"},
            "Note la plus basse : La note la plus basse dépasse",
        ),
        ({"kind": "silence", "silence_hours": "0"}, "Heures sans invitation : Heures de silence"),
        ({"target": "webhook"}, "Adresse : L&#39;adresse d&#39;un webhook est une URL http(s)."),
        ({"secret": "court"}, "Secret de signature : Un secret de signature a de 16 à 128"),
    ],
)
def test_a_refusal_is_shown_in_the_form_in_french_and_nothing_is_made(
    console: Console, db: Database, changes: dict[str, str], french: str
) -> None:
    response = console.post("/new", {**NEW_RULE, **changes})
    assert response.status_code == 422
    assert french in response.text
    assert 'aria-invalid="true"' in response.text
    assert _rules(db) == []
    assert _actions(db) == []


def test_a_refusal_speaks_english_to_an_english_reader(
    app: FastAPI, make_user: Any, workspace: str
) -> None:
    make_user("en@example.com", workspace, role="analyst", locale="en")
    with TestClient(app) as client:
        login(client, "en@example.com")
        console = Console(client, workspace)
        response = console.post("/new", {**NEW_RULE, "max_score": "ten"})
    assert response.status_code == 422
    assert "Highest score: A score is a whole number from 0 to 10." in response.text


def test_a_post_without_the_csrf_token_is_refused(console: Console, db: Database) -> None:
    response = console.client.post(console.base + "/new", data=NEW_RULE)
    assert response.status_code == 403
    assert response.json()["field"] == "csrf_token"
    assert _rules(db) == []


def test_a_viewer_is_refused_every_alert_page(
    app: FastAPI, db: Database, make_user: Any, workspace: str
) -> None:
    with db.session() as session:
        rule_id = alerts.create_rule(
            session, workspace, name="Hook", kind="response", target="email",
            address="cx@example.com",
        ).id  # fmt: skip
    make_user("agent@example.com", workspace, role="agent")
    with TestClient(app) as client:
        overview = login(client, "agent@example.com")
        token = csrf_of(overview.text)
        # the navigation does not offer the alerts
        assert "/alerts" not in overview.text
        base = f"/w/{workspace}/alerts"
        for path in ("", "/new", f"/{rule_id}", f"/{rule_id}/delete"):
            assert client.get(base + path).status_code == 404, path
        for path in ("/new", f"/{rule_id}", f"/{rule_id}/switch", f"/{rule_id}/delete"):
            posted = client.post(base + path, data={**NEW_RULE, "csrf_token": token})
            assert posted.status_code == 404, path
    [rule] = _rules(db)
    assert (rule.name, rule.active) == ("Hook", True)


def test_another_workspaces_rule_is_not_found(
    console: Console, db: Database, make_workspace: Any
) -> None:
    other = make_workspace("Ailleurs").workspace_id
    with db.session() as session:
        rule_id = alerts.create_rule(
            session, other, name="Theirs", kind="response", target="email",
            address="cx@example.com",
        ).id  # fmt: skip
    assert console.client.get(f"{console.base}/{rule_id}").status_code == 404
    assert console.post(f"/{rule_id}/delete", {}).status_code == 404
    assert console.post(f"/{rule_id}/switch", {"active": "off"}).status_code == 404
    assert [r.name for r in _rules(db)] == ["Theirs"]
