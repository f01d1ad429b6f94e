"""The visit: what a visitor did on the site in the last 30 minutes, as facts the segments'
language reads (``visit.*``), from the events their browser sent (Segment's e-commerce names).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from cxloop import ingest

WINDOW = dt.timedelta(minutes=30)
MAX_EVENTS = 500
VIEWED = "Product Viewed"
ADDED = "Product Added"
REMOVED = "Product Removed"
ORDERED = "Order Completed"
PAGE_TYPES = ("home", "product", "category", "cart", "checkout", "search", "account", "other")


def _number(value: object, default: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return default
    try:
        found = float(value)
    except ValueError:
        return default
    return found if found == found and abs(found) < 1e12 else default


def facts_of_events(
    events: Sequence[tuple[str, str | None, dt.datetime, Mapping[str, Any]]],
) -> dict[str, Any]:
    """The visit's facts from its events, oldest first: pages, product views, the category
    viewed most and how often, and the cart (added less removed since the last order)."""
    pages = views = 0
    categories: Counter[str] = Counter()
    cart: dict[str, tuple[float, float]] = {}
    for kind, name, _at, properties in events:
        if kind == "page":
            pages += 1
            continue
        product = str(properties.get("product_id") or properties.get("sku") or "")[:100]
        if name == VIEWED:
            views += 1
            category = properties.get("category")
            if isinstance(category, str) and category.strip():
                categories[category.strip()[:200]] += 1
        elif name == ADDED and product:
            held, _price = cart.get(product, (0.0, 0.0))
            quantity = max(_number(properties.get("quantity"), 1.0), 0.0)
            cart[product] = (held + quantity, max(_number(properties.get("price"), 0.0), 0.0))
        elif name == REMOVED and product in cart:
            held, price = cart[product]
            left = held - max(_number(properties.get("quantity"), held), 0.0)
            if left > 0:
                cart[product] = (left, price)
            else:
                del cart[product]
        elif name == ORDERED:
            cart.clear()
    top = categories.most_common(1)
    return {
        "visit.pages": pages,
        "visit.views": views,
        "visit.category": top[0][0] if top else None,
        "visit.category_views": top[0][1] if top else 0,
        "visit.cart_items": sum(q for q, _p in cart.values()),
        "visit.cart_value": round(sum(q * p for q, p in cart.values()), 2),
    }


def visit_facts(
    session: Session, workspace_id: str, anonymous_id: str, now: dt.datetime
) -> dict[str, Any]:
    """The facts of the anonymous id's last 30 minutes."""
    events = ingest.visitor_events(
        session, workspace_id, anonymous_id, now - WINDOW, limit=MAX_EVENTS
    )
    return facts_of_events(events)
