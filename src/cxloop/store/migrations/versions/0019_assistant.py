"""The shopping assistant: conversations and their messages, synonyms, FAQ entries, scenarios
and intent examples.

Revision ID: 0019
Revises: 0018
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cxloop.store.base import BigId, JsonDoc, UTCDateTime

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "assistant_examples",
        sa.Column(
            "id",
            BigId,
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("intent", sa.String(length=40), nullable=False),
        sa.Column("text", sa.String(length=500), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_assistant_examples_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assistant_examples")),
    )
    with op.batch_alter_table("assistant_examples", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_assistant_examples_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "assistant_faq",
        sa.Column(
            "id",
            BigId,
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("lang", sa.String(length=8), nullable=False),
        sa.Column("question", sa.String(length=500), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_assistant_faq_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assistant_faq")),
    )
    with op.batch_alter_table("assistant_faq", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_assistant_faq_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "assistant_scenarios",
        sa.Column(
            "id",
            BigId,
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_assistant_scenarios_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assistant_scenarios")),
        sa.UniqueConstraint(
            "workspace_id", "key", name=op.f("uq_assistant_scenarios_workspace_id_key")
        ),
    )
    with op.batch_alter_table("assistant_scenarios", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_assistant_scenarios_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "assistant_synonyms",
        sa.Column(
            "id",
            BigId,
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column(
            "words",
            JsonDoc,
            nullable=False,
        ),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_assistant_synonyms_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assistant_synonyms")),
    )
    with op.batch_alter_table("assistant_synonyms", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_assistant_synonyms_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "assistant_conversations",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("anonymous_id", sa.String(length=200), nullable=False),
        sa.Column("user_id", sa.String(length=200), nullable=True),
        sa.Column("customer_id", BigId, nullable=True),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("page_url", sa.String(length=500), nullable=False),
        sa.Column(
            "state",
            JsonDoc,
            nullable=False,
        ),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_message_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("handoff_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("nps_asked_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_assistant_conversations_customer_id_customers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_assistant_conversations_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assistant_conversations")),
    )
    with op.batch_alter_table("assistant_conversations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_assistant_conversations_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index(
            "ix_assistant_conversations_inbox",
            ["workspace_id", "status", "last_message_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_assistant_conversations_visitor", ["workspace_id", "anonymous_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_assistant_conversations_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "assistant_messages",
        sa.Column(
            "id",
            BigId,
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("conversation_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=16), nullable=False),
        sa.Column("agent", sa.String(length=320), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("intent", sa.String(length=40), nullable=False),
        sa.Column(
            "payload",
            JsonDoc,
            nullable=False,
        ),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["assistant_conversations.id"],
            name=op.f("fk_assistant_messages_conversation_id_assistant_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_assistant_messages_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assistant_messages")),
        sa.UniqueConstraint(
            "conversation_id", "seq", name=op.f("uq_assistant_messages_conversation_id_seq")
        ),
    )
    with op.batch_alter_table("assistant_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_assistant_messages_workspace_id"), ["workspace_id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("assistant_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assistant_messages_workspace_id"))

    op.drop_table("assistant_messages")
    with op.batch_alter_table("assistant_conversations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assistant_conversations_workspace_id"))
        batch_op.drop_index("ix_assistant_conversations_visitor")
        batch_op.drop_index("ix_assistant_conversations_inbox")
        batch_op.drop_index(batch_op.f("ix_assistant_conversations_customer_id"))

    op.drop_table("assistant_conversations")
    with op.batch_alter_table("assistant_synonyms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assistant_synonyms_workspace_id"))

    op.drop_table("assistant_synonyms")
    with op.batch_alter_table("assistant_scenarios", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assistant_scenarios_workspace_id"))

    op.drop_table("assistant_scenarios")
    with op.batch_alter_table("assistant_faq", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assistant_faq_workspace_id"))

    op.drop_table("assistant_faq")
    with op.batch_alter_table("assistant_examples", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assistant_examples_workspace_id"))

    op.drop_table("assistant_examples")
