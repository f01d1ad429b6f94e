"""The site's campaigns over HTTP: the store's pages ask what to show (``POST /p/v1/decide``)
and report clicks with the write key; merchants manage campaigns over the admin API and in the
console (their definition, their status, their report against the holdout)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query, Request
from fastapi.responses import JSONResponse, Response

from cxloop import channels, commerce, i18n, profiles, segments, signing, workspaces
from cxloop.errors import InvalidInput
from cxloop.personalize import service
from cxloop.personalize.definition import KINDS
from cxloop.personalize.models import Campaign
from cxloop.personalize.schemas import CampaignBody, CampaignPublic, SourceBody, StatusBody
from cxloop.personalize.visit import PAGE_TYPES
from cxloop.store.base import utcnow
from cxloop.web import labels, templating
from cxloop.web.deps import (
    AdminDep,
    CsrfFormDep,
    EditorDep,
    Member,
    MemberDep,
    SessionDep,
    cors_preflight,
    page_text,
    write_key_workspace,
)

CORS = {"Access-Control-Allow-Origin": "*", "Cache-Control": "no-store"}
public = APIRouter(prefix="/p/v1", tags=["personalization"])
api = APIRouter(prefix="/api/v1", tags=["admin"])
pages = APIRouter(include_in_schema=False)
routers = (public, api, pages)


def _refused(field: str, message: str) -> InvalidInput:
    return InvalidInput(field, message, status=422, code="invalid", headers=CORS)


def _text(value: object, field: str, limit: int) -> str | None:
    return page_text(value, field, limit, CORS)


def _visitor(
    request: Request, session: SessionDep, workspace_id: str, body: dict[str, Any]
) -> service.Visitor:
    anonymous_id = _text(body.get("anonymousId"), "anonymousId", 200)
    user_id = _text(body.get("userId"), "userId", 200)
    user_hash = _text(body.get("userHash"), "userHash", 128)
    page = body.get("page") or {}
    if not isinstance(page, dict):
        raise _refused("page", "an object: {type, category}")
    page_type = _text(page.get("type"), "page.type", 20) or "other"
    if page_type not in PAGE_TYPES:
        raise _refused("page.type", f"one of {', '.join(PAGE_TYPES)}")
    slots = body.get("slots") or []
    if not isinstance(slots, list) or len(slots) > service.MAX_SLOTS:
        raise _refused("slots", f"a list of at most {service.MAX_SLOTS} place names")
    for slot in slots:
        if not isinstance(slot, str) or not 0 < len(slot) <= 64:
            raise _refused("slots", "place names of 1 to 64 characters")
    leaving = body.get("leaving", False)
    if not isinstance(leaving, bool):
        raise _refused("leaving", "true or false")
    locale = (_text(body.get("locale"), "locale", 16) or "fr")[:2].lower()
    customer = None
    if user_id:
        if not user_hash or not signing.matches(
            user_hash, channels.user_hash(request.app.state.settings, workspace_id, user_id)
        ):
            raise InvalidInput(
                "userHash", "does not match userId", status=401, code="unauthorized", headers=CORS
            )
        customer = profiles.find_by_user_id(session, workspace_id, user_id)
    elif anonymous_id:
        found = profiles.lookup_identities(session, workspace_id, {("anonymous_id", anonymous_id)})
        known = found.get(("anonymous_id", anonymous_id))
        customer = profiles.get_customer(session, workspace_id, known) if known else None
    return service.Visitor(
        anonymous_id=anonymous_id,
        customer_id=customer.id if customer is not None else None,
        page_type=page_type,
        page_category=_text(page.get("category"), "page.category", 200),
        slots=tuple(slots),
        leaving=leaving,
        locale="en" if locale == "en" else "fr",
        first_name=(customer.first_name or "") if customer is not None else "",
    )


@public.post("/decide")
def decide(
    request: Request,
    session: SessionDep,
    body: Annotated[dict[str, Any], Body()],
    authorization: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """What the page shows: ``anonymousId`` (none without consent), ``userId`` with its
    ``userHash`` on a signed-in page, ``page`` ({type, category}), ``slots`` (the page's
    marked places), ``leaving`` and ``locale``. Answers ``{"decisions": [...]}``: banners for
    the places, at most one message, each with its ``token`` for clicks."""
    workspace_id = write_key_workspace(request, body.get("writeKey"), authorization, CORS)
    visitor = _visitor(request, session, workspace_id, body)
    decided = service.decide(session, workspace_id, visitor)
    return JSONResponse({"decisions": [d.to_json() for d in decided]}, headers=CORS)


@public.post("/decide/clicks", status_code=204)
def click(
    request: Request,
    session: SessionDep,
    body: Annotated[dict[str, Any], Body()],
    authorization: Annotated[str | None, Header()] = None,
) -> Response:
    """The visitor followed a decision's link (``token``)."""
    workspace_id = write_key_workspace(request, body.get("writeKey"), authorization, CORS)
    token = _text(body.get("token"), "token", 32)
    if not token or not service.record_click(session, workspace_id, token):
        raise InvalidInput("token", "unknown token", status=404, code="not_found", headers=CORS)
    return Response(status_code=204, headers=CORS)


@public.options("/decide", include_in_schema=False)
@public.options("/decide/clicks", include_in_schema=False)
def preflight() -> Response:
    """CORS preflight for the SDK's calls."""
    return cors_preflight(CORS)


# The admin API -------------------------------------------------------------------------------


def _public(session: SessionDep, campaign: Campaign) -> CampaignPublic:
    spec = service.plan_of(campaign.source)
    return CampaignPublic(
        key=campaign.key,
        name={"fr": spec.name.fr, "en": spec.name.en},
        kind=spec.kind,
        slot=spec.slot or None,
        status=campaign.status,
        version=campaign.version,
        priority=spec.priority,
        holdout=spec.holdout,
        source=campaign.source,
        report=service.report(session, campaign),
    )


@api.post("/campaigns", status_code=201)
def create_campaign(owner: AdminDep, session: SessionDep, body: CampaignBody) -> CampaignPublic:
    """A new site campaign from its YAML; ``status: active`` switches it on at once."""
    campaign = service.create_campaign(
        session, owner.workspace_id, body.source, actor="api", status=body.status
    )
    return _public(session, campaign)


@api.get("/campaigns")
def list_campaigns(owner: AdminDep, session: SessionDep) -> list[CampaignPublic]:
    """The workspace's site campaigns, by key, with their reports."""
    return [_public(session, c) for c in service.list_campaigns(session, owner.workspace_id)]


@api.get("/campaigns/{key}")
def get_campaign(owner: AdminDep, session: SessionDep, key: str) -> CampaignPublic:
    """One campaign and its report."""
    return _public(session, service.found_campaign(session, owner.workspace_id, key))


@api.put("/campaigns/{key}")
def update_campaign(
    owner: AdminDep, session: SessionDep, key: str, body: SourceBody
) -> CampaignPublic:
    """A new version of the campaign."""
    campaign = service.update_campaign(session, owner.workspace_id, key, body.source, actor="api")
    return _public(session, campaign)


@api.post("/campaigns/{key}/status")
def campaign_status(
    owner: AdminDep, session: SessionDep, key: str, body: StatusBody
) -> CampaignPublic:
    """Switch the campaign on, pause it or archive it."""
    campaign = service.set_status(session, owner.workspace_id, key, body.status, actor="api")
    return _public(session, campaign)


# The console ---------------------------------------------------------------------------------

EXAMPLE = """key: kids_books
name: {fr: "Promotion livres jeunesse", en: "Children's books offer"}
kind: message
holdout: 10
when: "visit.category = 'Livres jeunesse' and visit.category_views >= 3"
cap: {shows: 2, per: 1d}
variants:
  - key: offer
    title: {fr: "-15 % sur les livres jeunesse", en: "15% off children's books"}
    body: {fr: "Avec le code LIRE15, jusqu'à dimanche.", en: "With code LIRE15, until Sunday."}
"""


def _list_url(member: Member) -> str:
    return f"/w/{member.workspace.id}/campaigns"


def _row(session: SessionDep, campaign: Campaign, locale: str) -> dict[str, Any]:
    spec = service.plan_of(campaign.source)
    report = service.report(session, campaign)
    treated = [v for v in report["variants"] if v["variant"] != "holdout"]
    return {
        "key": campaign.key,
        "name": spec.name.get(locale),
        "kind": spec.kind,
        "slot": spec.slot,
        "status": campaign.status,
        "holdout": spec.holdout,
        "visitors": sum(v["visitors"] for v in treated),
        "clicks": sum(v["clicks"] for v in treated),
        "conversions": sum(v["conversions"] for v in treated),
        "difference": report["against_holdout"]["difference"],
    }


def _campaigns_page(
    request: Request,
    session: SessionDep,
    member: Member,
    *,
    source: str = EXAMPLE,
    error: InvalidInput | None = None,
) -> Response:
    locale = i18n.current_locale.get()
    rows = [_row(session, c, locale) for c in service.list_campaigns(session, member.workspace.id)]
    return templating.page(
        request,
        "campaigns.html",
        member,
        status=422 if error is not None else 200,
        rows=rows,
        kinds=KINDS,
        source=source,
        error=error.message if error is not None else None,
    )


@pages.get("/w/{workspace_id}/campaigns")
def campaigns_page(request: Request, session: SessionDep, member: MemberDep) -> Response:
    """The site's campaigns with what each did, and a form for a new one."""
    return _campaigns_page(request, session, member)


@pages.post("/w/{workspace_id}/campaigns")
def new_campaign_page(
    request: Request, session: SessionDep, form: CsrfFormDep, member: EditorDep
) -> Response:
    """A new campaign (a draft) from the posted YAML; the page again with the refusal."""
    source = str(form.get("source", ""))
    try:
        campaign = service.create_campaign(
            session, member.workspace.id, source, actor=member.user.email
        )
    except InvalidInput as exc:
        return _campaigns_page(request, session, member, source=source, error=exc)
    return templating.redirect(f"{_list_url(member)}/{campaign.key}")


def _member_campaign(session: SessionDep, member: Member, key: str) -> Campaign:
    campaign = service.get_campaign(session, member.workspace.id, key)
    if campaign is None:
        raise member.not_found()
    return campaign


def _campaign_page(
    request: Request,
    session: SessionDep,
    member: Member,
    campaign: Campaign,
    *,
    source: str | None = None,
    error: InvalidInput | None = None,
) -> Response:
    locale = i18n.current_locale.get()
    spec = service.plan_of(campaign.source)
    return templating.page(
        request,
        "campaign.html",
        member,
        status=422 if error is not None else 200,
        campaign=campaign,
        spec=spec,
        name=spec.name.get(locale),
        goal=labels.label(spec.goal.event, "event"),
        report=service.report(session, campaign),
        source=campaign.source if source is None else source,
        error=error.message if error is not None else None,
    )


@pages.get("/w/{workspace_id}/campaigns/{key}")
def campaign_page(request: Request, session: SessionDep, member: MemberDep, key: str) -> Response:
    """One campaign: its report per variant against the holdout, its definition (editable by
    editors) and its status."""
    return _campaign_page(request, session, member, _member_campaign(session, member, key))


@pages.post("/w/{workspace_id}/campaigns/{key}")
def save_campaign_page(
    request: Request, session: SessionDep, form: CsrfFormDep, member: EditorDep, key: str
) -> Response:
    """Save the definition as a new version; the page again with the refusal when it is wrong."""
    campaign = _member_campaign(session, member, key)
    source = str(form.get("source", ""))
    try:
        service.update_campaign(session, member.workspace.id, key, source, actor=member.user.email)
    except InvalidInput as exc:
        return _campaign_page(request, session, member, campaign, source=source, error=exc)
    return templating.redirect(f"{_list_url(member)}/{key}")


@pages.post("/w/{workspace_id}/campaigns/{key}/status")
def campaign_status_page(
    request: Request, session: SessionDep, form: CsrfFormDep, member: EditorDep, key: str
) -> Response:
    """Switch the campaign on, pause it or archive it."""
    _member_campaign(session, member, key)
    service.set_status(
        session, member.workspace.id, key, str(form.get("status", "")), actor=member.user.email
    )
    return templating.redirect(f"{_list_url(member)}/{key}")


# The demo store's pages ----------------------------------------------------------------------

STOREFRONT_PRODUCTS = 12
VIEWERS = 8


def _text_of(product: Any, name: str, lang: str) -> str:
    translated = (product.translations or {}).get(lang, {}).get(name)
    return str(translated or getattr(product, name) or "")


def _viewers(session: SessionDep, workspace_id: str, lang: str) -> list[dict[str, Any]]:
    """A customer of each segment, to see the store as they do."""
    found = []
    for segment in segments.list_segments(session, workspace_id):
        for customer_id in segments.members_of(session, workspace_id, segment.key)[:5]:
            if profiles.user_id_of(session, customer_id):
                found.append({"id": customer_id, "segment": segment.name, "key": segment.key})
                break
        if len(found) >= VIEWERS:
            break
    return found


@pages.get("/w/{workspace_id}/storefront")
def storefront_page(
    request: Request,
    session: SessionDep,
    member: MemberDep,
    category: Annotated[str | None, Query(max_length=100)] = None,
    viewer: Annotated[int | None, Query(alias="as", ge=1, le=2**62)] = None,
    consent: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    """A store page with the web SDK, as the shop's visitors see it (the demo store's pages):
    banners, messages, recommendation blocks and the assistant; the best sellers or one
    category; as a visitor, or as a customer of a segment (``as``); ``consent=pending``: as a
    visitor who has not agreed to be followed yet."""
    workspace_id = member.workspace.id
    lang = i18n.current_locale.get()
    products = commerce.catalog_products(session, workspace_id)
    categories = sorted({p.category for p in products if p.category})
    if category:
        shown = [p for p in products if p.category == category]
        shown.sort(key=lambda p: (p.availability != "in_stock", p.sku))
    else:
        sold = commerce.units_sold(session, workspace_id, utcnow() - dt.timedelta(days=90))
        shown = sorted(products, key=lambda p: (-sold.get(p.sku, 0), p.sku))
    user_id = user_hash = None
    if viewer is not None and profiles.get_customer(session, workspace_id, viewer) is not None:
        user_id = profiles.user_id_of(session, viewer)
        if user_id:
            user_hash = channels.user_hash(request.app.state.settings, workspace_id, user_id)
    cards = [
        {
            "sku": p.sku,
            "title": _text_of(p, "title", lang),
            "category": p.category,
            "price": (p.sale_price_cents if p.sale_price_cents is not None else p.price_cents)
            / 100,
            "currency": p.currency,
            "image_url": p.image_url,
        }
        for p in shown[:STOREFRONT_PRODUCTS]
    ]
    return templating.page(
        request,
        "storefront.html",
        member,
        products=cards,
        categories=categories,
        category=category if category in categories else None,
        viewers=_viewers(session, workspace_id, lang),
        viewer=viewer if user_id else None,
        user_id=user_id,
        user_hash=user_hash,
        lang=lang,
        consent="pending" if consent == "pending" else "granted",
        write_key=workspaces.write_key_of(session, workspace_id),
    )
