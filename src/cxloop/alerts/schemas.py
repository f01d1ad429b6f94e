"""Alert rules as the API takes them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class AlertRuleCreate(BaseModel):
    """An alert rule, as the API takes it."""

    name: str = Field(min_length=1, max_length=200)
    kind: Literal["response", "silence", "theme_spike"] = "response"
    target: Literal["email", "webhook"]
    address: str = Field(min_length=3, max_length=500)
    filters: dict[str, Any] = Field(default_factory=dict)
    secret: str | None = Field(default=None, min_length=16, max_length=128)
    slack_format: bool = False
