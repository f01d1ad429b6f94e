"""Theme tagging: mentions on answers, a workspace's taxonomy, its corrections and its model.

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import cxloop.store.base

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _workspace(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["workspace_id"],
        ["workspaces.id"],
        name=op.f(f"fk_{table}_workspace_id_workspaces"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mentions", JSON, nullable=True))
        batch_op.add_column(
            sa.Column("themes_corrected", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "theme_taxonomies",
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("document", JSON, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", cxloop.store.base.UTCDateTime(timezone=True), nullable=False),
        _workspace("theme_taxonomies"),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_theme_taxonomies")),
    )
    op.create_table(
        "theme_corrections",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("response_id", ID, nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("lang", sa.String(length=8), nullable=False),
        sa.Column("themes", JSON, nullable=False),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("created_at", cxloop.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["responses.id"],
            name=op.f("fk_theme_corrections_response_id_responses"),
            ondelete="SET NULL",
        ),
        _workspace("theme_corrections"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_theme_corrections")),
    )
    with op.batch_alter_table("theme_corrections", schema=None) as batch_op:
        batch_op.create_index(
            "ix_theme_corrections_workspace", ["workspace_id", "created_at"], unique=False
        )
    op.create_table(
        "theme_models",
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("model", JSON, nullable=False),
        sa.Column("examples", sa.Integer(), nullable=False),
        sa.Column("trained_at", cxloop.store.base.UTCDateTime(timezone=True), nullable=False),
        _workspace("theme_models"),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_theme_models")),
    )


def downgrade() -> None:
    op.drop_table("theme_models")
    with op.batch_alter_table("theme_corrections", schema=None) as batch_op:
        batch_op.drop_index("ix_theme_corrections_workspace")
    op.drop_table("theme_corrections")
    op.drop_table("theme_taxonomies")
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.drop_column("themes_corrected")
        batch_op.drop_column("mentions")
