"""Console pages: the Jinja2 environment (autoescaped, translated, locale-aware filters),
rendering with the common context, and the sign-in and not-found answers."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from babel.dates import format_date, format_datetime, format_skeleton
from babel.numbers import format_currency, format_decimal, format_percent
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape

from cxloop import i18n
from cxloop.themes import Taxonomy
from cxloop.web import csrf, labels
from cxloop.web.deps import Member, Named, PageNotFound, SignInRequired
from cxloop.workspaces.models import User

TEMPLATES = Path(__file__).parent / "templates"
FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _money(value: float, currency: str = "EUR") -> str:
    return format_currency(value, currency, locale=i18n.current_locale.get())


def _number(value: float) -> str:
    return format_decimal(value, locale=i18n.current_locale.get())


def _datetime(value: dt.datetime) -> str:
    return format_datetime(value, format="medium", locale=i18n.current_locale.get())


def period_label(value: dt.date | str, grain: str = "month") -> str:
    """A month ("nov. 2026", from a date or "2026-11"), a week's first day ("2 nov. 2026") or,
    short, a day ("2 nov.") in the reader's locale."""
    locale = i18n.current_locale.get()
    day = dt.date.fromisoformat(f"{value}-01") if isinstance(value, str) else value
    if grain == "day":
        return format_skeleton("MMMd", day, locale=locale)
    if grain == "week":
        return format_date(day, format="medium", locale=locale)
    return format_skeleton("yMMM", day, locale=locale)


def _decimal(value: float, signed: bool = False) -> str:
    """One decimal in the reader's locale ("6,8" in French), with its sign when asked."""
    text = format_decimal(abs(value), format="#,##0.0", locale=i18n.current_locale.get())
    if signed or value < 0:
        return ("+" if value >= 0 else "−") + text
    return text


def _percent(value: float) -> str:
    return format_percent(value, format="#,##0.0%", locale=i18n.current_locale.get())


def _theme_label(key: str, taxonomy: Taxonomy) -> str:
    """A theme's name in the reader's language (its key when the taxonomy no longer has it)."""
    try:
        return taxonomy.theme(key).label(i18n.current_locale.get())
    except KeyError:
        return key


def build_templates() -> Jinja2Templates:
    """The console's templates, with gettext bound to the request's locale."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "xml"], default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        auto_reload=False,
    )
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters["money"] = _money
    env.filters["number"] = _number
    env.filters["percent"] = _percent
    env.filters["decimal"] = _decimal
    env.filters["datetime"] = _datetime
    env.filters["period"] = period_label
    env.filters["theme_label"] = _theme_label
    env.filters["label"] = labels.label
    return Jinja2Templates(env=env)


def render(
    request: Request, template: str, user: User | Named | None, status: int = 200, **context: Any
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


def page(
    request: Request, template: str, member: Member, status: int = 200, **context: Any
) -> HTMLResponse:
    """Render a page of the member's workspace (the switcher needs her workspaces, the
    navigation whether she may change settings)."""
    return render(
        request,
        template,
        member.user,
        status,
        workspaces=member.workspaces,
        workspace=member.workspace,
        editor=member.can_edit,
        **context,
    )


def csv_response(name: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Response:
    """A CSV download ``name``.csv: a header row, then plain values (codes, dots for decimals,
    ISO dates, empty for none), whatever the reader's language."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(_plain(value) for value in row)
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


def _plain(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(FORMULA):
        return "'" + value  # a spreadsheet would run a cell starting so as a formula
    return value


def redirect(url: str) -> RedirectResponse:
    """A 303 to ``url``: after a form, the browser GETs it."""
    return RedirectResponse(url, status_code=303)


def login_redirect(request: Request) -> RedirectResponse:
    """Send a signed-out visitor to the sign-in page, and back here afterwards."""
    return redirect(f"/login?next={request.url.path}")


def install(app: FastAPI) -> None:
    """Answer ``SignInRequired`` and ``PageNotFound`` from any console page."""

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, _exc: SignInRequired) -> Response:
        return login_redirect(request)

    @app.exception_handler(PageNotFound)
    async def _not_found(request: Request, exc: PageNotFound) -> Response:
        return render(request, "not_found.html", exc.user, 404, workspaces=exc.workspaces)
