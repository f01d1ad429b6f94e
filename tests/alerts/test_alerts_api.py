"""Alert rules over the admin API: changed, switched, deleted, checked, kept to their workspace,
their secret never shown, every change audited."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from cxloop.alerts import service as alerts
from cxloop.alerts.models import AlertDelivery, AlertRule
from cxloop.store.db import Database
from cxloop.workspaces import service as workspaces
from cxloop.workspaces.models import AuditEntry
from cxloop.workspaces.schemas import WorkspaceCreate

SECRET = "a-long-shared-secret-0123"
DETRACTORS = {
    "name": "Detractors",
    "target": "webhook",
    "address": "https://hooks.example.com/nps",
    "filters": {"max_score": 6},
    "secret": SECRET,
}


class Api:
    """A workspace's admin API through a test client."""

    def __init__(self, client: TestClient, key: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {key}"}

    def create(self, **fields: Any) -> dict[str, Any]:
        response = self.client.post(
            "/api/v1/alert-rules", json={**DETRACTORS, **fields}, headers=self.headers
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    def put(self, rule_id: int, changes: dict[str, Any], **headers: str) -> Any:
        return self.client.put(
            f"/api/v1/alert-rules/{rule_id}", json=changes, headers={**self.headers, **headers}
        )

    def delete(self, rule_id: int) -> Any:
        return self.client.delete(f"/api/v1/alert-rules/{rule_id}", headers=self.headers)

    def rules(self) -> list[dict[str, Any]]:
        body: list[dict[str, Any]] = self.client.get(
            "/api/v1/alert-rules", headers=self.headers
        ).json()
        return body


@pytest.fixture
def api(app: FastAPI, make_workspace: Any) -> Iterator[Api]:
    with TestClient(app) as client:
        yield Api(client, make_workspace().admin_key)


def _audit(db: Database) -> list[tuple[str, str, dict[str, Any]]]:
    with db.session() as session:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.action.like("alert_rule.%")).order_by(AuditEntry.id)
        )
        return [(row.action, row.subject, row.data) for row in rows]


def test_a_rule_is_changed_and_only_the_fields_given_change(api: Api, db: Database) -> None:
    # given a detractors' webhook
    rule = api.create()
    # when its name and filters change
    response = api.put(rule["id"], {"name": "Unhappy", "filters": {"min_score": 0, "max_score": 4}})
    # then the rule says so, the rest as it was, the secret kept but not shown
    assert response.status_code == 200
    assert response.json() == {
        "id": rule["id"],
        "name": "Unhappy",
        "kind": "response",
        "target": "webhook",
        "address": "https://hooks.example.com/nps",
        "filters": {"min_score": 0, "max_score": 4},
        "slack_format": False,
        "active": True,
        "signed": True,
    }
    assert api.rules() == [response.json()]
    with db.session() as session:
        assert session.scalars(select(AlertRule.secret)).one() == SECRET
    # and the audit names the fields changed
    assert _audit(db)[-1] == (
        "alert_rule.update",
        "Unhappy",
        {"rule_id": rule["id"], "changed": ["name", "filters"]},
    )


def test_a_rule_is_switched_off_and_on(api: Api, db: Database) -> None:
    rule = api.create()
    assert api.put(rule["id"], {"active": False}).json()["active"] is False
    assert api.rules()[0]["active"] is False
    assert api.put(rule["id"], {"active": True}).json()["active"] is True
    assert [action for action, _, _ in _audit(db)] == [
        "alert_rule.create",
        "alert_rule.update",
        "alert_rule.update",
    ]


def test_the_secret_is_replaced_or_removed_and_never_shown(api: Api, db: Database) -> None:
    rule = api.create()
    assert SECRET not in api.client.get("/api/v1/alert-rules", headers=api.headers).text
    replaced = api.put(rule["id"], {"secret": "another-secret-of-20-chars"})
    assert "another-secret" not in replaced.text
    assert replaced.json()["signed"] is True
    removed = api.put(rule["id"], {"secret": None})
    assert removed.json()["signed"] is False
    with db.session() as session:
        assert session.scalars(select(AlertRule.secret)).one() is None
    # the audit names the secret as changed, never its value
    entries = _audit(db)
    assert entries[-1][2] == {"rule_id": rule["id"], "changed": ["secret"]}
    assert not any(SECRET in repr(entry) or "another-secret" in repr(entry) for entry in entries)


def test_a_rule_is_deleted_with_its_deliveries(api: Api, db: Database) -> None:
    # given two rules, the first with a delivery on record
    first, second = api.create(), api.create(name="Silence", kind="silence")
    with db.session() as session:
        ws = session.get(AlertRule, first["id"]).workspace_id  # type: ignore[union-attr]
        session.add(AlertDelivery(workspace_id=ws, rule_id=first["id"], subject_key="response:1"))
    # when the first is deleted
    response = api.delete(first["id"])
    # then it is gone with its deliveries, the other kept, and the deletion audited
    assert response.status_code == 204
    assert response.content == b""
    assert [r["id"] for r in api.rules()] == [second["id"]]
    with db.session() as session:
        assert session.scalars(select(AlertDelivery)).all() == []
    assert _audit(db)[-1] == (
        "alert_rule.delete",
        "Detractors",
        {"rule_id": first["id"], "kind": "response", "target": "webhook"},
    )
    # and deleting it again finds nothing
    assert api.delete(first["id"]).status_code == 404


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"filters": {"max_score": 11}}, "filters.max_score"),
        ({"filters": {"max_score": -1}}, "filters.max_score"),
        ({"filters": {"min_score": 6.5}}, "filters.min_score"),
        ({"filters": {"min_score": True}}, "filters.min_score"),
        ({"filters": {"min_score": 7, "max_score": 6}}, "filters.min_score"),
        ({"filters": {"channel": "fax"}}, "filters.channel"),
        ({"filters": {"category": "angry"}}, "filters.category"),
        ({"filters": {"survey_id": "three"}}, "filters.survey_id"),
        ({"kind": "silence", "filters": {"silence_hours": 0}}, "filters.silence_hours"),
        ({"kind": "silence", "filters": {"silence_hours": -2}}, "filters.silence_hours"),
        ({"kind": "silence", "filters": {"silence_hours": "six"}}, "filters.silence_hours"),
        ({"kind": "silence", "filters": {"silence_hours": 10**6}}, "filters.silence_hours"),
        ({"kind": "theme_spike", "filters": {"min_mentions": 0}}, "filters.min_mentions"),
        ({"target": "email"}, "address"),
        ({"address": "ftp://files.example.com"}, "address"),
        ({"kind": "mood"}, "kind"),
        ({"target": "pigeon"}, "target"),
        ({"name": ""}, "name"),
        ({"secret": "short"}, "secret"),
    ],
)
def test_a_bad_change_is_refused_naming_the_field_and_changes_nothing(
    api: Api, db: Database, changes: dict[str, Any], field: str
) -> None:
    rule = api.create()
    response = api.put(rule["id"], changes)
    assert response.status_code == 422
    assert response.json()["field"] == field
    assert api.rules() == [rule]
    assert [action for action, _, _ in _audit(db)] == ["alert_rule.create"]


def test_the_same_checks_hold_when_a_rule_is_made(api: Api) -> None:
    response = api.client.post(
        "/api/v1/alert-rules",
        json={**DETRACTORS, "filters": {"min_score": 9, "max_score": 6}},
        headers=api.headers,
    )
    assert response.status_code == 422
    assert response.json()["field"] == "filters.min_score"
    silence = api.create(name="Silence", kind="silence", filters={})
    assert silence["filters"] == {"silence_hours": 6}


def test_a_refusal_speaks_the_callers_language(api: Api) -> None:
    rule = api.create()
    french = api.put(rule["id"], {"filters": {"max_score": 12}}, **{"Accept-Language": "fr"})
    english = api.put(rule["id"], {"filters": {"max_score": 12}}, **{"Accept-Language": "en"})
    assert french.json()["detail"] == "Une note est un nombre entier de 0 à 10."
    assert english.json()["detail"] == "A score is a whole number from 0 to 10."


def test_another_workspaces_rule_is_not_found(app: FastAPI, make_workspace: Any) -> None:
    with TestClient(app) as client:
        mine, theirs = (Api(client, make_workspace().admin_key) for _ in range(2))
        rule = theirs.create()
        changed = mine.put(rule["id"], {"active": False})
        deleted = mine.delete(rule["id"])
        unknown = mine.put(rule["id"] + 1000, {"active": False})
        # then each is a 404 naming the id, and their rule is untouched
        for response in (changed, deleted, unknown):
            assert response.status_code == 404
            assert response.json()["error"] == "not_found"
            assert response.json()["field"] == "id"
        assert theirs.rules() == [rule]


def test_the_openapi_document_shows_the_new_operations_and_no_secret(app: FastAPI) -> None:
    with TestClient(app) as client:
        spec = client.get("/api/v1/openapi.json").json()
    operations = spec["paths"]["/api/v1/alert-rules/{rule_id}"]
    assert set(operations) == {"put", "delete"}
    for operation in operations.values():
        assert "4XX" in operation["responses"]
    public = spec["components"]["schemas"]["AlertRulePublic"]["properties"]
    assert "secret" not in public
    assert "active" in spec["components"]["schemas"]["AlertRuleUpdate"]["properties"]


def test_changes_and_the_last_deliveries_on_both_engines(any_db: Database) -> None:
    # given a rule with five deliveries, on SQLite and on PostgreSQL
    with any_db.session() as session:
        ws = workspaces.create_workspace(session, WorkspaceCreate(name="Chez Lou")).workspace_id
        rule = alerts.create_rule(
            session, ws, name="Low", kind="response", target="email", address="cx@example.com"
        )
        other = alerts.create_rule(
            session, ws, name="Quiet", kind="silence", target="email", address="cx@example.com"
        )
        for n in range(5):
            session.add(AlertDelivery(workspace_id=ws, rule_id=rule.id, subject_key=f"r:{n}"))
        rule_id, other_id = rule.id, other.id
    # when one is changed and switched off, and the other deleted
    with any_db.session() as session:
        alerts.update_rule(session, ws, rule_id, actor="lou", filters={"max_score": 6})
        alerts.set_rule_active(session, ws, rule_id, False, actor="lou")
        alerts.delete_rule(session, ws, other_id, actor="lou")
    # then the last three deliveries of the rule left are read, newest first
    with any_db.session() as session:
        [kept] = alerts.rules_of(session, ws)
        assert (kept.filters, kept.active) == ({"max_score": 6}, False)
        recent = alerts.recent_deliveries(session, ws)
        assert [d.subject_key for d in recent[rule_id]] == ["r:4", "r:3", "r:2"]
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.actor == "lou").order_by(AuditEntry.id)
        ).all()
        assert actions == ["alert_rule.update", "alert_rule.switch_off", "alert_rule.delete"]
