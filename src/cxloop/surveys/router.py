"""Surveys over HTTP: the hosted survey page (`/s/{token}`, with `?score=N` from the email's
buttons) and widget, the console's survey editor and NPS dashboard, and the admin API."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Body, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from sqlalchemy.orm import Session

from cxloop import alerts, i18n, inputs, profiles, signing, themes, workspaces
from cxloop import themes as drivers
from cxloop.errors import InvalidInput
from cxloop.i18n import _
from cxloop.store.base import utcnow
from cxloop.store.db import Database
from cxloop.surveys import dashboard, flows, service
from cxloop.surveys.definitions import (
    SurveyDefinition,
    default_definition,
    parse_definition,
    parse_yaml,
    to_yaml,
)
from cxloop.surveys.models import Invitation, Survey
from cxloop.surveys.models import Response as Answer
from cxloop.surveys.schemas import (
    CHANNELS,
    DashboardFilters,
    LinkRequest,
    PersonalLinkOut,
    VerbatimFilters,
)
from cxloop.web import templating
from cxloop.web.deps import AdminDep, CsrfFormDep, EditorDep, Member, MemberDep, SessionDep
from cxloop.web.limits import SURVEY_POST_LIMITS, WIDGET_LIMITS
from cxloop.workspaces import get_workspace

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["admin"])
routers = (api, pages)


def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def form_key(request: Request, token: str) -> str:
    """A per-invitation key the page's forms carry: a POST from another site cannot forge it."""
    secret = request.app.state.settings.resolved_secret_key().encode()
    return signing.sign(secret, f"survey:{token}".encode())[:32]


def _page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    response: HTMLResponse = request.app.state.templates.TemplateResponse(
        request, template, {"locale": i18n.current_locale.get(), **context}, status_code=status
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def _context(session: Session, invitation: Invitation) -> dict[str, Any]:
    survey = session.get(Survey, invitation.survey_id)
    workspace = get_workspace(session, invitation.workspace_id)
    store = workspace.name if workspace else ""
    if survey is None:
        return {"store": store}
    return _texts(service.definition_of(survey), invitation.locale, store)


def _texts(definition: SurveyDefinition, locale: str, store: str) -> dict[str, Any]:
    """What the survey page says, in the invitation's language."""
    texts = definition.texts["fr" if locale == "fr" else "en"]
    return {
        "store": store,
        "question": texts.question.replace("{store}", store),
        "low_label": texts.low_label,
        "high_label": texts.high_label,
        "followups": texts.followup,
        "thanks": texts.thanks,
    }


def _score(value: object) -> int | None:
    # ASCII digits only: "٩" and a 5,000-digit number are refused like any other non-score.
    return inputs.score(value, "score")


@pages.get("/s/{token}")
def survey_page(request: Request, token: str, score: str | None = None) -> Response:
    """The survey page; a score in the link is recorded as provisional (scanners open links)."""
    with _db(request).session() as session:
        invitation = service.invitation_by_token(session, token)
        if invitation is None:
            return _page(request, "survey_closed.html", 404, reason="unknown")
        with i18n.speaking(invitation.locale):
            context = _context(session, invitation)
            try:
                chosen = _score(score)
            except InvalidInput:
                chosen = None
            existing = session.query(Answer).filter_by(invitation_id=invitation.id).one_or_none()
            if chosen is not None:
                try:
                    answer = service.record_answer(
                        session,
                        invitation,
                        chosen,
                        confirmed=False,
                        tag=themes.tags_for,
                        on_confirmed=alerts.alert_after_commit,
                    )
                    existing = answer.response
                except service.SurveyClosed:
                    return _page(request, "survey_closed.html", 410, reason="expired", **context)
            elif utcnow() > invitation.expires_at:
                return _page(request, "survey_closed.html", 410, reason="expired", **context)
            current = existing.score if existing is not None else None
            return _page(
                request,
                "survey.html",
                token=token,
                key=form_key(request, token),
                score=current,
                comment=existing.comment if existing else "",
                category=service.category_of(current) if current is not None else None,
                confirmed=existing is not None and existing.status == "confirmed",
                **context,
            )


@pages.post("/s/{token}", dependencies=SURVEY_POST_LIMITS)
def survey_answer(
    request: Request,
    token: str,
    score: Annotated[str, Form()],
    key: Annotated[str, Form()] = "",
    comment: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    """A person's answer: the score confirmed, with the comment if any."""
    if not signing.matches(key, form_key(request, token)):
        raise InvalidInput("key", "bad form key", status=403, code="forbidden")
    chosen = _score(score)
    if chosen is None:
        raise InvalidInput("score", "choose a score from 0 to 10")
    with _db(request).session() as session:
        invitation = service.invitation_by_token(session, token)
        if invitation is None:
            return _page(request, "survey_closed.html", 404, reason="unknown")
        with i18n.speaking(invitation.locale):
            context = _context(session, invitation)
            try:
                # The form is the person's last word: its alerts go out at once (once each).
                answer = service.record_answer(
                    session,
                    invitation,
                    chosen,
                    confirmed=True,
                    comment=comment,
                    final=True,
                    tag=themes.tags_for,
                    on_confirmed=alerts.alert_after_commit,
                )
            except service.SurveyClosed:
                return _page(request, "survey_closed.html", 410, reason="expired", **context)
            category = answer.response.category
            return _page(
                request,
                "survey_thanks.html",
                category=category,
                **{**context, "thanks": context.get("thanks", {}).get(category, "")},
            )


@pages.post("/s/{token}/seen", dependencies=SURVEY_POST_LIMITS)
def survey_seen(
    request: Request, token: str, payload: Annotated[dict[str, Any], Body()]
) -> Response:
    """The page's script reports a person (a real interaction): the score becomes an answer."""
    if not signing.matches(str(payload.get("key", "")), form_key(request, token)):
        raise InvalidInput("key", "bad form key", status=403, code="forbidden")
    chosen = _score(payload.get("score"))
    if chosen is None:
        raise InvalidInput("score", "choose a score from 0 to 10")
    with _db(request).session() as session:
        invitation = service.invitation_by_token(session, token)
        if invitation is None:
            raise InvalidInput("token", "unknown survey", status=404, code="not_found")
        try:
            # Confirmed, but a comment may follow: its alerts wait a little for it.
            answer = service.record_answer(
                session,
                invitation,
                chosen,
                confirmed=True,
                tag=themes.tags_for,
                on_confirmed=alerts.alert_after_commit,
            )
        except service.SurveyClosed as exc:
            raise InvalidInput("token", str(exc), status=410, code="closed") from None
        category = answer.response.category
    return JSONResponse(
        {"ok": True, "category": category}, headers={"Access-Control-Allow-Origin": "*"}
    )


# ---------------------------------------------------------------- on-site widget


@pages.post("/widget/v1/nps", dependencies=WIDGET_LIMITS)
def widget_decide(request: Request, payload: Annotated[dict[str, Any], Body()]) -> Response:
    """Whether the store's page should show the NPS widget to this visitor, and what it says.

    Called by ``/static/widget/nps.js`` with the write key; answers with an open widget
    invitation for the customer (planned by the same rules as email: throttling, suppression,
    consent) or ``{"show": false}``.
    """
    cors = {"Access-Control-Allow-Origin": "*"}
    key = payload.get("writeKey")
    workspace_id = request.app.state.write_keys.workspace_of(key) if isinstance(key, str) else None
    if workspace_id is None:
        raise InvalidInput(
            "writeKey", "unknown write key", status=401, code="unauthorized", headers=cors
        )
    user_id = payload.get("userId")
    if isinstance(user_id, str):
        inputs.text(user_id, "userId", 200)
    if not isinstance(user_id, str) or not user_id:
        return JSONResponse({"show": False}, headers=cors)
    with _db(request).session() as session:
        invitation = service.widget_invitation(session, workspace_id, user_id, utcnow())
        if invitation is None:
            return JSONResponse({"show": False}, headers=cors)
        context = _context(session, invitation)
        token = invitation.token
    return JSONResponse(
        {
            "show": True,
            "token": token,
            "key": form_key(request, token),
            "question": context.get("question", ""),
            "low_label": context.get("low_label", ""),
            "high_label": context.get("high_label", ""),
            "url": f"/s/{token}",
        },
        headers=cors,
    )


@pages.options("/widget/v1/nps")
def widget_preflight() -> Response:
    """CORS preflight for the widget's call."""
    return Response(
        status_code=204,
        headers={
            "Access-Control-Allow-Origin": "*",
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": "Content-Type",
            "Access-Control-Max-Age": "86400",
        },
    )


@pages.options("/s/{token}/seen")
def seen_preflight(token: str) -> Response:
    """CORS preflight: the widget confirms scores from the store's own pages."""
    return Response(
        status_code=204,
        headers={
            "Access-Control-Allow-Origin": "*",
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": "Content-Type",
            "Access-Control-Max-Age": "86400",
        },
    )


# ---------------------------------------------------------------- console: surveys

CATEGORIES = ("detractor", "passive", "promoter")


@pages.get("/w/{workspace_id}/surveys")
def surveys(request: Request, session: SessionDep, member: MemberDep) -> Response:
    """The workspace's surveys."""
    found = service.surveys_of(session, member.workspace.id)
    rows = [(s, service.definition_of(s)) for s in found]
    return templating.page(request, "surveys.html", member, rows=rows, can_edit=member.can_edit)


@pages.post("/w/{workspace_id}/surveys/defaults")
def add_default_surveys(session: SessionDep, form: CsrfFormDep, member: EditorDep) -> Response:
    """Add cxloop's two proposed surveys: after the order and after delivery."""
    workspace_id = member.workspace.id
    for trigger in ("order_placed", "shipment_delivered"):
        definition = default_definition(trigger)
        if service.get_survey(session, workspace_id, definition.key) is None:
            service.save_survey(session, workspace_id, definition, actor=member.user.email)
    return templating.redirect(f"/w/{workspace_id}/surveys")


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
    document["channels"] = [c for c in CHANNELS if form.get(f"channel_{c}")]
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


@pages.get("/w/{workspace_id}/surveys/{key}")
def survey_editor(request: Request, session: SessionDep, member: MemberDep, key: str) -> Response:
    """Edit one survey: when it asks, through which channels, and what it says."""
    survey = service.get_survey(session, member.workspace.id, key)
    if survey is None:
        raise member.not_found()
    definition = service.definition_of(survey)
    return _editor(request, session, member, definition, can_edit=member.can_edit)


def _editor(
    request: Request,
    session: Session,
    member: Member,
    definition: SurveyDefinition,
    *,
    can_edit: bool,
    saved: bool = False,
    error: str | None = None,
    yaml_text: str | None = None,
    status: int = 200,
) -> Response:
    """The survey editor page, with the widget's tag for the store."""
    return templating.page(
        request,
        "survey_editor.html",
        member,
        status=status,
        widget=_widget_snippet(request, session, member),
        link_request=_link_request(request, definition.key),
        definition=definition,
        channels=CHANNELS,
        yaml_text=yaml_text if yaml_text is not None else to_yaml(definition),
        error=error,
        can_edit=can_edit,
        saved=saved,
    )


def _widget_snippet(request: Request, session: Session, member: Member) -> str | None:
    """The widget's tag for the store's pages, with this workspace's public write key."""
    key = workspaces.write_key_of(session, member.workspace.id)
    if key is None:
        return None
    base = request.app.state.settings.public_url
    return (
        f'<script src="{base}/static/widget/nps.js" data-write-key="{key}" '
        'data-user-id="CUSTOMER_USER_ID" async></script>'
    )


@pages.get("/w/{workspace_id}/surveys/{key}/preview")
def survey_preview(
    request: Request,
    session: SessionDep,
    member: MemberDep,
    key: str,
    lang: str = "fr",
    score: str = "",
) -> Response:
    """The survey page as a customer sees it, to try: what is sent here is not recorded."""
    survey = service.get_survey(session, member.workspace.id, key)
    if survey is None:
        raise member.not_found()
    locale = "en" if lang == "en" else "fr"
    try:
        chosen = _score(score) if score else None
    except InvalidInput:
        chosen = None
    with i18n.speaking(locale):
        context = _texts(service.definition_of(survey), locale, member.workspace.name)
        if chosen is not None:
            category = service.category_of(chosen)
            thanks = context["thanks"].get(category, "")
            return _page(
                request, "survey_thanks.html", preview=True, **{**context, "thanks": thanks}
            )
        return _page(
            request,
            "survey.html",
            preview=True,
            action=f"/w/{member.workspace.id}/surveys/{key}/preview",
            lang=locale,
            score=None,
            comment="",
            category=None,
            confirmed=False,
            **context,
        )


def _link_request(request: Request, key: str) -> str:
    """How the store asks for a customer's personal link to this survey."""
    base = request.app.state.settings.public_url
    return (
        f"curl -X POST {base}/api/v1/surveys/{key}/links \\\n"
        '  -H "Authorization: Bearer ADMIN_KEY" -H "Content-Type: application/json" \\\n'
        """  -d '{"user_id": "CUSTOMER_USER_ID"}'"""
    )


@pages.post("/w/{workspace_id}/surveys/{key}")
def save_survey(
    request: Request, session: SessionDep, form: CsrfFormDep, member: EditorDep, key: str
) -> Response:
    """Save the editor's fields, or its YAML."""
    survey = service.get_survey(session, member.workspace.id, key)
    if survey is None:
        raise member.not_found()
    fields = dict(form.items())
    base = service.definition_of(survey)
    try:
        if fields.get("mode") == "yaml":
            definition = parse_yaml(str(fields.get("yaml", "")))
            if definition.key != key:
                raise InvalidInput("key", "the key cannot change here")
        else:
            definition = _form_definition(base, fields)
    except InvalidInput as exc:
        return _editor(
            request,
            session,
            member,
            base,
            can_edit=True,
            error=f"{exc.field}: {exc.message}",
            yaml_text=str(fields.get("yaml") or to_yaml(base)),
            status=422,
        )
    service.save_survey(session, member.workspace.id, definition, actor=member.user.email)
    return _editor(request, session, member, definition, can_edit=True, saved=True)


# ---------------------------------------------------------------- console: NPS dashboard

PERIODS = {"90d": 90, "180d": 180, "365d": 365, "730d": 730}
DIMENSIONS = ("touchpoint", "channel", "locale", "country", "product_category", "segment")


@pages.get("/w/{workspace_id}/nps")
def nps_dashboard(
    request: Request,
    session: SessionDep,
    member: MemberDep,
    period: str = "365d",
    granularity: str = "month",
    category: str = "",
    q: str = "",
    channel: str = "",
    touchpoint: str = "",
    page: inputs.PageNumber = 1,
    by: str = "touchpoint",
    theme: str = "",
    lang: str = "",
) -> Response:
    """The NPS dashboard: score and interval, trend, distribution, funnel, breakdowns, verbatims.

    One breakdown at a time (``by``, a tab): each is a pass over the answers.
    """
    workspace_id = member.workspace.id
    days = PERIODS.get(period, 365)
    grain = "week" if granularity == "week" else "month"
    filters = DashboardFilters(
        start=utcnow() - dt.timedelta(days=days),
        channel=channel if channel in CHANNELS else None,
        touchpoint=touchpoint if touchpoint in ("after_order", "after_delivery") else None,
    )
    taxonomy = themes.taxonomy_of(session, workspace_id)
    which = VerbatimFilters(
        category=category if category in ("detractor", "passive", "promoter") else None,
        text=q[:200] or None,
        theme=theme if theme in taxonomy.keys else None,
        other_languages=lang == "other",
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
        "labels": [templating.period_label(p.period_start, grain) for p in trend.points],
        "nps": [p.summary.nps for p in trend.points],
        "low": [p.summary.ci95[0] if p.summary.ci95 else None for p in trend.points],
        "high": [p.summary.ci95[1] if p.summary.ci95 else None for p in trend.points],
        "significant": [
            bool(p.vs_previous and p.vs_previous.significant and not p.partial)
            for p in trend.points
        ],
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
    return templating.page(
        request,
        "nps.html",
        member,
        overview=overview,
        trend=trend,
        chart=chart,
        funnel=dashboard.funnel(session, workspace_id, filters),
        dimensions=DIMENSIONS,
        channels=CHANNELS,
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
        lang="other" if which.other_languages else "",
        can_edit=member.can_edit,
        here=str(request.url.path) + ("?" + request.url.query if request.url.query else ""),
        period=period if period in PERIODS else "365d",
        granularity=grain,
        category=which.category or "",
        q=q,
        channel=filters.channel or "",
        touchpoint=filters.touchpoint or "",
        page=page,
    )


# ---------------------------------------------------------------- admin API


# A survey is a few kilobytes of settings and texts in two languages.
MAX_SURVEY_BYTES = 256 * 1024


def _as_definition(body: bytes, content_type: str) -> SurveyDefinition:
    if "yaml" in content_type or "text/plain" in content_type:
        return parse_yaml(body.decode("utf-8", errors="replace"))
    try:
        document = inputs.json_document(body)
    except InvalidInput as exc:
        raise InvalidInput("body", f"invalid JSON: {exc.message}") from None
    return parse_definition(document)


@api.get("/surveys")
def list_surveys(owner: AdminDep, session: SessionDep) -> list[dict[str, Any]]:
    """The workspace's surveys."""
    return [
        {
            "key": s.key,
            "name": s.name,
            "active": s.active,
            "trigger": s.trigger,
            "touchpoint": s.touchpoint,
        }
        for s in service.surveys_of(session, owner.workspace_id)
    ]


@api.get("/surveys/{key}")
def get_survey(owner: AdminDep, session: SessionDep, key: str, request: Request) -> Response:
    """A survey's definition: YAML when asked for (``Accept: application/yaml``), else JSON."""
    survey = service.get_survey(session, owner.workspace_id, key)
    if survey is None:
        raise InvalidInput("key", f"no survey {key!r}", status=404, code="not_found")
    definition = service.definition_of(survey)
    if "yaml" in request.headers.get("accept", ""):
        return PlainTextResponse(to_yaml(definition), media_type="application/yaml")
    return JSONResponse(definition.model_dump(mode="json"))


@api.put("/surveys/{key}")
async def put_survey(owner: AdminDep, key: str, request: Request) -> Response:
    """Create or replace a survey from YAML (``Content-Type: application/yaml``) or JSON."""
    body = await inputs.capped_body(request, MAX_SURVEY_BYTES)
    definition = _as_definition(body, request.headers.get("content-type", ""))
    if definition.key != key:
        raise InvalidInput("key", "differs from the key in the path")
    db: Database = request.app.state.db
    with db.session() as session:
        service.save_survey(session, owner.workspace_id, definition, actor="api")
    return JSONResponse(definition.model_dump(mode="json"))


@api.post(
    "/surveys/{key}/links",
    status_code=201,
    response_model=PersonalLinkOut,
    responses={200: {"model": PersonalLinkOut, "description": "The customer's open link"}},
)
def personal_link(
    owner: AdminDep, session: SessionDep, key: str, body: LinkRequest, request: Request
) -> JSONResponse:
    """A customer's own link to the survey, for the store to send itself (the link channel).

    201 with a new link; 200 with the customer's open link to this survey when there is one.
    409 when the survey is off or its link channel is, when the customer refused to be asked,
    or was asked within the survey's cooldowns (``error`` says which).
    """
    made = service.personal_link(session, owner.workspace_id, key, body.user_id, actor="api")
    invitation = made.invitation
    link = PersonalLinkOut(
        url=flows.survey_url(request.app.state.settings, invitation),
        token=invitation.token,
        invitation_id=invitation.id,
        locale=invitation.locale,
        expires_at=invitation.expires_at,
        created=made.created,
    )
    return JSONResponse(link.model_dump(mode="json"), status_code=201 if made.created else 200)


@api.get("/customers/{user_id}/survey-decisions")
def survey_decisions(owner: AdminDep, session: SessionDep, user_id: str) -> list[dict[str, Any]]:
    """Every survey decision about a customer, newest first, each with its reason."""
    customer = profiles.find_by_user_id(session, owner.workspace_id, user_id)
    if customer is None:
        raise InvalidInput(
            "user_id", f"no customer with user id {user_id!r}", status=404, code="not_found"
        )
    return [
        {
            "at": d.at.isoformat(),
            "survey_id": d.survey_id,
            "subject": d.subject_key,
            "decision": d.decision,
            "reason": d.reason,
            "detail": d.detail,
        }
        for d in service.decisions_for(session, owner.workspace_id, customer.id)
    ]


@api.get("/nps")
def nps_overview(owner: AdminDep, session: SessionDep) -> dict[str, Any]:
    """The workspace's NPS over its confirmed answers: counts, score, 95% interval."""
    summary = dashboard.overview(session, owner.workspace_id).summary
    return summary.model_dump(mode="json")
