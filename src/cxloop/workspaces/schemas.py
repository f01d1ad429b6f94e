"""API models for workspaces and users."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field


class WorkspaceCreate(BaseModel):
    """What is needed to open a workspace."""

    name: str = Field(min_length=1, max_length=200)
    locale: Literal["fr", "en"] = "fr"
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    timezone: str = "Europe/Paris"


class WorkspacePublic(BaseModel):
    """A workspace as the API shows it."""

    id: str
    name: str
    locale: str
    currency: str
    timezone: str


class WorkspaceCredentials(BaseModel):
    """The keys of a new workspace; the admin key is shown this once only."""

    workspace_id: str
    write_key: str
    admin_key: str


class SessionPublic(BaseModel):
    """One of the signed-in user's console sessions, as she sees it (never its secret id)."""

    id: int
    created_at: dt.datetime
    last_seen_at: dt.datetime
    expires_at: dt.datetime
    user_agent: str
    ip: str
    current: bool = False
