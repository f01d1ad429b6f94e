"""Analytics over HTTP: the RFM overview in the admin API, and the segments page of the console
(the recency × frequency grid, segments, customer value, churn risks), each table also as CSV."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from cxloop import i18n, workspaces
from cxloop.analytics import flows, service
from cxloop.analytics.schemas import PersonasOverview, RfmOverview, ScoredCustomer
from cxloop.errors import InvalidInput
from cxloop.web import templating
from cxloop.web.deps import AdminDep, MemberDep, SessionDep

api = APIRouter(prefix="/api/v1", tags=["admin"])
pages = APIRouter(include_in_schema=False)
routers = (api, pages)

# The customers the segments page lists: the most valuable, the most at risk.
LISTED = 50
SCORED_HEADER = (
    "customer_id",
    "name",
    "rfm_segment",
    "r",
    "f",
    "m",
    "recency_days",
    "frequency",
    "monetary",
    "usual_gap_days",
    "clv_12m",
    "p_alive",
    "expected_orders_90d",
    "next_order_days",
    "churn_band",
)


@api.get("/analytics/rfm", response_model=RfmOverview)
def rfm_overview(owner: AdminDep, session: SessionDep) -> RfmOverview:
    """RFM segments (customers, revenue) and the 5 × 5 recency × frequency grid, as of the last
    analytics run (``cxloop analytics run``, nightly in the worker)."""
    return service.rfm_overview(session, owner.workspace_id)


def _scored_csv(name: str, rows: list[ScoredCustomer]) -> Response:
    return templating.csv_response(
        name,
        SCORED_HEADER,
        (
            (c.customer_id, c.name, s.rfm_segment, s.r, s.f, s.m, s.recency_days, s.frequency,
             s.monetary, c.usual_gap_days, s.clv_12m, s.p_alive, s.expected_orders_90d,
             s.next_order_days, s.churn_band)
            for c in rows
            for s in (c.scores,)
        ),
    )  # fmt: skip


def _export(session: Session, workspace_id: str, table: str) -> Response | None:
    """One of the page's tables as CSV, every row; None for an unknown table."""
    if table == "segments":
        overview = service.rfm_overview(session, workspace_id)
        values = service.segment_values(session, workspace_id)
        total = overview.customers or 1
        return templating.csv_response(
            "rfm_segments",
            ("segment", "customers", "share", "revenue", "average_clv_12m"),
            (
                (name, f.customers, round(f.customers / total, 4), f.revenue, values[name])
                for name, f in overview.segments.items()
            ),
        )
    if table == "grid":
        overview = service.rfm_overview(session, workspace_id)
        return templating.csv_response(
            "rfm_grid",
            ("r", "f", "segment", "customers", "revenue"),
            ((c.r, c.f, c.segment, c.customers, c.revenue) for c in overview.grid),
        )
    if table == "clv_bands":
        return templating.csv_response(
            "customer_value_bands",
            ("from", "up_to", "customers"),
            service.clv_distribution(session, workspace_id),
        )
    if table == "churn":
        rows = flows.scored_customers(session, workspace_id, by="churn", limit=None)
        return _scored_csv("churn_risks", rows)
    if table == "clv":
        rows = flows.scored_customers(session, workspace_id, by="clv", limit=None)
        return _scored_csv("customer_value", rows)
    return None


@pages.get("/w/{workspace_id}/segments")
def segments(
    request: Request, session: SessionDep, member: MemberDep, export: str = ""
) -> Response:
    """RFM segments: the 5 × 5 grid, each cell linked to its customers, the segments with their
    share, revenue and average value, the rules, customer value and the churn risks; each table
    as CSV (``export=segments|grid|clv_bands|clv|churn``)."""
    workspace_id = member.workspace.id
    if export and (answer := _export(session, workspace_id, export)) is not None:
        return answer
    overview = service.rfm_overview(session, workspace_id)
    return templating.page(
        request,
        "segments.html",
        member,
        overview=overview,
        rows=[overview.grid[i : i + 5] for i in range(0, 25, 5)],
        values=service.segment_values(session, workspace_id),
        coverage=service.model_coverage(session, workspace_id),
        distribution=service.clv_distribution(session, workspace_id),
        top=flows.scored_customers(session, workspace_id, by="clv", limit=LISTED),
        risks=flows.scored_customers(session, workspace_id, by="churn", limit=LISTED),
    )


# Personas (item 6 of issue 11) -------------------------------------------------------------


def _locale(value: str | None, fallback: str) -> str:
    if value is None:
        return fallback if fallback in i18n.LOCALES else "en"
    if value not in i18n.LOCALES:
        raise InvalidInput("locale", "must be fr or en")
    return value


@api.get("/analytics/personas", response_model=PersonasOverview)
def personas_overview(
    owner: AdminDep, session: SessionDep, locale: str | None = None
) -> PersonasOverview:
    """The personas of the last analytics run, named and described in ``locale`` (``fr`` or
    ``en``; the workspace's by default): size, share, revenue share, average value, feature
    means and what sets each apart; k chosen by BIC, the BIC per k, the sample size."""
    workspace = workspaces.get_workspace(session, owner.workspace_id)
    chosen = _locale(locale, workspace.locale if workspace else "en")
    return service.personas_overview(session, owner.workspace_id, chosen)


PERSONA_HEADER = (
    "persona", "name", "description", "customers", "share", "revenue_share", "average_clv_12m",
)  # fmt: skip


@pages.get("/w/{workspace_id}/personas")
def personas(
    request: Request, session: SessionDep, member: MemberDep, export: str = ""
) -> Response:
    """Personas: a card per persona (name, description, size, share, revenue share, average
    value), each linked to its customers, and a table of feature means against the population;
    as CSV (``export=personas``: a row per persona, a column per feature)."""
    workspace_id = member.workspace.id
    overview = service.personas_overview(session, workspace_id, i18n.current_locale.get())
    if export == "personas":
        return templating.csv_response(
            "personas",
            (*PERSONA_HEADER, *overview.features),
            (
                (p.code, p.name, p.description, p.customers, p.share, p.revenue_share,
                 p.average_clv_12m, *(p.means.get(f) for f in overview.features))
                for p in overview.personas
            ),
        )  # fmt: skip
    return templating.page(request, "personas.html", member, overview=overview)
