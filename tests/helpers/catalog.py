"""The demo store's catalog (500 products, French with English translations) put in a
workspace, as a store's import would, for the assistant's tests."""

from __future__ import annotations

from sqlalchemy import update

from cxloop import commerce
from cxloop.demo.generator import demo_catalog
from cxloop.store.db import Database


def stock_demo_catalog(db: Database, workspace_id: str, seed: int = 1) -> int:
    """Import the demo catalog of ``seed`` into the workspace; returns how many products."""
    products = demo_catalog(seed)
    with db.session() as session:
        for p in products:
            commerce.upsert_product(
                session,
                workspace_id,
                commerce.ProductData(
                    sku=p.sku,
                    title=p.title,
                    price_cents=p.price_cents,
                    currency="EUR",
                    description=p.description,
                    category=p.category,
                    brand=p.brand,
                    color=p.color,
                    sizes=p.sizes,
                    gender=p.gender,
                    age_group=p.age_group,
                    sale_price_cents=p.sale_price_cents,
                    availability=p.availability,
                    url=p.url,
                    image_url=p.image_url,
                    attributes={"material": p.material or "", "universe": p.universe},
                ),
            )
        # The store's feed carries the English texts too.
        for p in products:
            session.execute(
                update(commerce.Product)
                .where(commerce.Product.workspace_id == workspace_id, commerce.Product.sku == p.sku)
                .values(translations=p.translations)
            )
    return len(products)
