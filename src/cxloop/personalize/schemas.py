"""Site campaigns over the admin API: bodies and answers."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

MAX_YAML = 64 * 1024


class CampaignBody(BaseModel):
    """A campaign's definition, in YAML (docs/personalize.md); ``status`` for a new one."""

    source: str = Field(min_length=1, max_length=MAX_YAML)
    status: Literal["draft", "active"] = "draft"


class SourceBody(BaseModel):
    """A campaign's new definition, in YAML."""

    source: str = Field(min_length=1, max_length=MAX_YAML)


class StatusBody(BaseModel):
    """Switch a campaign on, pause it, or archive it."""

    status: Literal["active", "paused", "archived"]


class CampaignPublic(BaseModel):
    """A campaign: what it is, whether it runs, its definition and what it did."""

    key: str
    name: dict[str, str]
    kind: str
    slot: str | None
    status: str
    version: int
    priority: int
    holdout: int
    source: str
    report: dict[str, Any]
