"""Workspaces, users, memberships and keys: creation, authentication, audit."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from cxloop.errors import InvalidInput
from cxloop.store.base import utcnow
from cxloop.workspaces.models import (
    ROLES,
    ApiKey,
    AuditEntry,
    Membership,
    User,
    UserSession,
    Workspace,
)
from cxloop.workspaces.schemas import WorkspaceCreate, WorkspaceCredentials

_hasher = PasswordHasher()
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 10


@dataclass(frozen=True)
class KeyOwner:
    """Who a presented API key belongs to."""

    workspace_id: str
    kind: str


def audit(
    session: Session,
    *,
    actor: str,
    action: str,
    workspace_id: str | None = None,
    subject: str = "",
    data: dict[str, Any] | None = None,
) -> None:
    """Record a change in the audit log, inside the caller's transaction."""
    session.add(
        AuditEntry(
            workspace_id=workspace_id, actor=actor, action=action, subject=subject, data=data or {}
        )
    )


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_workspace(
    session: Session, spec: WorkspaceCreate, *, actor: str = "cli"
) -> WorkspaceCredentials:
    """Open a workspace with one write key and one admin key."""
    try:
        ZoneInfo(spec.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput("timezone", f"unknown time zone {spec.timezone!r}") from None
    workspace = Workspace(
        id="ws_" + secrets.token_hex(6),
        name=spec.name.strip(),
        locale=spec.locale,
        currency=spec.currency,
        timezone=spec.timezone,
    )
    session.add(workspace)
    session.flush()
    write_key = issue_key(session, workspace.id, "write")
    admin_key = issue_key(session, workspace.id, "admin")
    audit(
        session,
        actor=actor,
        action="workspace.create",
        workspace_id=workspace.id,
        subject=workspace.name,
    )
    return WorkspaceCredentials(workspace_id=workspace.id, write_key=write_key, admin_key=admin_key)


def issue_key(session: Session, workspace_id: str, kind: str, label: str = "") -> str:
    """Make a new key of ``kind`` (write or admin) and return its full value once."""
    if kind not in ("write", "admin"):
        raise InvalidInput("kind", "must be write or admin")
    prefix = ("cxw_" if kind == "write" else "cxa_") + secrets.token_hex(6)
    secret = secrets.token_urlsafe(24 if kind == "write" else 32)
    value = f"{prefix}_{secret}"
    session.add(
        ApiKey(
            workspace_id=workspace_id,
            kind=kind,
            prefix=prefix,
            key_hash=_digest(value),
            public_value=value if kind == "write" else None,
            label=label,
        )
    )
    return value


def resolve_key(session: Session, value: str) -> KeyOwner | None:
    """The workspace and kind of a presented key, or None if unknown or revoked."""
    kind, _, rest = value.partition("_")
    ident, sep, _secret = rest.partition("_")
    if kind not in ("cxw", "cxa") or not sep:
        return None
    prefix = f"{kind}_{ident}"
    key = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if key is None or key.revoked_at is not None:
        return None
    if not hmac.compare_digest(key.key_hash, _digest(value)):
        return None
    return KeyOwner(workspace_id=key.workspace_id, kind=key.kind)


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``."""
    return _hasher.hash(password)


def create_user(
    session: Session,
    *,
    email: str,
    password: str,
    name: str = "",
    locale: str | None = None,
    actor: str = "cli",
) -> User:
    """Create a console user with an argon2-hashed password."""
    email = email.strip().lower()
    if not EMAIL_RE.match(email):
        raise InvalidInput("email", "not an email address")
    if len(password) < MIN_PASSWORD:
        raise InvalidInput("password", f"must be at least {MIN_PASSWORD} characters")
    if locale is not None and locale not in ("fr", "en"):
        raise InvalidInput("locale", "must be fr or en")
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise InvalidInput("email", "a user with this email already exists")
    user = User(email=email, name=name, password_hash=hash_password(password), locale=locale)
    session.add(user)
    session.flush()
    audit(session, actor=actor, action="user.create", subject=email)
    return user


def set_password(
    session: Session,
    user: User,
    password: str,
    *,
    actor: str = "cli",
    keep_session: int | None = None,
) -> None:
    """Replace a user's password (argon2-hashed) and end her console sessions but
    ``keep_session`` (the one that made the change, if any)."""
    if len(password) < MIN_PASSWORD:
        raise InvalidInput("password", f"must be at least {MIN_PASSWORD} characters")
    user.password_hash = hash_password(password)
    others = update(UserSession).where(
        UserSession.user_id == user.id, UserSession.revoked_at.is_(None)
    )
    if keep_session is not None:
        others = others.where(UserSession.id != keep_session)
    result = session.execute(others.values(revoked_at=utcnow()))
    revoked = result.rowcount if isinstance(result, CursorResult) else 0
    audit(
        session,
        actor=actor,
        action="user.password",
        subject=user.email,
        data={"sessions_revoked": int(revoked)},
    )


def add_member(
    session: Session, *, workspace_id: str, user: User, role: str, actor: str = "cli"
) -> Membership:
    """Give ``user`` a role in a workspace (or change it)."""
    if role not in ROLES:
        raise InvalidInput("role", f"must be one of {', '.join(ROLES)}")
    if session.get(Workspace, workspace_id) is None:
        raise InvalidInput("workspace", f"no workspace {workspace_id!r}")
    member = session.scalar(
        select(Membership).where(
            Membership.workspace_id == workspace_id, Membership.user_id == user.id
        )
    )
    if member is None:
        member = Membership(workspace_id=workspace_id, user_id=user.id, role=role)
        session.add(member)
    else:
        member.role = role
    audit(
        session,
        actor=actor,
        action="membership.set",
        workspace_id=workspace_id,
        subject=user.email,
        data={"role": role},
    )
    return member


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with this email and password, or None."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or not user.is_active:
        # Spend the same time as a real check so that timing does not reveal accounts.
        _hasher.hash(password)
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = utcnow()
    return user


def workspaces_of(session: Session, user_id: int) -> list[tuple[Workspace, str]]:
    """The workspaces a user belongs to, with the role in each, by name."""
    rows = session.execute(
        select(Workspace, Membership.role)
        .join(Membership, Membership.workspace_id == Workspace.id)
        .where(Membership.user_id == user_id)
        .order_by(Workspace.name, Workspace.created_at)
    ).all()
    return [(w, r) for w, r in rows]


def role_in(session: Session, user_id: int, workspace_id: str) -> str | None:
    """The user's role in a workspace, or None if not a member."""
    return session.scalar(
        select(Membership.role).where(
            Membership.user_id == user_id, Membership.workspace_id == workspace_id
        )
    )


def get_workspace(session: Session, workspace_id: str) -> Workspace | None:
    """The workspace with this id, if any."""
    return session.get(Workspace, workspace_id)


def workspace_ids(session: Session) -> list[str]:
    """Every workspace's id (for work done per workspace, such as nightly rollups)."""
    return list(session.scalars(select(Workspace.id).order_by(Workspace.id)))


def names_of(session: Session, workspace_ids: Sequence[str]) -> dict[str, str]:
    """The names of these workspaces, by id."""
    if not workspace_ids:
        return {}
    rows = session.execute(
        select(Workspace.id, Workspace.name).where(Workspace.id.in_(list(workspace_ids)))
    )
    return {str(workspace_id): str(name) for workspace_id, name in rows}


def write_key_of(session: Session, workspace_id: str) -> str | None:
    """The workspace's latest public write key (it goes into the store's pages), if any."""
    return session.scalar(
        select(ApiKey.public_value)
        .where(ApiKey.workspace_id == workspace_id, ApiKey.kind == "write")
        .order_by(ApiKey.created_at.desc(), ApiKey.id.desc())
        .limit(1)
    )
