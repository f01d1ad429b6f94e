"""Workspaces over HTTP: console sign-in (throttled) and sign-out, the user's own sessions,
language and workspace switching; the key's workspace in the admin API."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from cxloop import i18n
from cxloop.errors import InvalidInput
from cxloop.i18n import _
from cxloop.web import csrf, templating
from cxloop.web.deps import (
    SESSION_ID,
    AdminDep,
    CsrfFormDep,
    SessionDep,
    client_address,
    signed_in,
    signed_in_user,
)
from cxloop.workspaces import service as workspaces
from cxloop.workspaces import sessions, throttle
from cxloop.workspaces.models import User, UserSession, Workspace
from cxloop.workspaces.schemas import SessionPublic, WorkspacePublic

api = APIRouter(prefix="/api/v1", tags=["admin"])
pages = APIRouter(include_in_schema=False)
routers = (api, pages)


@api.get("/workspace", response_model=WorkspacePublic)
def current_workspace(owner: AdminDep, session: SessionDep) -> WorkspacePublic:
    """The workspace this admin key belongs to."""
    workspace = session.get(Workspace, owner.workspace_id)
    if workspace is None:
        raise InvalidInput("authorization", "workspace is gone", status=404, code="not_found")
    return WorkspacePublic.model_validate(workspace, from_attributes=True)


def _safe_next(target: str | None) -> str:
    # Only same-site paths: an open redirect would let a phishing link borrow our login.
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    parts = urlsplit(target)
    return parts.path + (f"?{parts.query}" if parts.query else "")


@pages.get("/login")
def login_page(request: Request, session: SessionDep, next: str = "/") -> Response:
    """The sign-in form."""
    if signed_in_user(request, session) is not None:
        return templating.redirect(_safe_next(next))
    return templating.render(request, "login.html", None, next=_safe_next(next), error=None)


@pages.post("/login")
def login(
    request: Request,
    session: SessionDep,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Check the password (unless the account or address is throttled), start a server-side
    session, go where the user was heading."""
    csrf.check(request, csrf_token)
    ip = client_address(request)
    keys = [throttle.account_key(email), throttle.address_key(ip)]
    wait = throttle.retry_after(session, keys)
    if wait:
        return _throttled(request, email, next, wait)
    user = workspaces.authenticate(session, email, password)
    if user is None:
        throttle.failed(session, keys)
        return templating.render(
            request,
            "login.html",
            None,
            status=401,
            next=_safe_next(next),
            error=_("Wrong email or password."),
            email=email,
        )
    throttle.succeeded(session, email)
    previous = signed_in(request, session)
    if previous is not None:
        sessions.end(session, previous[1], actor=previous[0].email)
    started = sessions.start(session, user, user_agent=request.headers.get("user-agent", ""), ip=ip)
    chosen = request.session.get("lang")
    request.session.clear()  # a fresh session on sign-in: no fixation
    request.session[SESSION_ID] = started.cookie_value
    if user.locale:
        request.session["lang"] = user.locale
    elif chosen in i18n.LOCALES:
        request.session["lang"] = chosen
    return templating.redirect(_safe_next(next))


def _throttled(request: Request, email: str, next: str, wait: int) -> Response:
    """The sign-in page again, saying how long to wait (429 with ``Retry-After``)."""
    minutes = max(1, -(-wait // 60))
    page = templating.render(
        request,
        "login.html",
        None,
        status=429,
        next=_safe_next(next),
        error=i18n.ngettext(
            "Too many failed sign-ins. Try again in %(num)d minute.",
            "Too many failed sign-ins. Try again in %(num)d minutes.",
            minutes,
        )
        % {"num": minutes},
        error_code="too_many_attempts",
        email=email,
    )
    page.headers["Retry-After"] = str(wait)
    return page


@pages.post("/logout")
def logout(
    request: Request, session: SessionDep, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    """End the session, on the server too: a copy of the cookie no longer signs in."""
    csrf.check(request, csrf_token)
    current = signed_in(request, session)
    if current is not None:
        sessions.end(session, current[1], actor=current[0].email)
    request.session.clear()
    return templating.redirect("/login")


def _account(request: Request, session: Session) -> tuple[User, UserSession]:
    current = signed_in(request, session)
    if current is None:
        raise InvalidInput("session", "sign in first", status=401, code="unauthorized")
    return current


@pages.get("/account/sessions")
def my_sessions(request: Request, session: SessionDep) -> Response:
    """The signed-in user's live console sessions, the current one marked."""
    user, current = _account(request, session)
    rows = [
        SessionPublic.model_validate(row, from_attributes=True).model_copy(
            update={"current": row.id == current.id}
        )
        for row in sessions.live_sessions(session, user.id)
    ]
    return JSONResponse(
        [row.model_dump(mode="json") for row in rows], headers={"Cache-Control": "no-store"}
    )


@pages.post("/account/sessions/{session_id}/revoke")
def revoke_session(
    request: Request, session: SessionDep, _form: CsrfFormDep, session_id: int
) -> Response:
    """End one of the user's sessions (another device's, or this one: then signed out)."""
    user, current = _account(request, session)
    sessions.revoke(session, user, session_id)
    if session_id == current.id:
        request.session.clear()
    return JSONResponse({"revoked": session_id}, headers={"Cache-Control": "no-store"})


@pages.post("/lang")
def set_language(
    request: Request,
    session: SessionDep,
    lang: Annotated[str, Form()],
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Switch the console language; it sticks to the user's account."""
    csrf.check(request, csrf_token)
    if lang not in i18n.LOCALES:
        lang = i18n.current_locale.get()
    request.session["lang"] = lang
    user = signed_in_user(request, session)
    if user is not None:
        user.locale = lang
    return templating.redirect(_safe_next(next))


@pages.get("/")
def home(request: Request, session: SessionDep) -> Response:
    """The first workspace's overview, or a page saying there is none yet."""
    user = signed_in_user(request, session)
    if user is None:
        return templating.login_redirect(request)
    mine = workspaces.workspaces_of(session, user.id)
    remembered = request.session.get("workspace_id")
    for workspace, _role in mine:
        if workspace.id == remembered:
            return templating.redirect(f"/w/{workspace.id}/")
    if mine:
        return templating.redirect(f"/w/{mine[0][0].id}/")
    return templating.render(request, "no_workspace.html", user, workspaces=[])


@pages.get("/switch")
def switch(request: Request, session: SessionDep, workspace: str = "") -> Response:
    """Go to another of the user's workspaces."""
    user = signed_in_user(request, session)
    if user is None:
        return templating.login_redirect(request)
    if workspaces.role_in(session, user.id, workspace) is None:
        return templating.redirect("/")
    return templating.redirect(f"/w/{workspace}/")
