"""Alert rules over the admin API, and their console pages (editors only)."""

from __future__ import annotations

import re
from typing import Any

from babel.numbers import format_decimal
from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from cxloop import i18n, surveys, themes
from cxloop.alerts import service as alerts
from cxloop.alerts.models import AlertRule
from cxloop.alerts.schemas import AlertRuleCreate, AlertRulePublic, AlertRuleUpdate
from cxloop.errors import InvalidInput
from cxloop.i18n import _
from cxloop.inputs import RowId
from cxloop.web import labels, templating
from cxloop.web.deps import AdminDep, CsrfFormDep, EditorDep, Member, SessionDep

api = APIRouter(prefix="/api/v1", tags=["admin"])
pages = APIRouter(include_in_schema=False)
routers = (api, pages)


def _public(rule: AlertRule) -> AlertRulePublic:
    return AlertRulePublic(
        id=rule.id,
        name=rule.name,
        kind=rule.kind,
        target=rule.target,
        address=rule.address,
        filters=rule.filters or {},
        slack_format=rule.slack_format,
        active=rule.active,
        signed=bool(rule.secret),
    )


@api.post("/alert-rules", status_code=201)
def create_alert_rule(
    owner: AdminDep, session: SessionDep, rule: AlertRuleCreate
) -> AlertRulePublic:
    """Add an alert: new answers matching ``filters`` (e.g. ``{"max_score": 6}``), or silence."""
    created = alerts.create_rule(session, owner.workspace_id, actor="api", **rule.model_dump())
    return _public(created)


@api.get("/alert-rules")
def list_alert_rules(owner: AdminDep, session: SessionDep) -> list[AlertRulePublic]:
    """The workspace's alert rules (secrets are never shown)."""
    return [_public(r) for r in alerts.rules_of(session, owner.workspace_id)]


@api.put("/alert-rules/{rule_id}")
def update_alert_rule(
    owner: AdminDep, session: SessionDep, rule_id: RowId, changes: AlertRuleUpdate
) -> AlertRulePublic:
    """Change a rule: the fields given (``{"active": false}`` switches it off), checked as a
    new rule's are; ``"secret": null`` removes its secret."""
    rule = alerts.update_rule(
        session, owner.workspace_id, rule_id, actor="api", **changes.changes()
    )
    return _public(rule)


@api.delete("/alert-rules/{rule_id}", status_code=204, response_class=Response)
def delete_alert_rule(owner: AdminDep, session: SessionDep, rule_id: RowId) -> Response:
    """Delete a rule and the record of its deliveries."""
    alerts.delete_rule(session, owner.workspace_id, rule_id, actor="api")
    return Response(status_code=204)


# ---------------------------------------------------------------- console

# The form's fields for each kind of rule; the filters it does not show (``survey_id``) are kept.
FORM_FILTERS = {
    "response": ("min_score", "max_score", "channel", "category", "themes"),
    "silence": ("silence_hours",),
    "theme_spike": ("themes", "min_mentions", "channel"),
}
SHOWN_FILTERS = {name for names in FORM_FILTERS.values() for name in names}


def _field_labels() -> dict[str, str]:
    """Each refused field's name on the form, in the reader's language."""
    return {
        "name": _("Name"),
        "kind": _("Alert on"),
        "target": _("Send by"),
        "address": _("Address"),
        "secret": _("Signing secret"),
        "filters.min_score": _("Lowest score"),
        "filters.max_score": _("Highest score"),
        "filters.channel": _("Channel"),
        "filters.category": _("Category"),
        "filters.themes": _("Themes"),
        "filters.silence_hours": _("Hours without an invitation"),
        "filters.min_mentions": _("Fewest mentions"),
    }


def _number(value: str) -> int | float | str:
    """A number typed in the form (``1,5`` as well as ``1.5``); the text itself when it is not
    one, for the rule's check to refuse with its field."""
    text = value.strip().replace(",", ".")
    if re.fullmatch(r"[0-9]{1,9}", text):
        return int(text)
    if re.fullmatch(r"[0-9]{0,9}\.[0-9]{1,6}", text):
        return float(text)
    return value


def _form_fields(form: FormData, kept: dict[str, Any]) -> dict[str, Any]:
    """The rule the form describes, as ``alerts.create_rule`` and ``update_rule`` take it."""
    kind = str(form.get("kind", ""))
    filters = {k: v for k, v in kept.items() if k not in SHOWN_FILTERS}
    for name in FORM_FILTERS.get(kind, ()):
        if name == "themes":
            filters["themes"] = [str(t) for t in form.getlist("themes")]
            continue
        value = str(form.get(name, "")).strip()
        if value:
            filters[name] = value if name in ("channel", "category") else _number(value)
    fields: dict[str, Any] = {
        "name": str(form.get("name", "")),
        "kind": kind,
        "target": str(form.get("target", "")),
        "address": str(form.get("address", "")),
        "filters": filters,
        "slack_format": form.get("slack_format") == "on",
        "active": form.get("active") == "on",
    }
    secret = str(form.get("secret", ""))
    if secret:
        fields["secret"] = secret
    elif form.get("remove_secret") == "on":
        fields["secret"] = None
    return fields


def _in_words(
    rule: AlertRule, taxonomy: themes.Taxonomy, survey_names: dict[int, str]
) -> list[str]:
    """What a rule watches, in the reader's words: "scores 0 to 6 · by email"."""
    lang = i18n.current_locale.get()
    filters = rule.filters or {}

    def number(value: float) -> str:
        return format_decimal(value, locale=lang)

    words: list[str] = []
    low, high = filters.get("min_score"), filters.get("max_score")
    if low is not None and high is not None:
        words.append(_("scores %(low)s to %(high)s") % {"low": low, "high": high})
    elif high is not None:
        words.append(_("scores up to %(high)s") % {"high": high})
    elif low is not None:
        words.append(_("scores from %(low)s") % {"low": low})
    if filters.get("category"):
        category = labels.label(filters["category"], "category")
        words.append(_("category: %(category)s") % {"category": category})
    if filters.get("channel"):
        channel = labels.label(filters["channel"], "channel")
        words.append(_("by %(channel)s") % {"channel": channel})
    if filters.get("survey_id"):
        name = survey_names.get(int(filters["survey_id"]), "?")
        words.append(_("survey: %(survey)s") % {"survey": name})
    if filters.get("themes"):
        names = ", ".join(_theme_name(taxonomy, key, lang) for key in filters["themes"])
        words.append(_("themes: %(themes)s") % {"themes": names})
    elif rule.kind == "theme_spike":
        words.append(_("every theme"))
    if rule.kind == "silence":
        hours = number(float(filters.get("silence_hours", alerts.DEFAULT_SILENCE_HOURS)))
        words.append(_("orders but no invitation for %(hours)s h") % {"hours": hours})
    if rule.kind == "theme_spike":
        mentions = number(int(filters.get("min_mentions", themes.SPIKE_MIN_MENTIONS)))
        words.append(_("at least %(mentions)s mentions a week") % {"mentions": mentions})
    return words or [_("every answer")]


def _theme_name(taxonomy: themes.Taxonomy, key: str, lang: str) -> str:
    try:
        return taxonomy.theme(key).label(lang)
    except KeyError:
        return key


def _list_url(member: Member) -> str:
    return f"/w/{member.workspace.id}/alerts"


@pages.get("/w/{workspace_id}/alerts")
def alert_rules(request: Request, session: SessionDep, member: EditorDep) -> Response:
    """The workspace's alert rules: what each watches, where it goes, its last deliveries."""
    workspace_id = member.workspace.id
    rules = alerts.rules_of(session, workspace_id)
    taxonomy = themes.taxonomy_of(session, workspace_id)
    survey_ids = {int(r.filters["survey_id"]) for r in rules if (r.filters or {}).get("survey_id")}
    survey_names = {
        survey.id: survey.name
        for survey_id in survey_ids
        if (survey := surveys.survey_by_id(session, workspace_id, survey_id)) is not None
    }
    return templating.page(
        request,
        "alerts.html",
        member,
        rows=[(rule, _in_words(rule, taxonomy, survey_names)) for rule in rules],
        deliveries=alerts.recent_deliveries(session, workspace_id),
    )


def _form(
    request: Request,
    session: Session,
    member: Member,
    fields: dict[str, Any],
    *,
    rule_id: int | None = None,
    signed: bool = False,
    error: InvalidInput | None = None,
) -> Response:
    """The form for a new rule (``rule_id`` None) or one of the workspace's rules."""
    taxonomy = themes.taxonomy_of(session, member.workspace.id)
    lang = i18n.current_locale.get()
    message = None
    if error is not None:
        name = _field_labels().get(error.field, error.field)
        message = _("%(field)s: %(message)s") % {"field": name, "message": error.message}
    return templating.page(
        request,
        "alert_rule.html",
        member,
        status=422 if error is not None else 200,
        rule_id=rule_id,
        fields=fields,
        filters=fields.get("filters") or {},
        signed=signed,
        kinds=alerts.KINDS,
        targets=alerts.TARGETS,
        channels=alerts.CHANNELS,
        categories=alerts.CATEGORIES,
        theme_choices=[(t.key, t.label(lang)) for t in taxonomy.themes],
        error=message,
        error_field=error.field.removeprefix("filters.") if error is not None else None,
    )


@pages.get("/w/{workspace_id}/alerts/new")
def new_alert_rule(request: Request, session: SessionDep, member: EditorDep) -> Response:
    """The form for a new rule: detractors, by email to the member, to begin with."""
    fields = {
        "name": "",
        "kind": "response",
        "target": "email",
        "address": member.user.email,
        "filters": {"max_score": 6},
        "slack_format": False,
        "active": True,
    }
    return _form(request, session, member, fields)


@pages.post("/w/{workspace_id}/alerts/new")
def add_alert_rule(
    request: Request, session: SessionDep, form: CsrfFormDep, member: EditorDep
) -> Response:
    """Add the rule the form describes; the form again, with the refusal, when it is wrong."""
    fields = _form_fields(form, {})
    try:
        alerts.create_rule(session, member.workspace.id, actor=member.user.email, **fields)
    except InvalidInput as exc:
        return _form(request, session, member, fields, error=exc)
    return templating.redirect(_list_url(member))


def _member_rule(session: Session, member: Member, rule_id: int) -> AlertRule:
    try:
        return alerts.rule_of(session, member.workspace.id, rule_id)
    except InvalidInput:
        raise member.not_found() from None


@pages.get("/w/{workspace_id}/alerts/{rule_id}")
def edit_alert_rule(
    request: Request, session: SessionDep, member: EditorDep, rule_id: RowId
) -> Response:
    """The form for one rule."""
    rule = _member_rule(session, member, rule_id)
    fields = {name: getattr(rule, name) for name in alerts.RULE_FIELDS if name != "secret"}
    return _form(request, session, member, fields, rule_id=rule.id, signed=bool(rule.secret))


@pages.post("/w/{workspace_id}/alerts/{rule_id}")
def save_alert_rule(
    request: Request, session: SessionDep, form: CsrfFormDep, member: EditorDep, rule_id: RowId
) -> Response:
    """Save the form's changes to one rule; the form again, with the refusal, when wrong."""
    rule = _member_rule(session, member, rule_id)
    signed = bool(rule.secret)
    fields = _form_fields(form, dict(rule.filters or {}))
    try:
        alerts.update_rule(session, member.workspace.id, rule_id, actor=member.user.email, **fields)
    except InvalidInput as exc:
        return _form(request, session, member, fields, rule_id=rule_id, signed=signed, error=exc)
    return templating.redirect(_list_url(member))


@pages.post("/w/{workspace_id}/alerts/{rule_id}/switch")
def switch_alert_rule(
    session: SessionDep, form: CsrfFormDep, member: EditorDep, rule_id: RowId
) -> Response:
    """Switch a rule on (``active=on``) or off."""
    _member_rule(session, member, rule_id)
    active = form.get("active") == "on"
    alerts.set_rule_active(session, member.workspace.id, rule_id, active, actor=member.user.email)
    return templating.redirect(_list_url(member))


@pages.get("/w/{workspace_id}/alerts/{rule_id}/delete")
def confirm_delete_alert_rule(
    request: Request, session: SessionDep, member: EditorDep, rule_id: RowId
) -> Response:
    """Ask before deleting a rule."""
    rule = _member_rule(session, member, rule_id)
    return templating.page(request, "alert_rule_delete.html", member, rule=rule)


@pages.post("/w/{workspace_id}/alerts/{rule_id}/delete")
def delete_alert_rule_page(
    session: SessionDep, form: CsrfFormDep, member: EditorDep, rule_id: RowId
) -> Response:
    """Delete a rule, once confirmed."""
    _member_rule(session, member, rule_id)
    alerts.delete_rule(session, member.workspace.id, rule_id, actor=member.user.email)
    return templating.redirect(_list_url(member))
