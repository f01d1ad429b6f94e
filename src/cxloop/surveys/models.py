"""Surveys, invitations, the decisions behind them, responses and the funnel pre-aggregate."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from cxloop.store.base import Base, BigId, JsonDoc, UTCDateTime, utcnow

TOUCHPOINTS = ("after_order", "after_delivery")
CATEGORIES = ("detractor", "passive", "promoter")


class Survey(Base):
    """An NPS survey: when it asks, through which channels, and what it says (``definition``)."""

    __tablename__ = "surveys"
    __table_args__ = (UniqueConstraint("workspace_id", "key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # "order_completed" or "shipment_delivered"
    trigger: Mapped[str] = mapped_column(String(32))
    touchpoint: Mapped[str] = mapped_column(String(32))
    delay_minutes: Mapped[int] = mapped_column(Integer, default=0)
    # The whole editable document (channels, texts per language and category, reminder,
    # sampling, limits), as the YAML API and the editor show it.
    definition: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Invitation(Base):
    """One request to one customer to answer one survey, through one channel."""

    __tablename__ = "invitations"
    __table_args__ = (
        UniqueConstraint("workspace_id", "survey_id", "subject_key"),
        Index("ix_invitations_due", "status", "scheduled_at"),
        Index("ix_invitations_customer", "customer_id", "created_at"),
        # The dashboard's funnel over a date range (migration 0006).
        Index("ix_invitations_workspace_sent", "workspace_id", "sent_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), nullable=True
    )
    # What triggered it, e.g. "order:1234" or "shipment:88": one invitation per survey and subject.
    subject_key: Mapped[str] = mapped_column(String(100))
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("orders.id", ondelete="SET NULL"), nullable=True
    )
    shipment_id: Mapped[int | None] = mapped_column(
        ForeignKey("shipments.id", ondelete="SET NULL"), nullable=True
    )
    touchpoint: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))
    locale: Mapped[str] = mapped_column(String(8), default="fr")
    # scheduled, suppressed, sent, failed, expired
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    token: Mapped[str] = mapped_column(String(64), unique=True)
    scheduled_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    opened_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    clicked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    responded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    commented_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    reminder_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    reminder_sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SurveyDecision(Base):
    """Why a customer was or was not asked: every decision is kept with its reason."""

    __tablename__ = "survey_decisions"
    __table_args__ = (Index("ix_survey_decisions_customer", "workspace_id", "customer_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), nullable=True
    )
    invitation_id: Mapped[int | None] = mapped_column(
        ForeignKey("invitations.id", ondelete="CASCADE"), nullable=True
    )
    subject_key: Mapped[str] = mapped_column(String(100))
    # scheduled, sent, suppressed, deferred
    decision: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(48))
    detail: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Response(Base):
    """An answer: the 0–10 score, its category, the comment and the follow-up answer."""

    __tablename__ = "responses"
    __table_args__ = (
        Index("ix_responses_workspace_created", "workspace_id", "created_at"),
        Index("ix_responses_customer", "customer_id"),
        # Covers every dashboard aggregate: answered from the index alone (migration 0007).
        Index(
            "ix_responses_dashboard",
            "workspace_id",
            "status",
            "created_at",
            "score",
            "survey_id",
            "channel",
            "touchpoint",
            "locale",
            "country",
            "segment",
            "categories",
        ),
        # Answers in themes order: key drivers group by theme set without a sort (0010), and
        # tell untagged answers in other languages apart from the index alone (0012).
        Index(
            "ix_responses_themes",
            "workspace_id",
            "status",
            "themes",
            "score",
            "created_at",
            "survey_id",
            "channel",
            "touchpoint",
            "locale",
            "lang",
        ),
        # Answers in categories order: the category breakdown groups without a sort.
        Index(
            "ix_responses_categories",
            "workspace_id",
            "status",
            "categories",
            "score",
            "created_at",
            "survey_id",
            "channel",
            "touchpoint",
            "locale",
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    survey_id: Mapped[int | None] = mapped_column(
        ForeignKey("surveys.id", ondelete="SET NULL"), nullable=True
    )
    invitation_id: Mapped[int | None] = mapped_column(
        ForeignKey("invitations.id", ondelete="SET NULL"), nullable=True, unique=True
    )
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), nullable=True
    )
    score: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(12))
    comment: Mapped[str] = mapped_column(Text, default="")
    followup: Mapped[str] = mapped_column(Text, default="")
    # provisional (a page load that may be a mail scanner) or confirmed (a person)
    status: Mapped[str] = mapped_column(String(12), default="provisional")
    channel: Mapped[str] = mapped_column(String(16))
    touchpoint: Mapped[str] = mapped_column(String(32), default="")
    locale: Mapped[str] = mapped_column(String(8), default="")
    country: Mapped[str | None] = mapped_column(String(2), nullable=True)
    # Copied from the invitation's order when the answer is first recorded, so the dashboard
    # breaks answers down without joining orders: "new" (the customer's first order) or
    # "returning", None without an order; the order's product categories as "|a|b|" (sorted).
    segment: Mapped[str | None] = mapped_column(String(12), nullable=True)
    categories: Mapped[str] = mapped_column(String(500), default="")
    # The language of the comment as the tagger found it (ISO 639-1): fr or en, which it tags,
    # or another it recognises and leaves untagged (de, it…); None without text, and for
    # answers recorded before migration 0012 until they are re-tagged.
    lang: Mapped[str | None] = mapped_column(String(8), nullable=True)
    themes: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    sentiment: Mapped[float | None] = mapped_column(Float, nullable=True)
    # Per theme mentioned, its own sentiment: [{"theme": key, "sentiment": -1..1}].
    mentions: Mapped[list[dict[str, Any]] | None] = mapped_column(JsonDoc, nullable=True)
    # True once a person set the themes: re-tagging the history leaves them alone.
    themes_corrected: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class FunnelDay(Base):
    """Funnel counts of the invitations sent on one UTC day, per survey, channel, touchpoint and
    locale: a pre-aggregate of ``invitations`` for days whose invitations can no longer change.

    Filled by ``feedback.rollups.fill_funnel`` (idempotent: a day is recomputed as a whole);
    ``RollupMark`` says up to which day the rows are final.
    """

    __tablename__ = "invitation_funnel_days"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    survey_id: Mapped[int] = mapped_column(
        ForeignKey("surveys.id", ondelete="CASCADE"), primary_key=True
    )
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    touchpoint: Mapped[str] = mapped_column(String(32), primary_key=True)
    locale: Mapped[str] = mapped_column(String(8), primary_key=True)
    sent: Mapped[int] = mapped_column(Integer, default=0)
    delivered: Mapped[int] = mapped_column(Integer, default=0)
    opened: Mapped[int] = mapped_column(Integer, default=0)
    clicked: Mapped[int] = mapped_column(Integer, default=0)
    responded: Mapped[int] = mapped_column(Integer, default=0)
    commented: Mapped[int] = mapped_column(Integer, default=0)


class RollupMark(Base):
    """How far a workspace's pre-aggregate is final: every day before ``final_before``."""

    __tablename__ = "rollup_marks"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    final_before: Mapped[dt.date] = mapped_column(Date)
    filled_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
