"""The assistant over HTTP: the widget's API (write key), the admin API's catalog search, and
the console's conversation inbox where agents answer the conversations handed to them."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Header, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from cxloop import i18n, inputs, profiles, workspaces
from cxloop.assistant import service
from cxloop.assistant.catalog import index_of, search_catalog
from cxloop.assistant.models import CONVERSATION_STATUSES
from cxloop.errors import InvalidInput
from cxloop.web import templating
from cxloop.web.deps import AdminDep, CsrfFormDep, MemberDep, SessionDep
from cxloop.web.limits import WIDGET_LIMITS

CORS = {"Access-Control-Allow-Origin": "*", "Cache-Control": "no-store"}

public = APIRouter(prefix="/assistant/v1", tags=["assistant"])


def _refused(field: str, message: str, status: int = 401) -> InvalidInput:
    code = "unauthorized" if status == 401 else "invalid"
    return InvalidInput(field, message, status=status, code=code, headers=CORS)


def _workspace_of(request: Request, body_key: object, authorization: str | None) -> str:
    """The workspace of the write key: Basic-auth user name, else ``writeKey``."""
    key: str | None = None
    if authorization and authorization.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        key = decoded.partition(":")[0] or None
    if key is None and isinstance(body_key, str):
        key = body_key
    if not key or len(key) > 200:
        raise _refused("writeKey", "write key required")
    workspace_id: str | None = request.app.state.write_keys.workspace_of(key)
    if workspace_id is None:
        raise _refused("writeKey", "unknown write key")
    return workspace_id


def _text(value: object, field: str, limit: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _refused(field, "must be a string", status=422)
    try:
        return inputs.text(value, field, limit)
    except InvalidInput as exc:
        raise _refused(field, exc.message, status=422) from None


def _payload(value: object) -> dict[str, Any] | None:
    """A button's payload: ``{"intent": "human"}`` or ``{"set": {facet: value}}``."""
    if value is None:
        return None
    if not isinstance(value, dict) or len(value) > 4:
        raise _refused("payload", "must be a button's payload object", status=422)
    found: dict[str, Any] = {}
    if "intent" in value:
        if value["intent"] != "human":
            raise _refused("payload.intent", "only 'human'", status=422)
        found["intent"] = "human"
    if "set" in value:
        chosen = value["set"]
        if not isinstance(chosen, dict) or len(chosen) > 4:
            raise _refused("payload.set", "must be an object", status=422)
        clean: dict[str, Any] = {}
        for name, item in chosen.items():
            if name in ("min_price", "max_price"):
                if not isinstance(item, int) or isinstance(item, bool) or not 0 <= item < 10**9:
                    raise _refused(f"payload.set.{name}", "an amount in cents", status=422)
            elif name in ("facet", "category", "color", "size", "gender", "age_group", "brand"):
                if not isinstance(item, str) or len(item) > 100:
                    raise _refused(f"payload.set.{name}", "a text of 100 characters", status=422)
            else:
                raise _refused(f"payload.set.{name}", "unknown filter", status=422)
            clean[name] = item
        found["set"] = clean
    return found or None


@public.post("/conversations", status_code=201, dependencies=WIDGET_LIMITS)
def start(
    request: Request,
    session: SessionDep,
    body: Annotated[dict[str, Any], Body()],
    authorization: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Start a conversation: ``anonymousId`` (the visitor), optional ``userId``, ``locale``
    (the page's language), ``pageUrl`` and a first message ``text``. Answers with the
    conversation's id and its first messages."""
    workspace_id = _workspace_of(request, body.get("writeKey"), authorization)
    locale = _text(body.get("locale"), "locale", 16)
    exchange = service.start_conversation(
        session,
        workspace_id,
        anonymous_id=_text(body.get("anonymousId"), "anonymousId", 200),
        user_id=_text(body.get("userId"), "userId", 200) or None,
        locale=locale or None,
        page_url=_text(body.get("pageUrl"), "pageUrl", 500),
        text=_text(body.get("text"), "text", service.MAX_TEXT),
    )
    return JSONResponse(exchange.to_json(), status_code=201, headers=CORS)


@public.post("/conversations/{conversation_id}/messages", dependencies=WIDGET_LIMITS)
def post_message(
    request: Request,
    session: SessionDep,
    conversation_id: Annotated[str, Path(max_length=32)],
    body: Annotated[dict[str, Any], Body()],
    authorization: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """A shopper's message (``text``, or a button's ``payload`` with its label as ``text``);
    answers with the messages added: the shopper's and the assistant's reply (none while a
    person has the conversation)."""
    workspace_id = _workspace_of(request, body.get("writeKey"), authorization)
    exchange = service.post_message(
        session,
        workspace_id,
        conversation_id,
        text=_text(body.get("text"), "text", service.MAX_TEXT),
        payload=_payload(body.get("payload")),
    )
    return JSONResponse(exchange.to_json(), headers=CORS)


@public.get("/conversations/{conversation_id}/messages")
def read_messages(
    request: Request,
    session: SessionDep,
    conversation_id: Annotated[str, Path(max_length=32)],
    write_key: Annotated[str | None, Query(alias="writeKey", max_length=200)] = None,
    after: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    authorization: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """The messages after ``after`` (the widget polls it for the team's replies)."""
    workspace_id = _workspace_of(request, write_key, authorization)
    exchange = service.messages_after(session, workspace_id, conversation_id, after)
    return JSONResponse(exchange.to_json(), headers=CORS)


@public.post("/conversations/{conversation_id}/clicks", status_code=204)
async def product_clicked(
    request: Request,
    conversation_id: Annotated[str, Path(max_length=32)],
    authorization: Annotated[str | None, Header()] = None,
) -> Response:
    """A product card was clicked: ``{"writeKey", "product"}``, sent as text by the widget's
    ``sendBeacon`` (a simple request, no preflight)."""
    raw = await inputs.capped_body(request, 4096)
    body = inputs.json_document(raw)
    if not isinstance(body, dict):
        raise _refused("body", "must be a JSON object", status=422)
    workspace_id = _workspace_of(request, body.get("writeKey"), authorization)
    product = _text(body.get("product"), "product", 100)
    with request.app.state.db.session() as session:
        service.record_click(session, workspace_id, conversation_id, product)
    return Response(status_code=204, headers=CORS)


@public.options("/conversations", include_in_schema=False)
@public.options("/conversations/{conversation_id}/clicks", include_in_schema=False)
@public.options("/conversations/{conversation_id}/messages", include_in_schema=False)
def preflight() -> Response:
    """CORS preflight for the widget's calls."""
    return Response(
        status_code=204,
        headers={
            **CORS,
            "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
            "Access-Control-Allow-Headers": "Content-Type, Authorization",
            "Access-Control-Max-Age": "86400",
        },
    )


# The admin API -----------------------------------------------------------------------------

api = APIRouter(prefix="/api/v1", tags=["admin"])


class CatalogSearch(BaseModel):
    """A catalog search as a shopper types it."""

    query: str = Field(min_length=1, max_length=500)
    limit: int = Field(default=10, ge=1, le=100)
    in_stock: bool = False


@api.post("/catalog/search")
def catalog_search(owner: AdminDep, session: SessionDep, body: CatalogSearch) -> dict[str, Any]:
    """The catalog searched as the assistant does: ``{"filters", "products"}``."""
    result = search_catalog(
        session, owner.workspace_id, body.query, limit=body.limit, in_stock=body.in_stock
    )
    return result.to_json()


# The console -------------------------------------------------------------------------------

pages = APIRouter(include_in_schema=False)
routers = (public, api, pages)


@pages.get("/w/{workspace_id}/conversations")
def conversations_page(
    request: Request,
    session: SessionDep,
    member: MemberDep,
    status: Annotated[Literal["open", "handoff", "closed", ""], Query()] = "",
) -> Response:
    """The inbox: conversations waiting for a person first, then the newest."""
    rows = service.inbox(session, member.workspace.id, status=status or None)
    people = profiles.customers_by_id(session, [c.customer_id for c in rows if c.customer_id])
    return templating.page(
        request,
        "conversations.html",
        member,
        rows=rows,
        people=people,
        statuses=CONVERSATION_STATUSES,
        status_filter=status,
    )


STOREFRONT_PRODUCTS = 12


@pages.get("/w/{workspace_id}/storefront")
def storefront_page(request: Request, session: SessionDep, member: MemberDep) -> Response:
    """A store page carrying the assistant's widget, as the shop's visitors see it (the demo
    store's pages)."""
    index = index_of(session, member.workspace.id)
    products = sorted(index.items, key=lambda item: -item.popularity)[:STOREFRONT_PRODUCTS]
    return templating.page(
        request,
        "storefront.html",
        member,
        products=products,
        lang=i18n.current_locale.get(),
        write_key=workspaces.write_key_of(session, member.workspace.id),
    )


@pages.get("/w/{workspace_id}/conversations/{conversation_id}")
def conversation_page(
    request: Request,
    session: SessionDep,
    member: MemberDep,
    conversation_id: Annotated[str, Path(max_length=32)],
) -> Response:
    """One conversation: its messages, and the form to answer the shopper."""
    try:
        conversation = service.get_conversation(session, member.workspace.id, conversation_id)
    except InvalidInput:
        raise member.not_found() from None
    person = (
        profiles.get_customer(session, member.workspace.id, conversation.customer_id)
        if conversation.customer_id
        else None
    )
    return templating.page(
        request,
        "conversation.html",
        member,
        conversation=conversation,
        messages=service.transcript(session, conversation),
        person=person,
    )


@pages.post("/w/{workspace_id}/conversations/{conversation_id}")
def conversation_action(
    request: Request,
    session: SessionDep,
    form: CsrfFormDep,
    member: MemberDep,
    conversation_id: Annotated[str, Path(max_length=32)],
) -> Response:
    """Answer the shopper (any member: agents answer), or close the conversation."""
    try:
        service.get_conversation(session, member.workspace.id, conversation_id)
    except InvalidInput:
        raise member.not_found() from None
    actor = member.user.email
    if form.get("action") == "close":
        service.close_conversation(session, member.workspace.id, conversation_id, actor=actor)
    else:
        text = str(form.get("text", ""))
        with i18n.speaking(member.user.locale):
            service.agent_reply(
                session, member.workspace.id, conversation_id, text=text, actor=actor
            )
    return templating.redirect(f"/w/{member.workspace.id}/conversations/{conversation_id}")
