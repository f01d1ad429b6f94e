"""The placements beyond bought-together: similar products by their words (new products too),
a step up in price, what this visitor viewed, what the customer's persona buys, pinned and
banned products and repeats per placement (API and console), and the model for "for you"
picked from what each measured on the store's own orders."""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cxloop import profiles
from cxloop.analytics.models import CustomerScore
from cxloop.commerce.models import Product
from cxloop.recommend import serving
from cxloop.store.db import Database
from cxloop.web.app import create_app
from tests.helpers import factories
from tests.helpers.catalog import stock_demo_catalog
from tests.helpers.console import csrf_of, login

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture
def shop(db: Database, make_workspace: Any) -> Any:
    keys = make_workspace("Maison Lou")
    stock_demo_catalog(db, keys.workspace_id)
    serving.forget_models(keys.workspace_id)
    return keys


def _catalog(db: Database, ws: str) -> list[Product]:
    with db.session() as session:
        found = session.scalars(
            select(Product)
            .where(Product.workspace_id == ws, Product.availability == "in_stock")
            .order_by(Product.sku)
        ).all()
        session.expunge_all()
    return list(found)


def _ask(client: TestClient, key: str, **params: Any) -> Any:
    answer = client.get("/p/v1/recommendations", params={"writeKey": key, **params})
    assert answer.status_code == 200, answer.text
    return answer.json()


def _admin(keys: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {keys.admin_key}"}


def _price(p: Product) -> int:
    return p.sale_price_cents if p.sale_price_cents is not None else p.price_cents


def test_similar_products_and_a_step_up(db: Database, shop: Any) -> None:
    catalog = _catalog(db, shop.workspace_id)
    books = [p for p in catalog if p.category == "Livres jeunesse"]
    book = books[0]
    with TestClient(create_app(db)) as client:
        alike = _ask(client, shop.write_key, placement="similar", product_id=book.sku, k=4)
        assert alike["strategy"] == "similar"
        assert [p["category"] for p in alike["products"]].count("Livres jeunesse") >= 3
        assert book.sku not in [p["id"] for p in alike["products"]]
        # a step up: the same kind, dearer, at most half as much again
        dress = min((p for p in catalog if p.category == "Robes"), key=lambda p: _price(p))
        kinds = {(p.sku): (p.category, p.gender or "", p.age_group or "") for p in catalog}
        prices = {p.sku: _price(p) for p in catalog}
        up = _ask(client, shop.write_key, placement="upsell", product_id=dress.sku, k=5)
        assert up["strategy"] == "upsell" and up["products"], up
        for product in up["products"]:
            assert kinds[product["id"]] == kinds[dress.sku]
            assert _price(dress) < prices[product["id"]] <= _price(dress) * 1.5


def test_recently_viewed_by_this_visitor(db: Database, shop: Any) -> None:
    catalog = _catalog(db, shop.workspace_id)
    viewed = [catalog[3].sku, catalog[10].sku, catalog[3].sku, catalog[20].sku]
    with TestClient(create_app(db)) as client:
        for sku in viewed:
            body = {
                "writeKey": shop.write_key,
                "anonymousId": "anon-viewer",
                "event": "Product Viewed",
                "properties": {"product_id": sku},
                "messageId": uuid.uuid4().hex,
            }
            assert client.post("/v1/track", content=json.dumps(body)).status_code == 200
        recent = _ask(client, shop.write_key, placement="recent", anonymous_id="anon-viewer", k=3)
        assert recent["strategy"] == "recently_viewed"
        assert [p["id"] for p in recent["products"]] == [catalog[20].sku, catalog[3].sku,
                                                         catalog[10].sku]  # fmt: skip
        # someone who viewed nothing gets no list (not best sellers called "recently viewed")
        other = _ask(client, shop.write_key, placement="recent", anonymous_id="anon-new", k=3)
        assert other["products"] == []


def test_what_the_customers_persona_buys_and_the_measured_model(db: Database, shop: Any) -> None:
    ws = shop.workspace_id
    catalog = _catalog(db, ws)
    favourite = catalog[0].sku
    for n in range(30):  # regulars: each their own product, again and again
        buyer = factories.customer(db, ws)
        own = catalog[1 + n].sku
        for visit in range(5):
            order_id, _ = factories.order(db, ws, buyer, NOW - dt.timedelta(days=100 - 24 * visit))
            factories.order_items(db, ws, order_id, [(own, own, 1)])
    fans = []
    for _n in range(5):  # the "gardeners" persona buys the favourite
        fan = factories.customer(db, ws)
        fans.append(fan)
        order_id, _ = factories.order(db, ws, fan, NOW - dt.timedelta(days=10))
        factories.order_items(db, ws, order_id, [(favourite, favourite, 1)])
    newcomer = factories.customer(db, ws, user_id="u-new")
    with db.session() as session:
        for cid in [*fans, newcomer]:
            session.add(
                CustomerScore(
                    workspace_id=ws, customer_id=cid, recency_days=10, frequency=1,
                    monetary_cents=1000, r=3, f=1, m=2, rfm_segment="new", persona="gardeners",
                    computed_at=NOW,
                )
            )  # fmt: skip
    serving.forget_models(ws)
    with TestClient(create_app(db)) as client:
        home = _ask(client, shop.write_key, placement="home", user_id="u-new", k=3)
        assert home["strategy"] == "popular_in_persona"
        assert home["products"][0]["id"] == favourite
        settings = client.get("/api/v1/recommendations/settings", headers=_admin(shop)).json()
    measured = settings["measured"]
    assert set(measured) == {"blend", "buy-again", "als", "item-knn", "popularity"}
    assert all(0 <= m["recall"] <= 1 and m["users"] >= 20 for m in measured.values())
    best = max(measured.values(), key=lambda m: m["recall"])["recall"]
    assert measured[settings["for_you_model"]]["recall"] == best
    # each regular's own product comes back: buying again measures best here
    assert measured["buy-again"]["recall"] > measured["popularity"]["recall"]


def test_pinned_banned_and_repeats_per_placement(db: Database, shop: Any, make_user: Any) -> None:
    ws = shop.workspace_id
    catalog = _catalog(db, ws)
    pin, ban, bought = catalog[5].sku, catalog[0].sku, catalog[1].sku
    regular = factories.customer(db, ws, user_id="u-regular")
    for days in (30, 20, 10):
        order_id, _ = factories.order(db, ws, regular, NOW - dt.timedelta(days=days))
        factories.order_items(db, ws, order_id, [(bought, bought, 1)])
    with TestClient(create_app(db)) as client:
        before = _ask(client, shop.write_key, placement="home", user_id="u-regular", k=5)
        assert before["products"][0]["id"] == bought  # buying again, on home by default
        changed = client.put(
            "/api/v1/recommendations/settings",
            json={"placements": {"home": {"pinned": [pin], "banned": [ban], "repeats": False}}},
            headers=_admin(shop),
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["placements"]["home"]["pinned"] == [pin]
        after = _ask(client, shop.write_key, placement="home", user_id="u-regular", k=5)
        ids = [p["id"] for p in after["products"]]
        assert ids[0] == pin and ban not in ids and bought not in ids
        for body, field in [
            ({"home": {"strategy": "magic"}}, "home.strategy"),
            ({"home": {"pinned": "a,b"}}, "home.pinned"),
            ({"home": {"pinned": ["a b"]}}, "home.pinned"),
            ({"home": {"repeats": "yes"}}, "home.repeats"),
            ({"home": {"colour": "red"}}, "home.colour"),
            ({"sky": {}}, "sky"),
        ]:
            refused = client.put(
                "/api/v1/recommendations/settings",
                json={"placements": body},
                headers=_admin(shop),
            )
            assert refused.status_code == 422 and refused.json()["field"] == field, refused.text
        # the console shows and saves the same settings
        make_user("lea@example.com", ws)
        login(client, "lea@example.com")
        page = client.get(f"/w/{ws}/recommendations")
        assert page.status_code == 200 and pin in page.text
        form: dict[str, str] = {"csrf_token": csrf_of(page.text)}
        for name in serving.PLACEMENTS:
            form[f"{name}.strategy"] = "popularity" if name == "product" else "similar"
        form["product.banned"] = f"{ban}, {bought}"
        saved = client.post(f"/w/{ws}/recommendations", data=form, follow_redirects=False)
        assert saved.status_code == 303, saved.text
        settings = client.get("/api/v1/recommendations/settings", headers=_admin(shop)).json()
        assert settings["placements"]["product"] == {
            "strategy": "popularity", "repeats": False, "pinned": [], "banned": [ban, bought],
        }  # fmt: skip
        form["product.strategy"] = "magic"
        wrong = client.post(f"/w/{ws}/recommendations", data=form)
        assert wrong.status_code == 422 and "product.strategy" in wrong.text


def test_views_and_carts_count_for_a_customer_who_never_bought(db: Database, shop: Any) -> None:
    ws = shop.workspace_id
    catalog = _catalog(db, ws)
    dress, bag = catalog[2].sku, catalog[40].sku
    for n in range(8):  # others buy the dress with the bag
        buyer = factories.customer(db, ws)
        order_id, _ = factories.order(db, ws, buyer, NOW - dt.timedelta(days=n + 1))
        factories.order_items(db, ws, order_id, [(dress, dress, 1), (bag, bag, 1)])
        order_id, _ = factories.order(db, ws, buyer, NOW - dt.timedelta(days=n + 2))
        factories.order_items(db, ws, order_id, [(catalog[60 + n].sku, "x", 1)])
    with TestClient(create_app(db)) as client:
        unknown = _ask(client, shop.write_key, placement="home", user_id="u-looker", k=4)
        assert unknown["strategy"] == "popularity"  # nothing known of her yet
        for event in ("Product Viewed", "Product Viewed", "Product Added"):
            body = {
                "writeKey": shop.write_key,
                "userId": "u-looker",
                "event": event,
                "properties": {"product_id": dress},
                "messageId": uuid.uuid4().hex,
            }
            assert client.post("/v1/track", json=body).status_code == 200
        serving.forget_models(ws)
        known = _ask(client, shop.write_key, placement="home", user_id="u-looker", k=4)
    assert known["strategy"] == "for_you" and len(known["products"]) == 4


def test_what_the_customers_segment_buys(db: Database, shop: Any) -> None:
    ws = shop.workspace_id
    catalog = _catalog(db, ws)
    loved, popular = catalog[9].sku, catalog[30].sku
    members = []
    for n in range(6):  # the VIPs buy what they love
        vip = factories.customer(db, ws)
        members.append(vip)
        order_id, _ = factories.order(db, ws, vip, NOW - dt.timedelta(days=n + 1))
        factories.order_items(db, ws, order_id, [(loved, loved, 1)])
    for n in range(12):  # everyone else buys the best seller
        buyer = factories.customer(db, ws)
        order_id, _ = factories.order(db, ws, buyer, NOW - dt.timedelta(days=n + 1))
        factories.order_items(db, ws, order_id, [(popular, popular, 1)])
    newcomer = factories.customer(db, ws, user_id="u-new-vip")
    with TestClient(create_app(db)) as client:
        made = client.post(
            "/api/v1/segments",
            json={"key": "vip", "name": "VIP", "kind": "static"},
            headers=_admin(shop),
        )
        assert made.status_code == 201
        client.put(
            "/api/v1/segments/vip/members",
            json={"customer_ids": [*members, newcomer]},
            headers=_admin(shop),
        )
        serving.forget_models(ws)
        home = _ask(client, shop.write_key, placement="home", user_id="u-new-vip", k=3)
        plain = _ask(client, shop.write_key, placement="home", anonymous_id="anon-x", k=3)
    assert home["strategy"] == "popular_in_segment" and home["products"][0]["id"] == loved
    assert plain["products"][0]["id"] == popular


def test_what_goes_with_a_product_is_picked_by_what_customers_bought_next(
    db: Database, shop: Any, make_user: Any
) -> None:
    ws = shop.workspace_id
    by_kind: dict[str, list[str]] = {}
    for product in _catalog(db, ws):
        by_kind.setdefault(product.category or "", []).append(product.sku)
    kinds = sorted(k for k, skus in by_kind.items() if k and len(skus) >= 5)
    families = {kind: by_kind[kind][:5] for kind in kinds[:3]}
    noise = [sku for kind in kinds[3:] for sku in by_kind[kind][:4]][:20]
    rng = random.Random(7)
    before, after = NOW - dt.timedelta(days=100), NOW - dt.timedelta(days=5)
    for sku in [*[s for f in families.values() for s in f], *noise]:  # each sold once, alone
        order_id, _ = factories.order(db, ws, factories.customer(db, ws), before)
        factories.order_items(db, ws, order_id, [(sku, sku, 1)])
    for n in range(45):  # a product with unrelated ones, then another of its kind
        family = list(families.values())[n % 3]
        first, then = rng.sample(family, 2)
        buyer = factories.customer(db, ws)
        order_id, _ = factories.order(db, ws, buyer, before)
        factories.order_items(db, ws, order_id, [(s, s, 1) for s in [first, *rng.sample(noise, 3)]])
        order_id, _ = factories.order(db, ws, buyer, after)
        factories.order_items(db, ws, order_id, [(then, then, 1)])
    serving.forget_models(ws)
    with TestClient(create_app(db)) as client:
        settings = client.get("/api/v1/recommendations/settings", headers=_admin(shop)).json()
        measured = settings["goes_with_measured"]
        assert set(measured) == {"bought_together", "similar", "popularity"}
        assert all(m["users"] == 45 for m in measured.values())
        best = max(m["recall"] for m in measured.values())
        assert measured[settings["goes_with_strategy"]]["recall"] == best
        # what was bought with it here is noise; its kind is what comes next
        assert measured["bought_together"]["recall"] < best
        assert settings["goes_with_strategy"] != "bought_together"
        assert settings["placements"]["product"]["strategy"] == "goes_with"
        shown = next(iter(families.values()))[0]
        page = _ask(client, shop.write_key, placement="product", product_id=shown)
        assert page["strategy"] == settings["goes_with_strategy"]
        assert page["products"][0]["category"] == _catalog_kind(db, ws, shown)
        # the console shows the figures and the pick, in the reader's language
        make_user("gw@example.com", ws)
        login(client, "gw@example.com")
        console = client.get(f"/w/{ws}/recommendations")
        assert console.status_code == 200
        assert "measured-goes-with" in console.text and "Recall@10" in console.text
        assert 'aria-current="true"' in console.text


def _catalog_kind(db: Database, ws: str, sku: str) -> str:
    return next(p.category or "" for p in _catalog(db, ws) if p.sku == sku)


def test_a_store_whose_customers_never_buy_again_leaves_out_what_they_bought(
    db: Database, shop: Any, make_user: Any
) -> None:
    ws = shop.workspace_id
    skus = [p.sku for p in _catalog(db, ws)][:30]
    rng = random.Random(3)
    customers = []
    for n in range(40):  # three orders each, never the same product twice
        buyer = factories.customer(db, ws, user_id=f"u-{n}")
        customers.append(f"u-{n}")
        had: set[str] = set()
        for days in (200, 120, 10):  # the last one after the time split's cut
            order_id, _ = factories.order(db, ws, buyer, NOW - dt.timedelta(days=days))
            chosen = rng.sample(sorted(set(skus) - had), 2)
            had.update(chosen)
            factories.order_items(db, ws, order_id, [(s, s, 1) for s in chosen])
    serving.forget_models(ws)
    with TestClient(create_app(db)) as client:
        settings = client.get("/api/v1/recommendations/settings", headers=_admin(shop)).json()
        assert settings["repeat_share"] == 0.0
        assert settings["placements"]["home"]["repeats"] is True  # the placement allows it
        with db.session() as session:
            bought = serving.models_of(session, ws).bought
        for user in customers[:10]:
            home = _ask(client, shop.write_key, placement="home", user_id=user, k=10)
            assert home["strategy"] == "for_you" and len(home["products"]) == 10
            mine = bought[_customer_id(db, ws, user)]
            assert not mine & {p["id"] for p in home["products"]}
        make_user("repeats@example.com", ws, locale="fr")
        login(client, "repeats@example.com")
        page = client.get(f"/w/{ws}/recommendations").text
        assert "Seuls 0,0" in page and "laissent de côté" in page


def _customer_id(db: Database, ws: str, user_id: str) -> int:
    with db.session() as session:
        found = profiles.find_by_user_id(session, ws, user_id)
        assert found is not None
        return found.id
