"""Scores lose their foreign key to workspaces: they already go with their customer (whose rows
go with the workspace), and the second check cost each written score a lookup (at a million
customers, about 8 of a run's seconds on PostgreSQL).

Revision ID: 0015
Revises: 0014
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("customer_scores", schema=None) as batch_op:
        batch_op.drop_constraint("fk_customer_scores_workspace_id_workspaces", type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("customer_scores", schema=None) as batch_op:
        batch_op.create_foreign_key(
            "fk_customer_scores_workspace_id_workspaces",
            "workspaces",
            ["workspace_id"],
            ["id"],
            ondelete="CASCADE",
        )
