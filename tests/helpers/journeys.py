"""Helpers for journey tests."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from cxloop.journeys import guardrails
from cxloop.store.db import Database


def awake(db: Database, workspace_id: str) -> None:
    """Quiet hours well away from now, wherever the clock stands when the test runs."""
    now = dt.datetime.now(ZoneInfo("Europe/Paris"))
    start, end = now + dt.timedelta(hours=3), now + dt.timedelta(hours=4)
    with db.session() as session:
        guardrails.set_limits(
            session,
            workspace_id,
            {"quiet_start": start.strftime("%H:%M"), "quiet_end": end.strftime("%H:%M")},
            actor="test",
        )
