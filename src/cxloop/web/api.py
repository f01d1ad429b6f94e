"""The admin API under /api/v1 (Bearer admin key, scoped to the key's workspace)."""

from __future__ import annotations

from fastapi import APIRouter

from cxloop.commerce import service as commerce
from cxloop.commerce.schemas import Overview
from cxloop.profiles import service as profiles
from cxloop.profiles.schemas import Customer360, CustomerRow
from cxloop.web.deps import AdminDep, SessionDep
from cxloop.web.errors import ApiError
from cxloop.workspaces.models import Workspace
from cxloop.workspaces.schemas import WorkspacePublic

router = APIRouter(prefix="/api/v1", tags=["admin"])


@router.get("/workspace", response_model=WorkspacePublic)
def current_workspace(owner: AdminDep, session: SessionDep) -> WorkspacePublic:
    """The workspace this admin key belongs to."""
    workspace = session.get(Workspace, owner.workspace_id)
    if workspace is None:
        raise ApiError(404, "not_found", "workspace is gone", "authorization")
    return WorkspacePublic.model_validate(workspace, from_attributes=True)


@router.get("/overview", response_model=Overview)
def workspace_overview(owner: AdminDep, session: SessionDep) -> Overview:
    """Headline figures and revenue by month for the key's workspace."""
    return commerce.overview(session, owner.workspace_id)


@router.get("/customers", response_model=list[CustomerRow])
def list_customers(
    owner: AdminDep, session: SessionDep, q: str = "", limit: int = 50, offset: int = 0
) -> list[CustomerRow]:
    """Customers matching ``q`` (email, name, user id, phone), most recently seen first."""
    if not 1 <= limit <= 500:
        raise ApiError(422, "invalid_request", "must be between 1 and 500", "limit")
    if offset < 0:
        raise ApiError(422, "invalid_request", "must be 0 or more", "offset")
    return profiles.search_customers(session, owner.workspace_id, q, limit=limit, offset=offset)


@router.get("/customers/{user_id}", response_model=Customer360)
def get_customer(owner: AdminDep, session: SessionDep, user_id: str) -> Customer360:
    """The customer 360: identities, traits, consent, activity, orders, merges, scores."""
    customer = profiles.find_by_user_id(session, owner.workspace_id, user_id)
    if customer is None:
        raise ApiError(404, "not_found", f"no customer with user id {user_id!r}", "user_id")
    return profiles.customer_360(session, owner.workspace_id, customer)
