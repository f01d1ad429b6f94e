"""Analytics in the background: every night for every workspace, and after a large import."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

from huey import crontab
from sqlalchemy.orm import Session

from cxloop import ingest, segments, surveys, workspaces
from cxloop.analytics.facts import facts_of
from cxloop.analytics.runs import run_analytics
from cxloop.config import get_settings
from cxloop.store.base import utcnow
from cxloop.store.db import Database, after_commit
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


# Segments kept current as customers act -----------------------------------------------------

# Events that change a customer's facts (orders, parcels, traits); older ones are history.
FACT_EVENTS = frozenset(
    {
        "Order Completed",
        "Order Updated",
        "Order Cancelled",
        "Order Refunded",
        "Order Shipped",
        "Order Delivered",
    }
)


def events_stored(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Stored events that change customers' facts: their dynamic segments are reconsidered by
    a worker once committed (connected by ``cxloop.wiring``)."""
    touched: dict[str, set[int]] = {}
    for row in rows:
        if row.get("customer_id") is None or not row.get("workspace_id"):
            continue
        if row.get("event") not in FACT_EVENTS and row.get("type") != "identify":
            continue
        if not ingest.is_news(row):
            continue
        touched.setdefault(str(row["workspace_id"]), set()).add(int(row["customer_id"]))
    # One task per workspace and transaction, however many events it stores.
    pending: dict[str, set[int]] | None = session.info.get(_PENDING)
    for workspace_id, customer_ids in touched.items():
        if not segments.dynamic_keys(session, workspace_id):
            continue
        if pending is None:
            pending = session.info[_PENDING] = {}
            after_commit(session, partial(_hand_over, pending))
        pending.setdefault(workspace_id, set()).update(customer_ids)


_PENDING = "cxloop.segments.reconsider"


def _hand_over(pending: dict[str, set[int]]) -> None:
    for workspace_id, customer_ids in pending.items():
        reconsider_customers(workspace_id, sorted(customer_ids))


def answer_settled(response_id: int) -> None:
    """A settled NPS answer changes its customer's facts: their segments are reconsidered."""
    db = get_database()
    with db.session() as session:
        response = surveys.answer_by_id(session, response_id)
        if response is None or response.customer_id is None:
            return
        workspace_id, customer_id = response.workspace_id, response.customer_id
    _reconsider(db, workspace_id, [customer_id])


def _reconsider(db: Database, workspace_id: str, customer_ids: list[int]) -> None:
    now = utcnow()
    with db.session() as session:
        if not segments.dynamic_keys(session, workspace_id):
            return
        found = facts_of(session, workspace_id, customer_ids, now)
        segments.reconsider(session, workspace_id, found, at=now)


@huey.task(context=True)
@recorded("segments.reconsider")
def reconsider_customers(workspace_id: str, customer_ids: list[int], task: Any = None) -> None:
    """Reconsider these customers' dynamic segments from their facts now (entries start the
    journeys they trigger)."""
    _reconsider(get_database(), workspace_id, customer_ids)
