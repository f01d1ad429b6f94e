"""What the journeys API takes and gives."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field

from cxloop.journeys.definition import MAX_YAML


class JourneyBody(BaseModel):
    """A journey's definition, in YAML (docs/journeys.md); ``status`` for a new one."""

    source: str = Field(min_length=1, max_length=MAX_YAML)
    status: Literal["draft", "active"] = "draft"


class SourceBody(BaseModel):
    """A journey's new definition, in YAML."""

    source: str = Field(min_length=1, max_length=MAX_YAML)


class StatusBody(BaseModel):
    """Switch a journey on, pause it, or archive it."""

    status: Literal["active", "paused", "archived"]


class StepPublic(BaseModel):
    """One step of the definition, as the flow view shows it."""

    id: str
    kind: str
    summary: dict[str, Any]


class JourneySummary(BaseModel):
    """What a journey did so far."""

    entered: int
    holdout: int
    messages: int
    coupons: int
    cases: int


class JourneyPublic(BaseModel):
    """A journey: its current definition and where it stands."""

    key: str
    name: dict[str, str]
    status: str
    version: int
    priority: int
    holdout: int
    trigger: dict[str, Any]
    goal: dict[str, Any] | None
    reentry: str
    steps: list[StepPublic]
    source: str
    summary: JourneySummary
    created_at: dt.datetime
    updated_at: dt.datetime


class VersionPublic(BaseModel):
    """One version of a journey's definition."""

    version: int
    source: str
    actor: str
    created_at: dt.datetime


class StepRecord(BaseModel):
    """What one step of a run did."""

    step: str
    kind: str
    outcome: str
    reason: str
    ref: str
    at: dt.datetime


class RunPublic(BaseModel):
    """A customer going through a journey."""

    id: int
    customer_id: int
    version: int
    status: str
    holdout: bool
    step: int
    wake_at: dt.datetime | None
    waiting_event: str
    entered_at: dt.datetime
    finished_at: dt.datetime | None
    converted_at: dt.datetime | None
    exit_reason: str
    steps: list[StepRecord]


class StepCount(BaseModel):
    """How many times a step ended one way (and why, for a step with no effect)."""

    step: str
    kind: str
    outcome: str
    reason: str
    count: int


class GuardrailsBody(BaseModel):
    """The guardrails to change; those left out keep their value."""

    cap_messages: int | None = Field(default=None, ge=1, le=100)
    cap_days: int | None = Field(default=None, ge=1, le=90)
    quiet_start: str | None = Field(default=None, pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    quiet_end: str | None = Field(default=None, pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    sms_french_rules: bool | None = None
    sms_start: str | None = Field(default=None, pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    sms_end: str | None = Field(default=None, pattern=r"^([01]\d|2[0-3]):[0-5]\d$")


class GuardrailsPublic(BaseModel):
    """A workspace's guardrails on journey messages."""

    cap_messages: int
    cap_days: int
    quiet_start: str
    quiet_end: str
    sms_french_rules: bool
    sms_start: str
    sms_end: str
