"""Alert rules as the API takes them and shows them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

Kind = Literal["response", "silence", "theme_spike"]
Target = Literal["email", "webhook"]


class AlertRuleCreate(BaseModel):
    """An alert rule, as the API takes it."""

    name: str = Field(min_length=1, max_length=200)
    kind: Kind = "response"
    target: Target
    address: str = Field(min_length=3, max_length=500)
    filters: dict[str, Any] = Field(default_factory=dict)
    secret: str | None = Field(default=None, min_length=16, max_length=128)
    slack_format: bool = False
    active: bool = True


class AlertRuleUpdate(BaseModel):
    """The fields of a rule to change: those left out (or null) keep their value, except the
    secret, which a null removes."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    kind: Kind | None = None
    target: Target | None = None
    address: str | None = Field(default=None, min_length=3, max_length=500)
    filters: dict[str, Any] | None = None
    secret: str | None = Field(default=None, min_length=16, max_length=128)
    slack_format: bool | None = None
    active: bool | None = None

    def changes(self) -> dict[str, Any]:
        """The fields to change, as ``alerts.update_rule`` takes them."""
        given = self.model_dump(exclude_unset=True)
        return {name: v for name, v in given.items() if v is not None or name == "secret"}


class AlertRulePublic(BaseModel):
    """An alert rule as the API shows it: its secret is never shown, only whether it has one."""

    id: int
    name: str
    kind: Kind
    target: Target
    address: str
    filters: dict[str, Any]
    slack_format: bool
    active: bool
    signed: bool = Field(description="Whether webhook bodies are signed with a secret")
