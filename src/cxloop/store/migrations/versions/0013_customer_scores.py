"""The analytics' scores per customer: RFM figures, scores and segment, and the model scores
(CLV, P(alive), churn band, propensity, persona) that later steps fill.

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cxloop.store.base import BigId, UTCDateTime

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "customer_scores",
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("customer_id", BigId, nullable=False),
        sa.Column("recency_days", sa.Integer(), nullable=False),
        sa.Column("frequency", sa.Integer(), nullable=False),
        sa.Column("monetary_cents", sa.BigInteger(), nullable=False),
        sa.Column("r", sa.SmallInteger(), nullable=False),
        sa.Column("f", sa.SmallInteger(), nullable=False),
        sa.Column("m", sa.SmallInteger(), nullable=False),
        sa.Column("rfm_segment", sa.String(length=24), nullable=False),
        sa.Column("clv_12m", sa.Float(), nullable=True),
        sa.Column("p_alive", sa.Float(), nullable=True),
        sa.Column("expected_orders_90d", sa.Float(), nullable=True),
        sa.Column("next_order_days", sa.Float(), nullable=True),
        sa.Column("churn_band", sa.String(length=16), nullable=True),
        sa.Column("propensity", sa.Float(), nullable=True),
        sa.Column("persona", sa.String(length=32), nullable=True),
        sa.Column("computed_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_scores_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_customer_scores_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "customer_id", name=op.f("pk_customer_scores")),
    )
    op.create_index(
        "ix_customer_scores_segment", "customer_scores", ["workspace_id", "rfm_segment"]
    )


def downgrade() -> None:
    op.drop_index("ix_customer_scores_segment", table_name="customer_scores")
    op.drop_table("customer_scores")
