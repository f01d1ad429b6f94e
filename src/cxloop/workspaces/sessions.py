"""Console sessions kept on the server: started at sign-in, checked on every page, revocable.

The signed cookie carries only a random session id; the store keeps its SHA-256 digest, so a
copy of the table signs nobody in. A session ends at sign-out, on revocation, after
``IDLE_TIMEOUT`` without a request, or ``LIFETIME`` after sign-in, whichever comes first.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from cxloop.errors import InvalidInput
from cxloop.store.base import utcnow
from cxloop.workspaces.models import User, UserSession
from cxloop.workspaces.service import audit

IDLE_TIMEOUT = dt.timedelta(hours=8)  # a working day away from the console signs out
LIFETIME = dt.timedelta(days=7)  # then sign in again, however busy
TOUCH_EVERY = dt.timedelta(minutes=1)  # last-seen is written at most once a minute
USER_AGENT_CHARS = 200
IP_CHARS = 64


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


@dataclass(frozen=True)
class Started:
    """A new session: the id for the cookie (shown once) and its row."""

    cookie_value: str
    row: UserSession


def start(
    session: Session,
    user: User,
    *,
    user_agent: str = "",
    ip: str = "",
    now: dt.datetime | None = None,
) -> Started:
    """Open a console session for ``user`` (at sign-in), drop her expired ones, audit it."""
    now = now or utcnow()
    # Sessions past their lifetime are dead whatever else: each user keeps a week's at most.
    session.execute(
        delete(UserSession).where(UserSession.user_id == user.id, UserSession.expires_at <= now)
    )
    value = secrets.token_urlsafe(32)
    row = UserSession(
        user_id=user.id,
        token_hash=_digest(value),
        created_at=now,
        last_seen_at=now,
        expires_at=now + LIFETIME,
        user_agent=user_agent[:USER_AGENT_CHARS],
        ip=ip[:IP_CHARS],
    )
    session.add(row)
    session.flush()
    audit(session, actor=user.email, action="session.start", subject=str(row.id))
    return Started(cookie_value=value, row=row)


def is_live(row: UserSession, now: dt.datetime) -> bool:
    """Whether this session may still be used: not revoked, not idle, not past its lifetime."""
    return row.revoked_at is None and row.expires_at > now and row.last_seen_at + IDLE_TIMEOUT > now


def resolve(
    session: Session, cookie_value: str, *, now: dt.datetime | None = None
) -> tuple[User, UserSession] | None:
    """The active user and live session of a cookie's session id, or None; marks it seen."""
    now = now or utcnow()
    found = session.execute(
        select(User, UserSession)
        .join(UserSession, UserSession.user_id == User.id)
        .where(UserSession.token_hash == _digest(cookie_value))
    ).first()
    if found is None:
        return None
    user, row = found
    if not user.is_active or not is_live(row, now):
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
    return user, row


def end(
    session: Session,
    row: UserSession,
    *,
    actor: str,
    action: str = "session.end",
    now: dt.datetime | None = None,
) -> None:
    """End one session (``session.end`` at sign-out, ``session.revoke`` by the user) and audit
    it."""
    if row.revoked_at is None:
        row.revoked_at = now or utcnow()
        audit(session, actor=actor, action=action, subject=str(row.id))


def live_sessions(
    session: Session, user_id: int, *, now: dt.datetime | None = None
) -> list[UserSession]:
    """The user's live sessions, most recently seen first."""
    now = now or utcnow()
    rows = session.scalars(
        select(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
    )
    return [row for row in rows if is_live(row, now)]


def revoke(session: Session, user: User, session_id: int) -> None:
    """Revoke one of the user's own sessions; another's, or an unknown one, is a 404."""
    row = session.get(UserSession, session_id)
    if row is None or row.user_id != user.id:
        raise InvalidInput("session", "no such session", status=404, code="not_found")
    end(session, row, actor=user.email, action="session.revoke")
