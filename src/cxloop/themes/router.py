"""Themes over HTTP: the taxonomy page and API, corrections of an answer's themes, key drivers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from cxloop import inputs
from cxloop.errors import InvalidInput
from cxloop.store.db import Database
from cxloop.themes import Taxonomy, drivers
from cxloop.themes import service as themes
from cxloop.themes.schemas import ThemesCorrection
from cxloop.web import templating
from cxloop.web.deps import AdminDep, CsrfFormDep, EditorDep, Member, MemberDep, SessionDep

api = APIRouter(prefix="/api/v1", tags=["admin"])
pages = APIRouter(include_in_schema=False)
routers = (api, pages)


def _themes_page(
    request: Request,
    session: SessionDep,
    member: Member,
    *,
    yaml_text: str | None = None,
    error: str | None = None,
    saved: bool = False,
    status: int = 200,
) -> Response:
    taxonomy = themes.taxonomy_of(session, member.workspace.id)
    return templating.page(
        request,
        "themes.html",
        member,
        status=status,
        taxonomy=taxonomy,
        yaml_text=yaml_text if yaml_text is not None else taxonomy.to_yaml(),
        corrections=themes.corrections_count(session, member.workspace.id),
        error=error,
        saved=saved,
        can_edit=member.can_edit,
    )


@pages.get("/w/{workspace_id}/themes")
def themes_page(
    request: Request, session: SessionDep, member: MemberDep, saved: int = 0
) -> Response:
    """The workspace's theme taxonomy, readable and editable as YAML."""
    return _themes_page(request, session, member, saved=bool(saved))


@pages.post("/w/{workspace_id}/themes")
def save_themes(
    request: Request, session: SessionDep, form: CsrfFormDep, member: EditorDep
) -> Response:
    """Save the taxonomy's YAML, then tag the history again in a worker."""
    workspace_id = member.workspace.id
    text = str(form.get("yaml", ""))
    try:
        taxonomy = Taxonomy.from_yaml(text)
    except InvalidInput as exc:
        message = f"{exc.field}: {exc.message}"
        return _themes_page(request, session, member, yaml_text=text, error=message, status=422)
    db: Database = request.app.state.db
    with db.session() as writing:  # its own transaction: the re-tag follows its commit
        themes.save_taxonomy(writing, workspace_id, taxonomy, actor=member.user.email)
    return templating.redirect(f"/w/{workspace_id}/themes?saved=1")


@pages.post("/w/{workspace_id}/nps/responses/{response_id}/themes")
def correct_themes_page(
    request: Request, form: CsrfFormDep, member: EditorDep, response_id: inputs.RowId
) -> Response:
    """Set a verbatim's themes by hand: kept as an example the workspace's tagger learns from."""
    workspace_id = member.workspace.id
    chosen = [str(value) for value in form.getlist("themes")]
    db: Database = request.app.state.db
    try:
        with db.session() as writing:  # its own transaction: the retraining follows its commit
            themes.correct(writing, workspace_id, response_id, chosen, actor=member.user.email)
    except InvalidInput:
        raise member.not_found() from None
    back = str(form.get("back", ""))
    return templating.redirect(
        back if back.startswith(f"/w/{workspace_id}/nps") else f"/w/{workspace_id}/nps"
    )


@api.get("/feedback/taxonomy")
def get_taxonomy(owner: AdminDep, session: SessionDep, request: Request) -> Response:
    """The workspace's themes: YAML when asked for (``Accept: application/yaml``), else JSON."""
    taxonomy = themes.taxonomy_of(session, owner.workspace_id)
    if "yaml" in request.headers.get("accept", ""):
        return PlainTextResponse(taxonomy.to_yaml(), media_type="application/yaml")
    return JSONResponse(taxonomy.model_dump(mode="json"))


# A taxonomy is a few hundred themes and phrases; a megabyte is far more than any needs.
MAX_TAXONOMY_BYTES = 1024 * 1024


@api.put("/feedback/taxonomy")
async def put_taxonomy(owner: AdminDep, request: Request) -> Response:
    """Replace the workspace's themes (YAML or JSON); the history is re-tagged in a worker."""
    body = await inputs.capped_body(request, MAX_TAXONOMY_BYTES)
    if "yaml" in request.headers.get("content-type", ""):
        taxonomy = Taxonomy.from_yaml(body.decode("utf-8", errors="replace"))
    else:
        try:
            document = inputs.json_document(body)
        except InvalidInput as exc:
            raise InvalidInput("body", f"invalid JSON: {exc.message}") from None
        taxonomy = Taxonomy.from_document(document)
    db: Database = request.app.state.db
    with db.session() as session:
        stored = themes.save_taxonomy(session, owner.workspace_id, taxonomy, actor="api")
        version = stored.version
    return JSONResponse({"version": version, **taxonomy.model_dump(mode="json")})


@api.put("/nps/responses/{response_id}/themes")
def correct_themes(
    owner: AdminDep, request: Request, response_id: inputs.RowId, body: ThemesCorrection
) -> dict[str, Any]:
    """Correct an answer's themes; the workspace's model is retrained in a worker."""
    db: Database = request.app.state.db
    with db.session() as session:
        response = themes.correct(
            session, owner.workspace_id, response_id, body.themes, actor="api"
        )
        chosen = list(response.themes)
    return {"response_id": response_id, "themes": chosen, "corrected": True}


@api.get("/nps/drivers", response_model=drivers.DriversReport)
def nps_drivers(
    owner: AdminDep,
    session: SessionDep,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    survey_id: inputs.RowId | None = None,
    channel: str | None = None,
) -> drivers.DriversReport:
    """Key drivers: per theme, shares among detractors and promoters, NPS impact, regression."""
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise InvalidInput(name, "needs a time zone, e.g. Z")
    return drivers.drivers_for(
        session,
        owner.workspace_id,
        since=since,
        until=until,
        survey_id=survey_id,
        channel=channel,
    )
