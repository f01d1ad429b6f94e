"""Recommendations served on the store: per workspace, models trained on its orders and kept in
memory, and per placement a strategy, a fallback and business rules.

| placement | strategy | fallback |
|---|---|---|
| `home`, `email` | the default blend for a known customer (repeats, then discovery) | popularity |
| `product` | bought together with the product shown | popularity in its category, then overall |
| `cart` | bought together with the cart's products | popularity |
| `assistant` | bought together with the products shown | popularity |

Rules on every list: in stock only; never the product or cart shown; on `product` and `cart`,
not what the customer already bought (on `home` and `email` buying again is the point); at most
``PER_CATEGORY`` products of one category. A visitor the store does not know, or a new product
nobody bought yet, gets the fallback (cold start).

Models are trained from the last ``HISTORY_DAYS`` of orders on first use, and again when order
lines arrived or the catalog changed and the models are older than ``RETRAIN_SECONDS``.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy.orm import Session

from cxloop import commerce
from cxloop.errors import InvalidInput
from cxloop.recommend.data import Interactions, from_columns, positions
from cxloop.recommend.recommenders import Als, Blend, BoughtTogether, Popularity
from cxloop.store.base import utcnow

PLACEMENTS = ("home", "product", "cart", "email", "assistant")
HISTORY_DAYS = 730
RETRAIN_SECONDS = 600.0
PER_CATEGORY = 3
MAX_K = 50


@dataclass
class Trained:
    """A workspace's models, the interactions they learnt from, and its catalog's facts."""

    stamp: tuple[object, ...]
    built: float
    data: Interactions | None
    blend: Blend | None = None
    together: BoughtTogether | None = None
    popularity: Popularity | None = None
    in_stock: set[str] = field(default_factory=set)
    category: dict[str, str] = field(default_factory=dict)
    products: dict[str, dict[str, object]] = field(default_factory=dict)


_MODELS: dict[str, Trained] = {}
_LOCK = threading.Lock()


def train(session: Session, workspace_id: str) -> Trained:
    """Fresh models from the workspace's orders and catalog."""
    stamp = _stamp(session, workspace_id)
    since = utcnow() - dt.timedelta(days=HISTORY_DAYS)
    lines = commerce.purchases(session, workspace_id, since)
    catalog = commerce.catalog_products(session, workspace_id)
    trained = Trained(stamp, time.monotonic(), None)
    trained.in_stock = {p.sku for p in catalog if p.availability == "in_stock"}
    trained.category = {p.sku: p.category or "" for p in catalog}
    trained.products = {p.sku: _public(p) for p in catalog}
    if lines:
        data = from_columns(
            [str(c) for c, _sku, _at, _q in lines],
            [sku for _c, sku, _at, _q in lines],
            [at.timestamp() for _c, _sku, at, _q in lines],
        )
        trained.data = data
        factors = max(2, min(64, len(data.items) // 4))
        trained.blend = Blend(discover=Als(factors=factors)).fit(data)
        trained.together = BoughtTogether().fit(data)
        trained.popularity = Popularity(days=90).fit(data)
    return trained


def _stamp(session: Session, workspace_id: str) -> tuple[object, ...]:
    return (
        *commerce.orders_stamp(session, workspace_id),
        *commerce.catalog_stamp(session, workspace_id),
    )


def models_of(session: Session, workspace_id: str) -> Trained:
    """The workspace's models, trained on first use, again when orders came and they are old."""
    cached = _MODELS.get(workspace_id)
    now = time.monotonic()
    if cached is not None and now - cached.built < RETRAIN_SECONDS:
        return cached
    if cached is not None and _stamp(session, workspace_id) == cached.stamp:
        cached.built = now
        return cached
    with _LOCK:
        fresh = train(session, workspace_id)
        _MODELS[workspace_id] = fresh
    return fresh


def forget_models(workspace_id: str) -> None:
    """Drop the workspace's models (the next request trains them)."""
    _MODELS.pop(workspace_id, None)


@dataclass(frozen=True)
class Picked:
    """A placement's list: which strategy gave it, and the products."""

    placement: str
    strategy: str
    products: list[dict[str, object]]

    def to_json(self) -> dict[str, object]:
        """What the store's page reads."""
        return {"placement": self.placement, "strategy": self.strategy, "products": self.products}


def recommendations(
    session: Session,
    workspace_id: str,
    *,
    placement: str,
    customer_id: int | None = None,
    products: Sequence[str] = (),
    k: int = 10,
) -> Picked:
    """The ``k`` products to show on ``placement`` for this customer (None: a visitor the
    store does not know) next to ``products`` (the product page's, the cart's)."""
    if placement not in PLACEMENTS:
        raise InvalidInput("placement", f"one of {', '.join(PLACEMENTS)}")
    if not 1 <= k <= MAX_K:
        raise InvalidInput("k", f"from 1 to {MAX_K}")
    trained = models_of(session, workspace_id)
    shown = set(products)
    bought: set[str] = set()
    user: int | None = None
    if trained.data is not None and customer_id is not None:
        user = positions(trained.data.users, [str(customer_id)]).get(str(customer_id))
        if user is not None and trained.blend is not None and trained.blend.counts is not None:
            bought = {str(trained.data.items[i]) for i in trained.blend.counts[user].indices}
    exclude = shown | (bought if placement in ("product", "cart") else set())
    candidates: list[str] = []
    strategy = "popularity"
    if trained.data is not None:
        if placement in ("home", "email") and user is not None and trained.blend is not None:
            candidates = _skus(trained, trained.blend.recommend(np.array([user]), MAX_K * 2)[0])
            strategy = "for_you"
        elif placement in ("product", "cart", "assistant") and trained.together is not None:
            candidates = _together(trained, [s for s in products if s])
            strategy = "bought_together"
    picked = _ruled(trained, candidates, exclude, k)
    if not picked:
        strategy = "popularity"
    if len(picked) < k:
        picked += _ruled(
            trained, _fallback(trained, products), exclude | set(picked), k - len(picked)
        )
    return Picked(placement, strategy, [trained.products[s] for s in picked])


def _skus(trained: Trained, row: np.ndarray) -> list[str]:
    assert trained.data is not None
    return [str(trained.data.items[i]) for i in row if i >= 0]


def _together(trained: Trained, skus: Sequence[str]) -> list[str]:
    assert trained.data is not None and trained.together is not None
    known = positions(trained.data.items, skus)
    scores: dict[str, float] = {}
    matrix = trained.together.scores
    assert matrix is not None
    for position in known.values():
        row = matrix[position]
        for item, value in zip(row.indices, row.data, strict=True):
            sku = str(trained.data.items[item])
            scores[sku] = scores.get(sku, 0.0) + float(value)
    return sorted(scores, key=lambda s: -scores[s])


def _fallback(trained: Trained, products: Sequence[str]) -> list[str]:
    """Popular products, those of the shown products' categories first."""
    popular: list[str] = []
    if trained.data is not None and trained.popularity is not None:
        order = np.argsort(-trained.popularity.scores, kind="stable")
        popular = [str(trained.data.items[i]) for i in order]
    never_sold = sorted(s for s in trained.in_stock if s not in set(popular))
    ranked = popular + never_sold
    kinds = {trained.category.get(s, "") for s in products} - {""}
    if kinds:
        ranked = [s for s in ranked if trained.category.get(s) in kinds] + ranked
    return ranked


def _ruled(trained: Trained, candidates: Sequence[str], exclude: set[str], k: int) -> list[str]:
    """In stock, not excluded, not twice, at most ``PER_CATEGORY`` of a category."""
    picked: list[str] = []
    per_kind: dict[str, int] = {}
    for sku in candidates:
        if len(picked) >= k:
            break
        if sku in exclude or sku in picked or sku not in trained.in_stock:
            continue
        kind = trained.category.get(sku, "")
        if kind and per_kind.get(kind, 0) >= PER_CATEGORY:
            continue
        per_kind[kind] = per_kind.get(kind, 0) + 1
        picked.append(sku)
    return picked


def _public(product: commerce.Product) -> dict[str, object]:
    return {
        "id": product.sku,
        "title": product.title,
        "price": product.price_cents / 100,
        "sale_price": None if product.sale_price_cents is None else product.sale_price_cents / 100,
        "currency": product.currency,
        "url": product.url,
        "image_url": product.image_url,
        "category": product.category or "",
        "availability": product.availability,
    }
