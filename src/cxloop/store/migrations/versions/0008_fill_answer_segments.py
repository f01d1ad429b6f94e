"""Data: fill ``responses.segment`` and ``responses.categories`` for answers recorded before 0007.

The same rule as ``feedback.service.order_facets``: "returning" when the customer has an
earlier order that was not cancelled, "new" otherwise, None without an order; the order's
product categories, sorted, as "|a|b|". Downgrade leaves the columns to 0007's downgrade.

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEGMENTS = """
UPDATE responses SET segment = (
    SELECT CASE
        WHEN o.customer_id IS NULL THEN NULL
        WHEN EXISTS (
            SELECT 1 FROM orders e
            WHERE e.customer_id = o.customer_id AND e.placed_at < o.placed_at
              AND e.status != 'cancelled'
        ) THEN 'returning'
        ELSE 'new'
    END
    FROM invitations i JOIN orders o ON o.id = i.order_id
    WHERE i.id = responses.invitation_id
)
WHERE segment IS NULL AND invitation_id IS NOT NULL
"""

CATEGORIES = """
SELECT DISTINCT r.id, p.category
FROM responses r
JOIN invitations i ON i.id = r.invitation_id
JOIN order_items oi ON oi.order_id = i.order_id
JOIN products p ON p.id = oi.product_id
WHERE r.categories = '' AND p.category IS NOT NULL AND p.category != ''
"""


def upgrade() -> None:
    bind = op.get_bind()
    bind.execute(sa.text(SEGMENTS))
    found: dict[int, set[str]] = {}
    for response_id, category in bind.execute(sa.text(CATEGORIES)):
        found.setdefault(response_id, set()).add(str(category).replace("|", "/"))
    rows = [
        {"rid": rid, "categories": ("|" + "|".join(sorted(names)) + "|")[:500]}
        for rid, names in found.items()
    ]
    for start in range(0, len(rows), 5000):
        bind.execute(
            sa.text("UPDATE responses SET categories = :categories WHERE id = :rid"),
            rows[start : start + 5000],
        )


def downgrade() -> None:
    pass
