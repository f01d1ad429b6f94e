"""The language of an answer's text, and that language in the themes index.

``responses.lang`` is the language the tagger found in the comment: ``fr`` or ``en``, which it
tags, or another ISO 639-1 code (``de``, ``it``, ``es``, ``nl``, ``pt``), which it recognises
and leaves untagged. NULL for an answer without text, and for answers recorded before this
revision until the history is re-tagged (``cxloop feedback retag``): no data is changed here.

The key drivers leave untagged answers out of their figures; ``lang`` joins the end of
``ix_responses_themes`` (migration 0010) so that they still read the index alone.

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

THEMES_INDEX = [
    "workspace_id",
    "status",
    "themes",
    "score",
    "created_at",
    "survey_id",
    "channel",
    "touchpoint",
    "locale",
]


def upgrade() -> None:
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lang", sa.String(length=8), nullable=True))
        batch_op.drop_index("ix_responses_themes")
        batch_op.create_index("ix_responses_themes", [*THEMES_INDEX, "lang"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.drop_index("ix_responses_themes")
        batch_op.create_index("ix_responses_themes", THEMES_INDEX, unique=False)
        batch_op.drop_column("lang")
