"""Request dependencies: the store session, API key checks, the signed-in member."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from cxloop.errors import InvalidInput
from cxloop.store.db import Database
from cxloop.web import csrf
from cxloop.workspaces import service as workspaces
from cxloop.workspaces import sessions
from cxloop.workspaces.models import User, UserSession, Workspace
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
        raise InvalidInput(
            "authorization",
            "admin key required as Bearer token",
            status=401,
            code="unauthorized",
            headers=challenge,
        )
    owner = workspaces.resolve_key(session, authorization[7:].strip())
    if owner is None:
        raise InvalidInput(
            "authorization",
            "unknown or revoked key",
            status=401,
            code="unauthorized",
            headers=challenge,
        )
    if owner.kind != "admin":
        raise InvalidInput(
            "authorization", "a write key cannot use the admin API", status=403, code="forbidden"
        )
    return owner


AdminDep = Annotated[KeyOwner, Depends(admin_key)]


SESSION_ID = "sid"  # the signed cookie's entry holding the server-side session's id


def client_address(request: Request) -> str:
    """The client's address as the server sees it (behind a proxy, as the proxy reports it)."""
    return request.client.host if request.client is not None else ""


def signed_in(request: Request, session: Session) -> tuple[User, UserSession] | None:
    """The console user of this browser and her live server-side session, if any."""
    value = request.session.get(SESSION_ID)
    if not isinstance(value, str):
        return None
    return sessions.resolve(session, value)


def signed_in_user(request: Request, session: Session) -> User | None:
    """The console user of this browser session, if any: only while its session is live."""
    found = signed_in(request, session)
    return found[0] if found is not None else None


EDITORS = ("owner", "analyst")


class SignInRequired(Exception):  # noqa: N818  (a signal, handled in web.errors)
    """The page needs a signed-in user: the handler sends the browser to the sign-in page."""


@dataclass(frozen=True)
class Named:
    """What the page header shows of a user or a workspace, read before the session closes."""

    id: object
    name: str
    email: str = ""


class PageNotFound(Exception):  # noqa: N818
    """The page does not exist for this user (or the workspace is not hers): a 404 page.

    Rendered by a handler after the request's session has closed, so it keeps plain copies.
    """

    def __init__(self, user: User | None, workspaces: list[tuple[Workspace, str]]) -> None:
        super().__init__("not found")
        self.user = Named(user.id, user.name, user.email) if user is not None else None
        self.workspaces = [(Named(w.id, w.name), role) for w, role in workspaces]


@dataclass(frozen=True)
class Member:
    """The signed-in user on one of her workspaces, with her role there."""

    user: User
    workspaces: list[tuple[Workspace, str]]
    workspace: Workspace
    role: str

    @property
    def can_edit(self) -> bool:
        """Owners and analysts change settings; agents only read."""
        return self.role in EDITORS

    def not_found(self) -> PageNotFound:
        """The 404 page for something of this workspace that does not exist."""
        return PageNotFound(self.user, self.workspaces)


def member(request: Request, session: SessionDep, workspace_id: str) -> Member:
    """The signed-in member of the workspace in the path; else sign-in, or a 404 page."""
    user = signed_in_user(request, session)
    if user is None:
        raise SignInRequired
    mine = workspaces.workspaces_of(session, user.id)
    for workspace, role in mine:
        if workspace.id == workspace_id:
            return Member(user=user, workspaces=mine, workspace=workspace, role=role)
    raise PageNotFound(user, mine)


MemberDep = Annotated[Member, Depends(member)]


def editor(current: MemberDep) -> Member:
    """A member who may change the workspace's settings (owner or analyst); else a 404 page."""
    if not current.can_edit:
        raise current.not_found()
    return current


EditorDep = Annotated[Member, Depends(editor)]


async def form_with_csrf(request: Request) -> FormData:
    """The posted form, once its CSRF token is checked (403 otherwise)."""
    form = await request.form()
    csrf.check(request, str(form.get("csrf_token", "")))
    return form


CsrfFormDep = Annotated[FormData, Depends(form_with_csrf)]


def write_key_workspace(
    request: Request,
    given: object,
    authorization: str | None,
    headers: Mapping[str, str] | None = None,
) -> str:
    """The workspace of a store page's write key: the Basic-auth user name, else ``given`` (the
    body's or the query's ``writeKey``); a 401 naming ``writeKey`` otherwise (with ``headers``,
    e.g. CORS, so that the page can read it)."""
    key: str | None = None
    if authorization and authorization.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        key = decoded.partition(":")[0] or None
    if key is None and isinstance(given, str):
        key = given
    extra = dict(headers or {})
    if not key or len(key) > 200:
        raise InvalidInput(
            "writeKey", "write key required", status=401, code="unauthorized", headers=extra
        )
    workspace_id: str | None = request.app.state.write_keys.workspace_of(key)
    if workspace_id is None:
        raise InvalidInput(
            "writeKey", "unknown write key", status=401, code="unauthorized", headers=extra
        )
    return workspace_id


def cors_preflight(headers: Mapping[str, str]) -> Response:
    """The answer to a browser's CORS preflight for a store page's calls (the SDK's, the
    widget's): POST with a JSON body, from any origin, remembered for a day."""
    return Response(
        status_code=204,
        headers={
            **headers,
            "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
            "Access-Control-Allow-Headers": "Content-Type, Authorization",
            "Access-Control-Max-Age": "86400",
        },
    )


def page_text(value: object, field: str, limit: int, headers: Mapping[str, str]) -> str | None:
    """A text a store page posted: None when missing or blank, else at most ``limit``
    characters, or a 422 naming ``field`` (with ``headers``, e.g. CORS)."""
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise InvalidInput(field, f"a text of at most {limit} characters", headers=dict(headers))
    return value.strip() or None
