"""Console pages: sign-in, language, workspace switcher, overview."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cxloop import i18n
from cxloop.commerce import service as commerce
from cxloop.errors import InvalidInput
from cxloop.i18n import _
from cxloop.profiles import service as profiles
from cxloop.store.base import utcnow
from cxloop.store.db import Database
from cxloop.surveys import dashboard
from cxloop.surveys import service as feedback
from cxloop.surveys.definitions import (
    SurveyDefinition,
    default_definition,
    parse_definition,
    parse_yaml,
    to_yaml,
)
from cxloop.surveys.schemas import DashboardFilters, VerbatimFilters
from cxloop.themes import Taxonomy, drivers
from cxloop.themes import service as tagging
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


def login_redirect(request: Request) -> RedirectResponse:
    """Send a signed-out visitor to the sign-in page, and back here afterwards."""
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
        return login_redirect(request)
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
        return login_redirect(request)
    if workspaces.role_in(session, user.id, workspace) is None:
        return _redirect("/")
    return _redirect(f"/w/{workspace}/")


@router.get("/w/{workspace_id}/")
def overview(request: Request, session: SessionDep, workspace_id: str) -> Response:
    """A workspace's overview: customers, orders, revenue, revenue by month."""
    user = signed_in_user(request, session)
    if user is None:
        return login_redirect(request)
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
        chart=chart,
    )


def member_workspace(request: Request, session: SessionDep, workspace_id: str) -> Any:
    """The signed-in user, her workspaces and the one asked for (None if not hers)."""
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
    user, mine, current = member_workspace(request, session, workspace_id)
    if user is None:
        return login_redirect(request)
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
    user, mine, current = member_workspace(request, session, workspace_id)
    if user is None:
        return login_redirect(request)
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
        decisions=feedback.decisions_for(session, workspace_id, found.id)[:30],
        taxonomy=tagging.taxonomy_of(session, workspace_id),
    )


# ---------------------------------------------------------------- surveys

EDITORS = ("owner", "analyst")
CATEGORIES = ("detractor", "passive", "promoter")


@router.get("/w/{workspace_id}/surveys")
def surveys(request: Request, session: SessionDep, workspace_id: str) -> Response:
    """The workspace's surveys."""
    user, mine, current = member_workspace(request, session, workspace_id)
    if user is None:
        return login_redirect(request)
    if current is None:
        return render(request, "not_found.html", user, status=404, workspaces=mine)
    rows = [(s, feedback.definition_of(s)) for s in feedback.surveys_of(session, workspace_id)]
    return render(
        request,
        "surveys.html",
        user,
        workspaces=mine,
        workspace=current,
        rows=rows,
        can_edit=_role(session, user, workspace_id) in EDITORS,
    )


def _role(session: SessionDep, user: User, workspace_id: str) -> str | None:
    return workspaces.role_in(session, user.id, workspace_id)


@router.post("/w/{workspace_id}/surveys/defaults")
def add_default_surveys(
    request: Request,
    session: SessionDep,
    workspace_id: str,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Add cxloop's two proposed surveys: after the order and after delivery."""
    csrf.check(request, csrf_token)
    user, mine, current = member_workspace(request, session, workspace_id)
    if user is None or current is None or _role(session, user, workspace_id) not in EDITORS:
        return render(request, "not_found.html", user, status=404, workspaces=mine or [])
    for trigger in ("order_placed", "shipment_delivered"):
        definition = default_definition(trigger)
        if feedback.get_survey(session, workspace_id, definition.key) is None:
            feedback.save_survey(session, workspace_id, definition, actor=user.email)
    return _redirect(f"/w/{workspace_id}/surveys")


def _fraction(percent: Any) -> Any:
    try:
        return float(percent if percent not in (None, "") else 100) / 100
    except (TypeError, ValueError):
        return percent  # left as is: validation names the field


def _form_definition(base: SurveyDefinition, form: dict[str, Any]) -> SurveyDefinition:
    """The definition the editor's fields describe, on top of ``base``."""
    document = base.model_dump(mode="json")
    document["name"] = form.get("name", document["name"])
    document["active"] = form.get("active") == "on"
    document["delay_hours"] = form.get("delay_hours") or 0
    document["channels"] = [c for c in ("email", "link", "widget") if form.get(f"channel_{c}")]
    document["sample_rate"] = _fraction(form.get("sample_percent"))
    document["reminder_after_days"] = form.get("reminder_after_days") or None
    document["send_hours"] = [form.get("send_from") or 9, form.get("send_until") or 20]
    document["limits"]["global_cooldown_days"] = form.get("global_cooldown_days") or 0
    document["limits"]["survey_cooldown_days"] = form.get("survey_cooldown_days") or 0
    for locale in ("fr", "en"):
        texts = document["texts"][locale]
        for name in ("subject", "intro", "question", "low_label", "high_label"):
            if f"{locale}_{name}" in form:
                texts[name] = form[f"{locale}_{name}"]
        for category in CATEGORIES:
            for group in ("followup", "thanks"):
                if f"{locale}_{group}_{category}" in form:
                    texts[group][category] = form[f"{locale}_{group}_{category}"]
    return parse_definition(document)


@router.get("/w/{workspace_id}/surveys/{key}")
def survey_editor(request: Request, session: SessionDep, workspace_id: str, key: str) -> Response:
    """Edit one survey: when it asks, through which channels, and what it says."""
    user, mine, current = member_workspace(request, session, workspace_id)
    if user is None:
        return login_redirect(request)
    survey = feedback.get_survey(session, workspace_id, key) if current else None
    if current is None or survey is None:
        return render(request, "not_found.html", user, status=404, workspaces=mine)
    definition = feedback.definition_of(survey)
    return render(
        request,
        "survey_editor.html",
        user,
        workspaces=mine,
        workspace=current,
        definition=definition,
        yaml_text=to_yaml(definition),
        error=None,
        can_edit=_role(session, user, workspace_id) in EDITORS,
        saved=False,
    )


@router.post("/w/{workspace_id}/surveys/{key}")
async def save_survey(
    request: Request, session: SessionDep, workspace_id: str, key: str
) -> Response:
    """Save the editor's fields, or its YAML."""
    form = dict((await request.form()).items())
    csrf.check(request, str(form.get("csrf_token", "")))
    user, mine, current = member_workspace(request, session, workspace_id)
    if user is None:
        return login_redirect(request)
    survey = feedback.get_survey(session, workspace_id, key) if current else None
    if current is None or survey is None or _role(session, user, workspace_id) not in EDITORS:
        return render(request, "not_found.html", user, status=404, workspaces=mine)
    base = feedback.definition_of(survey)
    try:
        if form.get("mode") == "yaml":
            definition = parse_yaml(str(form.get("yaml", "")))
            if definition.key != key:
                raise InvalidInput("key", "the key cannot change here")
        else:
            definition = _form_definition(base, form)
    except InvalidInput as exc:
        return render(
            request,
            "survey_editor.html",
            user,
            status=422,
            workspaces=mine,
            workspace=current,
            definition=base,
            yaml_text=str(form.get("yaml") or to_yaml(base)),
            error=f"{exc.field}: {exc.message}",
            can_edit=True,
            saved=False,
        )
    feedback.save_survey(session, workspace_id, definition, actor=user.email)
    return render(
        request,
        "survey_editor.html",
        user,
        workspaces=mine,
        workspace=current,
        definition=definition,
        yaml_text=to_yaml(definition),
        error=None,
        can_edit=True,
        saved=True,
    )


# ---------------------------------------------------------------- themes


def _themes_page(
    request: Request,
    session: SessionDep,
    user: User,
    mine: Any,
    current: Any,
    *,
    yaml_text: str | None = None,
    error: str | None = None,
    saved: bool = False,
    status: int = 200,
) -> Response:
    taxonomy = tagging.taxonomy_of(session, current.id)
    return render(
        request,
        "themes.html",
        user,
        status=status,
        workspaces=mine,
        workspace=current,
        taxonomy=taxonomy,
        yaml_text=yaml_text if yaml_text is not None else taxonomy.to_yaml(),
        corrections=tagging.corrections_count(session, current.id),
        error=error,
        saved=saved,
        can_edit=_role(session, user, current.id) in EDITORS,
    )


@router.get("/w/{workspace_id}/themes")
def themes_page(
    request: Request, session: SessionDep, workspace_id: str, saved: int = 0
) -> Response:
    """The workspace's theme taxonomy, readable and editable as YAML."""
    user, mine, current = member_workspace(request, session, workspace_id)
    if user is None:
        return login_redirect(request)
    if current is None:
        return render(request, "not_found.html", user, status=404, workspaces=mine)
    return _themes_page(request, session, user, mine, current, saved=bool(saved))


@router.post("/w/{workspace_id}/themes")
async def save_themes(request: Request, session: SessionDep, workspace_id: str) -> Response:
    """Save the taxonomy's YAML, then tag the history again in a worker."""
    form = await request.form()
    csrf.check(request, str(form.get("csrf_token", "")))
    user, mine, current = member_workspace(request, session, workspace_id)
    if user is None:
        return login_redirect(request)
    if current is None or _role(session, user, workspace_id) not in EDITORS:
        return render(request, "not_found.html", user, status=404, workspaces=mine)
    text = str(form.get("yaml", ""))
    try:
        taxonomy = Taxonomy.from_yaml(text)
    except InvalidInput as exc:
        message = f"{exc.field}: {exc.message}"
        return _themes_page(
            request, session, user, mine, current, yaml_text=text, error=message, status=422
        )
    db: Database = request.app.state.db
    with db.session() as writing:  # committed before the re-tag is handed over
        tagging.save_taxonomy(writing, workspace_id, taxonomy, actor=user.email)
    request.app.state.on_taxonomy(workspace_id)
    return _redirect(f"/w/{workspace_id}/themes?saved=1")


# ---------------------------------------------------------------- NPS dashboard


@router.post("/w/{workspace_id}/nps/responses/{response_id}/themes")
async def correct_themes(
    request: Request, session: SessionDep, workspace_id: str, response_id: int
) -> Response:
    """Set a verbatim's themes by hand: kept as an example the workspace's tagger learns from."""
    form = await request.form()
    csrf.check(request, str(form.get("csrf_token", "")))
    user, mine, current = member_workspace(request, session, workspace_id)
    if user is None:
        return login_redirect(request)
    if current is None or _role(session, user, workspace_id) not in EDITORS:
        return render(request, "not_found.html", user, status=404, workspaces=mine)
    themes = [str(value) for value in form.getlist("themes")]
    db: Database = request.app.state.db
    try:
        with db.session() as writing:  # committed before the model is retrained
            tagging.correct(writing, workspace_id, response_id, themes, actor=user.email)
    except InvalidInput:
        return render(request, "not_found.html", user, status=404, workspaces=mine)
    request.app.state.on_correction(workspace_id)
    back = str(form.get("back", ""))
    return _redirect(
        back if back.startswith(f"/w/{workspace_id}/nps") else f"/w/{workspace_id}/nps"
    )


PERIODS = {"90d": 90, "180d": 180, "365d": 365, "730d": 730}
DIMENSIONS = ("touchpoint", "channel", "locale", "country", "product_category", "segment")


@router.get("/w/{workspace_id}/nps")
def nps_dashboard(
    request: Request,
    session: SessionDep,
    workspace_id: str,
    period: str = "365d",
    granularity: str = "month",
    category: str = "",
    q: str = "",
    channel: str = "",
    touchpoint: str = "",
    page: int = 1,
    by: str = "touchpoint",
    theme: str = "",
) -> Response:
    """The NPS dashboard: score and interval, trend, distribution, funnel, breakdowns, verbatims.

    One breakdown at a time (``by``, a tab): each is a pass over the answers.
    """
    user, mine, current = member_workspace(request, session, workspace_id)
    if user is None:
        return login_redirect(request)
    if current is None:
        return render(request, "not_found.html", user, status=404, workspaces=mine)
    days = PERIODS.get(period, 365)
    grain = "week" if granularity == "week" else "month"
    filters = DashboardFilters(
        start=utcnow() - dt.timedelta(days=days),
        channel=channel if channel in ("email", "link", "widget") else None,
        touchpoint=touchpoint if touchpoint in ("after_order", "after_delivery") else None,
    )
    taxonomy = tagging.taxonomy_of(session, workspace_id)
    which = VerbatimFilters(
        category=category if category in ("detractor", "passive", "promoter") else None,
        text=q[:200] or None,
        theme=theme if theme in taxonomy.keys else None,
    )
    # Why they score so: each theme's cost among detractors and weight among promoters, and
    # its weekly share over the last twelve weeks with the spikes marked.
    why = drivers.drivers_for(
        session,
        workspace_id,
        since=filters.start,
        channel=filters.channel,
        touchpoint=filters.touchpoint,
        theme_keys=taxonomy.keys,
    )
    themes_trend = drivers.trend_for(
        session,
        workspace_id,
        weeks=12,
        channel=filters.channel,
        touchpoint=filters.touchpoint,
        theme_keys=taxonomy.keys,
    )
    spiked = {(s.theme, s.period_start) for s in drivers.spikes(themes_trend)}
    mentioned = [d for d in why.drivers if d.mentions]
    page = max(page, 1)
    overview = dashboard.overview(session, workspace_id, filters)
    trend = dashboard.trend(session, workspace_id, filters, granularity=grain)  # type: ignore[arg-type]
    chart = {
        "labels": [p.period_start.isoformat() for p in trend.points],
        "nps": [p.summary.nps for p in trend.points],
        "low": [p.summary.ci95[0] if p.summary.ci95 else None for p in trend.points],
        "high": [p.summary.ci95[1] if p.summary.ci95 else None for p in trend.points],
        "significant": [bool(p.vs_previous and p.vs_previous.significant) for p in trend.points],
        "distribution": [d.count for d in overview.distribution],
        "npsLabel": _("NPS"),
        "intervalLabel": _("Confidence interval"),
        "answersLabel": _("Answers"),
        "drivers": {
            "labels": [taxonomy.theme(d.theme).label(i18n.current_locale.get()) for d in mentioned],
            "impact": [-round(d.impact, 1) for d in mentioned],
            "lift": [round(d.promoter_lift, 1) for d in mentioned],
            "impactLabel": _("NPS points lost to detractors"),
            "liftLabel": _("NPS points carried by promoters"),
        },
    }
    return render(
        request,
        "nps.html",
        user,
        workspaces=mine,
        workspace=current,
        overview=overview,
        trend=trend,
        chart=chart,
        funnel=dashboard.funnel(session, workspace_id, filters),
        dimensions=DIMENSIONS,
        by=by if by in DIMENSIONS else "touchpoint",
        breakdown=dashboard.breakdown(
            session,
            workspace_id,
            by if by in DIMENSIONS else "touchpoint",  # type: ignore[arg-type]
            filters,
        ),
        verbatims=dashboard.verbatims(
            session, workspace_id, filters, which, offset=(page - 1) * 20, limit=20
        ),
        taxonomy=taxonomy,
        why=why,
        mentioned=mentioned,
        themes_trend=themes_trend,
        spiked=spiked,
        theme=which.theme or "",
        can_edit=_role(session, user, workspace_id) in EDITORS,
        here=str(request.url.path) + ("?" + request.url.query if request.url.query else ""),
        period=period if period in PERIODS else "365d",
        granularity=grain,
        category=which.category or "",
        q=q,
        channel=filters.channel or "",
        touchpoint=filters.touchpoint or "",
        page=page,
    )
