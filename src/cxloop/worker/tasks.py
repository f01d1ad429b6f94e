"""Core background tasks: the worker heartbeat and the pruning of old run records."""

from __future__ import annotations

import datetime as dt
from typing import Any

from huey import crontab

from cxloop.store.runtime import get_database
from cxloop.worker import service
from cxloop.worker.queue import huey

HEARTBEAT = "worker.heartbeat"


@huey.periodic_task(crontab(minute="*"), context=True)
@service.recorded(HEARTBEAT)
def heartbeat(task: Any = None) -> None:
    """Prove every minute that a consumer is alive (shown by /healthz and /metrics)."""


@huey.task(context=True)
@service.recorded(HEARTBEAT)
def heartbeat_once(task: Any = None) -> None:
    """A heartbeat on demand, or at a later time with ``schedule(delay=…)``."""


@huey.periodic_task(crontab(minute="17", hour="3"), context=True)
@service.recorded("worker.prune")
def prune(task: Any = None) -> None:
    """Drop task-run records older than 30 days, every night."""
    with get_database().session() as session:
        service.prune_runs(session, dt.timedelta(days=30))
