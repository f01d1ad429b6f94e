"""Recommendations served on the store: per workspace, models trained on its orders and
catalog and kept in memory, and per placement a strategy (``placements.py``), its fallbacks and
business rules.

Strategies: ``for_you`` (the model that measured best on the workspace's own orders, by a time
split, else the default blend), ``goes_with`` (bought together, similar or the category's best
sellers, whichever measured best next to the customers' baskets: ``measure.py``),
``bought_together`` with the products shown, ``similar`` (their words, ``content.py``: new
products too), ``upsell`` (the same kind, a price step above), ``recently_viewed`` (this
visitor's last product views), ``popular_in_segment`` and ``popular_in_persona`` (what
customers of the customer's segments, the smallest first, or of their persona buy),
``popularity``. The lists, their fallbacks and rules: ``lists.py``.

Models are trained by the worker (``tasks.py``, every ten minutes for the workspaces whose
orders or catalog changed) from the last ``HISTORY_DAYS`` of orders and stored under
``CXLOOP_HOME/models/recommend/``; a web process loads the stored models when they are newer
than its own, so that no request pays for training. Without stored models (no worker yet, or
one that fell behind by more than ``STALE_SECONDS``) the web process trains them itself on
first use. The files are pickles written by cxloop itself into its own home (nothing else
writes there), each with the shape it was written in (``stored_shape``: the fields of every class
it holds, the versions of the libraries whose objects it holds): a file of another shape, left
by an older cxloop, is no model, and the models are trained again.
"""

from __future__ import annotations

import datetime as dt
import os
import pickle
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, fields
from importlib.metadata import version
from pathlib import Path

from sqlalchemy.orm import Session

from cxloop import analytics, commerce, ingest, segments
from cxloop.config import get_settings
from cxloop.errors import InvalidInput
from cxloop.recommend.content import Similar, describe
from cxloop.recommend.data import Interactions, from_columns
from cxloop.recommend.evaluation import time_split
from cxloop.recommend.lists import MAX_K, Trained, assemble, buys_again
from cxloop.recommend.measure import (
    best,
    candidates,
    measure_for_you,
    measure_goes_with,
    repeat_share,
)
from cxloop.recommend.placements import PLACEMENTS, placements_of
from cxloop.recommend.recommenders import (
    SIGNALS,
    Als,
    Blend,
    BoughtTogether,
    BuyAgain,
    ItemKNN,
    Popularity,
)
from cxloop.store.base import utcnow

HISTORY_DAYS = 730
RETRAIN_SECONDS = 600.0
STALE_SECONDS = 1800.0  # stored models behind the orders for longer: train here instead
RECENT_DAYS = 30
SIGNAL_DAYS = 90  # views and carts that count, beside two years of purchases
MIN_BUYERS = 5  # a segment's best sellers count once this many of its members bought
VIEWED = "Product Viewed"


_MODELS: dict[str, Trained] = {}
_LOCK = threading.Lock()


def train(session: Session, workspace_id: str) -> Trained:
    """Fresh models from the workspace's orders and catalog; ``for_you`` and ``goes_with``
    use the candidates that measured best on its own orders."""
    stamp = _stamp(session, workspace_id)
    since = utcnow() - dt.timedelta(days=HISTORY_DAYS)
    lines = commerce.purchases(session, workspace_id, since)
    catalog = commerce.catalog_products(session, workspace_id)
    trained = Trained(stamp, time.monotonic(), None)
    trained.in_stock = {p.sku for p in catalog if p.availability == "in_stock"}
    trained.category = {p.sku: p.category or "" for p in catalog}
    trained.kind = {p.sku: (p.category or "", p.gender or "", p.age_group or "") for p in catalog}
    trained.price = {
        p.sku: p.sale_price_cents if p.sale_price_cents is not None else p.price_cents
        for p in catalog
    }
    trained.products = {p.sku: _public(p) for p in catalog}
    trained.similar = Similar().fit([p.sku for p in catalog], [_text(p) for p in catalog])
    if not lines:
        return trained
    data = from_columns(
        [str(c) for c, _sku, _at, _q in lines],
        [sku for _c, sku, _at, _q in lines],
        [at.timestamp() for _c, _sku, at, _q in lines],
    )
    trained.data = data
    factors = max(2, min(64, len(data.items) // 4))
    split = time_split(data)
    trained.measured = measure_for_you(data, factors, split)
    trained.repeat_share = repeat_share(split)
    trained.for_you_name = best(trained.measured, "blend")
    trained.for_you_data = data
    if trained.for_you_name in ("blend", "als"):
        # Views and carts join the purchases as weaker signals (measured on purchases alone).
        trained.for_you_data = _with_signals(session, workspace_id, lines)
    trained.for_you = candidates(factors, confidence=True)[trained.for_you_name].fit(
        trained.for_you_data
    )
    seen = data.matrix(binary=True)
    trained.bought = {
        int(str(data.users[u])): {str(data.items[i]) for i in seen[u].indices}
        for u in range(seen.shape[0])
    }
    trained.together = BoughtTogether().fit(data)
    trained.popularity = Popularity(days=90).fit(data)
    trained.goes_with_measured = measure_goes_with(data, trained, split=split)
    trained.goes_with_name = best(trained.goes_with_measured, "bought_together")
    trained.persona_of = analytics.personas_of(session, workspace_id)
    buyers: dict[str, Counter[str]] = {}
    for customer, skus in trained.bought.items():
        persona = trained.persona_of.get(customer)
        if persona is not None:
            buyers.setdefault(persona, Counter()).update(skus)
    trained.persona_popular = {
        persona: [sku for sku, _n in counts.most_common(MAX_K * 4)]
        for persona, counts in buyers.items()
    }
    _segment_popularity(session, workspace_id, trained)
    return trained


def _segment_popularity(session: Session, workspace_id: str, trained: Trained) -> None:
    """What each segment's members buy, and each customer's segments, the smallest (the most
    telling) first; segments with fewer than ``MIN_BUYERS`` buyers say nothing yet."""
    sized: list[tuple[int, str]] = []
    for segment in segments.list_segments(session, workspace_id):
        members = segments.members_of(session, workspace_id, segment.key)
        counts: Counter[str] = Counter()
        buyers = 0
        for customer in members:
            bought = trained.bought.get(customer)
            if bought:
                buyers += 1
                counts.update(bought)
        if buyers < MIN_BUYERS:
            continue
        trained.segment_popular[segment.key] = [s for s, _n in counts.most_common(MAX_K * 4)]
        sized.append((len(members), segment.key))
        for customer in members:
            trained.segments_of.setdefault(customer, []).append(segment.key)
    size = {key: n for n, key in sized}
    for keys in trained.segments_of.values():
        keys.sort(key=lambda key: size[key])


def _with_signals(
    session: Session, workspace_id: str, lines: Sequence[tuple[int, str, dt.datetime, int]]
) -> Interactions:
    """The purchases (weight 1) and the known customers' views and carts of the last
    ``SIGNAL_DAYS`` (weights ``SIGNALS``)."""
    since = utcnow() - dt.timedelta(days=SIGNAL_DAYS)
    signals = ingest.product_signals(session, workspace_id, list(SIGNALS), since)
    users = [str(c) for c, _s, _a, _q in lines] + [str(c) for c, _p, _e, _a in signals]
    items = [sku for _c, sku, _a, _q in lines] + [p for _c, p, _e, _a in signals]
    times = [a.timestamp() for _c, _s, a, _q in lines] + [a.timestamp() for *_x, a in signals]
    weights = [1.0] * len(lines) + [SIGNALS[e] for _c, _p, e, _a in signals]
    return from_columns(users, items, times, weights)


def _text(product: commerce.Product) -> str:
    english = (product.translations or {}).get("en", {})
    attributes = [str(v) for v in (product.attributes or {}).values() if isinstance(v, str)]
    return describe(
        title=f"{product.title} {english.get('title', '')}",
        description=f"{product.description} {english.get('description', '')}",
        category=f"{product.category} {english.get('category', '')}",
        brand=product.brand or "",
        extra=[product.color or "", *attributes],
    )


def _stamp(session: Session, workspace_id: str) -> tuple[object, ...]:
    return (
        *commerce.orders_stamp(session, workspace_id),
        *commerce.catalog_stamp(session, workspace_id),
    )


def models_of(session: Session, workspace_id: str) -> Trained:
    """The workspace's models: kept in memory, replaced by the worker's stored ones when
    those are newer, trained here only when there are none or they fell far behind."""
    cached = _MODELS.get(workspace_id)
    now = time.monotonic()
    if cached is not None and now - cached.built < RETRAIN_SECONDS:
        return cached
    stamp = _stamp(session, workspace_id)
    stored = load_stored(workspace_id)
    newer = stored is not None and (cached is None or stored.trained_at > cached.trained_at)
    if (
        stored is not None
        and newer
        and (stored.stamp == stamp or time.time() - stored.trained_at < STALE_SECONDS)
    ):
        stored.built, stored.origin = now, "stored"
        _MODELS[workspace_id] = stored
        return stored
    if cached is not None and stamp == cached.stamp:
        cached.built = now
        return cached
    with _LOCK:
        fresh = train(session, workspace_id)
        _MODELS[workspace_id] = fresh
    return fresh


def stored_path(workspace_id: str) -> Path:
    """Where the worker keeps the workspace's models."""
    return get_settings().home / "models" / "recommend" / f"{workspace_id}.pickle"


def stored_shape() -> tuple[object, ...]:
    """What a stored file's objects must match to be read back: the fields of each class it
    holds, and the versions of the libraries whose objects it holds. Unpickling an object of an
    older shape gives no error, only an object without the fields this version reads."""
    kinds = (Trained, Interactions, Similar, Popularity, BuyAgain, ItemKNN, BoughtTogether, Als)
    return (
        *((kind.__qualname__, tuple(f.name for f in fields(kind))) for kind in (*kinds, Blend)),
        *((name, version(name)) for name in ("implicit", "numpy", "scipy")),
    )


def store(path: Path, trained: Trained) -> None:
    """Write ``trained`` to ``path`` whole, with its shape: readers see the old file or the new
    one, never half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    temporary = Path(name)
    try:
        with os.fdopen(handle, "wb") as out:
            stored = {"shape": stored_shape(), "trained": trained}
            pickle.dump(stored, out, protocol=pickle.HIGHEST_PROTOCOL)
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)


def load_stored(workspace_id: str) -> Trained | None:
    """The worker's stored models of the workspace, if any (None when unreadable, or written
    by a cxloop whose models had another shape)."""
    path = stored_path(workspace_id)
    try:
        with path.open("rb") as handle:
            found = pickle.load(handle)  # noqa: S301 - written by cxloop into its own home
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        return None
    if not isinstance(found, dict) or found.get("shape") != stored_shape():
        return None
    trained = found.get("trained")
    return trained if isinstance(trained, Trained) else None


def train_and_store(session: Session, workspace_id: str) -> bool:
    """Train the workspace's models and store them for the web processes, unless the stored
    ones already saw these orders and this catalog; whether it trained."""
    stored = load_stored(workspace_id)
    if stored is not None and stored.stamp == _stamp(session, workspace_id):
        return False
    store(stored_path(workspace_id), train(session, workspace_id))
    return True


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


def recently_viewed(
    session: Session, workspace_id: str, customer_id: int | None, anonymous_id: str | None
) -> list[str]:
    """The products the visitor (else the customer) viewed in the last ``RECENT_DAYS``,
    latest first, once each."""
    since = utcnow() - dt.timedelta(days=RECENT_DAYS)
    viewed: list[str] = []
    if anonymous_id:
        events = ingest.visitor_events(session, workspace_id, anonymous_id, since, limit=200)
        viewed = [str(p.get("product_id") or p.get("sku") or "") for _t, e, _a, p in events
                  if e == VIEWED][::-1]  # fmt: skip
    if not viewed and customer_id is not None:
        latest = ingest.latest_events(session, customer_id, limit=200, workspace_id=workspace_id)
        viewed = [
            str((p or {}).get("product_id") or (p or {}).get("sku") or "")
            for _m, _t, e, at, p in latest
            if e == VIEWED and at >= since
        ]
    return [sku for sku in dict.fromkeys(viewed) if sku]


def recommendations(
    session: Session,
    workspace_id: str,
    *,
    placement: str,
    customer_id: int | None = None,
    anonymous_id: str | None = None,
    products: Sequence[str] = (),
    k: int = 10,
    fill: bool = True,
) -> Picked:
    """The ``k`` products to show on ``placement`` for this customer (None: a visitor the
    store does not know, ``anonymous_id`` their browser) next to ``products`` (the product
    page's, the cart's); without ``fill``, only what the placement's strategy found."""
    if placement not in PLACEMENTS:
        raise InvalidInput("placement", f"one of {', '.join(PLACEMENTS)}")
    if not 1 <= k <= MAX_K:
        raise InvalidInput("k", f"from 1 to {MAX_K}")
    settings = placements_of(session, workspace_id)[placement]
    trained = models_of(session, workspace_id)
    shown = [s for s in products if s]
    bought = trained.bought.get(customer_id, set()) if customer_id is not None else set()
    again = settings.repeats and buys_again(trained.repeat_share)  # allowed, and done here
    exclude = set(shown) | set(settings.banned) | (set() if again else bought)
    found = None
    if settings.strategy == "recently_viewed":
        found = recently_viewed(session, workspace_id, customer_id, anonymous_id)
    strategy, picked = assemble(
        trained,
        settings.strategy,
        customer_id=customer_id,
        shown=shown,
        exclude=exclude,
        k=k,
        found=found,
        pinned=settings.pinned,
        fill=fill,
    )
    return Picked(placement, strategy, [trained.products[s] for s in picked])


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
