"""Console pages: sign-in, language, workspace switcher, overview."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cxloop import i18n
from cxloop.commerce import service as commerce
from cxloop.i18n import _
from cxloop.profiles import service as profiles
from cxloop.web import csrf
from cxloop.web.deps import SessionDep, signed_in_user
from cxloop.workspaces import service as workspaces
from cxloop.workspaces.models import User

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    # Only same-site paths: an open redirect would let a phishing link borrow our login.
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    parts = urlsplit(target)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _login_redirect(request: Request) -> RedirectResponse:
    return _redirect(f"/login?next={request.url.path}")


def render(
    request: Request, template: str, user: User | None, status: int = 200, **context: Any
) -> HTMLResponse:
    """Render a console page with the common context (locale, user, CSRF token)."""
    templates = request.app.state.templates
    response: HTMLResponse = templates.TemplateResponse(
        request,
        template,
        {
            "user": user,
            "locale": i18n.current_locale.get(),
            "csrf_token": csrf.token(request),
            **context,
        },
        status_code=status,
    )
    return response


@router.get("/login")
def login_page(request: Request, session: SessionDep, next: str = "/") -> Response:
    """The sign-in form."""
    if signed_in_user(request, session) is not None:
        return _redirect(_safe_next(next))
    return render(request, "login.html", None, next=_safe_next(next), error=None)


@router.post("/login")
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
        return render(
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
    return _redirect(_safe_next(next))


@router.post("/logout")
def logout(request: Request, csrf_token: Annotated[str, Form()] = "") -> Response:
    """End the session."""
    csrf.check(request, csrf_token)
    request.session.clear()
    return _redirect("/login")


@router.post("/lang")
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
    return _redirect(_safe_next(next))


@router.get("/")
def home(request: Request, session: SessionDep) -> Response:
    """The first workspace's overview, or a page saying there is none yet."""
    user = signed_in_user(request, session)
    if user is None:
        return _login_redirect(request)
    mine = workspaces.workspaces_of(session, user.id)
    remembered = request.session.get("workspace_id")
    for workspace, _role in mine:
        if workspace.id == remembered:
            return _redirect(f"/w/{workspace.id}/")
    if mine:
        return _redirect(f"/w/{mine[0][0].id}/")
    return render(request, "no_workspace.html", user, workspaces=[])


@router.get("/switch")
def switch(request: Request, session: SessionDep, workspace: str = "") -> Response:
    """Go to another of the user's workspaces."""
    user = signed_in_user(request, session)
    if user is None:
        return _login_redirect(request)
    if workspaces.role_in(session, user.id, workspace) is None:
        return _redirect("/")
    return _redirect(f"/w/{workspace}/")


@router.get("/w/{workspace_id}/")
def overview(request: Request, session: SessionDep, workspace_id: str) -> Response:
    """A workspace's overview: customers, orders, revenue, revenue by month."""
    user = signed_in_user(request, session)
    if user is None:
        return _login_redirect(request)
    mine = workspaces.workspaces_of(session, user.id)
    current = next((w for w, _role in mine if w.id == workspace_id), None)
    if current is None:
        return render(request, "not_found.html", user, status=404, workspaces=mine)
    request.session["workspace_id"] = workspace_id
    figures = commerce.overview(session, workspace_id)
    chart = {
        "labels": [m.month for m in figures.months],
        "revenue": [m.revenue for m in figures.months],
        "orders": [m.orders for m in figures.months],
        "currency": figures.currency,
        "locale": i18n.current_locale.get(),
        "revenueLabel": _("Revenue"),
        "ordersLabel": _("Orders"),
    }
    return render(
        request,
        "overview.html",
        user,
        workspaces=mine,
        workspace=current,
        figures=figures,
        chart_json=json.dumps(chart),
    )


def _member_workspace(request: Request, session: SessionDep, workspace_id: str) -> Any:
    user = signed_in_user(request, session)
    if user is None:
        return None, None, None
    mine = workspaces.workspaces_of(session, user.id)
    current = next((w for w, _role in mine if w.id == workspace_id), None)
    return user, mine, current


@router.get("/w/{workspace_id}/customers")
def customers(
    request: Request, session: SessionDep, workspace_id: str, q: str = "", page: int = 1
) -> Response:
    """The customer list, searchable by email, name, user id or phone."""
    user, mine, current = _member_workspace(request, session, workspace_id)
    if user is None:
        return _login_redirect(request)
    if current is None:
        return render(request, "not_found.html", user, status=404, workspaces=mine)
    page = max(page, 1)
    rows = profiles.search_customers(
        session, workspace_id, q[:200], limit=51, offset=(page - 1) * 50
    )
    return render(
        request,
        "customers.html",
        user,
        workspaces=mine,
        workspace=current,
        rows=rows[:50],
        q=q,
        page=page,
        has_next=len(rows) > 50,
    )


@router.get("/w/{workspace_id}/customers/{customer_id}")
def customer(
    request: Request, session: SessionDep, workspace_id: str, customer_id: int
) -> Response:
    """One customer: identities, figures, and the timeline of events, orders and parcels."""
    user, mine, current = _member_workspace(request, session, workspace_id)
    if user is None:
        return _login_redirect(request)
    found = profiles.get_customer(session, workspace_id, customer_id) if current else None
    if current is None or found is None:
        return render(request, "not_found.html", user, status=404, workspaces=mine)
    return render(
        request,
        "customer.html",
        user,
        workspaces=mine,
        workspace=current,
        profile=profiles.customer_360(session, workspace_id, found, recent=0),
        name=" ".join(p for p in (found.first_name, found.last_name) if p),
        entries=profiles.timeline(session, workspace_id, found.id),
    )
