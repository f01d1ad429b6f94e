"""The console's outbox: members only, newest first, HTML shown in a sandbox, text escaped."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient

from cxloop.channels import email
from cxloop.store.db import Database
from tests.helpers.console import login
from tests.helpers.mail import Shop, queue_invitation

SANDBOX = (
    "sandbox; default-src 'none'; img-src data: https:; style-src 'unsafe-inline'; "
    "frame-ancestors 'self'"
)


def queue_alert(db: Database, shop: Shop, subject: str, to: str = "team@shop.example") -> int:
    rendered = email.render("alert", {"subject": subject, "store_name": "Chez Lou"}, "en")
    with db.session() as session:
        message = email.queue_email(
            session,
            shop.workspace_id,
            to=to,
            rendered=rendered,
            purpose="alert",
            related_key="alert_rule:1",
            customer_id=None,
            unsubscribe_url=None,
        )
        return message.id


def test_the_outbox_lists_messages_newest_first_to_members(
    app: FastAPI, db: Database, shop: Shop, make_user
) -> None:
    # given two messages kept in the outbox
    first = queue_invitation(db, shop)
    second = queue_alert(db, shop, "Score 2/10")
    email.deliver(db, [first, second], email.OutboxSender())
    make_user("lou@example.com", shop.workspace_id)
    # when a member opens the outbox
    with TestClient(app, headers={"Accept-Language": "fr"}) as client:
        login(client, "lou@example.com")
        page = client.get(f"/w/{shop.workspace_id}/outbox")
    # then both are listed, newest first, with their address, subject, purpose and status
    assert page.status_code == 200
    assert "<h1>Boîte d'envoi</h1>" in page.text
    assert re.findall(r'<tr data-message="(\d+)">', page.text) == [str(second), str(first)]
    assert "[cxloop] Score 2/10" in page.text
    assert "zoe@example.com" in page.text
    assert "Chez Lou : votre avis en un clic" in page.text
    assert page.text.count('<span class="tag" data-status="outbox">') == 2
    assert f'href="/w/{shop.workspace_id}/outbox" aria-current="page"' in page.text


def test_the_outbox_pages_by_fifty(app: FastAPI, db: Database, shop: Shop, make_user) -> None:
    ids = [queue_alert(db, shop, f"Alert {n}") for n in range(51)]
    make_user("lou@example.com", shop.workspace_id)
    with TestClient(app) as client:
        login(client, "lou@example.com")
        first = client.get(f"/w/{shop.workspace_id}/outbox")
        second = client.get(f"/w/{shop.workspace_id}/outbox?page=2")
    assert len(re.findall(r"<tr data-message=", first.text)) == 50
    assert re.findall(r'<tr data-message="(\d+)">', second.text) == [str(ids[0])]
    assert 'href="?status=&amp;page=2"' in first.text
    assert 'href="?status=&amp;page=1"' in second.text


def test_a_message_page_shows_headers_text_and_a_sandboxed_frame(
    app: FastAPI, db: Database, shop: Shop, make_user
) -> None:
    message_id = queue_invitation(db, shop)
    make_user("lou@example.com", shop.workspace_id)
    with TestClient(app) as client:
        login(client, "lou@example.com")
        page = client.get(f"/w/{shop.workspace_id}/outbox/{message_id}")
        html = client.get(f"/w/{shop.workspace_id}/outbox/{message_id}/html")
    assert page.status_code == 200
    assert "<dt>List-Unsubscribe-Post</dt><dd>List-Unsubscribe=One-Click</dd>" in page.text
    assert f'<iframe sandbox src="/w/{shop.workspace_id}/outbox/{message_id}/html"' in page.text
    assert "Bonjour Zoé," in page.text
    # the HTML itself: served as is, under a policy that forbids scripts and other origins
    assert html.status_code == 200
    assert html.headers["content-security-policy"] == SANDBOX
    assert html.headers["x-frame-options"] == "SAMEORIGIN"
    assert html.text.startswith("<!DOCTYPE html>")


def test_user_text_is_escaped_in_the_console(
    app: FastAPI, db: Database, shop: Shop, make_user
) -> None:
    message_id = queue_alert(db, shop, "<script>alert(1)</script>", to="o'brien@shop.example")
    make_user("lou@example.com", shop.workspace_id)
    with TestClient(app) as client:
        login(client, "lou@example.com")
        listing = client.get(f"/w/{shop.workspace_id}/outbox")
        page = client.get(f"/w/{shop.workspace_id}/outbox/{message_id}")
    for response in (listing, page):
        assert "<script>alert(1)</script>" not in response.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
        assert "o&#39;brien@shop.example" in response.text


def test_only_members_see_a_workspaces_outbox(
    app: FastAPI, db: Database, shop: Shop, make_workspace, make_user
) -> None:
    message_id = queue_alert(db, shop, "Secret subject")
    other = make_workspace("Other shop")
    make_user("eve@example.com", other.workspace_id)
    base = f"/w/{shop.workspace_id}/outbox"
    # signed out: sent to sign in
    with TestClient(app, follow_redirects=False) as client:
        for path in (base, f"{base}/{message_id}", f"{base}/{message_id}/html"):
            response = client.get(path)
            assert response.status_code == 303
            assert response.headers["location"] == f"/login?next={path}"
    # a member of another workspace: not found, and nothing shown
    with TestClient(app) as client:
        login(client, "eve@example.com")
        responses = [
            client.get(path) for path in (base, f"{base}/{message_id}", f"{base}/{message_id}/html")
        ]
        # nor through her own workspace's address
        mine = client.get(f"/w/{other.workspace_id}/outbox/{message_id}")
    assert [r.status_code for r in responses] == [404, 404, 404]
    assert mine.status_code == 404
    assert all("Secret subject" not in r.text for r in [*responses, mine])
