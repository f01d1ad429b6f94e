"""Analytics over HTTP: the RFM overview in the admin API."""

from __future__ import annotations

from fastapi import APIRouter

from cxloop.analytics import service
from cxloop.analytics.schemas import RfmOverview
from cxloop.web.deps import AdminDep, SessionDep

api = APIRouter(prefix="/api/v1", tags=["admin"])
routers = (api,)


@api.get("/analytics/rfm", response_model=RfmOverview)
def rfm_overview(owner: AdminDep, session: SessionDep) -> RfmOverview:
    """RFM segments (customers, revenue) and the 5 × 5 recency × frequency grid, as of the last
    analytics run (``cxloop analytics run``, nightly in the worker)."""
    return service.rfm_overview(session, owner.workspace_id)
