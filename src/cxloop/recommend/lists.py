"""A placement's list from a workspace's trained models: its strategy's candidates, the
fallbacks that fill a short list, and the rules every list obeys. Pure: no database, so that
serving (``serving.py``) and the offline measure of each placement's pick (``measure.py``)
build their lists the same way.

Rules on every list: pinned products first, banned never; in stock only; never the product or
cart shown; what the customer bought only where the placement allows repeats and the store's
customers do buy again (``buys_again``: at least ``REPEAT_FLOOR`` of their next purchases are
repeats, measured at each training; the caller's ``exclude``); at most ``PER_CATEGORY``
products of one category (pinned ones aside). A visitor the store does not know, or a new
product nobody bought yet, gets the fallbacks (cold start).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from cxloop.recommend.content import Similar
from cxloop.recommend.data import Interactions, positions
from cxloop.recommend.recommenders import BoughtTogether, Popularity, Recommender

REPEAT_FLOOR = 0.05  # under this share of repeats, no list shows a customer what they bought
PER_CATEGORY = 3
MAX_K = 50
PRICE_STEP = 0.5  # an upsell costs more, at most half as much again
# Lists that mean what they say, never padded: a step up, what was viewed (maybe nothing).
EXACT = ("upsell", "recently_viewed")


@dataclass
class Trained:
    """A workspace's models, the interactions they learnt from, and its catalog's facts."""

    stamp: tuple[object, ...]
    built: float
    data: Interactions | None
    for_you_data: Interactions | None = None
    origin: str = "trained"  # or "stored": loaded from the worker's file
    trained_at: float = field(default_factory=time.time)
    for_you: Recommender | None = None
    for_you_name: str = "blend"
    measured: dict[str, dict[str, float]] = field(default_factory=dict)
    goes_with_name: str = "bought_together"
    goes_with_measured: dict[str, dict[str, float]] = field(default_factory=dict)
    repeat_share: float | None = None  # of next purchases, products bought before
    bought: dict[int, set[str]] = field(default_factory=dict)
    together: BoughtTogether | None = None
    popularity: Popularity | None = None
    similar: Similar = field(default_factory=Similar)
    persona_of: dict[int, str] = field(default_factory=dict)
    persona_popular: dict[str, list[str]] = field(default_factory=dict)
    segments_of: dict[int, list[str]] = field(default_factory=dict)  # smallest first
    segment_popular: dict[str, list[str]] = field(default_factory=dict)
    in_stock: set[str] = field(default_factory=set)
    category: dict[str, str] = field(default_factory=dict)
    kind: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    price: dict[str, int] = field(default_factory=dict)
    products: dict[str, dict[str, object]] = field(default_factory=dict)
    ranked: list[str] | None = None  # best sellers, then the rest (``best_sellers``)


def buys_again(share: float | None) -> bool:
    """Whether a store's customers buy again what they bought, by the measured share of
    repeats among their next purchases (unknown: yes, as the placement allows)."""
    return share is None or share >= REPEAT_FLOOR


def assemble(
    trained: Trained,
    strategy: str,
    *,
    customer_id: int | None,
    shown: list[str],
    exclude: set[str],
    k: int,
    found: Sequence[str] | None = None,
    pinned: Sequence[str] = (),
    fill: bool = True,
) -> tuple[str, list[str]]:
    """The strategy that served (``goes_with`` resolved to its measured pick; a fallback's
    name when the strategy found nothing) and the ``k`` products: ``pinned`` first, then the
    strategy's candidates (``found`` when the caller read them), then the fallbacks unless the
    list is ``EXACT`` or not to ``fill``; ``exclude`` never."""
    if strategy == "goes_with":
        strategy = trained.goes_with_name
    if found is None:
        found = candidates(trained, strategy, customer_id, shown)
    first = ruled(trained, pinned, exclude, k, diverse=False)
    picked = first + ruled(trained, found, exclude | set(first), k - len(first))
    filled = len(picked) > len(first)
    if len(picked) >= k or strategy in EXACT or not fill:
        return strategy, picked
    for name, fallback in fallbacks(trained, customer_id, shown):
        more = ruled(trained, fallback, exclude | set(picked), k - len(picked))
        if more and not filled:
            strategy, filled = name, True  # the strategy had nothing: say what served
        picked += more
        if len(picked) >= k:
            break
    return strategy, picked


def candidates(
    trained: Trained, strategy: str, customer_id: int | None, shown: list[str]
) -> list[str]:
    """The strategy's products, best first, before the rules."""
    data = trained.data
    mine = trained.for_you_data
    if strategy == "for_you" and mine is not None and trained.for_you is not None:
        user = positions(mine.users, [str(customer_id)]).get(str(customer_id))
        if user is not None:
            again = buys_again(trained.repeat_share)
            row = trained.for_you.recommend(np.array([user]), MAX_K * 2, exclude_seen=not again)[0]
            return [str(mine.items[i]) for i in row if i >= 0]
    if strategy == "bought_together" and data is not None and trained.together is not None:
        return _together(trained, shown)
    if strategy == "similar":
        return trained.similar.similar(shown, MAX_K * 2)
    if strategy == "upsell":
        return _upsell(trained, shown)
    if strategy == "popular_in_persona" and customer_id is not None:
        persona = trained.persona_of.get(customer_id)
        return trained.persona_popular.get(persona or "", [])
    if strategy == "popular_in_segment" and customer_id is not None:
        keys = trained.segments_of.get(customer_id, [])
        return [sku for key in keys for sku in trained.segment_popular[key]]
    if strategy == "popularity":
        return _fallback(trained, shown)
    return []


def fallbacks(
    trained: Trained, customer_id: int | None, shown: list[str]
) -> Iterator[tuple[str, list[str]]]:
    """What fills a list its strategy left short, each read only when still needed: products
    like those shown, what the customer's segments and persona buy, then best sellers (the
    shown products' categories first)."""
    if shown:
        yield "similar", trained.similar.similar(shown, MAX_K * 2)
    if customer_id is not None:
        for name in ("popular_in_segment", "popular_in_persona"):
            yield name, candidates(trained, name, customer_id, shown)
    yield "popularity", _fallback(trained, shown)


def _upsell(trained: Trained, shown: list[str]) -> list[str]:
    """Products of the same kind (category, gender, age group) as a shown one, costing more
    but at most a price step more, the most alike first."""
    bands = [
        (trained.kind[s], trained.price[s])
        for s in shown
        if s in trained.kind and trained.price.get(s)
    ]
    if not bands:
        return []
    scores = trained.similar.scores(shown)
    found = [
        sku
        for sku, kind in trained.kind.items()
        if any(
            kind == same and price < trained.price[sku] <= price * (1 + PRICE_STEP)
            for same, price in bands
        )
    ]
    if scores is not None:
        found.sort(key=lambda sku: -scores[trained.similar.position[sku]])
    return found


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


def best_sellers(trained: Trained) -> list[str]:
    """Every product, the best sellers of the last 90 days first, then those nobody bought
    (ranked once per training)."""
    if trained.ranked is None:
        popular: list[str] = []
        if trained.data is not None and trained.popularity is not None:
            order = np.argsort(-trained.popularity.scores, kind="stable")
            popular = [str(trained.data.items[i]) for i in order]
        sold = set(popular)
        trained.ranked = popular + sorted(s for s in trained.in_stock if s not in sold)
    return trained.ranked


def _fallback(trained: Trained, products: Sequence[str]) -> list[str]:
    """Popular products, those of the shown products' categories first."""
    ranked = best_sellers(trained)
    kinds = {trained.category.get(s, "") for s in products} - {""}
    if kinds:
        ranked = [s for s in ranked if trained.category.get(s) in kinds] + ranked
    return ranked


def ruled(
    trained: Trained, candidates: Sequence[str], exclude: set[str], k: int, *, diverse: bool = True
) -> list[str]:
    """In stock, not excluded, not twice, at most ``PER_CATEGORY`` of a category."""
    picked: list[str] = []
    per_kind: dict[str, int] = {}
    for sku in candidates:
        if len(picked) >= k:
            break
        if sku in exclude or sku in picked or sku not in trained.in_stock:
            continue
        kind = trained.category.get(sku, "")
        if diverse and kind and per_kind.get(kind, 0) >= PER_CATEGORY:
            continue
        per_kind[kind] = per_kind.get(kind, 0) + 1
        picked.append(sku)
    return picked
