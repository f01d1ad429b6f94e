"""Commerce over HTTP: the workspace overview, as a console page and in the admin API."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from cxloop import i18n, surveys
from cxloop.commerce import service as commerce
from cxloop.commerce.schemas import Overview
from cxloop.i18n import _
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
