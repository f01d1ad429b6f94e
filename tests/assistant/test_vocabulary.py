"""The workspace's own words: synonym groups the catalog search uses, intent examples the
classifier learns from; set through the admin API and the console, checked and audited."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cxloop.assistant import vocabulary
from cxloop.assistant.catalog import index_of
from cxloop.assistant.intents import model_for
from cxloop.errors import InvalidInput
from cxloop.store.db import Database
from cxloop.web.app import create_app
from cxloop.workspaces.models import AuditEntry
from tests.helpers.catalog import stock_demo_catalog
from tests.helpers.console import csrf_of, login


@pytest.fixture
def shop(db: Database, make_workspace: Any) -> Any:
    keys = make_workspace("Maison Lou")
    stock_demo_catalog(db, keys.workspace_id)
    return keys


def test_a_synonym_group_makes_the_search_find_the_merchants_word(db: Database, shop: Any) -> None:
    ws = shop.workspace_id
    with db.session() as session:
        before = index_of(session, ws).search("zapatillas", limit=5)
    assert not any("aske" in h.item.title for h in before.hits)
    with TestClient(create_app(db)) as client:
        headers = {"Authorization": f"Bearer {shop.admin_key}"}
        saved = client.put(
            "/api/v1/assistant/vocabulary",
            json={"synonyms": [["Zapatillas", "baskets"]]},
            headers=headers,
        )
        assert saved.status_code == 200, saved.text
        assert saved.json() == {"synonyms": [["zapatillas", "baskets"]], "examples": []}
        refused = client.put(
            "/api/v1/assistant/vocabulary",
            json={"synonyms": [["seul"]], "examples": [["nope", "x"]]},
            headers=headers,
        )
        assert refused.status_code == 422 and refused.json()["field"] == "synonyms[0]"
    with db.session() as session:
        after = index_of(session, ws).search("zapatillas blanches", limit=5)
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.action.like("assistant.%"))
        ).all()
    assert after.hits and all("aske" in h.item.title for h in after.hits)
    assert actions == ["assistant.synonyms"]


def test_intent_examples_teach_the_classifier() -> None:
    phrase = "ça me botte grave"
    assert model_for([]).read(phrase).intent != "thanks"
    taught = model_for([("thanks", phrase), ("thanks", "ça me botte"), ("thanks", "trop bien")])
    assert taught.read(phrase).intent == "thanks"


@pytest.mark.parametrize(
    ("examples", "field"),
    [
        ([("nope", "bonjour")], "examples[0].intent"),
        ([("greet", "")], "examples[0].text"),
    ],
)
def test_bad_examples_are_refused_naming_the_line(examples: Any, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        vocabulary.checked_examples(examples)
    assert refused.value.field == field


def test_the_console_edits_the_vocabulary_as_text(db: Database, shop: Any, make_user: Any) -> None:
    make_user("lou@example.com", shop.workspace_id)
    with TestClient(create_app(db)) as client:
        login(client, "lou@example.com")
        page = f"/w/{shop.workspace_id}/assistant/vocabulary"
        token = csrf_of(client.get(page).text)
        bad = client.post(
            page,
            data={
                "csrf_token": token,
                "synonyms": "zapatillas, baskets",
                "examples": "thanks ça me botte",
            },
        )
        # the bad line is named, the text is kept, and nothing is half-saved
        assert bad.status_code == 422 and "examples[0]" in bad.text and "ça me botte" in bad.text
        with db.session() as session:
            assert vocabulary.synonyms_of(session, shop.workspace_id) == []
        saved = client.post(
            page,
            data={
                "csrf_token": token,
                "synonyms": "zapatillas, baskets\npull, chandail, tricot",
                "examples": "thanks: ça me botte\nhuman: passez-moi le patron",
            },
            follow_redirects=False,
        )
        assert saved.status_code == 303
        shown = client.get(page).text
        assert "pull, chandail, tricot" in shown and "human: passez-moi le patron" in shown
    with db.session() as session:
        assert vocabulary.examples_of(session, shop.workspace_id) == [
            ("thanks", "ça me botte"),
            ("human", "passez-moi le patron"),
        ]
