"""Rate limits for the public survey and widget endpoints: fixed windows counted in memory.

Each server process counts on its own (a limit of 120 a minute is 240 with two processes):
enough to stop one client hammering a page or guessing tokens, without a round trip to the
store on every answer. A window's counts are dropped when the next one starts, so memory holds
at most one minute of distinct clients. The sign-in throttle, which must hold across
processes, is kept in the store instead (``cxloop.workspaces.throttle``).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import Depends, Request

from cxloop.errors import InvalidInput

PERIOD = 60.0  # seconds
PER_ADDRESS = 120  # survey answers and widget calls from one client address, a minute
PER_SURVEY_TOKEN = 30  # posts to one invitation's page, a minute
PER_WRITE_KEY = 6000  # widget calls for one store (all its visitors), a minute
CORS = {"Access-Control-Allow-Origin": "*"}  # the widget must read its 429 too


class FixedWindow:
    """At most ``limit`` hits per key in each ``period``-second window."""

    def __init__(
        self, limit: int, period: float = PERIOD, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.period = period
        self.clock = clock
        self._lock = threading.Lock()
        self._window = -1
        self._counts: dict[str, int] = {}

    def hit(self, key: str) -> int:
        """Count one hit; 0 if allowed, else the seconds until the window ends."""
        with self._lock:
            now = self.clock()
            window = int(now // self.period)
            if window != self._window:
                self._window = window
                self._counts.clear()
            count = self._counts.get(key, 0) + 1
            self._counts[key] = count
            if count <= self.limit:
                return 0
            return max(1, math.ceil((window + 1) * self.period - now))


@dataclass
class RateLimits:
    """The app's limits (``app.state.rate_limits``): per address, per token, per write key."""

    per_address: FixedWindow = field(default_factory=lambda: FixedWindow(PER_ADDRESS))
    per_survey_token: FixedWindow = field(default_factory=lambda: FixedWindow(PER_SURVEY_TOKEN))
    per_write_key: FixedWindow = field(default_factory=lambda: FixedWindow(PER_WRITE_KEY))


def _refuse_if(wait: int) -> None:
    if wait:
        raise InvalidInput(
            "rate",
            "too many requests: slow down",
            status=429,
            code="rate_limited",
            headers={"Retry-After": str(wait), **CORS},
        )


def _limits(request: Request) -> RateLimits:
    limits: RateLimits = request.app.state.rate_limits
    return limits


def _address(request: Request) -> str:
    return request.client.host if request.client is not None else ""


def survey_post_limit(request: Request, token: str) -> None:
    """Dependency of the survey page's posts: per client address and per invitation token."""
    limits = _limits(request)
    _refuse_if(limits.per_address.hit(_address(request)))
    _refuse_if(limits.per_survey_token.hit(token))


async def widget_limit(request: Request) -> None:
    """Dependency of the widget's call: per client address and per write key."""
    limits = _limits(request)
    _refuse_if(limits.per_address.hit(_address(request)))
    try:
        payload: Any = await request.json()  # the body is read once and kept by the request
    except ValueError:
        return  # the endpoint refuses a body that is not JSON
    key = payload.get("writeKey") if isinstance(payload, dict) else None
    if isinstance(key, str):
        _refuse_if(limits.per_write_key.hit(key))


# What the survey router's public endpoints declare (``dependencies=``).
SURVEY_POST_LIMITS = [Depends(survey_post_limit)]
WIDGET_LIMITS = [Depends(widget_limit)]
