"""The assistant's settings (ticket webhook, NPS in conversation, compensation limits) and the
order lookups its rate limits count.

Revision ID: 0020
Revises: 0019
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cxloop.store.base import BigId, UTCDateTime

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "assistant_lookups",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("visitor", sa.String(length=200), nullable=False),
        sa.Column("conversation_id", sa.String(length=32), nullable=False),
        sa.Column("found", sa.Boolean(), nullable=False),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_assistant_lookups_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assistant_lookups")),
    )
    with op.batch_alter_table("assistant_lookups", schema=None) as batch_op:
        batch_op.create_index(
            "ix_assistant_lookups_visitor", ["workspace_id", "visitor", "at"], unique=False
        )
    op.create_table(
        "assistant_settings",
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("ticket_url", sa.String(length=500), nullable=False),
        sa.Column("nps_in_chat", sa.Boolean(), nullable=False),
        sa.Column("compensation_kind", sa.String(length=16), nullable=False),
        sa.Column("compensation_value", sa.Float(), nullable=False),
        sa.Column("compensation_days", sa.Integer(), nullable=False),
        sa.Column("compensations_per_day", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_assistant_settings_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_assistant_settings")),
    )


def downgrade() -> None:
    op.drop_table("assistant_settings")
    with op.batch_alter_table("assistant_lookups", schema=None) as batch_op:
        batch_op.drop_index("ix_assistant_lookups_visitor")
    op.drop_table("assistant_lookups")
