"""Site campaigns: their definition, the decision a page asks for (a banner per segment, a
message from what the visitor just did, caps, the holdout), clicks, and the report against
the holdout; over the API with the write key and the admin key, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cxloop import journeys
from cxloop.channels import user_hash
from cxloop.config import get_settings
from cxloop.personalize import read
from cxloop.store.db import Database
from cxloop.web.app import create_app
from cxloop.workspaces import service as workspaces
from cxloop.workspaces.schemas import WorkspaceCreate
from tests.helpers import factories

BANNER = """key: welcome
name: {fr: "Accueil", en: "Welcome"}
kind: banner
slot: home_hero
cap: {shows: 100, per: 1d}
variants:
  - key: vip
    when: "segments contains 'vip'"
    title:
      fr: "Bonjour {{ first_name }}, vos avantages VIP"
      en: "Hello {{ first_name }}, your VIP perks"
    link: https://shop.example/vip
    cta: {fr: "Voir", en: "See"}
  - key: everyone
    title: {fr: "Nouvelle collection", en: "New collection"}
"""

KIDS = """key: kids_books
kind: message
when: "visit.category = 'Livres jeunesse' and visit.category_views >= 3"
cap: {shows: 1, per: 1d}
variants:
  - key: offer
    title: {fr: "-15 % sur les livres jeunesse", en: "15% off children's books"}
"""

CART = """key: cart_reminder
kind: message
priority: 80
when: "visit.cart_items > 0 and visit.leaving"
variants:
  - title: {fr: "Votre panier vous attend", en: "Your cart is waiting"}
"""


def _shop(db: Database, name: str = "Maison Lou") -> Any:
    with db.session() as session:
        return workspaces.create_workspace(session, WorkspaceCreate(name=name, locale="fr"))


def _admin(keys: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {keys.admin_key}"}


def _create(client: TestClient, keys: Any, source: str) -> dict[str, Any]:
    answer = client.post(
        "/api/v1/campaigns", json={"source": source, "status": "active"}, headers=_admin(keys)
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def _track(client: TestClient, keys: Any, anonymous_id: str, event: str, **properties: Any) -> None:
    body = {
        "writeKey": keys.write_key,
        "anonymousId": anonymous_id,
        "event": event,
        "properties": properties,
        "messageId": uuid.uuid4().hex,
    }
    answer = client.post(
        "/v1/track", content=json.dumps(body), headers={"Content-Type": "text/plain"}
    )
    assert answer.status_code == 200, answer.text


def _decide(client: TestClient, keys: Any, **body: Any) -> list[dict[str, Any]]:
    answer = client.post("/p/v1/decide", json={"writeKey": keys.write_key, **body})
    assert answer.status_code == 200, answer.text
    assert answer.headers["access-control-allow-origin"] == "*"
    return answer.json()["decisions"]


def test_definitions_are_checked_and_errors_name_their_place() -> None:
    plan = read(BANNER)
    assert plan.kind == "banner" and plan.slot == "home_hero" and plan.holdout == 0
    assert [v.key for v in plan.variants] == ["vip", "everyone"]
    assert plan.goal.event == "Order Completed" and plan.cap.shows == 100
    for source, where in [
        (BANNER.replace("kind: banner", "kind: popup"), "kind"),
        (BANNER.replace("slot: home_hero\n", ""), "slot"),
        (KIDS.replace("visit.category_views >= 3", "visit.category_views >= 'x'"), "when"),
        (BANNER.replace("segments contains 'vip'", "nope = 1"), "variants[0].when"),
        (
            BANNER.replace("link: https://shop.example/vip", "link: javascript:alert(1)"),
            "variants[0].link",
        ),
        (KIDS + "holdout: 80\n", "holdout"),
        (KIDS.replace("key: offer", "key: holdout"), "variants[0].key"),
        (KIDS + "slot: corner\n", "slot"),
        (BANNER.replace("- key: everyone", "- key: vip"), "variants[1].key"),
    ]:
        with pytest.raises(journeys.DefinitionError) as refused:
            read(source)
        assert refused.value.where == where, (where, refused.value.message)


def test_a_banner_per_segment_with_the_customers_name_only_when_proved(
    any_db: Database,
) -> None:
    keys = _shop(any_db)
    ws = keys.workspace_id
    vip = factories.customer(any_db, ws, user_id="u-vip", first_name="Léa")
    factories.customer(any_db, ws, user_id="u-plain", first_name="Marc")
    with TestClient(create_app(any_db)) as client:
        created = client.post(
            "/api/v1/segments",
            json={"key": "vip", "name": "VIP", "kind": "static"},
            headers=_admin(keys),
        )
        assert created.status_code == 201, created.text
        members = client.put(
            "/api/v1/segments/vip/members", json={"customer_ids": [vip]}, headers=_admin(keys)
        )
        assert members.status_code == 200, members.text
        _create(client, keys, BANNER)
        settings = get_settings()
        proof = user_hash(settings, ws, "u-vip")
        shown = _decide(
            client,
            keys,
            anonymousId="a-1",
            userId="u-vip",
            userHash=proof,
            slots=["home_hero"],
            locale="fr",
        )
        assert [(d["slot"], d["variant"]) for d in shown] == [("home_hero", "vip")]
        assert shown[0]["title"] == "Bonjour Léa, vos avantages VIP"
        assert shown[0]["link"] == "https://shop.example/vip" and shown[0]["cta"] == "Voir"
        plain = _decide(
            client,
            keys,
            anonymousId="a-2",
            userId="u-plain",
            userHash=user_hash(settings, ws, "u-plain"),
            slots=["home_hero"],
            locale="en",
        )
        assert [(d["variant"], d["title"]) for d in plain] == [("everyone", "New collection")]
        # a user id without its proof is refused, not trusted
        forged = client.post(
            "/p/v1/decide",
            json={
                "writeKey": keys.write_key,
                "userId": "u-vip",
                "userHash": "0" * 64,
                "slots": ["home_hero"],
            },
        )
        assert forged.status_code == 401 and forged.json()["field"] == "userHash"
        # a page without that place gets no banner; without consent (no id) still the banner
        assert _decide(client, keys, anonymousId="a-3", slots=["footer"]) == []
        anonymous = _decide(client, keys, slots=["home_hero"])
        assert [d["variant"] for d in anonymous] == ["everyone"] and anonymous[0]["token"] == ""


def test_a_message_after_three_views_in_a_category_and_a_reminder_when_leaving(
    any_db: Database,
) -> None:
    keys = _shop(any_db)
    with TestClient(create_app(any_db)) as client:
        _create(client, keys, KIDS)
        _create(client, keys, CART)
        visitor = "anon-books"
        for n in range(2):
            _track(
                client,
                keys,
                visitor,
                "Product Viewed",
                product_id=f"LIV-{n}",
                category="Livres jeunesse",
            )
        assert _decide(client, keys, anonymousId=visitor, page={"type": "category"}) == []
        _track(client, keys, visitor, "Product Viewed", product_id="ROB-1", category="Robes")
        assert _decide(client, keys, anonymousId=visitor) == []
        _track(
            client, keys, visitor, "Product Viewed", product_id="LIV-3", category="Livres jeunesse"
        )
        shown = _decide(client, keys, anonymousId=visitor, locale="fr")
        assert [(d["kind"], d["campaign"], d["title"]) for d in shown] == [
            ("message", "kids_books", "-15 % sur les livres jeunesse")
        ]
        # capped: once a day
        assert _decide(client, keys, anonymousId=visitor) == []
        # another visitor: a cart, then leaving
        shopper = "anon-cart"
        _track(client, keys, shopper, "Product Added", product_id="ROB-1", quantity=2, price=35)
        assert _decide(client, keys, anonymousId=shopper, leaving=False) == []
        reminder = _decide(client, keys, anonymousId=shopper, leaving=True)
        assert [d["campaign"] for d in reminder] == ["cart_reminder"]
        _track(client, keys, "anon-removed", "Product Added", product_id="ROB-1", quantity=1)
        _track(client, keys, "anon-removed", "Product Removed", product_id="ROB-1", quantity=1)
        assert _decide(client, keys, anonymousId="anon-removed", leaving=True) == []


def test_holdout_is_stable_recorded_and_reported_with_clicks_and_conversions(
    any_db: Database,
) -> None:
    keys = _shop(any_db)
    source = BANNER.replace("cap: {shows: 100, per: 1d}", "cap: {shows: 100, per: 1d}\nholdout: 50")
    with TestClient(create_app(any_db)) as client:
        _create(client, keys, source)
        shown_to: list[str] = []
        held: list[str] = []
        for n in range(60):
            visitor = f"anon-{n}"
            first = _decide(client, keys, anonymousId=visitor, slots=["home_hero"])
            again = _decide(client, keys, anonymousId=visitor, slots=["home_hero"])
            assert (first == []) == (again == [])  # the draw is stable
            (held if first == [] else shown_to).append(visitor)
            if first:
                token = first[0]["token"]
        assert 15 <= len(held) <= 45
        clicked = client.post(
            "/p/v1/decide/clicks", json={"writeKey": keys.write_key, "token": token}
        )
        assert clicked.status_code == 204
        unknown = client.post(
            "/p/v1/decide/clicks", json={"writeKey": keys.write_key, "token": "f" * 32}
        )
        assert unknown.status_code == 404 and unknown.json()["field"] == "token"
        for visitor in shown_to[:10]:
            _track(client, keys, visitor, "Order Completed", revenue=50)
        _track(client, keys, held[0], "Order Completed", revenue=20)
        report = client.get("/api/v1/campaigns/welcome", headers=_admin(keys)).json()["report"]
        rows = {r["variant"]: r for r in report["variants"]}
        assert rows["everyone"]["visitors"] == len(shown_to)
        assert rows["everyone"]["shown"] == 2 * len(shown_to)
        assert rows["everyone"]["clicks"] == 1
        assert rows["everyone"]["conversions"] == 10 and rows["everyone"]["revenue"] == 500
        assert rows["holdout"]["visitors"] == len(held) and rows["holdout"]["conversions"] == 1
        against = report["against_holdout"]
        assert against["treated"] == pytest.approx(10 / len(shown_to))
        assert against["holdout"] == pytest.approx(1 / len(held))
        low, high = against["difference_ci95"]
        assert low < against["difference"] < high


def test_the_api_refuses_bad_input_and_other_workspaces(db: Database, make_workspace: Any) -> None:
    keys = make_workspace("Maison Lou")
    other = make_workspace("Autre")
    with TestClient(create_app(db)) as client:
        _create(client, keys, KIDS)
        for body, field in [
            ({"page": {"type": "moon"}}, "page.type"),
            ({"slots": "home"}, "slots"),
            ({"leaving": "yes"}, "leaving"),
            ({"anonymousId": 5}, "anonymousId"),
        ]:
            answer = client.post("/p/v1/decide", json={"writeKey": keys.write_key, **body})
            assert answer.status_code == 422 and answer.json()["field"] == field, answer.text
        assert client.post("/p/v1/decide", json={}).status_code == 401
        assert client.post("/p/v1/decide", json={"writeKey": "nope"}).status_code == 401
        theirs = client.get("/api/v1/campaigns/kids_books", headers=_admin(other))
        assert theirs.status_code == 404
        bad = client.post(
            "/api/v1/campaigns", json={"source": "key: x\nkind: banner\n"}, headers=_admin(keys)
        )
        assert bad.status_code == 422 and bad.json()["field"] == "definition"
        again = client.post("/api/v1/campaigns", json={"source": KIDS}, headers=_admin(keys))
        assert again.status_code == 409
        paused = client.post(
            "/api/v1/campaigns/kids_books/status", json={"status": "paused"}, headers=_admin(keys)
        )
        assert paused.status_code == 200 and paused.json()["status"] == "paused"
        changed = client.put(
            "/api/v1/campaigns/kids_books",
            json={"source": KIDS.replace("shows: 1", "shows: 2")},
            headers=_admin(keys),
        )
        assert changed.status_code == 200 and changed.json()["version"] == 2
        preflight = client.options("/p/v1/decide")
        assert preflight.status_code == 204
