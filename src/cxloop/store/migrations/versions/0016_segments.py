"""Segments (dynamic, by condition, or static), their members, and each customer's entries and
exits.

Revision ID: 0016
Revises: 0015
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cxloop.store.base import BigId, UTCDateTime

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "segments",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("condition", sa.Text(), nullable=True),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("refreshed_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_segments_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segments")),
        sa.UniqueConstraint("workspace_id", "key", name=op.f("uq_segments_workspace_id")),
    )
    op.create_index(op.f("ix_segments_workspace_id"), "segments", ["workspace_id"])
    op.create_table(
        "segment_members",
        sa.Column("segment_id", BigId, nullable=False),
        sa.Column("customer_id", BigId, nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("entered_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_segment_members_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["segment_id"],
            ["segments.id"],
            name=op.f("fk_segment_members_segment_id_segments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("segment_id", "customer_id", name=op.f("pk_segment_members")),
    )
    op.create_index(
        "ix_segment_members_customer", "segment_members", ["workspace_id", "customer_id"]
    )
    op.create_table(
        "segment_changes",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("segment_id", BigId, nullable=False),
        sa.Column("customer_id", BigId, nullable=False),
        sa.Column("change", sa.String(length=8), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_segment_changes_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["segment_id"],
            ["segments.id"],
            name=op.f("fk_segment_changes_segment_id_segments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segment_changes")),
    )
    op.create_index(
        "ix_segment_changes_customer", "segment_changes", ["workspace_id", "customer_id", "at"]
    )
    op.create_index("ix_segment_changes_segment", "segment_changes", ["segment_id", "at"])


def downgrade() -> None:
    op.drop_table("segment_changes")
    op.drop_table("segment_members")
    op.drop_table("segments")
