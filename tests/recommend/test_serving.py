"""Recommendations served to the store's pages: per placement a strategy and a fallback, the
business rules (in stock, not what is shown, not bought again where that makes no sense, at
most three of a kind), cold start, and the write key."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from cxloop.commerce.models import Product
from cxloop.recommend import lists, serving
from cxloop.store.db import Database
from cxloop.web.app import create_app
from tests.helpers import factories
from tests.helpers.catalog import stock_demo_catalog

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture
def shop(db: Database, make_workspace: Any) -> Any:
    keys = make_workspace("Maison Lou")
    stock_demo_catalog(db, keys.workspace_id)
    return keys


def _skus(db: Database, ws: str, n: int) -> list[str]:
    with db.session() as session:
        rows = session.query(Product.sku, Product.category).filter(
            Product.workspace_id == ws, Product.availability == "in_stock"
        )
        seen: set[str] = set()
        found: list[str] = []
        for sku, category in rows.order_by(Product.sku):
            if category not in seen:  # one per kind, so that diversity rules do not interfere
                seen.add(category)
                found.append(sku)
        return found[:n]


def _buy(db: Database, ws: str, customer: int, skus: list[str], days_ago: float) -> None:
    order_id, _ = factories.order(db, ws, customer, NOW - dt.timedelta(days=days_ago))
    factories.order_items(db, ws, order_id, [(sku, sku, 1) for sku in skus])


def _ask(client: TestClient, key: str, **params: Any) -> Any:
    answer = client.get("/p/v1/recommendations", params={"writeKey": key, **params})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_placements_use_their_strategy_and_the_rules(db: Database, shop: Any) -> None:
    ws = shop.workspace_id
    bag, purse, staple, other, *popular = _skus(db, ws, 8)
    regular = factories.customer(db, ws, user_id="u-regular")
    for n in range(12):
        buyer = factories.customer(db, ws)
        _buy(db, ws, buyer, [bag, purse], days_ago=n + 1)  # a bag and its purse, together
        _buy(db, ws, buyer, [popular[n % len(popular)]], days_ago=n + 2)
    for n in range(20):  # others who never buy the bag
        _buy(db, ws, factories.customer(db, ws), [popular[n % len(popular)]], days_ago=n + 1)
    for n in range(4):
        _buy(db, ws, regular, [staple], days_ago=5 * n + 1)  # the regular's staple, again
    _buy(db, ws, regular, [bag], days_ago=30)
    serving.forget_models(ws)
    with TestClient(create_app(db)) as client:
        page = _ask(client, shop.write_key, placement="product", product_id=bag)
        assert page["strategy"] == "bought_together"
        ids = [p["id"] for p in page["products"]]
        assert ids[0] == purse and bag not in ids and len(ids) == 10
        assert all(p["availability"] == "in_stock" for p in page["products"])
        # home, for the regular: their staple comes back first
        home = _ask(client, shop.write_key, placement="home", user_id="u-regular")
        assert home["strategy"] == "for_you" and home["products"][0]["id"] == staple
        # a cart with the bag, for the regular: not the bag they already bought again
        cart = _ask(client, shop.write_key, placement="cart", product_id=[bag], user_id="u-regular")
        assert purse in [p["id"] for p in cart["products"]]
        assert staple not in [p["id"] for p in cart["products"]]
        # a visitor nobody knows: popular products (cold start)
        visitor = _ask(client, shop.write_key, placement="home", anonymous_id="nobody", k=3)
        assert visitor["strategy"] == "popularity" and len(visitor["products"]) == 3
        # a product nobody bought yet: products like it (by their words), never itself
        fresh = _ask(client, shop.write_key, placement="product", product_id=other, k=5)
        assert fresh["strategy"] == "similar"
        assert other not in [p["id"] for p in fresh["products"]]
        # what runs out of stock leaves the lists
        with db.session() as session:
            session.execute(
                update(Product)
                .where(Product.workspace_id == ws, Product.sku == purse)
                .values(availability="out_of_stock", updated_at=NOW + dt.timedelta(seconds=1))
            )
        serving.forget_models(ws)
        again = _ask(client, shop.write_key, placement="product", product_id=bag)
        assert purse not in [p["id"] for p in again["products"]]


def test_at_most_three_products_of_a_kind(db: Database, shop: Any) -> None:
    visitor = _ask_once(db, shop, placement="home", k=12)
    kinds: dict[str, int] = {}
    for product in visitor["products"]:
        kinds[product["category"]] = kinds.get(product["category"], 0) + 1
    assert len(visitor["products"]) == 12 and max(kinds.values()) <= lists.PER_CATEGORY


def _ask_once(db: Database, shop: Any, **params: Any) -> Any:
    serving.forget_models(shop.workspace_id)
    with TestClient(create_app(db)) as client:
        return _ask(client, shop.write_key, **params)


def test_bad_requests_are_refused(db: Database, shop: Any) -> None:
    with TestClient(create_app(db)) as client:
        bad = client.get(
            "/p/v1/recommendations", params={"writeKey": shop.write_key, "placement": "sky"}
        )
        assert bad.status_code == 422 and bad.json()["field"] == "placement"
        anonymous = client.get("/p/v1/recommendations", params={"placement": "home"})
        assert anonymous.status_code == 401
        wrong = client.get(
            "/p/v1/recommendations", params={"writeKey": "cxw_nope", "placement": "home"}
        )
        assert wrong.status_code == 401
