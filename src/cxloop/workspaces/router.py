"""Workspaces over HTTP: console sign-in, language and workspace switching; the key's workspace
in the admin API."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from cxloop import i18n
from cxloop.errors import InvalidInput
from cxloop.i18n import _
from cxloop.web import csrf, templating
from cxloop.web.deps import AdminDep, SessionDep, signed_in_user
from cxloop.workspaces import service as workspaces
from cxloop.workspaces.models import Workspace
from cxloop.workspaces.schemas import WorkspacePublic

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
    """Check the password, start a session, go where the user was heading."""
    csrf.check(request, csrf_token)
    user = workspaces.authenticate(session, email, password)
    if user is None:
        return templating.render(
            request,
            "login.html",
            None,
            status=401,
            next=_safe_next(next),
            error=_("Wrong email or password."),
            email=email,
        )
    chosen = request.session.get("lang")
    request.session.clear()  # a fresh session on sign-in: no fixation
    request.session["user_id"] = user.id
    if user.locale:
        request.session["lang"] = user.locale
    elif chosen in i18n.LOCALES:
        request.session["lang"] = chosen
    return templating.redirect(_safe_next(next))


@pages.post("/logout")
def logout(request: Request, csrf_token: Annotated[str, Form()] = "") -> Response:
    """End the session."""
    csrf.check(request, csrf_token)
    request.session.clear()
    return templating.redirect("/login")


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
