"""Segments over the admin API: create, list, change and remove them, preview a condition
against the customers' facts now, list a segment's members, set a static segment's list."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from cxloop import analytics, i18n, inputs, profiles
from cxloop.config import get_settings
from cxloop.errors import InvalidInput
from cxloop.segments import service
from cxloop.segments.schemas import (
    Changes,
    Preview,
    SegmentCreate,
    SegmentPublic,
    SegmentUpdate,
)
from cxloop.store.db import Database
from cxloop.web import templating
from cxloop.web.deps import AdminDep, CsrfFormDep, EditorDep, Member, MemberDep, SessionDep

log = logging.getLogger(__name__)
api = APIRouter(prefix="/api/v1", tags=["admin"])
MAX_LIST = 100_000


class ConditionBody(BaseModel):
    """A condition to preview (docs/segments.md)."""

    condition: str = Field(min_length=1, max_length=4_000)


class MembersBody(BaseModel):
    """A static segment's whole list, by customer id."""

    customer_ids: list[int] = Field(max_length=MAX_LIST)


class MembersPage(BaseModel):
    """Members of a segment, by customer id, a page at a time."""

    members: int
    customer_ids: list[int]


@api.post("/segments", status_code=201)
def create_segment(owner: AdminDep, session: SessionDep, body: SegmentCreate) -> SegmentPublic:
    """A new segment; a dynamic one's members come with the next analytics run."""
    return service.public(service.create_segment(session, owner.workspace_id, body, actor="api"))


@api.get("/segments")
def list_segments(owner: AdminDep, session: SessionDep) -> list[SegmentPublic]:
    """The workspace's segments, by name, with their members as of the last refresh."""
    return [service.public(s) for s in service.list_segments(session, owner.workspace_id)]


@api.get("/segments/{key}")
def get_segment(owner: AdminDep, session: SessionDep, key: str) -> SegmentPublic:
    """One segment."""
    return service.public(service.found_segment(session, owner.workspace_id, key))


@api.put("/segments/{key}")
def update_segment(
    owner: AdminDep, session: SessionDep, key: str, body: SegmentUpdate
) -> SegmentPublic:
    """Rename a segment or change its condition (members follow at the next run)."""
    segment = service.update_segment(session, owner.workspace_id, key, body, actor="api")
    return service.public(segment)


@api.delete("/segments/{key}", status_code=204, response_class=Response)
def delete_segment(owner: AdminDep, session: SessionDep, key: str) -> Response:
    """Remove a segment, its members and its history."""
    service.delete_segment(session, owner.workspace_id, key, actor="api")
    return Response(status_code=204)


@api.post("/segments/preview")
def preview_segment(owner: AdminDep, session: SessionDep, body: ConditionBody) -> Preview:
    """How many customers a condition holds now, and the first of them (nothing is written)."""
    service.parse_condition(body.condition)
    facts = analytics.current_facts(
        session, get_settings().resolved_analytics_url, owner.workspace_id, dt.datetime.now(dt.UTC)
    )
    return service.preview(body.condition, facts)


@api.get("/segments/{key}/members")
def segment_members(
    owner: AdminDep,
    session: SessionDep,
    key: str,
    limit: Annotated[int, Query(ge=1, le=1_000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> MembersPage:
    """A page of a segment's members, by customer id."""
    segment = service.found_segment(session, owner.workspace_id, key)
    ids = service.member_page(session, segment, limit=limit, offset=offset)
    return MembersPage(members=segment.members, customer_ids=ids)


@api.put("/segments/{key}/members")
def set_segment_members(
    owner: AdminDep, session: SessionDep, key: str, body: MembersBody
) -> Changes:
    """Replace a static segment's list (customers of other workspaces are refused)."""
    return service.set_members(session, owner.workspace_id, key, body.customer_ids, actor="api")


MAX_CSV = 20 * 1024 * 1024


@api.put(
    "/segments/{key}/members.csv",
    openapi_extra={
        "requestBody": {
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "required": True,
        }
    },
)
async def upload_segment_members(request: Request, owner: AdminDep, key: str) -> Changes:
    """Replace a static segment's list from a CSV file: a ``user_id`` or an ``email`` column
    (comma, semicolon or tab), one customer a row. A row naming nobody of this workspace is
    refused with its line, and nothing changes."""
    raw = await inputs.capped_body(request, MAX_CSV)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput("file", i18n.gettext("a CSV file in UTF-8")) from exc
    return await run_in_threadpool(
        _members_from_csv, request.app.state.db, owner.workspace_id, key, text
    )


def _members_from_csv(db: Database, workspace_id: str, key: str, text: str) -> Changes:
    with db.session() as session:
        customer_ids = service.customers_of_csv(session, workspace_id, text.splitlines())
        return service.set_members(session, workspace_id, key, customer_ids, actor="api")


# The console -------------------------------------------------------------------------------

pages = APIRouter(include_in_schema=False)
routers = (api, pages)


def _count(session: Session, workspace_id: str, condition: str) -> tuple[Preview | None, str]:
    """What the condition holds now, or why not (a reading error, the analytics busy)."""
    try:
        service.parse_condition(condition)
    except InvalidInput as exc:
        return None, exc.message
    try:
        facts = analytics.current_facts(
            session, get_settings().resolved_analytics_url, workspace_id, dt.datetime.now(dt.UTC)
        )
    except InvalidInput as exc:
        return None, exc.message
    except Exception:  # no warehouse yet (no analytics run): DuckDB's errors have no stable type
        log.info("no warehouse to count a segment in for %s", workspace_id, exc_info=True)
        return None, i18n.gettext("The count appears after the first analytics run.")
    return service.preview(condition, facts), ""


@pages.get("/w/{workspace_id}/segments/custom/count")
def count_page(
    session: SessionDep, member: MemberDep, condition: Annotated[str, Query(max_length=4_000)] = ""
) -> JSONResponse:
    """The live count of the editor: how many customers the condition holds now (JSON)."""
    found, error = (
        _count(session, member.workspace.id, condition) if condition.strip() else (None, "")
    )
    if found is None:
        return JSONResponse({"members": None, "customers": None, "error": error})
    return JSONResponse({"members": found.members, "customers": found.customers, "error": ""})


def _editor(
    request: Request,
    session: SessionDep,
    member: Member,
    fields: dict[str, Any],
    *,
    segment: Any = None,
    error: InvalidInput | None = None,
) -> Response:
    condition = str(fields.get("condition") or "")
    counted, count_error = (
        _count(session, member.workspace.id, condition) if condition.strip() else (None, "")
    )
    people = (
        profiles.customers_by_id(session, counted.sample)
        if counted is not None and counted.sample
        else {}
    )
    return templating.page(
        request,
        "segment.html",
        member,
        status=422 if error is not None else 200,
        segment=segment,
        fields=fields,
        counted=counted,
        count_error=count_error,
        people=[people[c] for c in (counted.sample if counted else []) if c in people],
        error=error.message if error is not None else None,
        error_field=error.field if error is not None else None,
    )


@pages.get("/w/{workspace_id}/segments/custom/new")
def new_segment_page(request: Request, session: SessionDep, member: EditorDep) -> Response:
    """The editor for a new dynamic segment, with its live count."""
    return _editor(request, session, member, {"key": "", "name": "", "condition": ""})


@pages.post("/w/{workspace_id}/segments/custom/new")
def add_segment_page(
    request: Request, session: SessionDep, form: CsrfFormDep, member: EditorDep
) -> Response:
    """Make the segment; the editor again, with the refusal, when it is wrong."""
    fields = {k: str(form.get(k, "")).strip() for k in ("key", "name", "condition")}
    try:
        body = SegmentCreate(
            key=fields["key"], name=fields["name"], kind="dynamic", condition=fields["condition"]
        )
        service.create_segment(session, member.workspace.id, body, actor=member.user.email)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first.get("loc") else "key"
        return _editor(
            request,
            session,
            member,
            fields,
            error=InvalidInput(field, i18n.gettext("lower case letters, digits and underscores")),
        )
    except InvalidInput as exc:
        return _editor(request, session, member, fields, error=exc)
    return templating.redirect(f"/w/{member.workspace.id}/segments/custom/{fields['key']}")


@pages.get("/w/{workspace_id}/segments/custom/{key}")
def segment_page(request: Request, session: SessionDep, member: MemberDep, key: str) -> Response:
    """One segment: its condition (editable for a dynamic one), what it holds now, its members."""
    segment = service.get_segment(session, member.workspace.id, key)
    if segment is None:
        raise member.not_found()
    fields = {"key": segment.key, "name": segment.name, "condition": segment.condition or ""}
    return _editor(request, session, member, fields, segment=segment)


@pages.post("/w/{workspace_id}/segments/custom/{key}")
def save_segment_page(
    request: Request, session: SessionDep, form: CsrfFormDep, member: EditorDep, key: str
) -> Response:
    """Save the segment's name and condition (members follow at the next refresh)."""
    segment = service.get_segment(session, member.workspace.id, key)
    if segment is None:
        raise member.not_found()
    fields = {
        "key": key,
        "name": str(form.get("name", "")).strip(),
        "condition": str(form.get("condition", "")).strip(),
    }
    try:
        change = SegmentUpdate(name=fields["name"] or None, condition=fields["condition"] or None)
        service.update_segment(session, member.workspace.id, key, change, actor=member.user.email)
    except (InvalidInput, ValidationError) as exc:
        refusal = (
            exc
            if isinstance(exc, InvalidInput)
            else InvalidInput("name", i18n.gettext("a name of 1 to 200 characters"))
        )
        return _editor(request, session, member, fields, segment=segment, error=refusal)
    return templating.redirect(f"/w/{member.workspace.id}/segments/custom/{key}")
