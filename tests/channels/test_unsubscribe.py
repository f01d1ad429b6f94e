"""Unsubscribe links: RFC 8058 one-click, the page, forged tokens, honoured at once."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from cxloop.channels import email
from cxloop.channels.models import OutboundMessage
from cxloop.channels.unsubscribe import make_token, unsubscribe_link
from cxloop.config import get_settings
from cxloop.profiles import service as profiles
from cxloop.profiles.models import ConsentChange
from cxloop.store.db import Database
from tests.helpers.mail import Shop, queue_invitation


def path_of(shop: Shop, channel: str = "email") -> str:
    url = email.unsubscribe_url(get_settings(), shop.workspace_id, shop.customer_id, channel)
    assert url.startswith(get_settings().public_url + "/u/")
    return url.removeprefix(get_settings().public_url)


def changes(db: Database) -> list[tuple[int, str, str, str]]:
    with db.session() as session:
        rows = session.scalars(select(ConsentChange).order_by(ConsentChange.id)).all()
        return [(c.customer_id, c.channel, c.status, c.source) for c in rows]


def email_consent(db: Database, shop: Shop) -> dict[str, str]:
    with db.session() as session:
        customer = profiles.get_customer(session, shop.workspace_id, shop.customer_id)
        assert customer is not None
        return dict(customer.consent.get("email", {}))


def test_one_click_post_denies_consent_at_once_and_later_mail_is_refused(
    app: FastAPI, db: Database, shop: Shop
) -> None:
    # given an invitation whose List-Unsubscribe header names the link
    message_id = queue_invitation(db, shop)
    with db.session() as session:
        sent = session.get(OutboundMessage, message_id)
        assert sent is not None
        header = sent.headers["List-Unsubscribe"]
    link = header.strip("<>").removeprefix(get_settings().public_url)
    # when a mail client POSTs the RFC 8058 body, without cookie or CSRF token
    with TestClient(app) as client:
        response = client.post(link, data={"List-Unsubscribe": "One-Click"})
    # then it is answered 200 and consent is denied, recorded with its source
    assert response.status_code == 200
    assert "Désabonnement confirmé" in response.text  # the customer's locale is French
    assert changes(db) == [(shop.customer_id, "email", "denied", "unsubscribe:one-click")]
    assert email_consent(db, shop)["status"] == "denied"
    assert email_consent(db, shop)["source"] == "unsubscribe:one-click"
    # and the next email to her is refused before it is queued
    with pytest.raises(email.Undeliverable) as refused:
        queue_invitation(db, shop)
    assert refused.value.reason == "consent_denied"


def test_the_page_names_the_address_and_its_button_unsubscribes(
    app: FastAPI, db: Database, shop: Shop
) -> None:
    link = path_of(shop)
    with TestClient(app, headers={"Accept-Language": "en"}) as client:
        # when the customer opens the link (her profile says French)
        page = client.get(link)
        # then the page asks to confirm, in French, naming her address; nothing changed yet
        assert page.status_code == 200
        assert page.headers["content-language"] == "fr"
        assert page.headers["referrer-policy"] == "no-referrer"
        assert page.headers["cache-control"] == "no-store"
        assert "Ne plus envoyer de messages de Chez Lou à zoe@example.com ?" in page.text
        assert f'<form method="post" action="{link}">' in page.text
        assert changes(db) == []
        # when she presses the button
        done = client.post(link, data={"confirm": "1"})
        # then she is unsubscribed, with the page as source
        assert done.status_code == 200
        assert "zoe@example.com ne recevra plus ces messages de Chez Lou." in done.text
        assert changes(db) == [(shop.customer_id, "email", "denied", "unsubscribe:page")]
        # and opening the link again says so
        again = client.get(link)
        assert "zoe@example.com ne reçoit déjà plus ces messages de Chez Lou." in again.text


def test_the_page_follows_the_browser_when_the_customer_has_no_language(
    app: FastAPI, db: Database, shop: Shop
) -> None:
    with db.session() as session:
        customer = profiles.get_customer(session, shop.workspace_id, shop.customer_id)
        assert customer is not None
        customer.locale = None
    with TestClient(app, headers={"Accept-Language": "en-GB,en;q=0.9"}) as client:
        page = client.get(path_of(shop))
    assert page.headers["content-language"] == "en"
    assert "Stop sending messages from Chez Lou to zoe@example.com?" in page.text


def test_unsubscribing_twice_records_one_change(app: FastAPI, db: Database, shop: Shop) -> None:
    link = path_of(shop)
    with TestClient(app) as client:
        first = client.post(link, data={"List-Unsubscribe": "One-Click"})
        second = client.post(link, data={"List-Unsubscribe": "One-Click"})
        third = client.post(link, data={"confirm": "1"})
    assert [r.status_code for r in (first, second, third)] == [200, 200, 200]
    assert changes(db) == [(shop.customer_id, "email", "denied", "unsubscribe:one-click")]


@pytest.mark.parametrize("kind", ["broken", "signed_with_another_key"])
def test_a_forged_or_broken_token_is_not_found_and_changes_nothing(
    app: FastAPI, db: Database, shop: Shop, kind: str
) -> None:
    # given a token that is not ours: garbage, or this customer's payload under another key
    token = "not-a-token"
    if kind == "signed_with_another_key":
        token = make_token("another-secret-key-of-32-characters!!", shop.workspace_id, 1)
    # when it is opened and posted
    with TestClient(app, headers={"Accept-Language": "fr"}) as client:
        page = client.get(f"/u/{token}")
        posted = client.post(f"/u/{token}", data={"List-Unsubscribe": "One-Click"})
    # then both are a 404 page and nothing changed
    assert (page.status_code, posted.status_code) == (404, 404)
    assert "<h1>Lien non valide</h1>" in page.text
    assert "<h1>Lien non valide</h1>" in posted.text
    assert changes(db) == []
    assert email_consent(db, shop) == {}


def test_a_token_for_this_customer_cannot_be_edited_into_another(
    app: FastAPI, db: Database, shop: Shop
) -> None:
    # given a valid token, with its payload swapped for another customer's
    token = path_of(shop).removeprefix("/u/")
    signature = token.rsplit(".", 1)[1]
    other = make_token(get_settings().resolved_secret_key(), shop.workspace_id, 999)
    forged = other.rsplit(".", 1)[0] + "." + signature
    assert forged != other
    with TestClient(app) as client:
        response = client.post(f"/u/{forged}", data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 404
    assert changes(db) == []


def test_a_link_keeps_working_after_the_customer_was_merged(
    app: FastAPI, db: Database, shop: Shop
) -> None:
    # given a second profile that gets merged into the first after the email went out
    with db.session() as session:
        twin = profiles.resolve(
            session, shop.workspace_id, profiles.Keys(phone="+33600000000"), source="test"
        )
        assert twin is not None
        twin_id = twin.id
    link = unsubscribe_link(
        get_settings().public_url, get_settings().resolved_secret_key(), shop.workspace_id, twin_id
    ).removeprefix(get_settings().public_url)
    with db.session() as session:
        profiles.resolve(
            session,
            shop.workspace_id,
            profiles.Keys(user_id="c-1", phone="+33600000000"),
            source="test",
        )
    # when the old link is used
    with TestClient(app) as client:
        response = client.post(link, data={"List-Unsubscribe": "One-Click"})
    # then the surviving customer is unsubscribed
    assert response.status_code == 200
    assert changes(db) == [(shop.customer_id, "email", "denied", "unsubscribe:one-click")]


def test_one_click_also_arrives_as_multipart_form_data(
    app: FastAPI, db: Database, shop: Shop
) -> None:
    # some mail clients post the RFC 8058 body as multipart/form-data
    with TestClient(app) as client:
        response = client.post(path_of(shop), files={"List-Unsubscribe": (None, "One-Click")})
    assert response.status_code == 200
    assert changes(db) == [(shop.customer_id, "email", "denied", "unsubscribe:one-click")]
