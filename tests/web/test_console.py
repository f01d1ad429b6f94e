"""The console: sign-in, CSRF, language, workspace access, escaping."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient

from cxloop.config import Settings
from cxloop.store.db import Database
from cxloop.web.app import create_app
from cxloop.workspaces.models import User
from tests.helpers.console import PASSWORD, csrf_of, login


def test_pages_need_a_signed_in_user(app: FastAPI) -> None:
    with TestClient(app, follow_redirects=False) as client:
        response = client.get("/w/ws_any/")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/w/ws_any/"


def test_sign_in_leads_to_the_first_workspace_overview(app, make_workspace, make_user) -> None:
    creds = make_workspace("Chez Lou")
    make_user("lou@example.com", creds.workspace_id)
    with TestClient(app) as client:
        response = login(client, "lou@example.com")
    assert response.status_code == 200
    assert response.url.path == f"/w/{creds.workspace_id}/"
    assert "<h1>Chez Lou</h1>" in response.text


def test_wrong_password_is_refused_without_saying_which_part(app, make_user) -> None:
    make_user("lou@example.com")
    with TestClient(app) as client:
        response = login(client, "lou@example.com", "not the password")
    assert response.status_code == 401
    assert "Wrong email or password." in response.text


def test_a_form_post_without_the_csrf_token_is_refused(app, make_user) -> None:
    make_user("lou@example.com")
    with TestClient(app) as client:
        client.get("/login")
        response = client.post(
            "/login", data={"email": "lou@example.com", "password": PASSWORD, "csrf_token": "x"}
        )
    assert response.status_code == 403
    assert response.json()["field"] == "csrf_token"


def test_next_cannot_send_the_user_to_another_site(app, make_workspace, make_user) -> None:
    creds = make_workspace()
    make_user("lou@example.com", creds.workspace_id)
    with TestClient(app, follow_redirects=False) as client:
        response = login(client, "lou@example.com", next="//evil.example/")
    assert response.headers["location"] == "/"


def test_language_follows_the_browser_then_the_choice_which_sticks_to_the_account(
    app: FastAPI, db: Database, make_workspace, make_user
) -> None:
    creds = make_workspace()
    make_user("lou@example.com", creds.workspace_id)
    with TestClient(app, headers={"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}) as client:
        assert "Connexion à cxloop" in client.get("/login").text
        page = login(client, "lou@example.com")
        assert "Vue d'ensemble" in page.text
        switched = client.post(
            "/lang", data={"lang": "en", "csrf_token": csrf_of(page.text), "next": page.url.path}
        )
        assert "Revenue by month" in switched.text
        assert switched.headers["content-language"] == "en"
    with db.session() as session:
        assert session.query(User).one().locale == "en"
    # a new browser that prefers French still gets English once signed in
    with TestClient(app, headers={"Accept-Language": "fr"}) as client:
        assert "Revenue by month" in login(client, "lou@example.com").text


def test_a_member_cannot_open_a_workspace_that_is_not_hers(app, make_workspace, make_user) -> None:
    mine, other = make_workspace("Mine"), make_workspace("Other")
    make_user("lou@example.com", mine.workspace_id)
    with TestClient(app) as client:
        page = login(client, "lou@example.com")
        response = client.get(f"/w/{other.workspace_id}/")
        switched = client.get(f"/switch?workspace={other.workspace_id}")
    assert response.status_code == 404
    assert "Other" not in response.text
    assert switched.url.path == f"/w/{mine.workspace_id}/"
    assert "Other" not in page.text


def test_switcher_lists_every_workspace_of_the_user(app, make_workspace, make_user) -> None:
    a, b = make_workspace("Alpha"), make_workspace("Beta")
    make_user("lou@example.com", a.workspace_id, b.workspace_id)
    with TestClient(app) as client:
        login(client, "lou@example.com")
        page = client.get(f"/switch?workspace={b.workspace_id}")
        assert page.url.path == f"/w/{b.workspace_id}/"
        assert re.findall(r'<option value="(ws_\w+)"', page.text) == [
            a.workspace_id,
            b.workspace_id,
        ]
        # the last workspace visited is where the console opens next time
        assert client.get("/").url.path == f"/w/{b.workspace_id}/"


def test_names_are_escaped(app, make_workspace, make_user) -> None:
    creds = make_workspace('<script>alert("x")</script>')
    make_user("lou@example.com", creds.workspace_id)
    with TestClient(app) as client:
        page = login(client, "lou@example.com")
    assert "<script>alert" not in page.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.text


def test_sign_out_ends_the_session(app, make_workspace, make_user) -> None:
    creds = make_workspace()
    make_user("lou@example.com", creds.workspace_id)
    with TestClient(app) as client:
        page = login(client, "lou@example.com")
        client.post("/logout", data={"csrf_token": csrf_of(page.text)})
        after = client.get(f"/w/{creds.workspace_id}/")
    assert after.url.path == "/login"


def test_console_pages_are_not_cached_and_hsts_is_sent_only_in_production(
    app, db, make_workspace, make_user
) -> None:
    # given a signed-in member, on the test settings
    creds = make_workspace()
    make_user("lou@example.com", creds.workspace_id)
    with TestClient(app) as client:
        page = login(client, "lou@example.com")
        health = client.get("/healthz")
        sign_in = client.get("/login")
    # then every console page says no-store, and no HSTS outside production
    for response in (page, sign_in):
        assert response.headers["cache-control"] == "no-store"
        assert "strict-transport-security" not in response.headers
    assert "cache-control" not in health.headers  # JSON probes are left to their own choice
    # when the same app runs in production, every answer carries HSTS
    production = Settings(environment="production", secret_key="s" * 40)
    with TestClient(create_app(db, settings=production), base_url="https://testserver") as client:
        sign_in = client.get("/login")
    assert sign_in.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
    assert sign_in.headers["cache-control"] == "no-store"
