"""The merchant's FAQ: imported from CSV or Markdown (CLI, admin API, console), answered with
its source shown, or honestly not."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cxloop.assistant import faq
from cxloop.errors import InvalidInput
from cxloop.store.db import Database
from cxloop.web.app import create_app
from cxloop.workspaces.models import AuditEntry
from tests.helpers.catalog import stock_demo_catalog
from tests.helpers.console import csrf_of, login

DATA = Path(__file__).parents[1] / "data" / "assistant"
FAQ_CSV = (DATA / "faq.csv").read_text(encoding="utf-8")

FAQ_MD = (DATA / "faq.md").read_text(encoding="utf-8")


@pytest.fixture
def shop(db: Database, make_workspace: Any) -> Any:
    keys = make_workspace("Maison Lou")
    stock_demo_catalog(db, keys.workspace_id)
    return keys


def test_csv_and_markdown_are_read_with_languages_and_sources() -> None:
    rows = faq.read_csv(FAQ_CSV)
    assert [r.lang for r in rows] == ["fr", "fr", "fr", "en"]
    assert rows[0].source == "Conditions de vente, article 5" and rows[2].source == ""
    md = faq.read_markdown(FAQ_MD)
    assert [(r.question, r.lang, r.source) for r in md] == [
        ("How do I return an item?", "en", "Returns page"),
        ("Do you ship abroad?", "en", ""),
    ]
    assert md[1].answer == "We ship to the European Union and Switzerland."


@pytest.mark.parametrize(
    ("name", "text", "field"),
    [
        ("faq.csv", "question,comment\nA?,B\n", "faq.csv"),
        ("faq.csv", "question,answer\nA ?,\n", "faq.csv:2"),
        ("faq.csv", "question,answer,lang\nA ?,B,de\n", "faq.csv:2"),
        ("faq.md", "Just text, no heading\n", "faq.md"),
        ("faq.pdf", "x", "file"),
    ],
)
def test_bad_files_are_refused_naming_where(name: str, text: str, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        faq.read_file(name, text)
    assert refused.value.field == field


def test_questions_are_answered_from_the_faq_or_honestly_not(db: Database, shop: Any) -> None:
    with db.session() as session:
        faq.import_faq(session, shop.workspace_id, faq.read_csv(FAQ_CSV), actor="test")
    with db.session() as session:
        index = faq.faq_index(session, shop.workspace_id)
    found = index.answer("c'est quoi vos délais de livraison ?", "fr")
    assert found is not None and found.source == "Conditions de vente, article 5"
    assert "2 à 4 jours" in found.answer
    returned = index.answer("je voudrais retourner un pull", "fr")
    assert returned is not None and returned.question == "Comment retourner un article ?"
    english = index.answer("how long is the delivery", "en")
    assert english is not None and english.lang == "en" and "working days" in english.answer
    # nothing about gift wrapping or opening hours in this FAQ: no answer rather than a wrong one
    assert index.answer("faites-vous des emballages cadeaux ?", "fr") is None
    assert index.answer("quels sont vos horaires d'ouverture du magasin ?", "fr") is None


def test_the_assistant_answers_with_the_source_and_admits_what_it_does_not_know(
    db: Database, shop: Any
) -> None:
    with TestClient(create_app(db)) as client:
        headers = {"Authorization": f"Bearer {shop.admin_key}"}
        imported = client.put(
            "/api/v1/assistant/faq",
            json={"format": "csv", "content": FAQ_CSV},
            headers=headers,
        )
        assert imported.status_code == 200, imported.text
        assert imported.json() == {"imported": 4, "languages": ["en", "fr"]}
        started = client.post(
            "/assistant/v1/conversations",
            json={"writeKey": shop.write_key, "anonymousId": "a1", "locale": "fr"},
        ).json()
        cid = started["conversation_id"]

        def say(text: str) -> dict[str, Any]:
            answer = client.post(
                f"/assistant/v1/conversations/{cid}/messages",
                json={"writeKey": shop.write_key, "text": text},
            )
            assert answer.status_code == 200, answer.text
            reply: dict[str, Any] = answer.json()["messages"][-1]
            return reply

        reply = say("Quels sont vos délais de livraison ?")
        assert "2 à 4 jours ouvrés" in reply["text"]
        assert reply["source"] == "Conditions de vente, article 5"
        unknown = say("Quels sont les horaires d'ouverture de votre boutique ?")
        assert not unknown["source"] and not unknown["products"]
        assert any(b["payload"] == {"intent": "human"} for b in unknown["buttons"])
        listed = client.get("/api/v1/assistant/faq", headers=headers).json()["entries"]
        assert len(listed) == 4 and listed[0]["lang"] == "fr"
        refused = client.put(
            "/api/v1/assistant/faq",
            json={"format": "csv", "content": "question,answer\nA ?,\n"},
            headers=headers,
        )
        assert refused.status_code == 422 and refused.json()["field"] == "faq.csv:2"


def test_a_new_import_replaces_only_its_languages_and_is_audited(db: Database, shop: Any) -> None:
    with db.session() as session:
        faq.import_faq(session, shop.workspace_id, faq.read_csv(FAQ_CSV), actor="test")
        faq.import_faq(session, shop.workspace_id, faq.read_markdown(FAQ_MD), actor="lou")
    with db.session() as session:
        entries = faq.entries_of(session, shop.workspace_id)
        actions = session.scalars(
            select(AuditEntry.actor).where(AuditEntry.action == "assistant.faq_imported")
        ).all()
    assert sorted((e.lang, e.question) for e in entries if e.lang == "en") == [
        ("en", "Do you ship abroad?"),
        ("en", "How do I return an item?"),
    ]
    assert sum(e.lang == "fr" for e in entries) == 3
    assert sorted(actions) == ["lou", "test"]


def test_the_console_imports_a_markdown_file_and_shows_the_entries(
    db: Database, shop: Any, make_user: Any
) -> None:
    make_user("lou@example.com", shop.workspace_id)
    with TestClient(create_app(db)) as client:
        login(client, "lou@example.com")
        page = f"/w/{shop.workspace_id}/assistant/faq"
        shown = client.get(page)
        assert shown.status_code == 200
        token = csrf_of(shown.text)
        bad = client.post(
            page,
            data={"csrf_token": token},
            files={"file": ("faq.md", b"no heading at all", "text/markdown")},
        )
        assert bad.status_code == 422 and "faq.md" in bad.text, bad.text[-3000:]
        sent = client.post(
            page,
            data={"csrf_token": token},
            files={"file": ("faq.md", FAQ_MD.encode(), "text/markdown")},
            follow_redirects=False,
        )
        assert sent.status_code == 303, sent.text
        listed = client.get(page).text
        assert "Do you ship abroad?" in listed and "Returns page" in listed


def test_cxloop_assistant_faq_import(tmp_path: Path) -> None:
    cxloop = str(Path(sys.executable).with_name("cxloop"))
    environ = {
        **os.environ,
        "CXLOOP_HOME": str(tmp_path / "home"),
        "CXLOOP_DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}",
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [cxloop, *args], env=environ, capture_output=True, text=True, timeout=120
        )

    created = run("workspace", "create", "Lou", "--json")
    workspace_id = json.loads(created.stdout)["workspace_id"]
    (tmp_path / "faq.csv").write_text(FAQ_CSV, encoding="utf-8")
    done = run(
        "assistant", "faq-import", str(tmp_path / "faq.csv"), "--workspace", workspace_id, "--json"
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"imported": 4, "languages": ["en", "fr"]}
    (tmp_path / "bad.csv").write_text("question,answer\nA ?,\n", encoding="utf-8")
    refused = run("assistant", "faq-import", str(tmp_path / "bad.csv"), "--workspace", workspace_id)
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1
    assert "bad.csv:2" in refused.stderr
    db = Database(f"sqlite:///{tmp_path / 'store.db'}")
    with db.session() as session:
        assert len(faq.entries_of(session, workspace_id)) == 4
