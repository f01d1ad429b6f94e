"""Site campaigns (banners and messages) and their impressions, web push subscriptions, and
the recommendation placements' settings.

Revision ID: 0021
Revises: 0020
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cxloop.store.base import BigId, JsonDoc, UTCDateTime

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "recommend_settings",
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column(
            "placements",
            JsonDoc,
            nullable=False,
        ),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_recommend_settings_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_recommend_settings")),
    )
    op.create_table(
        "site_campaigns",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_site_campaigns_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site_campaigns")),
        sa.UniqueConstraint("workspace_id", "key", name=op.f("uq_site_campaigns_workspace_id_key")),
    )
    with op.batch_alter_table("site_campaigns", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_site_campaigns_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "push_subscriptions",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("customer_id", BigId, nullable=False),
        sa.Column("anonymous_id", sa.String(length=200), nullable=False),
        sa.Column("endpoint", sa.Text(), nullable=False),
        sa.Column("endpoint_hash", sa.String(length=64), nullable=False),
        sa.Column("p256dh", sa.String(length=120), nullable=False),
        sa.Column("auth", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_sent_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_push_subscriptions_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_push_subscriptions_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_subscriptions")),
        sa.UniqueConstraint(
            "workspace_id",
            "endpoint_hash",
            name=op.f("uq_push_subscriptions_workspace_id_endpoint_hash"),
        ),
    )
    with op.batch_alter_table("push_subscriptions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_push_subscriptions_customer", ["workspace_id", "customer_id"], unique=False
        )

    op.create_table(
        "site_impressions",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("campaign_id", BigId, nullable=False),
        sa.Column("variant", sa.String(length=64), nullable=False),
        sa.Column("held_out", sa.Boolean(), nullable=False),
        sa.Column("visitor", sa.String(length=200), nullable=False),
        sa.Column("customer_id", BigId, nullable=True),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("shown_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("clicked_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["site_campaigns.id"],
            name=op.f("fk_site_impressions_campaign_id_site_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_site_impressions_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site_impressions")),
        sa.UniqueConstraint("token", name=op.f("uq_site_impressions_token")),
    )
    with op.batch_alter_table("site_impressions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_site_impressions_campaign", ["campaign_id", "shown_at"], unique=False
        )
        batch_op.create_index(
            "ix_site_impressions_visitor", ["workspace_id", "visitor", "shown_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("site_impressions", schema=None) as batch_op:
        batch_op.drop_index("ix_site_impressions_visitor")
        batch_op.drop_index("ix_site_impressions_campaign")

    op.drop_table("site_impressions")
    with op.batch_alter_table("push_subscriptions", schema=None) as batch_op:
        batch_op.drop_index("ix_push_subscriptions_customer")

    op.drop_table("push_subscriptions")
    with op.batch_alter_table("site_campaigns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_site_campaigns_workspace_id"))

    op.drop_table("site_campaigns")
    op.drop_table("recommend_settings")
