"""Analytics over HTTP: the RFM overview in the admin API, and the segments page of the console
(the recency × frequency grid, segments, customer value, churn risks), each table also as CSV."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from cxloop import i18n, workspaces
from cxloop import segments as custom_segments
from cxloop.analytics import experience, flows, service
from cxloop.analytics.schemas import (
    Estimate,
    ExperienceGroup,
    ExperienceOverview,
    ModelReports,
    PersonasOverview,
    RfmOverview,
    ScoredCustomer,
)
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
        custom=custom_segments.list_segments(session, workspace_id),
    )


@api.get("/analytics/models", response_model=ModelReports)
def model_reports(owner: AdminDep, session: SessionDep) -> ModelReports:
    """How the models did, as of the last analytics run: the propensity model's AUC, Brier score
    and calibration on the held-out months against the first-order-value baseline, its features'
    importance, and the purchase model's predicted against actual repeat purchases in a
    holdout (``{"status": "too_little_data", "reason": ...}`` when history was too short)."""
    return service.model_reports(session, owner.workspace_id)


def _models_export(session: Session, workspace_id: str, table: str) -> Response | None:
    """One of the predictions page's tables as CSV, every row; None for an unknown table."""
    reports = service.model_reports(session, workspace_id)
    fit = (
        reports.propensity
        if reports.propensity and reports.propensity.get("status") == "ok"
        else {}
    )
    check = reports.clv if reports.clv and reports.clv.get("status") == "ok" else {}
    if table == "calibration":
        return templating.csv_response(
            "propensity_calibration",
            ("decile", "customers", "mean_predicted", "observed_rate"),
            ((r["decile"], r["customers"], r["predicted"], r["observed"])
             for r in fit.get("calibration", [])),
        )  # fmt: skip
    if table == "features":
        return templating.csv_response(
            "propensity_features",
            ("feature", "auc_drop"),
            ((r["feature"], r["auc_drop"]) for r in fit.get("importance", [])),
        )
    if table == "clv_holdout":
        return templating.csv_response(
            "clv_holdout",
            ("repeat_purchases_before", "customers", "actual_mean", "predicted_mean"),
            ((g["frequency"], g["customers"], g["actual_mean"], g["predicted_mean"])
             for g in check.get("groups", [])),
        )  # fmt: skip
    if table == "new_customers":
        rows = flows.scored_customers(session, workspace_id, by="propensity", limit=None)
        return templating.csv_response(
            "propensity_new_customers",
            ("customer_id", "name", "propensity", "orders", "spent", "days_since_last_order"),
            ((c.customer_id, c.name, c.scores.propensity, c.scores.frequency, c.scores.monetary,
              c.scores.recency_days) for c in rows),
        )  # fmt: skip
    return None


def _report_dates(reports: ModelReports) -> dict[str, dt.date]:
    """The reports' dates (ISO text in JSON) as dates, for the page to show in the reader's
    locale."""
    fit, check = reports.propensity or {}, reports.clv or {}
    texts = {
        "train_from": fit.get("train", {}).get("first_from"),
        "train_to": fit.get("train", {}).get("first_to"),
        "test_from": fit.get("test", {}).get("first_from"),
        "test_to": fit.get("test", {}).get("first_to"),
        "calibration_end": check.get("calibration_end"),
        "holdout_start": check.get("holdout_start"),
        "holdout_end": check.get("holdout_end"),
    }
    return {name: dt.date.fromisoformat(text) for name, text in texts.items() if text}


@pages.get("/w/{workspace_id}/models")
def models(request: Request, session: SessionDep, member: MemberDep, export: str = "") -> Response:
    """Predictions: how well the propensity model ranks new customers against the first order's
    value, its calibration and features, the new customers likeliest to become top customers,
    and the purchase model's holdout check; each table as CSV
    (``export=calibration|features|new_customers|clv_holdout``)."""
    workspace_id = member.workspace.id
    if export and (answer := _models_export(session, workspace_id, export)) is not None:
        return answer
    reports = service.model_reports(session, workspace_id)
    return templating.page(
        request,
        "models.html",
        member,
        reports=reports,
        dates=_report_dates(reports),
        currency=member.workspace.currency or "EUR",
        promising=flows.scored_customers(session, workspace_id, by="propensity", limit=LISTED),
    )


# Experience against revenue -------------------------------------------------------------------

EXPERIENCE_HEADER = (
    "group", "customers", "horizon_days",
    "revenue_per_customer", "revenue_low", "revenue_high",
    "orders_per_customer", "orders_low", "orders_high",
    "average_basket", "basket_low", "basket_high",
    "retention", "retention_low", "retention_high",
)  # fmt: skip


@api.get("/analytics/experience", response_model=ExperienceOverview)
def experience_overview(
    owner: AdminDep, session: SessionDep, locale: Literal["fr", "en"] | None = None
) -> ExperienceOverview:
    """Revenue, orders, basket and retention by NPS category and by first delivery (on time or
    late), with 95% intervals, and the sentences to quote in ``locale`` (default: the
    workspace's language), as of the last analytics run."""
    workspace = workspaces.get_workspace(session, owner.workspace_id)
    language = locale or i18n.supported(workspace.locale if workspace else None)
    return experience.overview(session, owner.workspace_id, language)


@pages.get("/w/{workspace_id}/experience")
def experience_page(
    request: Request, session: SessionDep, member: MemberDep, export: str = ""
) -> Response:
    """Experience against revenue: the sentences to quote, a chart and a table per breakdown
    (NPS category, first delivery, first order's value), each table as CSV
    (``export=nps|delivery|first_order``)."""
    view = experience.overview(session, member.workspace.id, i18n.current_locale.get())
    parts = {"nps": view.nps, "delivery": view.delivery, "first_order": view.first_order}
    part = parts.get(export)
    if part is not None:
        return templating.csv_response(
            f"experience_{export}",
            EXPERIENCE_HEADER,
            (
                (g.code, g.customers, part.horizon_days, *_triple(g.revenue_per_customer),
                 *_triple(g.orders_per_customer), *_triple(g.average_basket),
                 *_triple(g.retention))
                for g in part.groups
            ),
        )  # fmt: skip
    charts = {
        name: {field: _bars(part.groups, field) for field in CHARTED}
        for name, part in parts.items()
        if part is not None and part.customers
    }
    horizons = {
        name: experience.horizon_text(part.horizon_days)
        for name, part in parts.items()
        if part is not None
    }
    return templating.page(
        request, "experience.html", member, view=view, charts=charts, horizons=horizons
    )


def _triple(estimate: Estimate) -> tuple[float | None, float | None, float | None]:
    return (estimate.value, estimate.low, estimate.high)


# The figures charted per breakdown, and the chart's drawing area (SVG user units).
CHARTED = ("revenue_per_customer", "retention")
CHART_WIDTH, CHART_TOP, CHART_BOTTOM = 320.0, 24.0, 170.0


def _bars(groups: list[ExperienceGroup], field: str) -> list[dict[str, object]]:
    """Bars with interval whiskers, in SVG units: x, width, the bar's top, the whisker's ends,
    and the estimate it stands for (drawn from 0 to the largest upper bound)."""
    estimates = [getattr(g, field) for g in groups]
    top = max([e.high or e.value or 0.0 for e in estimates] + [1e-9])
    slot = CHART_WIDTH / max(len(groups), 1)

    def y(value: float | None) -> float:
        return round(CHART_BOTTOM - (value or 0.0) / top * (CHART_BOTTOM - CHART_TOP), 1)

    return [
        {
            "code": g.code,
            "customers": g.customers,
            "x": round(i * slot + slot * 0.2, 1),
            "width": round(slot * 0.6, 1),
            "middle": round(i * slot + slot / 2, 1),
            "top": y(e.value),
            "low": y(e.low if e.low is not None else e.value),
            "high": y(e.high if e.high is not None else e.value),
            "value": e.value,
            "interval": (e.low, e.high),
        }
        for i, (g, e) in enumerate(zip(groups, estimates, strict=True))
    ]


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
