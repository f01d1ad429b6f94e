"""Segments as the API takes them and shows them."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

Kind = Literal["dynamic", "static"]
KEY_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"


class SegmentCreate(BaseModel):
    """A segment: ``dynamic`` ones hold the customers ``condition`` is true for (see
    docs/segments.md), ``static`` ones a list set by hand."""

    key: str = Field(pattern=KEY_PATTERN, description="lower case, digits and underscores")
    name: str = Field(min_length=1, max_length=200)
    kind: Kind = "dynamic"
    condition: str | None = Field(default=None, max_length=4_000)


class SegmentUpdate(BaseModel):
    """The fields to change; those left out keep their value."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    condition: str | None = Field(default=None, max_length=4_000)


class SegmentPublic(BaseModel):
    """A segment as the API shows it, with its members as of the last refresh."""

    key: str
    name: str
    kind: Kind
    condition: str | None
    members: int
    refreshed_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


class Changes(BaseModel):
    """Who entered and who left a segment at one refresh (customer ids)."""

    entered: list[int] = Field(default_factory=list)
    left: list[int] = Field(default_factory=list)


class Preview(BaseModel):
    """What a condition would hold now: how many customers, and some of them (customer ids)."""

    members: int
    customers: int
    sample: list[int]


class SegmentChangePublic(BaseModel):
    """A customer entering or leaving a segment."""

    segment: str
    name: str
    change: Literal["entered", "left"]
    at: dt.datetime
