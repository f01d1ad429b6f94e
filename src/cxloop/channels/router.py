"""Public email endpoints: unsubscribe links (``/u/{token}``) and provider events.

``POST /u/{token}`` is the RFC 8058 one-click target: mail clients POST
``List-Unsubscribe=One-Click`` with no cookie and no CSRF token, by design; the signed token is
the authority. The page's own button posts to the same URL.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from cxloop import i18n
from cxloop.channels import events
from cxloop.channels.unsubscribe import Subscription, read_token, subscriber, unsubscribe
from cxloop.config import Settings
from cxloop.profiles import service as profiles
from cxloop.profiles.models import Customer
from cxloop.store.db import Database
from cxloop.workspaces.models import Workspace

router = APIRouter(include_in_schema=False)

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
        workspace = session.get(Workspace, subscription.workspace_id)
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
        workspace = session.get(Workspace, subscription.workspace_id)
        return _page(
            request,
            "done",
            customer=customer,
            channel=subscription.channel,
            store=workspace.name if workspace else "",
        )


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    too_large = events.EventRefused(413, "too_large", f"body over {events.MAX_BODY} bytes", "body")
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
    try:
        body = await _read_body(request)
        headers = {k.lower(): v for k, v in request.headers.items()}
        db: Database = request.app.state.db
        summary = await run_in_threadpool(events.receive, db, workspace_id, headers, body)
    except events.EventRefused as exc:
        return JSONResponse(
            {"error": exc.code, "detail": exc.detail, "field": exc.field}, exc.status
        )
    return JSONResponse(summary.document())
