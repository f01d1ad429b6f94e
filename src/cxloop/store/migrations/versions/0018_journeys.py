"""Journeys (definitions, versions, runs, steps, inbox, guardrails), cases and their notes,
coupons, signed webhook calls and the suppression list.

Revision ID: 0018
Revises: 0017
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cxloop.store.base import BigId, JsonDoc, UTCDateTime

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "journey_guardrails",
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("cap_messages", sa.Integer(), nullable=False),
        sa.Column("cap_days", sa.Integer(), nullable=False),
        sa.Column("quiet_start", sa.String(length=5), nullable=False),
        sa.Column("quiet_end", sa.String(length=5), nullable=False),
        sa.Column("sms_french_rules", sa.Boolean(), nullable=False),
        sa.Column("sms_start", sa.String(length=5), nullable=False),
        sa.Column("sms_end", sa.String(length=5), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_journey_guardrails_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_journey_guardrails")),
    )
    op.create_table(
        "journey_inbox",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("customer_id", BigId, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("properties", JsonDoc, nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("heard", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_journey_inbox_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journey_inbox")),
        sa.UniqueConstraint(
            "workspace_id", "message_id", name=op.f("uq_journey_inbox_workspace_id_message_id")
        ),
    )
    with op.batch_alter_table("journey_inbox", schema=None) as batch_op:
        batch_op.create_index("ix_journey_inbox_pending", ["heard", "id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_journey_inbox_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "journeys",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("trigger_kind", sa.String(length=16), nullable=False),
        sa.Column("trigger_key", sa.String(length=200), nullable=False),
        sa.Column("last_scheduled_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_journeys_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journeys")),
        sa.UniqueConstraint("workspace_id", "key", name=op.f("uq_journeys_workspace_id_key")),
    )
    with op.batch_alter_table("journeys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_journeys_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "sms_providers",
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("url", sa.String(length=300), nullable=False),
        sa.Column("account", sa.String(length=100), nullable=False),
        sa.Column("sender", sa.String(length=40), nullable=False),
        sa.Column("credentials", sa.Text(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_sms_providers_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_sms_providers")),
    )
    op.create_table(
        "store_connections",
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("base_url", sa.String(length=300), nullable=False),
        sa.Column("credentials", sa.Text(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_store_connections_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_store_connections")),
    )
    op.create_table(
        "suppressions",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_suppressions_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppressions")),
    )
    with op.batch_alter_table("suppressions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_suppressions_workspace_id"), ["workspace_id"], unique=False
        )
        batch_op.create_index(
            "uq_suppressions_address", ["workspace_id", "channel", "address"], unique=True
        )

    op.create_table(
        "cases",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("customer_id", BigId, nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("owner", sa.String(length=320), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("source_ref", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_cases_customer_id_customers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_cases_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint("key", name=op.f("uq_cases_key")),
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cases_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index("ix_cases_inbox", ["workspace_id", "status", "due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_workspace_id"), ["workspace_id"], unique=False)

    op.create_table(
        "journey_runs",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("journey_id", BigId, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("customer_id", BigId, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("holdout", sa.Boolean(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("visits", sa.Integer(), nullable=False),
        sa.Column("wake_at", UTCDateTime(), nullable=True),
        sa.Column("waiting_event", sa.String(length=200), nullable=False),
        sa.Column("waiting_order", sa.String(length=200), nullable=False),
        sa.Column("context", JsonDoc, nullable=False),
        sa.Column("entered_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("converted_at", UTCDateTime(), nullable=True),
        sa.Column("exit_reason", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_journey_runs_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["journey_id"],
            ["journeys.id"],
            name=op.f("fk_journey_runs_journey_id_journeys"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_journey_runs_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journey_runs")),
    )
    with op.batch_alter_table("journey_runs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_journey_runs_customer", ["workspace_id", "customer_id", "status"], unique=False
        )
        batch_op.create_index("ix_journey_runs_due", ["status", "wake_at"], unique=False)
        batch_op.create_index(
            "ix_journey_runs_journey", ["journey_id", "customer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_journey_runs_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "journey_versions",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("journey_id", BigId, nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["journey_id"],
            ["journeys.id"],
            name=op.f("fk_journey_versions_journey_id_journeys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journey_versions")),
        sa.UniqueConstraint(
            "journey_id", "version", name=op.f("uq_journey_versions_journey_id_version")
        ),
    )
    with op.batch_alter_table("journey_versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_journey_versions_journey_id"), ["journey_id"], unique=False
        )

    op.create_table(
        "webhook_calls",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("customer_id", BigId, nullable=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("body", JsonDoc, nullable=False),
        sa.Column("idempotency_key", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("claimed_at", UTCDateTime(), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_webhook_calls_customer_id_customers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_webhook_calls_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_calls")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_webhook_calls_idempotency_key")),
    )
    with op.batch_alter_table("webhook_calls", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_webhook_calls_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_webhook_calls_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "case_notes",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("case_id", BigId, nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("author", sa.String(length=320), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_notes_case_id_cases"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_notes")),
    )
    with op.batch_alter_table("case_notes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_notes_case_id"), ["case_id"], unique=False)

    op.create_table(
        "coupons",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("customer_id", BigId, nullable=True),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=True),
        sa.Column("redeemed_order_id", BigId, nullable=True),
        sa.Column("redeemed_at", UTCDateTime(), nullable=True),
        sa.Column("store_status", sa.String(length=16), nullable=False),
        sa.Column("store_ref", sa.String(length=100), nullable=False),
        sa.Column("store_error", sa.Text(), nullable=False),
        sa.Column("store_attempts", sa.Integer(), nullable=False),
        sa.Column("store_claimed_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_coupons_customer_id_customers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["redeemed_order_id"],
            ["orders.id"],
            name=op.f("fk_coupons_redeemed_order_id_orders"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_coupons_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupons")),
        sa.UniqueConstraint("key", name=op.f("uq_coupons_key")),
        sa.UniqueConstraint("workspace_id", "code", name=op.f("uq_coupons_workspace_id_code")),
    )
    with op.batch_alter_table("coupons", schema=None) as batch_op:
        batch_op.create_index("ix_coupons_customer", ["workspace_id", "customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_coupons_workspace_id"), ["workspace_id"], unique=False)

    op.create_table(
        "journey_steps",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("journey_id", BigId, nullable=False),
        sa.Column("run_id", BigId, nullable=False),
        sa.Column("customer_id", BigId, nullable=False),
        sa.Column("step_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("ref", sa.String(length=100), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["journey_id"],
            ["journeys.id"],
            name=op.f("fk_journey_steps_journey_id_journeys"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["journey_runs.id"],
            name=op.f("fk_journey_steps_run_id_journey_runs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_journey_steps_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journey_steps")),
        sa.UniqueConstraint("key", name=op.f("uq_journey_steps_key")),
    )
    with op.batch_alter_table("journey_steps", schema=None) as batch_op:
        batch_op.create_index(
            "ix_journey_steps_journey", ["journey_id", "kind", "outcome"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_journey_steps_run_id"), ["run_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_journey_steps_workspace_id"), ["workspace_id"], unique=False
        )

    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        batch_op.drop_column("claimed_at")

    with op.batch_alter_table("journey_steps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_journey_steps_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_journey_steps_run_id"))
        batch_op.drop_index("ix_journey_steps_journey")

    op.drop_table("journey_steps")
    with op.batch_alter_table("coupons", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_coupons_workspace_id"))
        batch_op.drop_index("ix_coupons_customer")

    op.drop_table("coupons")
    with op.batch_alter_table("case_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_notes_case_id"))

    op.drop_table("case_notes")
    with op.batch_alter_table("webhook_calls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_calls_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_webhook_calls_status"))

    op.drop_table("webhook_calls")
    with op.batch_alter_table("journey_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_journey_versions_journey_id"))

    op.drop_table("journey_versions")
    with op.batch_alter_table("journey_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_journey_runs_workspace_id"))
        batch_op.drop_index("ix_journey_runs_journey")
        batch_op.drop_index("ix_journey_runs_due")
        batch_op.drop_index("ix_journey_runs_customer")

    op.drop_table("journey_runs")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cases_workspace_id"))
        batch_op.drop_index("ix_cases_inbox")
        batch_op.drop_index(batch_op.f("ix_cases_customer_id"))

    op.drop_table("cases")
    with op.batch_alter_table("suppressions", schema=None) as batch_op:
        batch_op.drop_index("uq_suppressions_address")
        batch_op.drop_index(batch_op.f("ix_suppressions_workspace_id"))

    op.drop_table("suppressions")
    op.drop_table("store_connections")
    op.drop_table("sms_providers")
    with op.batch_alter_table("journeys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_journeys_workspace_id"))

    op.drop_table("journeys")
    with op.batch_alter_table("journey_inbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_journey_inbox_workspace_id"))
        batch_op.drop_index("ix_journey_inbox_pending")

    op.drop_table("journey_inbox")
    op.drop_table("journey_guardrails")
