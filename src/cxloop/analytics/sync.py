"""The incremental load of the facts, from the operational store into the warehouse.

Each owner serves its facts through its facade as Arrow tables; nothing here reads another
domain's tables. Per workspace and table, the warehouse keeps a watermark: the highest id loaded
and when the last sync started. A sync then asks each owner for

- the rows added since: an id above the watermark's (ids only grow): the new orders, items,
  parcels, events and answers;
- the rows changed since: for orders and answers, ``updated_at`` from the last sync's start less
  ``OVERLAP`` (a refund or a cancellation moves the order's ``updated_at``; stores stamp it with
  their own clock and their webhooks come late, hence the overlap); parcels carry no update time,
  so those delivered since, and those the warehouse holds as still on their way (pending, in
  transit, promised less than ``warehouse.OPEN_FOR`` ago), are served again;

and upserts them: a row loaded again replaces its copy, so a re-run loads nothing twice and a
row seen twice in an overlap counts once. An order's items travel with it and replace its lines
whole. Events never change; a merge of two customers re-points the copies
(``profiles.merges_after``).
A row changed with an ``updated_at`` older than the overlap (a historical import rewriting an old
order) is caught by a full re-load (``full=True``, ``cxloop analytics run --full``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy.orm import Session

from cxloop import commerce, ingest, profiles, surveys
from cxloop.analytics.warehouse import Warehouse, Watermark
from cxloop.store.db import Database

OVERLAP = dt.timedelta(days=2)
MERGES = "customer_merges"

Report = Callable[[str, int, int], None]
# (session, workspace, ids above, changed since, ids to serve again) -> the owner's batch
Served = Callable[[Session, str, int, dt.datetime | None, list[int]], pa.Table]


def _orders(
    session: Session, workspace_id: str, after: int, since: dt.datetime | None, again: list[int]
) -> pa.Table:
    return commerce.export_orders(session, workspace_id, after_id=after, changed_since=since)


def _shipments(
    session: Session, workspace_id: str, after: int, since: dt.datetime | None, again: list[int]
) -> pa.Table:
    return commerce.export_shipments(
        session, workspace_id, after_id=after, changed_since=since, again=again
    )


def _events(
    session: Session, workspace_id: str, after: int, since: dt.datetime | None, again: list[int]
) -> pa.Table:
    return ingest.export_events(session, workspace_id, after_id=after)


def _answers(
    session: Session, workspace_id: str, after: int, since: dt.datetime | None, again: list[int]
) -> pa.Table:
    return surveys.export_answers(session, workspace_id, after_id=after, changed_since=since)


# The fact tables loaded one by one (order items go with their orders).
SOURCES: dict[str, Served] = {
    "orders": _orders,
    "shipments": _shipments,
    "events": _events,
    "answers": _answers,
}


@dataclass(frozen=True)
class SyncSummary:
    """Rows loaded per table by one sync, and the merges applied."""

    rows: dict[str, int]
    merges: int


def _silent(stage: str, done: int, total: int) -> None:
    return None


def _top_id(batch: pa.Table, before: int) -> int:
    if batch.num_rows == 0:
        return before
    return max(before, int(pc.max(batch.column("id")).as_py()))


def sync(
    db: Database,
    warehouse: Warehouse,
    workspace_id: str,
    *,
    full: bool = False,
    progress: Report | None = None,
) -> SyncSummary:
    """Load what changed in a workspace's facts since the last sync (everything if ``full``)."""
    report = progress or _silent
    if full:
        warehouse.forget(workspace_id)
    started = dt.datetime.now(dt.UTC)
    rows: dict[str, int] = {}
    steps = len(SOURCES) + 1
    report("sync", 0, steps)
    with db.session() as session:
        if db.dialect == "postgresql":
            # One snapshot for every table: items always match their orders.
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        for done, (table, serve) in enumerate(SOURCES.items(), start=1):
            mark = warehouse.watermark(workspace_id, table)
            after = mark.last_id if mark else 0
            since = mark.synced_at - OVERLAP if mark else None
            again = warehouse.open_parcels(workspace_id, started) if table == "shipments" else []
            batch = serve(session, workspace_id, after, since, again)
            rows[table] = warehouse.upsert(table, workspace_id, batch, fresh=mark is None)
            if table == "orders":
                items = commerce.export_order_items(
                    session, workspace_id, after_id=after, changed_since=since
                )
                rows["order_items"] = (
                    warehouse.upsert("order_items", workspace_id, items, fresh=True)
                    if mark is None
                    else warehouse.replace_children(
                        "order_items", "order_id", workspace_id, batch.column("id"), items
                    )
                )
            warehouse.set_watermark(workspace_id, table, Watermark(_top_id(batch, after), started))
            report("sync", done, steps)
        mark = warehouse.watermark(workspace_id, MERGES)
        merges = profiles.merges_after(session, workspace_id, mark.last_id if mark else 0)
    for _, from_id, into_id in merges:
        warehouse.repoint(workspace_id, from_id, into_id)
    last = merges[-1][0] if merges else (mark.last_id if mark else 0)
    warehouse.set_watermark(workspace_id, MERGES, Watermark(last, started))
    report("sync", steps, steps)
    return SyncSummary(rows=rows, merges=len(merges))
