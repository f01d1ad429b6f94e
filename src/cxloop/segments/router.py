"""Segments over the admin API: create, list, change and remove them, preview a condition
against the customers' facts now, list a segment's members, set a static segment's list."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from cxloop import analytics, i18n, inputs
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
from cxloop.web.deps import AdminDep, SessionDep

api = APIRouter(prefix="/api/v1", tags=["admin"])
routers = (api,)
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
