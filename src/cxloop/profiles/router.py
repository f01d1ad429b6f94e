"""Customers over HTTP: the customer list and page in the console, the 360 in the admin API."""

from __future__ import annotations

import datetime as dt
from functools import partial

from fastapi import APIRouter, Request
from fastapi.responses import Response

from cxloop import (
    analytics,
    cases,
    channels,
    commerce,
    i18n,
    inputs,
    journeys,
    segments,
    surveys,
    themes,
    workspaces,
)
from cxloop.config import get_settings
from cxloop.errors import InvalidInput
from cxloop.profiles import flows
from cxloop.profiles import service as profiles
from cxloop.profiles.models import Customer
from cxloop.profiles.schemas import SORTS, Customer360, CustomerFilter, CustomerRow
from cxloop.store.base import utcnow
from cxloop.store.db import after_commit
from cxloop.web import templating
from cxloop.web.deps import AdminDep, CsrfFormDep, Member, MemberDep, SessionDep

api = APIRouter(prefix="/api/v1", tags=["admin"])
pages = APIRouter(include_in_schema=False)
routers = (api, pages)
CATEGORIES = ("detractor", "passive", "promoter")


@api.get("/customers", response_model=list[CustomerRow])
def list_customers(
    owner: AdminDep, session: SessionDep, q: str = "", limit: int = 50, offset: int = 0
) -> list[CustomerRow]:
    """Customers matching ``q`` (email, name, user id, phone), most recently seen first."""
    if not 1 <= limit <= 500:
        raise InvalidInput("limit", "must be between 1 and 500")
    if offset < 0:
        raise InvalidInput("offset", "must be 0 or more")
    if offset > inputs.MAX_OFFSET:
        raise InvalidInput("offset", f"must be at most {inputs.MAX_OFFSET}")
    return flows.search_customers(session, owner.workspace_id, q, limit=limit, offset=offset)


@api.get("/customers/{user_id}", response_model=Customer360)
def get_customer(owner: AdminDep, session: SessionDep, user_id: str) -> Customer360:
    """The customer 360: identities, traits, consent, activity, orders, merges, scores."""
    customer = profiles.find_by_user_id(session, owner.workspace_id, user_id)
    if customer is None:
        raise InvalidInput(
            "user_id", f"no customer with user id {user_id!r}", status=404, code="not_found"
        )
    return flows.customer_360(session, owner.workspace_id, customer)


CSV_HEADER = (
    "id",
    "user_id",
    "email",
    "name",
    "orders",
    "revenue",
    "last_seen_at",
    "nps_score",
    "nps_category",
    "rfm_segment",
    "r",
    "f",
    "clv_12m",
    "p_alive",
    "churn_band",
)


def _pick(value: str, allowed: tuple[str, ...]) -> str | None:
    return value if value in allowed else None


def _grade(value: str) -> int | None:
    return int(value) if value in ("1", "2", "3", "4", "5") else None


@pages.get("/w/{workspace_id}/customers")
def customers(
    request: Request,
    session: SessionDep,
    member: MemberDep,
    q: str = "",
    segment: str = "",
    churn: str = "",
    r: str = "",
    f: str = "",
    nps: str = "",
    persona: str = "",
    sort: str = "",
    page: inputs.PageNumber = 1,
    format: str = "",
) -> Response:
    """The customer list, searchable by email, name, user id or phone, filtered by RFM segment
    or cell, churn band, NPS category and persona, sorted, and as CSV (``format=csv``: every
    match)."""
    personas = analytics.persona_names(session, member.workspace.id, i18n.current_locale.get())
    filters = CustomerFilter(
        q=q[:200],
        segment=_pick(segment, analytics.SEGMENTS),
        churn_band=_pick(churn, analytics.CHURN_BANDS),
        r=_grade(r),
        f=_grade(f),
        nps=_pick(nps, CATEGORIES),
        persona=_pick(persona, tuple(personas)),
        sort=_pick(sort, SORTS) or "last_seen",
    )
    workspace_id = member.workspace.id
    if format == "csv":
        found = flows.search_customers(session, workspace_id, limit=None, filters=filters)
        return templating.csv_response(
            "customers",
            CSV_HEADER,
            (
                (c.id, c.user_id, c.email, c.name, c.orders_count, c.revenue, c.last_seen_at,
                 c.nps_score, c.nps_category, c.rfm_segment, c.r, c.f, c.clv, c.p_alive,
                 c.churn_band)
                for c in found
            ),
        )  # fmt: skip
    number = max(page, 1)
    rows = flows.search_customers(
        session, workspace_id, limit=51, offset=(number - 1) * 50, filters=filters
    )
    query = {
        "q": filters.q,
        "segment": filters.segment or "",
        "churn": filters.churn_band or "",
        "r": filters.r or "",
        "f": filters.f or "",
        "nps": filters.nps or "",
        "persona": filters.persona or "",
        "sort": filters.sort,
    }
    return templating.page(
        request,
        "customers.html",
        member,
        rows=rows[:50],
        q=filters.q,
        filters=filters,
        query={k: v for k, v in query.items() if v},
        segments=analytics.SEGMENTS,
        churn_bands=analytics.CHURN_BANDS,
        categories=CATEGORIES,
        personas=personas,
        sorts=SORTS,
        page=number,
        has_next=len(rows) > 50,
    )


@pages.get("/w/{workspace_id}/customers/{customer_id}")
def customer(
    request: Request, session: SessionDep, member: MemberDep, customer_id: inputs.RowId
) -> Response:
    """One customer: identities, figures, and the timeline of events, orders and parcels."""
    workspace_id = member.workspace.id
    found = profiles.get_customer(session, workspace_id, customer_id)
    if found is None:
        raise member.not_found()
    return templating.page(
        request,
        "customer.html",
        member,
        profile=flows.customer_360(session, workspace_id, found, recent=0),
        name=" ".join(p for p in (found.first_name, found.last_name) if p),
        entries=flows.timeline(session, workspace_id, found.id),
        decisions=surveys.decisions_for(session, workspace_id, found.id)[:30],
        taxonomy=themes.taxonomy_of(session, workspace_id),
        personas=analytics.persona_names(session, workspace_id, i18n.current_locale.get()),
        cases=cases.list_cases(session, workspace_id, customer_id=found.id, limit=20),
        runs=journeys.customer_runs(session, workspace_id, found.id)[:20],
        coupons=commerce.coupons_of(session, workspace_id, found.id)[:20],
        memberships=segments.history(session, workspace_id, found.id)[:20],
        done=request.query_params.get("done", ""),
    )


def _back(member: Member, customer_id: int, done: str) -> Response:
    return templating.redirect(
        f"/w/{member.workspace.id}/customers/{customer_id}?done={done}#follow-up"
    )


def _member_customer(session: SessionDep, member: Member, customer_id: int) -> Customer:
    found = profiles.get_customer(session, member.workspace.id, customer_id)
    if found is None:
        raise member.not_found()
    return found


@pages.post("/w/{workspace_id}/customers/{customer_id}/case")
def open_case_for(
    request: Request,
    session: SessionDep,
    form: CsrfFormDep,
    member: MemberDep,
    customer_id: inputs.RowId,
) -> Response:
    """Open a case about this customer, owned by the member, due tomorrow (every member may
    follow a customer up, agents included)."""
    found = _member_customer(session, member, customer_id)
    cases.open_case(
        session,
        member.workspace.id,
        title=str(form.get("title", "")),
        customer_id=found.id,
        actor=member.user.email,
        owner=member.user.email,
        due_at=utcnow() + dt.timedelta(days=1),
        note=str(form.get("note", "")),
    )
    return _back(member, found.id, "case")


GOODWILL = {
    "free_shipping": ("free_shipping", 0.0),
    "percent_10": ("percent", 10.0),
    "fixed_5": ("fixed", 5.0),
}


@pages.post("/w/{workspace_id}/customers/{customer_id}/coupon")
def goodwill_coupon(
    request: Request,
    session: SessionDep,
    form: CsrfFormDep,
    member: MemberDep,
    customer_id: inputs.RowId,
) -> Response:
    """A goodwill coupon for this customer (free shipping, 10% or 5 off, 30 days), written to the
    connected store once committed."""
    found = _member_customer(session, member, customer_id)
    choice = GOODWILL.get(str(form.get("kind", "")))
    if choice is None:
        raise InvalidInput(
            "kind", i18n.gettext("one of %(names)s") % {"names": ", ".join(GOODWILL)}
        )
    kind, value = choice
    coupon = commerce.issue_coupon(
        session,
        member.workspace.id,
        kind=kind,
        value=value,
        customer_id=found.id,
        expires_at=utcnow() + dt.timedelta(days=30),
        source="manual",
        currency=member.workspace.currency,
    )
    workspaces.audit(
        session,
        actor=member.user.email,
        action="commerce.coupon_made",
        workspace_id=member.workspace.id,
        subject=coupon.code,
        data={"kind": kind, "customer_id": found.id},
    )
    if coupon.store_status == "pending":
        after_commit(session, partial(commerce.write_later, [coupon.id]))
    return _back(member, found.id, "coupon")


@pages.post("/w/{workspace_id}/customers/{customer_id}/reply")
def reply_to(
    request: Request,
    session: SessionDep,
    form: CsrfFormDep,
    member: MemberDep,
    customer_id: inputs.RowId,
) -> Response:
    """Write to the customer by email, in the store's name (sent once committed); noted on
    their open cases."""
    found = _member_customer(session, member, customer_id)
    subject = " ".join(str(form.get("subject", "")).split())[:200]
    body = str(form.get("body", "")).strip()[:10_000]
    if not subject or not body:
        raise InvalidInput("body", i18n.gettext("a subject and a message"))
    if not found.email:
        raise InvalidInput("email", i18n.gettext("this customer has no email address"))
    settings = get_settings()
    unsubscribe = channels.unsubscribe_url(settings, member.workspace.id, found.id)
    rendered = channels.render(
        "journey",
        {
            "subject": subject,
            "paragraphs": [
                [line.strip() for line in block.split("\n")]
                for block in body.split("\n\n")
                if block.strip()
            ],
            "store_name": member.workspace.name,
            "unsubscribe_url": unsubscribe,
        },
        found.locale or member.workspace.locale,
    )
    message = channels.queue_email(
        session,
        member.workspace.id,
        to=found.email,
        rendered=rendered,
        purpose="reply",
        related_key=f"reply:{member.user.id}:{utcnow().timestamp():.0f}",
        customer_id=found.id,
        unsubscribe_url=unsubscribe,
    )
    cases.note_customer(session, member.workspace.id, found.id, f"{member.user.email}: {subject}")
    after_commit(session, partial(channels.deliver_later, [message.id]))
    return _back(member, found.id, "reply")
