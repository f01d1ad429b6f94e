"""The admin API under /api/v1 (Bearer admin key, scoped to the key's workspace)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field

from cxloop.alerts import service as alerts
from cxloop.commerce import service as commerce
from cxloop.commerce.schemas import Overview
from cxloop.profiles import service as profiles
from cxloop.profiles.schemas import Customer360, CustomerRow
from cxloop.store.db import Database
from cxloop.surveys import dashboard
from cxloop.surveys import service as feedback
from cxloop.surveys.definitions import SurveyDefinition, parse_definition, parse_yaml, to_yaml
from cxloop.themes import Taxonomy, drivers
from cxloop.themes import service as tagging
from cxloop.web.deps import AdminDep, SessionDep
from cxloop.web.errors import ApiError
from cxloop.workspaces.models import Workspace
from cxloop.workspaces.schemas import WorkspacePublic

router = APIRouter(prefix="/api/v1", tags=["admin"])


@router.get("/workspace", response_model=WorkspacePublic)
def current_workspace(owner: AdminDep, session: SessionDep) -> WorkspacePublic:
    """The workspace this admin key belongs to."""
    workspace = session.get(Workspace, owner.workspace_id)
    if workspace is None:
        raise ApiError(404, "not_found", "workspace is gone", "authorization")
    return WorkspacePublic.model_validate(workspace, from_attributes=True)


@router.get("/overview", response_model=Overview)
def workspace_overview(owner: AdminDep, session: SessionDep) -> Overview:
    """Headline figures and revenue by month for the key's workspace."""
    return commerce.overview(session, owner.workspace_id)


@router.get("/customers", response_model=list[CustomerRow])
def list_customers(
    owner: AdminDep, session: SessionDep, q: str = "", limit: int = 50, offset: int = 0
) -> list[CustomerRow]:
    """Customers matching ``q`` (email, name, user id, phone), most recently seen first."""
    if not 1 <= limit <= 500:
        raise ApiError(422, "invalid_request", "must be between 1 and 500", "limit")
    if offset < 0:
        raise ApiError(422, "invalid_request", "must be 0 or more", "offset")
    return profiles.search_customers(session, owner.workspace_id, q, limit=limit, offset=offset)


@router.get("/customers/{user_id}", response_model=Customer360)
def get_customer(owner: AdminDep, session: SessionDep, user_id: str) -> Customer360:
    """The customer 360: identities, traits, consent, activity, orders, merges, scores."""
    customer = profiles.find_by_user_id(session, owner.workspace_id, user_id)
    if customer is None:
        raise ApiError(404, "not_found", f"no customer with user id {user_id!r}", "user_id")
    return profiles.customer_360(session, owner.workspace_id, customer)


# ---------------------------------------------------------------- surveys


def _as_definition(body: bytes, content_type: str) -> SurveyDefinition:
    if "yaml" in content_type or "text/plain" in content_type:
        return parse_yaml(body.decode("utf-8", errors="replace"))
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ApiError(422, "invalid_request", "invalid JSON", "body") from None
    return parse_definition(document)


@router.get("/surveys")
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
        for s in feedback.surveys_of(session, owner.workspace_id)
    ]


@router.get("/surveys/{key}")
def get_survey(owner: AdminDep, session: SessionDep, key: str, request: Request) -> Response:
    """A survey's definition: YAML when asked for (``Accept: application/yaml``), else JSON."""
    survey = feedback.get_survey(session, owner.workspace_id, key)
    if survey is None:
        raise ApiError(404, "not_found", f"no survey {key!r}", "key")
    definition = feedback.definition_of(survey)
    if "yaml" in request.headers.get("accept", ""):
        return PlainTextResponse(to_yaml(definition), media_type="application/yaml")
    return JSONResponse(definition.model_dump(mode="json"))


@router.put("/surveys/{key}")
async def put_survey(owner: AdminDep, key: str, request: Request) -> Response:
    """Create or replace a survey from YAML (``Content-Type: application/yaml``) or JSON."""
    definition = _as_definition(await request.body(), request.headers.get("content-type", ""))
    if definition.key != key:
        raise ApiError(422, "invalid_request", "differs from the key in the path", "key")
    db: Database = request.app.state.db
    with db.session() as session:
        feedback.save_survey(session, owner.workspace_id, definition, actor="api")
    return JSONResponse(definition.model_dump(mode="json"))


@router.get("/customers/{user_id}/survey-decisions")
def survey_decisions(owner: AdminDep, session: SessionDep, user_id: str) -> list[dict[str, Any]]:
    """Every survey decision about a customer, newest first, each with its reason."""
    customer = profiles.find_by_user_id(session, owner.workspace_id, user_id)
    if customer is None:
        raise ApiError(404, "not_found", f"no customer with user id {user_id!r}", "user_id")
    return [
        {
            "at": d.at.isoformat(),
            "survey_id": d.survey_id,
            "subject": d.subject_key,
            "decision": d.decision,
            "reason": d.reason,
            "detail": d.detail,
        }
        for d in feedback.decisions_for(session, owner.workspace_id, customer.id)
    ]


# ---------------------------------------------------------------- alert rules


class AlertRuleCreate(BaseModel):
    """An alert rule, as the API takes it."""

    name: str = Field(min_length=1, max_length=200)
    kind: Literal["response", "silence", "theme_spike"] = "response"
    target: Literal["email", "webhook"]
    address: str = Field(min_length=3, max_length=500)
    filters: dict[str, Any] = Field(default_factory=dict)
    secret: str | None = Field(default=None, min_length=16, max_length=128)
    slack_format: bool = False


@router.post("/alert-rules", status_code=201)
def create_alert_rule(
    owner: AdminDep, session: SessionDep, rule: AlertRuleCreate
) -> dict[str, Any]:
    """Add an alert: new answers matching ``filters`` (e.g. ``{"max_score": 6}``), or silence."""
    created = alerts.create_rule(session, owner.workspace_id, actor="api", **rule.model_dump())
    return {"id": created.id, **rule.model_dump(exclude={"secret"})}


@router.get("/alert-rules")
def list_alert_rules(owner: AdminDep, session: SessionDep) -> list[dict[str, Any]]:
    """The workspace's alert rules (secrets are never shown)."""
    return [
        {
            "id": r.id,
            "name": r.name,
            "kind": r.kind,
            "target": r.target,
            "address": r.address,
            "filters": r.filters,
            "slack_format": r.slack_format,
            "active": r.active,
        }
        for r in alerts.rules_of(session, owner.workspace_id)
    ]


@router.get("/nps")
def nps_overview(owner: AdminDep, session: SessionDep) -> dict[str, Any]:
    """The workspace's NPS over its confirmed answers: counts, score, 95% interval."""
    summary = dashboard.overview(session, owner.workspace_id).summary
    return summary.model_dump(mode="json")


# ---------------------------------------------------------------- themes and drivers


@router.get("/feedback/taxonomy")
def get_taxonomy(owner: AdminDep, session: SessionDep, request: Request) -> Response:
    """The workspace's themes: YAML when asked for (``Accept: application/yaml``), else JSON."""
    taxonomy = tagging.taxonomy_of(session, owner.workspace_id)
    if "yaml" in request.headers.get("accept", ""):
        return PlainTextResponse(taxonomy.to_yaml(), media_type="application/yaml")
    return JSONResponse(taxonomy.model_dump(mode="json"))


@router.put("/feedback/taxonomy")
async def put_taxonomy(owner: AdminDep, request: Request) -> Response:
    """Replace the workspace's themes (YAML or JSON); the history is re-tagged in a worker."""
    body = await request.body()
    if "yaml" in request.headers.get("content-type", ""):
        taxonomy = Taxonomy.from_yaml(body.decode("utf-8", errors="replace"))
    else:
        try:
            taxonomy = Taxonomy.from_document(orjson.loads(body))
        except orjson.JSONDecodeError:
            raise ApiError(422, "invalid_request", "invalid JSON", "body") from None
    db: Database = request.app.state.db
    with db.session() as session:
        stored = tagging.save_taxonomy(session, owner.workspace_id, taxonomy, actor="api")
        version = stored.version
    request.app.state.on_taxonomy(owner.workspace_id)
    return JSONResponse({"version": version, **taxonomy.model_dump(mode="json")})


class ThemesCorrection(BaseModel):
    """The themes a person says an answer's verbatim is about."""

    themes: list[str] = Field(max_length=100)


@router.put("/nps/responses/{response_id}/themes")
def correct_themes(
    owner: AdminDep, request: Request, response_id: int, body: ThemesCorrection
) -> dict[str, Any]:
    """Correct an answer's themes; the workspace's model is retrained in a worker."""
    db: Database = request.app.state.db
    with db.session() as session:  # committed before the model is retrained
        response = tagging.correct(
            session, owner.workspace_id, response_id, body.themes, actor="api"
        )
        themes = list(response.themes)
    request.app.state.on_correction(owner.workspace_id)
    return {"response_id": response_id, "themes": themes, "corrected": True}


@router.get("/nps/drivers", response_model=drivers.DriversReport)
def nps_drivers(
    owner: AdminDep,
    session: SessionDep,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    survey_id: int | None = None,
    channel: str | None = None,
) -> drivers.DriversReport:
    """Key drivers: per theme, shares among detractors and promoters, NPS impact, regression."""
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise ApiError(422, "invalid_request", "needs a time zone, e.g. Z", name)
    return drivers.drivers_for(
        session,
        owner.workspace_id,
        since=since,
        until=until,
        survey_id=survey_id,
        channel=channel,
    )
