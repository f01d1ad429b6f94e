"""Cases over the admin API: the inbox, a case opened by hand, its owner, status, due date and
notes."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from cxloop import i18n, profiles
from cxloop.cases import service
from cxloop.cases.models import Case
from cxloop.errors import InvalidInput
from cxloop.inputs import RowId
from cxloop.store.base import utcnow
from cxloop.web import templating
from cxloop.web.deps import AdminDep, CsrfFormDep, Member, MemberDep, SessionDep

api = APIRouter(prefix="/api/v1", tags=["admin"])


class NotePublic(BaseModel):
    """A note on a case."""

    author: str
    text: str
    created_at: dt.datetime


class CasePublic(BaseModel):
    """A case: who it is about, who owns it, where it stands, and its notes (one case only)."""

    id: int
    title: str
    status: str
    owner: str
    customer_id: int | None
    user_id: str | None
    due_at: dt.datetime | None
    source: str
    source_ref: str
    created_at: dt.datetime
    updated_at: dt.datetime
    closed_at: dt.datetime | None
    notes: list[NotePublic] | None = None


class CaseCreate(BaseModel):
    """A case opened by hand, about a customer (by user id) or none."""

    title: str = Field(min_length=1, max_length=300)
    user_id: str | None = Field(default=None, max_length=200)
    owner: str = Field(default="", max_length=320)
    due_at: dt.datetime | None = None
    note: str = Field(default="", max_length=service.MAX_NOTE)


class CaseUpdate(BaseModel):
    """The fields to change; those left out keep their value."""

    status: Literal["open", "waiting", "closed"] | None = None
    owner: str | None = Field(default=None, max_length=320)
    due_at: dt.datetime | None = None


class NoteCreate(BaseModel):
    """A note to add."""

    text: str = Field(min_length=1, max_length=service.MAX_NOTE)


def _public(session: SessionDep, case: Case, *, notes: bool = False) -> CasePublic:
    return CasePublic(
        id=case.id,
        title=case.title,
        status=case.status,
        owner=case.owner,
        customer_id=case.customer_id,
        user_id=profiles.user_id_of(session, case.customer_id) if case.customer_id else None,
        due_at=case.due_at,
        source=case.source,
        source_ref=case.source_ref,
        created_at=case.created_at,
        updated_at=case.updated_at,
        closed_at=case.closed_at,
        notes=[
            NotePublic(author=n.author, text=n.text, created_at=n.created_at)
            for n in service.notes_of(session, case)
        ]
        if notes
        else None,
    )


def _aware(moment: dt.datetime | None, field: str) -> dt.datetime | None:
    if moment is not None and moment.tzinfo is None:
        raise InvalidInput(
            field,
            i18n.gettext("a date and time with its offset, such as 2027-01-05T10:00:00+01:00"),
        )
    return None if moment is None else moment.astimezone(dt.UTC)


@api.get("/cases")
def list_cases(
    owner: AdminDep,
    session: SessionDep,
    status: Annotated[Literal["open", "waiting", "closed", ""], Query()] = "",
    assignee: Annotated[str, Query(max_length=320)] = "",
    user_id: Annotated[str, Query(max_length=200)] = "",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[CasePublic]:
    """The inbox: cases not closed first, soonest due first; or those of a status, an
    assignee or a customer."""
    customer_id = None
    if user_id:
        customer_id = profiles.customer_id_of(session, owner.workspace_id, user_id)
        if customer_id is None:
            return []
    found = service.list_cases(
        session,
        owner.workspace_id,
        status=status,
        owner=assignee,
        customer_id=customer_id,
        limit=limit,
        offset=offset,
    )
    return [_public(session, c) for c in found]


@api.post("/cases", status_code=201)
def open_case(owner: AdminDep, session: SessionDep, body: CaseCreate) -> CasePublic:
    """Open a case by hand."""
    customer_id = None
    if body.user_id:
        customer_id = profiles.customer_id_of(session, owner.workspace_id, body.user_id)
        if customer_id is None:
            raise InvalidInput(
                "user_id",
                i18n.gettext("no customer has this user id"),
                status=404,
                code="not_found",
            )
    case = service.open_case(
        session,
        owner.workspace_id,
        title=body.title,
        customer_id=customer_id,
        actor="api",
        owner=body.owner,
        due_at=_aware(body.due_at, "due_at"),
        note=body.note,
    )
    return _public(session, case, notes=True)


@api.get("/cases/{case_id}")
def get_case(owner: AdminDep, session: SessionDep, case_id: RowId) -> CasePublic:
    """One case, with its notes."""
    return _public(session, service.found_case(session, owner.workspace_id, case_id), notes=True)


@api.patch("/cases/{case_id}")
def update_case(
    owner: AdminDep, session: SessionDep, case_id: RowId, body: CaseUpdate
) -> CasePublic:
    """Change a case's status, owner or due date."""
    case = service.update_case(
        session,
        owner.workspace_id,
        case_id,
        actor="api",
        status=body.status,
        owner=body.owner,
        due_at=_aware(body.due_at, "due_at"),
    )
    return _public(session, case, notes=True)


@api.post("/cases/{case_id}/notes", status_code=201)
def add_note(owner: AdminDep, session: SessionDep, case_id: RowId, body: NoteCreate) -> CasePublic:
    """Add a note to a case."""
    service.add_note(session, owner.workspace_id, case_id, author="api", text=body.text)
    return _public(session, service.found_case(session, owner.workspace_id, case_id), notes=True)


# The console -------------------------------------------------------------------------------

pages = APIRouter(include_in_schema=False)
routers = (api, pages)
PAGE_SIZE = 50


@pages.get("/w/{workspace_id}/cases")
def cases_page(
    request: Request,
    session: SessionDep,
    member: MemberDep,
    status: Annotated[Literal["open", "waiting", "closed", ""], Query()] = "",
    mine: bool = False,
) -> Response:
    """The inbox: cases not closed first, soonest due first; or those of one status, or the
    reader's own."""
    found = service.list_cases(
        session,
        member.workspace.id,
        status=status,
        owner=member.user.email if mine else "",
        limit=PAGE_SIZE,
    )
    people = profiles.customers_by_id(session, [c.customer_id for c in found if c.customer_id])
    return templating.page(
        request,
        "cases.html",
        member,
        rows=found,
        people=people,
        statuses=service.STATUSES,
        status_filter=status,
        mine=mine,
        now=utcnow(),
    )


def _member_case(session: SessionDep, member: Member, case_id: int) -> Case:
    case = service.get_case(session, member.workspace.id, case_id)
    if case is None:
        raise member.not_found()
    return case


@pages.get("/w/{workspace_id}/cases/{case_id}")
def case_page(request: Request, session: SessionDep, member: MemberDep, case_id: RowId) -> Response:
    """One case: who it is about, its notes, and (for editors) what to change."""
    case = _member_case(session, member, case_id)
    person = (
        profiles.get_customer(session, member.workspace.id, case.customer_id)
        if case.customer_id
        else None
    )
    return templating.page(
        request,
        "case.html",
        member,
        case=case,
        person=person,
        notes=service.notes_of(session, case),
        statuses=service.STATUSES,
    )


@pages.post("/w/{workspace_id}/cases/{case_id}")
def update_case_page(
    request: Request, session: SessionDep, form: CsrfFormDep, member: MemberDep, case_id: RowId
) -> Response:
    """Change the case's status or owner; add the note written with it (any member: agents
    follow cases up)."""
    case = _member_case(session, member, case_id)
    status = str(form.get("status", case.status))
    owner = str(form.get("owner", case.owner))
    service.update_case(
        session, member.workspace.id, case.id, actor=member.user.email, status=status, owner=owner
    )
    note = str(form.get("note", "")).strip()
    if note:
        service.add_note(session, member.workspace.id, case.id, author=member.user.email, text=note)
    return templating.redirect(f"/w/{member.workspace.id}/cases/{case.id}")
