"""Survey links: a customer's own link for the store to send (the link channel), and the editor's
test page, which records nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from cxloop.store.db import Database
from cxloop.surveys.models import Invitation, Response, SurveyDecision
from cxloop.workspaces.models import AuditEntry
from cxloop.workspaces.schemas import WorkspaceCredentials
from tests.helpers import factories as f
from tests.helpers.console import login

KEY = "after-delivery"


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def keys(db: Database, make_workspace: Any) -> WorkspaceCredentials:
    """A workspace whose survey asks by email, else through a link the store sends."""
    credentials = make_workspace("Maison Lou")
    f.survey(db, credentials.workspace_id, channels=["email", "link"])
    return credentials


def ask(client: TestClient, keys: WorkspaceCredentials, user_id: str, key: str = KEY) -> Any:
    return client.post(
        f"/api/v1/surveys/{key}/links",
        json={"user_id": user_id},
        headers={"Authorization": f"Bearer {keys.admin_key}"},
    )


def count(db: Database, model: Any) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_the_store_gets_a_customers_link_and_the_same_one_until_it_is_answered(
    client: TestClient, db: Database, keys: WorkspaceCredentials
) -> None:
    # given a customer of the store, in English
    f.customer(db, keys.workspace_id, user_id="u-lou", locale="en")
    # when the store asks for her link twice
    first = ask(client, keys, "u-lou")
    again = ask(client, keys, "u-lou")
    # then the first makes one, the second gives the same open link back
    assert first.status_code == 201, first.text
    assert again.status_code == 200
    link = first.json()
    assert again.json()["token"] == link["token"] and again.json()["created"] is False
    assert link["created"] is True and link["locale"] == "en"
    assert link["url"].endswith(f"/s/{link['token']}")
    # the link opens the survey in her language, and her answer is recorded on it
    page = client.get(httpx.URL(link["url"]).path)
    assert page.status_code == 200 and "How likely" in page.text
    form_key = re.search(r'name="key" value="([0-9a-f]+)"', page.text)
    assert form_key is not None
    answered = client.post(
        f"/s/{link['token']}", data={"score": "9", "key": form_key.group(1), "comment": "Super"}
    )
    assert answered.status_code == 200
    with db.session() as session:
        invitation = session.scalars(select(Invitation)).one()
        assert (invitation.channel, invitation.status) == ("link", "sent")
        assert session.scalars(select(Response.score)).all() == [9]
        assert session.scalars(select(SurveyDecision.decision)).all() == ["sent"]
        audited = session.scalars(select(AuditEntry).where(AuditEntry.action == "survey.link"))
        assert [a.data["invitation_id"] for a in audited] == [invitation.id]
    # and once she answered, the cooldown holds: no second link
    refused = ask(client, keys, "u-lou")
    assert (refused.status_code, refused.json()["error"]) == (409, "throttled")


@pytest.mark.parametrize(
    ("change", "status", "error", "field"),
    [
        ({"active": False}, 409, "survey_inactive", "key"),
        ({"channels": ["email"]}, 409, "no_channel", "key"),
    ],
)
def test_a_survey_that_is_off_or_without_links_gives_none(
    client: TestClient,
    db: Database,
    make_workspace: Any,
    change: dict[str, Any],
    status: int,
    error: str,
    field: str,
) -> None:
    keys = make_workspace()
    f.survey(db, keys.workspace_id, **{"channels": ["link"], **change})
    f.customer(db, keys.workspace_id, user_id="u-1")
    answer = ask(client, keys, "u-1")
    assert (answer.status_code, answer.json()["error"], answer.json()["field"]) == (
        status,
        error,
        field,
    )
    assert count(db, Invitation) == 0


def test_unknown_customers_surveys_and_refusals_are_named(
    client: TestClient, db: Database, keys: WorkspaceCredentials, make_workspace: Any
) -> None:
    f.customer(db, keys.workspace_id, user_id="u-no", consent={"link": {"status": "denied"}})
    assert ask(client, keys, "u-nobody").json()["field"] == "user_id"
    assert ask(client, keys, "u-nobody").status_code == 404
    assert ask(client, keys, "u-no", key="no-such-survey").status_code == 404
    refused = ask(client, keys, "u-no")
    assert (refused.status_code, refused.json()["error"]) == (409, "no_consent")
    empty = client.post(
        f"/api/v1/surveys/{KEY}/links",
        json={"user_id": ""},
        headers={"Authorization": f"Bearer {keys.admin_key}"},
    )
    assert (empty.status_code, empty.json()["field"]) == (422, "user_id")
    # another workspace's key sees neither the survey nor the customer
    other = make_workspace("Autre")
    assert ask(client, other, "u-no").status_code == 404
    assert count(db, Invitation) == 0


def test_the_editor_shows_the_links_and_a_test_page_that_records_nothing(
    client: TestClient, db: Database, keys: WorkspaceCredentials, make_user: Any
) -> None:
    # given the survey's editor
    make_user("owner@example.com", keys.workspace_id)
    login(client, "owner@example.com")
    editor = client.get(f"/w/{keys.workspace_id}/surveys/{KEY}")
    section = editor.text[editor.text.index('id="survey-links"') :]
    assert f"/api/v1/surveys/{KEY}/links" in section
    previews = re.findall(r'href="([^"]+/preview\?lang=(?:fr|en))"', section)
    assert len(previews) == 2
    # when the merchant opens the test page in French and answers 3
    french = client.get(previews[0])
    assert french.status_code == 200 and "data-preview" in french.text
    assert "Quelle est la probabilité" in french.text and 'lang="fr"' in french.text
    thanks = client.get(previews[0], params={"score": "3", "comment": "essai"})
    # then she sees the detractors' thank-you, and nothing was recorded or planned
    assert thanks.status_code == 200 and "data-preview" in thanks.text
    assert count(db, Invitation) == 0 and count(db, Response) == 0
    english = client.get(previews[1])
    assert "How likely" in english.text and 'lang="en"' in english.text


def test_without_the_link_channel_the_editor_says_how_to_turn_it_on(
    client: TestClient, db: Database, make_workspace: Any, make_user: Any
) -> None:
    keys = make_workspace()
    f.survey(db, keys.workspace_id)
    make_user("owner@example.com", keys.workspace_id)
    login(client, "owner@example.com")
    editor = client.get(f"/w/{keys.workspace_id}/surveys/{KEY}")
    section = editor.text[editor.text.index('id="survey-links"') :]
    assert "/links" not in section.split("</section>")[0]
    assert "Turn the link channel on" in section
