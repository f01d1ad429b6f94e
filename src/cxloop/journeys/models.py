"""Journeys, their versions, the customers going through them (runs), what each step did,
the events waiting to be heard, and each workspace's guardrails."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cxloop.store.base import Base, BigId, JsonDoc, UTCDateTime, utcnow


class Journey(Base):
    """A journey: its current definition (YAML, versioned) and whether it runs."""

    __tablename__ = "journeys"
    __table_args__ = (UniqueConstraint("workspace_id", "key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(64))
    # draft (edited, not running), active, paused (no one enters; runs in flight go on)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    version: Mapped[int] = mapped_column(Integer, default=1)
    source: Mapped[str] = mapped_column(Text)
    priority: Mapped[int] = mapped_column(Integer, default=50)
    trigger_kind: Mapped[str] = mapped_column(String(16))
    trigger_key: Mapped[str] = mapped_column(String(200), default="")
    last_scheduled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class JourneyVersion(Base):
    """Every definition a journey had: runs keep the version they entered with."""

    __tablename__ = "journey_versions"
    __table_args__ = (UniqueConstraint("journey_id", "version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    journey_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("journeys.id", ondelete="CASCADE"), index=True
    )
    workspace_id: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class JourneyRun(Base):
    """One customer going through one journey: where they are, and until when they wait."""

    __tablename__ = "journey_runs"
    __table_args__ = (
        Index("ix_journey_runs_due", "status", "wake_at"),
        Index("ix_journey_runs_customer", "workspace_id", "customer_id", "status"),
        Index("ix_journey_runs_journey", "journey_id", "customer_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    journey_id: Mapped[int] = mapped_column(BigId, ForeignKey("journeys.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id", ondelete="CASCADE"))
    # active (due at wake_at), waiting (for an event until wake_at), done, exited, converted,
    # holdout (entered, receives nothing)
    status: Mapped[str] = mapped_column(String(16), default="active")
    holdout: Mapped[bool] = mapped_column(Boolean, default=False)
    step: Mapped[int] = mapped_column(Integer, default=0)
    # How many steps this run has taken: the idempotency key of the next one's effect.
    visits: Mapped[int] = mapped_column(Integer, default=0)
    wake_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    waiting_event: Mapped[str] = mapped_column(String(200), default="")
    waiting_order: Mapped[str] = mapped_column(String(200), default="")
    context: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    entered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # When the journey's goal was met (treated and holdout alike: the uplift compares them).
    converted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    exit_reason: Mapped[str] = mapped_column(String(32), default="")


class JourneyStep(Base):
    """What one step of one run did: its effect, or why there was none. ``key`` (run and
    visit) is unique: a step retried after a crash finds its effect already written."""

    __tablename__ = "journey_steps"
    __table_args__ = (Index("ix_journey_steps_journey", "journey_id", "kind", "outcome"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    journey_id: Mapped[int] = mapped_column(BigId, ForeignKey("journeys.id", ondelete="CASCADE"))
    run_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("journey_runs.id", ondelete="CASCADE"), index=True
    )
    customer_id: Mapped[int] = mapped_column(BigId)
    step_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    # sent (a message queued), created (coupon, case), called (webhook queued), set, waited,
    # branched, skipped (with its reason), held (quiet hours), exited
    outcome: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(32), default="")
    ref: Mapped[str] = mapped_column(String(100), default="")
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class JourneyInbox(Base):
    """An event a journey listens to, written in the transaction that stored it, and heard
    (entries, wake-ups, goals) by the worker: none is lost if a process stops in between."""

    __tablename__ = "journey_inbox"
    __table_args__ = (
        Index("ix_journey_inbox_pending", "heard", "id"),
        # An event stored twice (a replayed message id) is heard once.
        UniqueConstraint("workspace_id", "message_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[str] = mapped_column(String(200))
    customer_id: Mapped[int] = mapped_column(BigId)
    name: Mapped[str] = mapped_column(String(200))
    properties: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    heard: Mapped[bool] = mapped_column(Boolean, default=False)


class Guardrails(Base):
    """A workspace's limits on journey messages (one row; defaults when there is none)."""

    __tablename__ = "journey_guardrails"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    cap_messages: Mapped[int] = mapped_column(Integer, default=3)
    cap_days: Mapped[int] = mapped_column(Integer, default=7)
    quiet_start: Mapped[str] = mapped_column(String(5), default="21:00")
    quiet_end: Mapped[str] = mapped_column(String(5), default="08:00")
    sms_french_rules: Mapped[bool] = mapped_column(Boolean, default=False)
    sms_start: Mapped[str] = mapped_column(String(5), default="08:00")
    sms_end: Mapped[str] = mapped_column(String(5), default="20:00")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
