"""Tenancy and access: workspaces, users, memberships, API keys, audit log, console sessions
and the sign-in throttle."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cxloop.store.base import Base, BigId, JsonDoc, UTCDateTime, utcnow

ROLES = ("owner", "analyst", "agent")
KEY_KINDS = ("write", "admin")


class Workspace(Base):
    """One store. Every other row points at one."""

    __tablename__ = "workspaces"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    locale: Mapped[str] = mapped_column(String(8), default="fr")
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Paris")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class User(Base):
    """A person who signs in to the console."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    locale: Mapped[str | None] = mapped_column(String(8), nullable=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Membership(Base):
    """A user's role in a workspace: owner, analyst or agent."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("workspace_id", "user_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ApiKey(Base):
    """A key for the HTTP APIs.

    The write key is public (it sits in the store's pages) and is kept as is; the admin key is
    secret and only its SHA-256 digest is kept, found through its non-secret prefix.
    """

    __tablename__ = "api_keys"
    __table_args__ = (Index("ix_api_keys_prefix", "prefix", unique=True),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(8))
    prefix: Mapped[str] = mapped_column(String(24))
    key_hash: Mapped[str] = mapped_column(String(64))
    public_value: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class AuditEntry(Base):
    """Who changed what, when: written by the same function that makes the change."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str | None] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True, nullable=True
    )
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(200), default="")
    data: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class UserSession(Base):
    """A console session of one user: the cookie carries its random id, the store its digest.

    Per user, like ``users``, not per workspace: one session reaches all the user's workspaces.
    """

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    user_agent: Mapped[str] = mapped_column(String(200), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class LoginThrottle(Base):
    """Recent failed sign-ins of one account (by its email's digest) or one address."""

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    blocked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
