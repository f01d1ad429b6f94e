"""Analytics in the background: every night for every workspace, and after a large import."""

from __future__ import annotations

from typing import Any

from huey import crontab

from cxloop import workspaces
from cxloop.analytics.runs import run_analytics
from cxloop.config import get_settings
from cxloop.store.runtime import get_database
from cxloop.worker.queue import huey
from cxloop.worker.service import recorded

# An import of at least this many rows re-runs the analytics of its workspace (incrementally).
LARGE_IMPORT = 1000


# Nightly at 01:37 UTC, before the NPS rollups: the incremental sync, scores and write-back.
@huey.periodic_task(crontab(minute="37", hour="1"), context=True)
@recorded("analytics.nightly")
def analytics_nightly(task: Any = None) -> None:
    """Run the analytics of every workspace."""
    db = get_database()
    with db.session() as session:
        every = workspaces.workspace_ids(session)
    for workspace_id in every:
        run_analytics(db, get_settings().resolved_analytics_url, workspace_id, actor="worker")


@huey.task(context=True)
@recorded("analytics.run")
def analytics_run(workspace_id: str, task: Any = None) -> None:
    """Run one workspace's analytics now (after a large import, or asked for)."""
    run_analytics(
        get_database(), get_settings().resolved_analytics_url, workspace_id, actor="worker"
    )


def after_import(workspace_id: str, rows: int) -> bool:
    """Queue the workspace's analytics when an import brought ``LARGE_IMPORT`` rows or more."""
    if rows < LARGE_IMPORT:
        return False
    analytics_run(workspace_id)
    return True
