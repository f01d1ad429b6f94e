"""The admin API under /api/v1 (Bearer admin key, scoped to the key's workspace)."""

from __future__ import annotations

from fastapi import APIRouter

from cxloop.commerce import service as commerce
from cxloop.commerce.schemas import Overview
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
