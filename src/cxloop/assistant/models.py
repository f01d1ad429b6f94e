"""The assistant's tables: conversations and their messages, synonyms, FAQ, scenarios, examples."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cxloop.store.base import Base, BigId, JsonDoc, UTCDateTime, utcnow

CONVERSATION_STATUSES = ("open", "handoff", "closed")
AUTHORS = ("shopper", "assistant", "agent")


class Conversation(Base):
    """A shopper's conversation with the assistant (and, after a handoff, with a person).

    ``state`` is the dialogue's memory: the scenario and step it is in, the slots it filled,
    the filters understood, the products shown, how often it failed in a row.
    """

    __tablename__ = "assistant_conversations"
    __table_args__ = (
        Index("ix_assistant_conversations_inbox", "workspace_id", "status", "last_message_at"),
        Index("ix_assistant_conversations_visitor", "workspace_id", "anonymous_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    anonymous_id: Mapped[str] = mapped_column(String(200), default="")
    user_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), nullable=True, index=True
    )
    locale: Mapped[str] = mapped_column(String(8), default="fr")
    status: Mapped[str] = mapped_column(String(16), default="open")
    page_url: Mapped[str] = mapped_column(String(500), default="")
    state: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    # What the conversation came to: found (products shown), answered, order, handoff, nps.
    outcome: Mapped[str] = mapped_column(String(16), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_message_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    handoff_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    nps_asked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ConversationMessage(Base):
    """One message of a conversation: by the shopper, the assistant or an agent.

    ``payload`` holds what the widget shows besides the text (products, buttons, the filters
    understood) and what analytics count (the intent, the products clicked).
    """

    __tablename__ = "assistant_messages"
    __table_args__ = (UniqueConstraint("conversation_id", "seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("assistant_conversations.id", ondelete="CASCADE")
    )
    seq: Mapped[int] = mapped_column(Integer)
    author: Mapped[str] = mapped_column(String(16))
    agent: Mapped[str] = mapped_column(String(320), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    intent: Mapped[str] = mapped_column(String(40), default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SynonymGroup(Base):
    """Words that stand for each other in this workspace's catalog search."""

    __tablename__ = "assistant_synonyms"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    words: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class FaqEntry(Base):
    """A question the merchant answers once, in one language, with where the answer comes from."""

    __tablename__ = "assistant_faq"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    lang: Mapped[str] = mapped_column(String(8), default="fr")
    question: Mapped[str] = mapped_column(String(500))
    answer: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Scenario(Base):
    """A merchant's scenario: YAML steps the dialogue engine runs (``scenarios``)."""

    __tablename__ = "assistant_scenarios"
    __table_args__ = (UniqueConstraint("workspace_id", "key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class IntentExample(Base):
    """A phrase the merchant gives as an example of an intent (the classifier learns from it)."""

    __tablename__ = "assistant_examples"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    intent: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


COMPENSATION_KINDS = ("", "percent", "fixed", "free_shipping")


class AssistantSettings(Base):
    """A workspace's choices for its assistant: the ticket webhook for handoffs, asking NPS in
    conversation, and the compensation the assistant may give for a delivery problem."""

    __tablename__ = "assistant_settings"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    # Where a handed-off conversation goes as a ticket (signed JSON POST); "" for none.
    ticket_url: Mapped[str] = mapped_column(String(500), default="")
    nps_in_chat: Mapped[bool] = mapped_column(default=True)
    # What the assistant may offer for a delivery problem: "" (nothing), percent, fixed, or
    # free_shipping; at most ``compensation_value``; at most ``compensations_per_day`` a day.
    compensation_kind: Mapped[str] = mapped_column(String(16), default="")
    compensation_value: Mapped[float] = mapped_column(Float, default=0.0)
    compensation_days: Mapped[int] = mapped_column(Integer, default=30)
    compensations_per_day: Mapped[int] = mapped_column(Integer, default=20)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class OrderLookup(Base):
    """An order looked up from a conversation: rate limits count them per visitor."""

    __tablename__ = "assistant_lookups"
    __table_args__ = (Index("ix_assistant_lookups_visitor", "workspace_id", "visitor", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    visitor: Mapped[str] = mapped_column(String(200))
    conversation_id: Mapped[str] = mapped_column(String(32))
    found: Mapped[bool] = mapped_column(default=False)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
