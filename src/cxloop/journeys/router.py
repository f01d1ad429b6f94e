"""Journeys over the admin API: define them in YAML, change them (versioned), switch them on,
pause or archive them; their runs and what each step did; the guardrails; the secret their
webhooks are signed with."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from cxloop import channels, i18n
from cxloop.config import get_settings
from cxloop.errors import InvalidInput
from cxloop.inputs import RowId
from cxloop.journeys import engine, guardrails, playbook, service, uplift
from cxloop.journeys import flows as pages_text
from cxloop.journeys.definition import Step
from cxloop.journeys.models import Journey, JourneyRun
from cxloop.journeys.schemas import (
    GuardrailsBody,
    GuardrailsPublic,
    JourneyBody,
    JourneyPublic,
    JourneySummary,
    RunPublic,
    SourceBody,
    StatusBody,
    StepCount,
    StepPublic,
    StepRecord,
    VersionPublic,
)
from cxloop.web import labels, templating
from cxloop.web.deps import AdminDep, CsrfFormDep, EditorDep, Member, MemberDep, SessionDep

api = APIRouter(prefix="/api/v1", tags=["admin"])


def _step(step: Step) -> StepPublic:
    fields: dict[str, Any] = {}
    if step.kind == "send":
        fields = {"channel": step.channel, "marketing": step.marketing}
        if step.subject is not None:
            fields["subject"] = {"fr": step.subject.fr, "en": step.subject.en}
    elif step.kind == "wait":
        if step.event:
            fields = {
                "event": step.event,
                "same_order": step.same_order,
                "timeout_seconds": step.timeout_seconds,
            }
            if step.on_timeout:
                fields["on_timeout"] = step.on_timeout
        elif step.until:
            fields = {"until": step.until}
        else:
            fields = {"seconds": step.seconds}
    elif step.kind == "branch":
        fields = {"if": step.condition, "then": step.then, "else": step.otherwise}
    elif step.kind == "coupon":
        fields = {
            "kind": step.coupon_kind,
            "value": step.value,
            "expires_seconds": step.expires_seconds,
        }
    elif step.kind == "webhook":
        fields = {"url": step.url}
    elif step.kind == "case":
        assert step.title is not None
        fields = {"title": {"fr": step.title.fr, "en": step.title.en}, "owner": step.owner}
    elif step.kind == "set":
        fields = {"field": step.set_field, "value": step.set_value}
    return StepPublic(id=step.id, kind=step.kind, summary=fields)


def _public(session: SessionDep, journey: Journey) -> JourneyPublic:
    spec = engine.plan(journey.source)
    trigger = spec.trigger
    shown: dict[str, Any] = {"kind": trigger.kind}
    for name in ("event", "segment", "score", "at", "when"):
        if getattr(trigger, name):
            shown[name] = getattr(trigger, name)
    if trigger.every_seconds:
        shown["every_seconds"] = trigger.every_seconds
    goal = (
        None
        if spec.goal is None
        else {"event": spec.goal.event, "within_seconds": spec.goal.within_seconds}
    )
    reentry = spec.reentry if spec.reentry != "after" else f"after {spec.reentry_seconds}s"
    return JourneyPublic(
        key=journey.key,
        name={"fr": spec.name.fr, "en": spec.name.en},
        status=journey.status,
        version=journey.version,
        priority=spec.priority,
        holdout=spec.holdout,
        trigger=shown,
        goal=goal,
        reentry=reentry,
        steps=[_step(s) for s in spec.steps],
        source=journey.source,
        summary=JourneySummary(**service.summary(session, journey)),
        created_at=journey.created_at,
        updated_at=journey.updated_at,
    )


def _run(session: SessionDep, run: JourneyRun) -> RunPublic:
    return RunPublic(
        id=run.id,
        customer_id=run.customer_id,
        version=run.version,
        status=run.status,
        holdout=run.holdout,
        step=run.step,
        wake_at=run.wake_at,
        waiting_event=run.waiting_event,
        entered_at=run.entered_at,
        finished_at=run.finished_at,
        converted_at=run.converted_at,
        exit_reason=run.exit_reason,
        steps=[
            StepRecord(
                step=s.step_id, kind=s.kind, outcome=s.outcome, reason=s.reason, ref=s.ref, at=s.at
            )
            for s in service.steps_of(session, run)
        ],
    )


class SigningSecret(BaseModel):
    """The workspace's secrets: ``secret`` signs the journeys' webhooks (``X-Cxloop-Signature``:
    ``sha256=`` and the hex HMAC-SHA256 of the body); ``identity_secret`` is what the store's
    server signs its visitors' user ids with for on-site messages (``userHash``: the hex
    HMAC-SHA256 of the user id)."""

    secret: str
    identity_secret: str


@api.get("/journeys/signing-secret")
def signing_secret(owner: AdminDep) -> SigningSecret:
    """The secrets of the journeys' webhooks and of on-site messages."""
    settings = get_settings()
    return SigningSecret(
        secret=channels.webhook_secret(settings, owner.workspace_id),
        identity_secret=channels.identity_secret(settings, owner.workspace_id),
    )


@api.get("/journeys/guardrails")
def get_guardrails(owner: AdminDep, session: SessionDep) -> GuardrailsPublic:
    """The frequency cap, quiet hours and SMS rules every journey message obeys."""
    return GuardrailsPublic(**guardrails.limits_of(session, owner.workspace_id).__dict__)


@api.put("/journeys/guardrails")
def set_guardrails(owner: AdminDep, session: SessionDep, body: GuardrailsBody) -> GuardrailsPublic:
    """Change some of the guardrails."""
    changes = body.model_dump(exclude_none=True)
    limits = guardrails.set_limits(session, owner.workspace_id, changes, actor="api")
    return GuardrailsPublic(**limits.__dict__)


class PlaybookPublic(BaseModel):
    """A ready-made journey: its key, name, trigger and source."""

    key: str
    name: dict[str, str]
    trigger: str
    installed: bool
    source: str


class InstallBody(BaseModel):
    """Install a playbook as a draft, or switched on."""

    status: Literal["draft", "active"] = "draft"


@api.get("/journeys/playbooks")
def list_playbooks(owner: AdminDep, session: SessionDep) -> list[PlaybookPublic]:
    """The six ready-made journeys, and whether the workspace has each."""
    found = []
    for key in playbook.KEYS:
        spec = playbook.definition_of(key)
        found.append(
            PlaybookPublic(
                key=key,
                name={"fr": spec.name.fr, "en": spec.name.en},
                trigger=spec.trigger.kind,
                installed=service.get_journey(session, owner.workspace_id, key) is not None,
                source=playbook.source_of(key),
            )
        )
    return found


@api.post("/journeys/playbooks/{key}", status_code=201)
def install_playbook(
    owner: AdminDep, session: SessionDep, key: str, body: InstallBody
) -> JourneyPublic:
    """Make a journey of a playbook (409 if the workspace has one of that key)."""
    source = playbook.source_of(key)
    journey = service.create_journey(
        session, owner.workspace_id, source, actor="api", status=body.status
    )
    return _public(session, journey)


@api.post("/journeys", status_code=201)
def create_journey(owner: AdminDep, session: SessionDep, body: JourneyBody) -> JourneyPublic:
    """A new journey from its YAML; ``status: active`` switches it on at once."""
    journey = service.create_journey(
        session, owner.workspace_id, body.source, actor="api", status=body.status
    )
    return _public(session, journey)


@api.get("/journeys")
def list_journeys(owner: AdminDep, session: SessionDep) -> list[JourneyPublic]:
    """The workspace's journeys, by key, with what each did so far."""
    return [_public(session, j) for j in service.list_journeys(session, owner.workspace_id)]


@api.get("/journeys/{key}")
def get_journey(owner: AdminDep, session: SessionDep, key: str) -> JourneyPublic:
    """One journey."""
    return _public(session, service.found_journey(session, owner.workspace_id, key))


@api.put("/journeys/{key}")
def update_journey(
    owner: AdminDep, session: SessionDep, key: str, body: SourceBody
) -> JourneyPublic:
    """A new version of the journey; runs in flight keep theirs."""
    return _public(
        session, service.update_journey(session, owner.workspace_id, key, body.source, actor="api")
    )


@api.post("/journeys/{key}/status")
def set_status(owner: AdminDep, session: SessionDep, key: str, body: StatusBody) -> JourneyPublic:
    """Switch the journey on, pause it, or archive it (its runs in flight end)."""
    return _public(
        session, service.set_status(session, owner.workspace_id, key, body.status, actor="api")
    )


@api.get("/journeys/{key}/versions")
def list_versions(owner: AdminDep, session: SessionDep, key: str) -> list[VersionPublic]:
    """Every version of the journey, newest first."""
    journey = service.found_journey(session, owner.workspace_id, key)
    return [
        VersionPublic(version=v.version, source=v.source, actor=v.actor, created_at=v.created_at)
        for v in service.versions_of(session, journey)
    ]


@api.get("/journeys/{key}/runs")
def list_runs(
    owner: AdminDep,
    session: SessionDep,
    key: str,
    status: Annotated[str, Query(max_length=16)] = "",
    customer_id: Annotated[RowId | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[RunPublic]:
    """The journey's runs, newest first, with what each step did."""
    journey = service.found_journey(session, owner.workspace_id, key)
    runs = service.runs_of(
        session, journey, status=status, customer_id=customer_id, limit=limit, offset=offset
    )
    return [_run(session, r) for r in runs]


@api.get("/journeys/{key}/steps")
def step_counts(owner: AdminDep, session: SessionDep, key: str) -> list[StepCount]:
    """What the journey's steps did: per step, outcome and reason."""
    journey = service.found_journey(session, owner.workspace_id, key)
    return [StepCount(**row) for row in service.step_counts(session, journey)]


@api.get("/journeys/{key}/uplift")
def journey_uplift(
    owner: AdminDep,
    session: SessionDep,
    key: str,
    days: Annotated[int | None, Query(ge=1, le=365)] = None,
) -> dict[str, Any]:
    """Treated customers against the holdout, within the window (the goal's, else 30 days, or
    ``days``): repeat purchase, revenue per customer, later NPS and unsubscribes, each with its
    interval and p-value; and the journey's messages, opens, conversions and revenue."""
    journey = service.found_journey(session, owner.workspace_id, key)
    return uplift.uplift(session, journey, days=days)


# The console -------------------------------------------------------------------------------

pages = APIRouter(include_in_schema=False)
routers = (api, pages)


def _list_url(member: Member) -> str:
    return f"/w/{member.workspace.id}/journeys"


@pages.get("/w/{workspace_id}/journeys")
def journeys_page(request: Request, session: SessionDep, member: MemberDep) -> Response:
    """The workspace's journeys with what each did, and the playbooks not used yet."""
    locale = i18n.current_locale.get()
    rows = []
    for journey in service.list_journeys(session, member.workspace.id):
        spec = engine.plan(journey.source)
        rows.append(
            {
                "key": journey.key,
                "name": spec.name.get(locale),
                "status": journey.status,
                "trigger": spec.trigger.kind,
                "version": journey.version,
                **service.summary(session, journey),
            }
        )
    have = {row["key"] for row in rows}
    books = [
        {"key": key, "name": playbook.definition_of(key).name.get(locale)}
        for key in playbook.KEYS
        if key not in have
    ]
    return templating.page(request, "journeys.html", member, rows=rows, playbooks=books)


@pages.post("/w/{workspace_id}/journeys/playbooks/{key}")
def install_playbook_page(
    request: Request, session: SessionDep, form: CsrfFormDep, member: EditorDep, key: str
) -> Response:
    """Make a draft journey of a playbook, then show it."""
    if key not in playbook.KEYS:
        raise member.not_found()
    if service.get_journey(session, member.workspace.id, key) is None:
        playbook.install(session, member.workspace.id, (key,), actor=member.user.email)
    return templating.redirect(f"{_list_url(member)}/{key}")


def _journey_page(
    request: Request,
    session: SessionDep,
    member: Member,
    journey: Journey,
    *,
    source: str | None = None,
    error: InvalidInput | None = None,
) -> Response:
    locale = i18n.current_locale.get()
    spec = engine.plan(journey.source)
    return templating.page(
        request,
        "journey.html",
        member,
        status=422 if error is not None else 200,
        journey=journey,
        name=spec.name.get(locale),
        trigger=pages_text.trigger_sentence(spec, labels.label),
        steps=pages_text.flow(spec, locale, labels.label),
        holdout=spec.holdout,
        goal=(
            {
                "event": labels.label(spec.goal.event, "event"),
                "within": pages_text.duration(spec.goal.within_seconds),
            }
            if spec.goal
            else None
        ),
        summary=service.summary(session, journey),
        counts=service.step_counts(session, journey),
        results=uplift.uplift(session, journey),
        versions=service.versions_of(session, journey)[:10],
        source=journey.source if source is None else source,
        error=error.message if error is not None else None,
    )


def _member_journey(session: SessionDep, member: Member, key: str) -> Journey:
    journey = service.get_journey(session, member.workspace.id, key)
    if journey is None:
        raise member.not_found()
    return journey


@pages.get("/w/{workspace_id}/journeys/{key}")
def journey_page(request: Request, session: SessionDep, member: MemberDep, key: str) -> Response:
    """One journey: its flow in words, its results against the holdout, what its steps did,
    its definition (editable by editors) and its versions."""
    return _journey_page(request, session, member, _member_journey(session, member, key))


@pages.post("/w/{workspace_id}/journeys/{key}")
def save_journey_page(
    request: Request, session: SessionDep, form: CsrfFormDep, member: EditorDep, key: str
) -> Response:
    """Save the definition as a new version; the page again with the refusal when it is wrong."""
    journey = _member_journey(session, member, key)
    source = str(form.get("source", ""))
    try:
        service.update_journey(session, member.workspace.id, key, source, actor=member.user.email)
    except InvalidInput as exc:  # refused before anything is written
        return _journey_page(request, session, member, journey, source=source, error=exc)
    return templating.redirect(f"{_list_url(member)}/{key}")


@pages.post("/w/{workspace_id}/journeys/{key}/status")
def journey_status_page(
    request: Request, session: SessionDep, form: CsrfFormDep, member: EditorDep, key: str
) -> Response:
    """Switch the journey on, pause it or archive it."""
    _member_journey(session, member, key)
    service.set_status(
        session, member.workspace.id, key, str(form.get("status", "")), actor=member.user.email
    )
    return templating.redirect(f"{_list_url(member)}/{key}")
