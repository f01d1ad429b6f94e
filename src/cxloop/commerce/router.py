"""Commerce over HTTP: the workspace overview, as a console page and in the admin API."""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from cxloop import i18n, profiles, surveys, workspaces
from cxloop.commerce import coupons, stores, tasks
from cxloop.commerce import service as commerce
from cxloop.commerce.schemas import Overview
from cxloop.config import get_settings
from cxloop.errors import InvalidInput
from cxloop.i18n import _
from cxloop.store.base import utcnow
from cxloop.store.db import after_commit
from cxloop.web import templating
from cxloop.web.deps import AdminDep, MemberDep, SessionDep

api = APIRouter(prefix="/api/v1", tags=["admin"])
pages = APIRouter(include_in_schema=False)
routers = (api, pages)


@api.get("/overview", response_model=Overview)
def workspace_overview(owner: AdminDep, session: SessionDep) -> Overview:
    """Headline figures and revenue by month for the key's workspace."""
    return commerce.overview(session, owner.workspace_id)


@pages.get("/w/{workspace_id}/")
def overview(request: Request, session: SessionDep, member: MemberDep) -> Response:
    """A workspace's overview: customers, orders, revenue, revenue by month."""
    request.session["workspace_id"] = member.workspace.id
    figures = commerce.overview(session, member.workspace.id)
    chart = {
        "labels": [templating.period_label(m.month) for m in figures.months],
        "revenue": [m.revenue for m in figures.months],
        "orders": [m.orders for m in figures.months],
        "currency": figures.currency,
        "locale": i18n.current_locale.get(),
        "revenueLabel": _("Revenue"),
        "ordersLabel": _("Orders"),
    }
    nps = surveys.nps_summary(session, member.workspace.id)
    return templating.page(request, "overview.html", member, figures=figures, chart=chart, nps=nps)


class StoreConnectionBody(BaseModel):
    """The store cxloop writes coupons to: Shopify (``access_token`` of a custom app with the
    ``write_discounts`` scope) or WooCommerce (a REST API ``consumer_key`` and
    ``consumer_secret`` with write access)."""

    platform: Literal["shopify", "woocommerce"]
    base_url: str = Field(
        min_length=8, max_length=300, description="https://shop.myshopify.com or the WordPress site"
    )
    access_token: str | None = Field(default=None, max_length=500)
    consumer_key: str | None = Field(default=None, max_length=500)
    consumer_secret: str | None = Field(default=None, max_length=500)


class StoreConnectionPublic(BaseModel):
    """The store connection, without its credentials."""

    platform: str
    base_url: str
    updated_at: dt.datetime


class CouponBody(BaseModel):
    """A goodwill coupon for a customer, made by hand."""

    user_id: str = Field(min_length=1, max_length=200)
    kind: Literal["percent", "fixed", "free_shipping"]
    value: float = Field(default=0, ge=0, le=100_000)
    expires_in_days: int = Field(default=30, ge=1, le=366)


class CouponPublic(BaseModel):
    """A coupon: its code, what it gives, until when, and whether the store has it."""

    code: str
    kind: str
    value: float
    currency: str
    expires_at: dt.datetime
    source: str
    redeemed_at: dt.datetime | None
    store_status: str
    created_at: dt.datetime


def _coupon(coupon: Any) -> CouponPublic:
    value = coupon.value / 100 if coupon.kind == "fixed" else float(coupon.value)
    return CouponPublic(
        code=coupon.code,
        kind=coupon.kind,
        value=value,
        currency=coupon.currency,
        expires_at=coupon.expires_at,
        source=coupon.source,
        redeemed_at=coupon.redeemed_at,
        store_status=coupon.store_status,
        created_at=coupon.created_at,
    )


@api.put("/store-connection")
def connect_store(
    owner: AdminDep, session: SessionDep, body: StoreConnectionBody
) -> StoreConnectionPublic:
    """Connect the store that coupons are written to (replaces any earlier connection)."""
    row = stores.connect_store(
        session,
        owner.workspace_id,
        platform=body.platform,
        base_url=body.base_url,
        credentials={
            k: v
            for k, v in (
                ("access_token", body.access_token),
                ("consumer_key", body.consumer_key),
                ("consumer_secret", body.consumer_secret),
            )
            if v is not None
        },
        secret_key=get_settings().resolved_secret_key(),
        actor="api",
    )
    return StoreConnectionPublic(
        platform=row.platform, base_url=row.base_url, updated_at=row.updated_at
    )


@api.get("/store-connection")
def get_store_connection(owner: AdminDep, session: SessionDep) -> StoreConnectionPublic:
    """The connected store (never its credentials)."""
    row = stores.store_connection(session, owner.workspace_id)
    if row is None:
        raise InvalidInput(
            "platform", i18n.gettext("no store is connected"), status=404, code="not_found"
        )
    return StoreConnectionPublic(
        platform=row.platform, base_url=row.base_url, updated_at=row.updated_at
    )


@api.delete("/store-connection", status_code=204, response_class=Response)
def delete_store_connection(owner: AdminDep, session: SessionDep) -> Response:
    """Forget the store connection and its credentials."""
    stores.disconnect_store(session, owner.workspace_id, actor="api")
    return Response(status_code=204)


@api.post("/coupons", status_code=201)
def make_coupon(owner: AdminDep, session: SessionDep, body: CouponBody) -> CouponPublic:
    """A goodwill coupon for a customer (written to the connected store once committed)."""
    customer_id = profiles.customer_id_of(session, owner.workspace_id, body.user_id)
    if customer_id is None:
        raise InvalidInput(
            "user_id", i18n.gettext("no customer has this user id"), status=404, code="not_found"
        )
    place = workspaces.get_workspace(session, owner.workspace_id)
    coupon = coupons.issue_coupon(
        session,
        owner.workspace_id,
        kind=body.kind,
        value=body.value,
        customer_id=customer_id,
        expires_at=utcnow() + dt.timedelta(days=body.expires_in_days),
        source="manual",
        currency=place.currency if place else "EUR",
    )
    workspaces.audit(
        session,
        actor="api",
        action="commerce.coupon_made",
        workspace_id=owner.workspace_id,
        subject=coupon.code,
        data={"kind": coupon.kind, "customer_id": customer_id},
    )
    if coupon.store_status == "pending":
        after_commit(session, partial(tasks.write_coupons, [coupon.id]))
    return _coupon(coupon)


@api.get("/coupons")
def list_coupons(
    owner: AdminDep,
    session: SessionDep,
    user_id: Annotated[str, Query(min_length=1, max_length=200)],
) -> list[CouponPublic]:
    """A customer's coupons, newest first."""
    customer_id = profiles.customer_id_of(session, owner.workspace_id, user_id)
    if customer_id is None:
        return []
    return [_coupon(c) for c in coupons.coupons_of(session, owner.workspace_id, customer_id)]
