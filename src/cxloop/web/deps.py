"""Request dependencies: the store session, API key checks, the signed-in user."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session

from cxloop.store.db import Database
from cxloop.web.errors import ApiError
from cxloop.workspaces import service as workspaces
from cxloop.workspaces.models import User
from cxloop.workspaces.service import KeyOwner


def get_database(request: Request) -> Database:
    """The app's operational store."""
    db: Database = request.app.state.db
    return db


def get_session(request: Request) -> Iterator[Session]:
    """A store session for the request: committed if the handler succeeds."""
    with get_database(request).session() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def admin_key(
    session: SessionDep, authorization: Annotated[str | None, Header()] = None
) -> KeyOwner:
    """The workspace of a valid ``Authorization: Bearer <admin key>``, else 401."""
    challenge = {"WWW-Authenticate": "Bearer"}
    if not authorization or not authorization.lower().startswith("bearer "):
        raise ApiError(
            401, "unauthorized", "admin key required as Bearer token", "authorization", challenge
        )
    owner = workspaces.resolve_key(session, authorization[7:].strip())
    if owner is None:
        raise ApiError(401, "unauthorized", "unknown or revoked key", "authorization", challenge)
    if owner.kind != "admin":
        raise ApiError(403, "forbidden", "a write key cannot use the admin API", "authorization")
    return owner


AdminDep = Annotated[KeyOwner, Depends(admin_key)]


def signed_in_user(request: Request, session: Session) -> User | None:
    """The console user of this browser session, if any."""
    user_id = request.session.get("user_id")
    if not isinstance(user_id, int):
        return None
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        return None
    return user
