"""A workspace's catalog index: built from the catalog once, rebuilt when it changes.

The index is kept in memory per workspace with the catalog's stamp (its size, its latest
update, the workspace's synonyms). A search checks the stamp at most every few seconds, so a
product imported or changed by a webhook is searchable within ``RECHECK_SECONDS``.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cxloop import commerce
from cxloop.assistant.models import SynonymGroup
from cxloop.assistant.search import CatalogIndex, CatalogItem, SearchResult
from cxloop.store.base import utcnow

RECHECK_SECONDS = 5.0
POPULAR_DAYS = 90


@dataclass
class _Cached:
    stamp: tuple[object, ...]
    checked: float
    index: CatalogIndex


_INDEXES: dict[str, _Cached] = {}
_LOCK = threading.Lock()


def item_of(product: commerce.Product, units: int = 0) -> CatalogItem:
    """A product row as the search reads it; ``units`` sold lately make its popularity."""
    attributes = {k: v for k, v in (product.attributes or {}).items() if isinstance(v, str)}
    return CatalogItem(
        sku=product.sku,
        title=product.title,
        price_cents=product.price_cents,
        currency=product.currency,
        description=product.description or "",
        translations=dict(product.translations or {}),
        category=product.category or "",
        brand=product.brand or "",
        color=product.color,
        sizes=tuple(product.sizes or ()),
        gender=product.gender,
        age_group=product.age_group,
        sale_price_cents=product.sale_price_cents,
        availability=product.availability,
        url=product.url,
        image_url=product.image_url,
        attributes=attributes,
        popularity=float(units),
    )


def _stamp(session: Session, workspace_id: str) -> tuple[object, ...]:
    count, latest = commerce.catalog_stamp(session, workspace_id)
    groups, newest = session.execute(
        select(func.count(), func.max(SynonymGroup.id)).where(
            SynonymGroup.workspace_id == workspace_id
        )
    ).one()
    return (count, latest, groups, newest)


def synonym_groups(session: Session, workspace_id: str) -> list[list[str]]:
    """The workspace's own synonym groups, oldest first."""
    rows = session.scalars(
        select(SynonymGroup.words)
        .where(SynonymGroup.workspace_id == workspace_id)
        .order_by(SynonymGroup.id)
    )
    return [list(words) for words in rows]


def build_index(session: Session, workspace_id: str) -> CatalogIndex:
    """A fresh index of the workspace's catalog."""
    since = utcnow() - dt.timedelta(days=POPULAR_DAYS)
    sold = commerce.units_sold(session, workspace_id, since)
    items = [
        item_of(p, sold.get(p.sku, 0)) for p in commerce.catalog_products(session, workspace_id)
    ]
    return CatalogIndex(items, synonym_groups(session, workspace_id))


def index_of(session: Session, workspace_id: str) -> CatalogIndex:
    """The workspace's index, rebuilt if the catalog or its synonyms changed."""
    now = time.monotonic()
    cached = _INDEXES.get(workspace_id)
    if cached is not None and now - cached.checked < RECHECK_SECONDS:
        return cached.index
    stamp = _stamp(session, workspace_id)
    if cached is not None and cached.stamp == stamp:
        cached.checked = now
        return cached.index
    with _LOCK:
        cached = _INDEXES.get(workspace_id)
        if cached is not None and cached.stamp == stamp:
            return cached.index
        index = build_index(session, workspace_id)
        _INDEXES[workspace_id] = _Cached(stamp, now, index)
        return index


def forget_index(workspace_id: str) -> None:
    """Drop the workspace's cached index (the next search rebuilds it)."""
    _INDEXES.pop(workspace_id, None)


def search_catalog(
    session: Session, workspace_id: str, query: str, *, limit: int = 10, in_stock: bool = False
) -> SearchResult:
    """Search the workspace's catalog (``cxloop catalog search``)."""
    return index_of(session, workspace_id).search(query, limit=limit, in_stock=in_stock)
