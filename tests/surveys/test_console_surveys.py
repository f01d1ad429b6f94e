"""The survey list and editor in the console."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from cxloop.store.db import Database
from cxloop.surveys import service
from cxloop.surveys.models import Survey
from tests.helpers.console import csrf_of, login


def test_an_owner_adds_the_proposed_surveys_and_edits_one(
    app, db: Database, make_workspace, make_user
) -> None:
    ws = make_workspace().workspace_id
    make_user("owner@example.com", ws)
    with TestClient(app) as client:
        page = login(client, "owner@example.com")
        empty = client.get(f"/w/{ws}/surveys")
        assert "Add the proposed surveys" in empty.text
        listed = client.post(f"/w/{ws}/surveys/defaults", data={"csrf_token": csrf_of(page.text)})
        assert "NPS after delivery" in listed.text and "NPS after order" in listed.text
        editor = client.get(f"/w/{ws}/surveys/after-delivery")
        form = dict(re.findall(r'<input name="([a-z_]+)"[^>]*value="([^"]*)"', editor.text))
        form.update(
            {
                "csrf_token": csrf_of(editor.text),
                "mode": "form",
                "active": "on",
                "channel_email": "on",
                "delay_hours": "48",
                "sample_percent": "50",
                "fr_followup_detractor": "Qu'est-ce qui n'a pas été ?",
            }
        )
        saved = client.post(f"/w/{ws}/surveys/after-delivery", data=form)
        bad = client.post(
            f"/w/{ws}/surveys/after-delivery", data={**form, "send_from": "22", "send_until": "8"}
        )
    assert saved.status_code == 200 and "Saved." in saved.text
    assert bad.status_code == 422 and "send_hours" in bad.text
    with db.session() as session:
        survey = session.scalars(select(Survey).where(Survey.key == "after-delivery")).one()
        definition = service.definition_of(survey)
    assert definition.delay_hours == 48 and definition.sample_rate == 0.5
    assert definition.texts["fr"].followup["detractor"] == "Qu'est-ce qui n'a pas été ?"
    assert survey.delay_minutes == 48 * 60


def test_an_agent_reads_but_cannot_edit(app, db: Database, make_workspace, make_user) -> None:
    ws = make_workspace().workspace_id
    make_user("agent@example.com", ws, role="agent")
    with TestClient(app) as client:
        page = login(client, "agent@example.com")
        assert "Add the proposed surveys" not in client.get(f"/w/{ws}/surveys").text
        refused = client.post(f"/w/{ws}/surveys/defaults", data={"csrf_token": csrf_of(page.text)})
    assert refused.status_code == 404
    with db.session() as session:
        assert session.scalars(select(Survey)).all() == []


def test_the_yaml_api_round_trips(app, db: Database, make_workspace) -> None:
    creds = make_workspace()
    admin = {"Authorization": f"Bearer {creds.admin_key}"}
    from cxloop.surveys.definitions import default_definition, to_yaml

    text = to_yaml(default_definition("order_placed")).replace(
        "sample_rate: 1.0", "sample_rate: 0.25"
    )
    with TestClient(app) as client:
        put = client.put(
            "/api/v1/surveys/after-order",
            content=text,
            headers={**admin, "Content-Type": "application/yaml"},
        )
        got = client.get(
            "/api/v1/surveys/after-order", headers={**admin, "Accept": "application/yaml"}
        )
        wrong = client.put(
            "/api/v1/surveys/other",
            content=text,
            headers={**admin, "Content-Type": "application/yaml"},
        )
        invalid = client.put(
            "/api/v1/surveys/after-order",
            content=text.replace("trigger: order_placed", "trigger: never"),
            headers={**admin, "Content-Type": "application/yaml"},
        )
        listed = client.get("/api/v1/surveys", headers=admin).json()
    assert put.status_code == 200 and put.json()["sample_rate"] == 0.25
    assert "sample_rate: 0.25" in got.text
    assert wrong.status_code == 422 and wrong.json()["field"] == "key"
    assert invalid.status_code == 422 and invalid.json()["field"] == "trigger"
    assert [s["key"] for s in listed] == ["after-order"]


def test_the_editor_gives_the_widget_tag_once_the_widget_channel_is_on(
    app, db: Database, make_workspace, make_user
) -> None:
    # given a survey that asks by email only
    creds = make_workspace()
    ws = creds.workspace_id
    make_user("owner@example.com", ws)
    with TestClient(app) as client:
        page = login(client, "owner@example.com")
        client.post(f"/w/{ws}/surveys/defaults", data={"csrf_token": csrf_of(page.text)})
        before = client.get(f"/w/{ws}/surveys/after-delivery")
        form = dict(re.findall(r'<input name="([a-z_]+)"[^>]*value="([^"]*)"', before.text))
        form.update(
            {"csrf_token": csrf_of(before.text), "mode": "form", "active": "on"}
            | {"channel_email": "on", "channel_widget": "on"}
        )
        # when the widget channel is switched on
        saved = client.post(f"/w/{ws}/surveys/after-delivery", data=form)
    # then the editor gives the tag to paste, with this workspace's public write key
    assert 'id="widget-snippet"' not in before.text
    assert 'id="widget-snippet"' in saved.text
    assert f"data-write-key=&#34;{creds.write_key}&#34;" in saved.text
    assert "/static/widget/nps.js" in saved.text
