"""Channels over HTTP: unsubscribe links (``/u/{token}``), provider events, the console outbox,
and the on-site messages store pages fetch (``/p/v1/messages``).

``POST /u/{token}`` is the RFC 8058 one-click target: mail clients POST
``List-Unsubscribe=One-Click`` with no cookie and no CSRF token, by design; the signed token is
the authority. The page's own button posts to the same URL.
"""

from __future__ import annotations

import datetime as dt
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Form, Header, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from cxloop import i18n, ingest, inputs, profiles, workspaces
from cxloop.channels import clicks, events, onsite, push, sms
from cxloop.channels import service as channels
from cxloop.channels.unsubscribe import Subscription, read_token, subscriber, unsubscribe
from cxloop.config import Settings
from cxloop.errors import InvalidInput
from cxloop.i18n import _
from cxloop.profiles import Customer
from cxloop.store.db import Database
from cxloop.web import templating
from cxloop.web.deps import (
    AdminDep,
    MemberDep,
    SessionDep,
    cors_preflight,
    page_text,
    write_key_workspace,
)
from cxloop.web.limits import widget_limit
from cxloop.workspaces import get_workspace

router = APIRouter(include_in_schema=False)
pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["admin"])
public = APIRouter(prefix="/p/v1", tags=["personalization"])  # the store's pages call these
routers = (router, pages, api, public)

PAGE_HEADERS = {
    "Cache-Control": "no-store",
    # The token is in the URL: it must not travel in a Referer or land in a search index.
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
}


def _secret(request: Request) -> str:
    settings: Settings = request.app.state.settings
    return settings.resolved_secret_key()


def _page_locale(request: Request, customer: Customer | None) -> str:
    chosen = request.session.get("lang")
    if chosen in i18n.LOCALES:
        return str(chosen)
    if customer is not None and customer.locale:
        short = customer.locale.strip().lower()[:2]
        if short in i18n.LOCALES:
            return short
    return i18n.current_locale.get()


def _page(
    request: Request,
    state: str,
    *,
    token: str = "",
    customer: Customer | None = None,
    channel: str = "email",
    store: str = "",
    status: int = 200,
) -> HTMLResponse:
    locale = _page_locale(request, customer)
    address = ""
    if customer is not None:
        address = (customer.email if channel == "email" else customer.phone) or ""
    with i18n.speaking(locale):
        response: HTMLResponse = request.app.state.templates.TemplateResponse(
            request,
            "unsubscribe.html",
            {
                "locale": locale,
                "state": state,
                "token": token,
                "address": address,
                "channel": channel,
                "store": store,
            },
            status_code=status,
            headers={**PAGE_HEADERS, "Content-Language": locale},
        )
    return response


def _lookup(request: Request, token: str) -> tuple[Subscription | None, Database]:
    db: Database = request.app.state.db
    return read_token(_secret(request), token), db


@router.get("/u/{token}")
def unsubscribe_page(request: Request, token: str) -> Response:
    """The unsubscribe page: which address, and a button that confirms."""
    subscription, db = _lookup(request, token)
    if subscription is None:
        return _page(request, "invalid", status=404)
    with db.session() as session:
        customer = subscriber(session, subscription)
        if customer is None:
            return _page(request, "invalid", status=404)
        workspace = get_workspace(session, subscription.workspace_id)
        store = workspace.name if workspace else ""
        state = "confirm" if profiles.may_contact(customer, subscription.channel) else "already"
        return _page(
            request,
            state,
            token=token,
            customer=customer,
            channel=subscription.channel,
            store=store,
        )


@router.post("/u/{token}")
def unsubscribe_now(
    request: Request,
    token: str,
    one_click: Annotated[str | None, Form(alias="List-Unsubscribe")] = None,
) -> Response:
    """Unsubscribe at once: RFC 8058 one-click from a mail client, or the page's button."""
    subscription, db = _lookup(request, token)
    if subscription is None:
        return _page(request, "invalid", status=404)
    source = "unsubscribe:one-click" if one_click == "One-Click" else "unsubscribe:page"
    with db.session() as session:
        customer = unsubscribe(session, subscription, source=source)
        if customer is None:
            return _page(request, "invalid", status=404)
        workspace = get_workspace(session, subscription.workspace_id)
        return _page(
            request,
            "done",
            customer=customer,
            channel=subscription.channel,
            store=workspace.name if workspace else "",
        )


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    too_large = InvalidInput(
        "body", f"body over {events.MAX_BODY} bytes", status=413, code="too_large"
    )
    if declared.isdigit() and int(declared) > events.MAX_BODY:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > events.MAX_BODY:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("/webhooks/email/{workspace_id}")
async def email_events(workspace_id: str, request: Request) -> JSONResponse:
    """Receive bounce, complaint, delivery and open events (signed with X-Cxloop-Signature)."""
    body = await _read_body(request)
    headers = {k.lower(): v for k, v in request.headers.items()}
    db: Database = request.app.state.db
    summary = await run_in_threadpool(events.receive, db, workspace_id, headers, body)
    return JSONResponse(summary.document())


# ---------------------------------------------------------------- console: the outbox

PAGE_SIZE = 50
STATUSES = ("queued", "sending", "sent", "outbox", "failed", "bounced", "complained")
# The stored HTML is someone else's markup as far as the console is concerned: served in a
# sandbox (no script, no same-origin, no forms), with only inline styles and images allowed.
HTML_POLICY = (
    "sandbox; default-src 'none'; img-src data: https:; style-src 'unsafe-inline'; "
    "frame-ancestors 'self'"
)


@pages.get("/w/{workspace_id}/outbox")
def outbox(
    request: Request,
    session: SessionDep,
    member: MemberDep,
    page: inputs.PageNumber = 1,
    status: str = "",
) -> Response:
    """The messages sent or kept for this workspace, newest first."""
    workspace_id = member.workspace.id
    page = max(page, 1)
    status = status if status in STATUSES else ""
    rows = channels.list_messages(
        session, workspace_id, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE, status=status
    )
    return templating.page(
        request,
        "outbox.html",
        member,
        rows=rows[:PAGE_SIZE],
        page=page,
        has_next=len(rows) > PAGE_SIZE,
        status_filter=status,
        statuses=STATUSES,
    )


def _decoded(value: str | None) -> str:
    """A header as a reader wants it: MIME encoded words (RFC 2047) decoded."""
    if not value:
        return ""
    try:
        return str(make_header(decode_header(value)))
    except (HeaderParseError, LookupError, UnicodeDecodeError):
        return value


@pages.get("/w/{workspace_id}/outbox/{message_id}")
def outbox_message(
    request: Request, session: SessionDep, member: MemberDep, message_id: inputs.RowId
) -> Response:
    """One message: its headers, delivery events, text part, and HTML in a sandboxed frame."""
    message = channels.get_message(session, member.workspace.id, message_id)
    if message is None:
        raise member.not_found()
    headers = [
        (_("From"), _decoded(message.from_address)),
        (_("To"), _decoded(message.to_address)),
        (_("Subject"), _decoded(message.subject)),
        *((name, _decoded(value)) for name, value in sorted((message.headers or {}).items())),
    ]
    return templating.page(
        request,
        "outbox_message.html",
        member,
        message=message,
        headers=headers,
        events=channels.events_of(session, message),
    )


@pages.get("/w/{workspace_id}/outbox/{message_id}/html")
def outbox_message_html(
    session: SessionDep, member: MemberDep, message_id: inputs.RowId
) -> Response:
    """The stored HTML part, served under a sandboxing Content-Security-Policy."""
    message = channels.get_message(session, member.workspace.id, message_id)
    if message is None:
        return Response("not found", status_code=404, media_type="text/plain")
    return HTMLResponse(
        message.html,
        headers={
            "Content-Security-Policy": HTML_POLICY,
            # Framed by the message page only (the app's default is DENY).
            "X-Frame-Options": "SAMEORIGIN",
            "Cache-Control": "private, no-store",
        },
    )


ONSITE_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, OPTIONS",
    "Cache-Control": "no-store",
}


@public.get("/messages")
def onsite_messages(
    request: Request,
    session: SessionDep,
    write_key: Annotated[str, Query(alias="writeKey", min_length=1, max_length=200)],
    user_id: Annotated[str, Query(alias="userId", min_length=1, max_length=200)],
    user_hash: Annotated[str, Query(alias="userHash", min_length=1, max_length=128)],
) -> Response:
    """A visitor's on-site messages not shown yet, for the store's page to show (and now
    marked shown). ``userHash``: the hex HMAC-SHA256 of ``userId`` under the workspace's
    identity secret, computed by the store's server (docs/journeys.md)."""
    owner = workspaces.resolve_key(session, write_key)
    if owner is None or owner.kind != "write":
        raise InvalidInput(
            "writeKey", "unknown write key", status=401, code="unauthorized", headers=ONSITE_CORS
        )
    settings: Settings = request.app.state.settings
    if not onsite.proves(settings, owner.workspace_id, user_id, user_hash):
        raise InvalidInput(
            "userHash",
            "does not match userId",
            status=401,
            code="unauthorized",
            headers=ONSITE_CORS,
        )
    customer_id = profiles.customer_id_of(session, owner.workspace_id, user_id)
    shown = (
        [] if customer_id is None else onsite.take_onsite(session, owner.workspace_id, customer_id)
    )
    return JSONResponse({"messages": shown}, headers=ONSITE_CORS)


@router.get("/c/{token}")
def tracked_link(request: Request, session: SessionDep, token: str) -> Response:
    """A tracked link: the click is recorded, the reader sent on to the link's target."""
    settings: Settings = request.app.state.settings
    found = clicks.read_click(settings, token) if len(token) <= 4096 else None
    if found is None:
        raise InvalidInput("token", "not a link of ours", status=404, code="not_found")
    workspace_id, related_key, target = found
    clicks.record_click(session, workspace_id, related_key)
    return RedirectResponse(
        target,
        status_code=302,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


class SmsProviderBody(BaseModel):
    """The SMS provider: ``twilio`` (a Twilio-compatible API: ``url`` https://api.twilio.com,
    ``account`` the account SID, ``token`` the auth token) or ``generic`` (``url`` the endpoint
    that takes JSON, ``token`` its bearer token); ``sender`` a number or a sender name."""

    kind: Literal["twilio", "generic"]
    url: str = Field(min_length=8, max_length=300)
    sender: str = Field(min_length=1, max_length=40)
    account: str = Field(default="", max_length=100)
    token: str = Field(min_length=1, max_length=500)


class SmsProviderPublic(BaseModel):
    """The SMS provider, without its token."""

    kind: str
    url: str
    sender: str
    account: str
    updated_at: dt.datetime


def _provider(row: Any) -> SmsProviderPublic:
    return SmsProviderPublic(
        kind=row.kind,
        url=row.url,
        sender=row.sender,
        account=row.account,
        updated_at=row.updated_at,
    )


@api.put("/sms-provider")
def set_sms_provider(
    request: Request, owner: AdminDep, session: SessionDep, body: SmsProviderBody
) -> SmsProviderPublic:
    """Set the provider journeys send SMS through (its token sealed, never shown again)."""
    settings: Settings = request.app.state.settings
    row = sms.set_provider(
        session,
        owner.workspace_id,
        kind=body.kind,
        url=body.url,
        sender=body.sender,
        account=body.account,
        token=body.token,
        secret_key=settings.resolved_secret_key(),
        actor="api",
    )
    return _provider(row)


@api.get("/sms-provider")
def get_sms_provider(owner: AdminDep, session: SessionDep) -> SmsProviderPublic:
    """The SMS provider (never its token)."""
    row = sms.sms_provider(session, owner.workspace_id)
    if row is None:
        raise InvalidInput(
            "kind", i18n.gettext("no SMS provider is set"), status=404, code="not_found"
        )
    return _provider(row)


@api.delete("/sms-provider", status_code=204, response_class=Response)
def delete_sms_provider(owner: AdminDep, session: SessionDep) -> Response:
    """Forget the SMS provider and its token."""
    sms.remove_provider(session, owner.workspace_id, actor="api")
    return Response(status_code=204)


# Web push -------------------------------------------------------------------------------------

PUSH_CORS = {"Access-Control-Allow-Origin": "*", "Cache-Control": "no-store"}


def _push_text(value: object, field: str, limit: int) -> str | None:
    return page_text(value, field, limit, PUSH_CORS)


@public.get("/push/key")
def push_key(
    request: Request,
    write_key: Annotated[str | None, Query(alias="writeKey", max_length=200)] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """The workspace's VAPID public key, for ``pushManager.subscribe``."""
    workspace_id = write_key_workspace(request, write_key, authorization, PUSH_CORS)
    settings: Settings = request.app.state.settings
    return JSONResponse({"publicKey": push.push_key(settings, workspace_id)}, headers=PUSH_CORS)


@public.post("/push/subscriptions", status_code=201, dependencies=[Depends(widget_limit)])
def push_subscribe(
    request: Request,
    session: SessionDep,
    body: Annotated[dict[str, Any], Body()],
    authorization: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Keep a browser's subscription: ``anonymousId``, ``subscription`` ({endpoint, keys:
    {p256dh, auth}}) as the browser gives it, and ``userId`` with its ``userHash`` on a
    signed-in page. The visitor becomes a customer if they were not one."""
    workspace_id = write_key_workspace(request, body.get("writeKey"), authorization, PUSH_CORS)
    settings: Settings = request.app.state.settings
    anonymous_id = _push_text(body.get("anonymousId"), "anonymousId", 200)
    user_id = _push_text(body.get("userId"), "userId", 200)
    if anonymous_id is None and user_id is None:
        raise InvalidInput("anonymousId", "anonymousId or userId is required", headers=PUSH_CORS)
    if user_id is not None and not onsite.proves(
        settings, workspace_id, user_id, str(body.get("userHash") or "")
    ):
        raise InvalidInput(
            "userHash", "does not match userId", status=401, code="unauthorized",
            headers=PUSH_CORS,
        )  # fmt: skip
    given = body.get("subscription")
    if not isinstance(given, dict) or not isinstance(given.get("keys"), dict):
        raise InvalidInput(
            "subscription", "the browser's subscription: {endpoint, keys}", headers=PUSH_CORS
        )
    try:
        customer = profiles.resolve(
            session,
            workspace_id,
            profiles.Keys(user_id=user_id, anonymous_id=anonymous_id),
            source="web push",
            claim=ingest.claim_anonymous_events,
            anonymous=True,
        )
        assert customer is not None
        push.subscribe_push(
            session,
            settings,
            workspace_id,
            customer_id=customer.id,
            anonymous_id=anonymous_id or "",
            endpoint=given.get("endpoint"),
            p256dh=given["keys"].get("p256dh"),
            auth=given["keys"].get("auth"),
        )
    except InvalidInput as exc:
        raise InvalidInput(exc.field, exc.message, headers=PUSH_CORS) from None
    return JSONResponse({"subscribed": True}, status_code=201, headers=PUSH_CORS)


@public.post("/push/unsubscribe", status_code=204)
def push_unsubscribe(
    request: Request,
    session: SessionDep,
    body: Annotated[dict[str, Any], Body()],
    authorization: Annotated[str | None, Header()] = None,
) -> Response:
    """Forget a browser's subscription (``endpoint``)."""
    workspace_id = write_key_workspace(request, body.get("writeKey"), authorization, PUSH_CORS)
    endpoint = _push_text(body.get("endpoint"), "endpoint", 2000)
    if endpoint is None or not push.unsubscribe_push(session, workspace_id, endpoint):
        raise InvalidInput(
            "endpoint", "no subscription of that endpoint", status=404, code="not_found",
            headers=PUSH_CORS,
        )  # fmt: skip
    return Response(status_code=204, headers=PUSH_CORS)


@router.options("/p/v1/push/subscriptions")
@router.options("/p/v1/push/unsubscribe")
def push_preflight() -> Response:
    """CORS preflight for the SDK's calls."""
    return cors_preflight(PUSH_CORS)
