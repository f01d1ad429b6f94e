"""The shopping assistant in headless Chromium: a shopper on a demo store page asks in French,
refines with a button, asks for a person; the agent answers from the console's inbox and the
answer shows in the shopper's widget."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from cxloop.demo.service import build_demo
from cxloop.store.db import Database
from cxloop.surveys import service as surveys
from cxloop.surveys.definitions import default_definition
from cxloop.web.app import create_app
from cxloop.workspaces import service as workspaces
from tests.helpers.browser import chromium
from tests.helpers.console import PASSWORD
from tests.helpers.pages import OVERFLOW, signed_in
from tests.helpers.services import live_server

pytestmark = pytest.mark.browser

AGENT = "lea@example.com"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """The demo store (its seed-1 catalog), a French agent, served: (base URL, workspace)."""
    db = Database(f"sqlite:///{tmp_path_factory.mktemp('assistant') / 'cxloop.db'}")
    ws = build_demo(db, customers=120, seed=1, as_of=dt.datetime.now(dt.UTC).date()).workspace_id
    with db.session() as session:
        user = workspaces.create_user(session, email=AGENT, password=PASSWORD, locale="fr")
        workspaces.add_member(session, workspace_id=ws, user=user, role="agent")
        # The survey asks in conversation too.
        definition = default_definition().model_copy(update={"channels": ["email", "chat"]})
        surveys.save_survey(session, ws, definition, actor="test")
    with live_server(create_app(db)) as base:
        yield base, ws


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as started:
        yield started


def _reply(page: Page, action: Any) -> dict[str, Any]:
    """Do ``action`` in the widget and return the assistant API's answer to it."""
    with page.expect_response(re.compile(r"/assistant/v1/conversations")) as info:
        action()
    body: dict[str, Any] = info.value.json()
    return body


def test_a_shopper_finds_refines_and_is_answered_by_a_person(
    store: tuple[str, str], browser: Browser
) -> None:
    base, ws = store
    errors: list[str] = []
    with signed_in(browser, base, AGENT, 390) as shop:
        shop.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        shop.on("pageerror", lambda exc: errors.append(str(exc)))
        # given a store page on a phone, with the assistant's bubble
        shop.goto(f"{base}/w/{ws}/storefront")
        bubble = shop.get_by_role("button", name="Ouvrir l'assistant d'achat")
        _reply(shop, bubble.click)
        box = shop.get_by_role("dialog", name="Assistant")
        assert box.is_visible()
        # when she asks in French
        field = box.get_by_label("Votre message")
        assert field.evaluate("e => e === document.activeElement")
        field.fill("des baskets blanches pour femme à moins de 80 euros")
        found = _reply(shop, lambda: field.press("Enter"))
        reply = found["messages"][-1]
        # then she gets only white products for women, in stock, at 80 € at most
        assert reply["filters"] == {
            "max_price": 80.0,
            "color": ["blanc"],
            "gender": "female",
            "age_group": ["adult"],
        }
        assert reply["products"], reply["text"]
        for product in reply["products"]:
            assert product["color"] == "blanc" and product["price"] <= 80
            assert product["availability"] == "in_stock"
            assert product["gender"] in ("female", "unisex")
        cards = box.locator(".cxa-card")
        assert cards.count() == len(reply["products"])
        assert "Baskets" in cards.first.inner_text() and "En stock" in cards.first.inner_text()
        # when she picks her size with a button
        refined = _reply(shop, lambda: box.get_by_role("button", name="38", exact=True).click())
        sized = refined["messages"][-1]
        # then the products are those that come in 38, the other filters kept
        assert sized["filters"]["size"] == ["38"] and sized["filters"]["max_price"] == 80.0
        assert sized["products"] and all("38" in p["size"] for p in sized["products"])
        # when she asks for a person
        field.fill("je voudrais parler à un conseiller")
        handed = _reply(shop, lambda: field.press("Enter"))
        assert handed["status"] == "handoff"
        assert "équipe" in handed["messages"][-1]["text"]
        size = shop.evaluate(OVERFLOW)
        assert size["scroll"] <= size["width"], size
        # and an agent answers from the console's inbox
        with signed_in(browser, base, AGENT, 1400) as desk:
            desk.goto(f"{base}/w/{ws}/conversations")
            assert "en attente de l'équipe" in desk.locator("table.conversations").inner_text()
            desk.locator("table.conversations tbody tr a").first.click()
            desk.get_by_label("Votre réponse, affichée dans la fenêtre de discussion").fill(
                "Bonjour, ici Léa : le modèle taille normalement, prenez votre pointure."
            )
            desk.get_by_role("button", name="Envoyer la réponse").click()
            desk.wait_for_load_state("load")
            assert "ici Léa" in desk.locator("#transcript").inner_text()
        # then the answer appears in her widget
        answer = box.locator(".cxa-agent").filter(has_text="ici Léa")
        answer.wait_for(timeout=15_000)
        assert "Équipe" in answer.inner_text()
    assert not errors, errors


def test_the_widget_is_keyboard_usable_and_labelled(
    store: tuple[str, str], browser: Browser
) -> None:
    base, ws = store
    with signed_in(browser, base, AGENT, 1400) as page:
        page.goto(f"{base}/w/{ws}/storefront")
        bubble = page.get_by_role("button", name="Ouvrir l'assistant d'achat")
        assert bubble.get_attribute("aria-expanded") == "false"
        # when the keyboard reaches the bubble and opens it
        bubble.focus()
        _reply(page, lambda: page.keyboard.press("Enter"))
        # then the dialog is open, announced, and Escape closes it back to the bubble
        assert bubble.get_attribute("aria-expanded") == "true"
        assert page.locator(".cxa-log").get_attribute("role") == "log"
        page.keyboard.press("Escape")
        assert page.get_by_role("dialog", name="Assistant").is_hidden()
        assert bubble.evaluate("e => e === document.activeElement")


def test_the_nps_question_in_the_widget_is_a_labelled_scale(
    store: tuple[str, str], browser: Browser
) -> None:
    base, ws = store
    with signed_in(browser, base, AGENT, 390) as page:
        page.goto(f"{base}/w/{ws}/storefront")
        _reply(page, page.get_by_role("button", name="Ouvrir l'assistant d'achat").click)
        field = page.get_by_role("textbox")
        field.fill("merci beaucoup !")
        said = _reply(page, lambda: field.press("Enter"))
        assert [m["intent"] for m in said["messages"][1:]] == ["thanks", "nps"]
        # the eleven scores are one labelled group, with the survey's words at both ends
        scale = page.get_by_role("group", name="Note de 0 à 10")
        assert scale.get_by_role("button").count() == 11
        assert page.locator(".cxa-hints").last.inner_text().startswith("Pas du tout probable")
        followup = _reply(page, scale.get_by_role("button", name="9", exact=True).click)
        assert followup["messages"][-1]["text"].startswith("Accepteriez-vous de partager")
        field.fill("Des conseils rapides et justes")
        thanks = _reply(page, lambda: field.press("Enter"))
        assert thanks["messages"][-1]["text"].startswith("Merci ! Nous sommes ravis")
        assert page.get_by_text("Merci ! Nous sommes ravis").is_visible()
