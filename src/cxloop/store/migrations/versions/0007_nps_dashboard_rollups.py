"""NPS dashboard at scale: segment and categories on answers, a daily funnel pre-aggregate.

``responses.segment`` and ``responses.categories`` are copied from the invitation's order when
an answer is recorded, and join the covering index, so breakdowns by customer segment and
product category read the index instead of joining orders and order lines;
``ix_responses_categories`` keeps answers in categories order for the category breakdown.
``invitation_funnel_days`` holds the funnel counts of days whose invitations can no longer
change; ``rollup_marks`` says how far it is final. Existing answers are filled by 0008.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cxloop.store.base

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BEFORE = [
    "workspace_id",
    "status",
    "created_at",
    "score",
    "survey_id",
    "channel",
    "touchpoint",
    "locale",
    "country",
]
AFTER = [*BEFORE, "segment", "categories"]
# In categories order: the breakdown by product category groups without sorting every answer.
BY_CATEGORIES = [
    "workspace_id",
    "status",
    "categories",
    "score",
    "created_at",
    "survey_id",
    "channel",
    "touchpoint",
    "locale",
]


def upgrade() -> None:
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("segment", sa.String(length=12), nullable=True))
        batch_op.add_column(
            sa.Column("categories", sa.String(length=500), nullable=False, server_default="")
        )
        batch_op.drop_index("ix_responses_dashboard")
        batch_op.create_index("ix_responses_dashboard", AFTER, unique=False)
        batch_op.create_index("ix_responses_categories", BY_CATEGORIES, unique=False)

    op.create_table(
        "invitation_funnel_days",
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column(
            "survey_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("touchpoint", sa.String(length=32), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("delivered", sa.Integer(), nullable=False),
        sa.Column("opened", sa.Integer(), nullable=False),
        sa.Column("clicked", sa.Integer(), nullable=False),
        sa.Column("responded", sa.Integer(), nullable=False),
        sa.Column("commented", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["survey_id"],
            ["surveys.id"],
            name=op.f("fk_invitation_funnel_days_survey_id_surveys"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_invitation_funnel_days_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "workspace_id",
            "day",
            "survey_id",
            "channel",
            "touchpoint",
            "locale",
            name=op.f("pk_invitation_funnel_days"),
        ),
    )
    op.create_table(
        "rollup_marks",
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("final_before", sa.Date(), nullable=False),
        sa.Column("filled_at", cxloop.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_rollup_marks_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "name", name=op.f("pk_rollup_marks")),
    )


def downgrade() -> None:
    op.drop_table("rollup_marks")
    op.drop_table("invitation_funnel_days")
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.drop_index("ix_responses_categories")
        batch_op.drop_index("ix_responses_dashboard")
        batch_op.create_index("ix_responses_dashboard", BEFORE, unique=False)
        batch_op.drop_column("categories")
        batch_op.drop_column("segment")
