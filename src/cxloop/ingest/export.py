"""Parquet export of events, orders and order items, partitioned by day (Hive layout).

The export is what warehouses and the scaled analytics path (DuckDB, Spark) read::

    <root>/events/workspace_id=<W>/date=<YYYY-MM-DD>/part-00000.parquet       (by ``timestamp``)
    <root>/orders/workspace_id=<W>/date=<YYYY-MM-DD>/part-00000.parquet       (by ``placed_at``)
    <root>/order_items/workspace_id=<W>/date=<YYYY-MM-DD>/part-00000.parquet  (by the order's
                                                                               ``placed_at``)

Days are UTC days. ``workspace_id`` and ``date`` live in the path only (read them with Hive
partitioning). Timestamps are ``timestamp[us, tz=UTC]``, money is integer cents (int64), and
the free-form ``properties`` and ``context`` of events are JSON text. See docs/export.md.

Rows are streamed from the store in chunks, in time order, into files under a staging folder
next to the export; only when every table is written does each day's file replace the
previous one, with an atomic rename, so a reader sees a day's old file or its new one, never a
half-written one. Days of the exported range that no longer hold rows are removed.
"""

from __future__ import annotations

import datetime as dt
import secrets
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Select, Text, cast, func, select
from sqlalchemy.orm import Session

from cxloop import commerce, workspaces
from cxloop.errors import InvalidInput
from cxloop.ingest.models import Event
from cxloop.store.db import Database

Report = Callable[[str, int, int], None]
CHUNK = 50_000
PART = "part-{:05d}.parquet"

TIMESTAMP = pa.timestamp("us", tz="UTC")

EVENTS_SCHEMA = pa.schema(
    [
        pa.field("id", pa.int64(), nullable=False),
        pa.field("message_id", pa.string(), nullable=False),
        pa.field("type", pa.string(), nullable=False),
        pa.field("event", pa.string()),
        pa.field("customer_id", pa.int64()),
        pa.field("user_id", pa.string()),
        pa.field("anonymous_id", pa.string()),
        pa.field("timestamp", TIMESTAMP, nullable=False),
        pa.field("sent_at", TIMESTAMP),
        pa.field("received_at", TIMESTAMP, nullable=False),
        pa.field("properties", pa.string(), metadata={"encoding": "json"}),
        pa.field("context", pa.string(), metadata={"encoding": "json"}),
    ]
)
ORDERS_SCHEMA = pa.schema(
    [
        pa.field("id", pa.int64(), nullable=False),
        pa.field("external_id", pa.string(), nullable=False),
        pa.field("customer_id", pa.int64()),
        pa.field("status", pa.string(), nullable=False),
        pa.field("currency", pa.string(), nullable=False),
        pa.field("subtotal_cents", pa.int64(), nullable=False),
        pa.field("shipping_cents", pa.int64(), nullable=False),
        pa.field("discount_cents", pa.int64(), nullable=False),
        pa.field("total_cents", pa.int64(), nullable=False),
        pa.field("refunded_cents", pa.int64(), nullable=False),
        pa.field("coupon_code", pa.string()),
        pa.field("source", pa.string(), nullable=False),
        pa.field("shipping_country", pa.string()),
        pa.field("placed_at", TIMESTAMP, nullable=False),
        pa.field("cancelled_at", TIMESTAMP),
        pa.field("updated_at", TIMESTAMP, nullable=False),
    ]
)
ORDER_ITEMS_SCHEMA = pa.schema(
    [
        pa.field("id", pa.int64(), nullable=False),
        pa.field("order_id", pa.int64(), nullable=False),
        pa.field("order_external_id", pa.string(), nullable=False),
        pa.field("product_id", pa.int64()),
        pa.field("sku", pa.string(), nullable=False),
        pa.field("title", pa.string(), nullable=False),
        pa.field("quantity", pa.int64(), nullable=False),
        pa.field("unit_price_cents", pa.int64(), nullable=False),
        pa.field("total_cents", pa.int64(), nullable=False),
        pa.field("currency", pa.string(), nullable=False),
        pa.field("placed_at", TIMESTAMP, nullable=False),
    ]
)


@dataclass(frozen=True)
class _Source:
    """One exported table: its rows in time order, how many, and which column makes the day."""

    name: str
    schema: Any
    day_column: str
    rows: Select[Any]
    count: Select[Any]


def _sources(workspace_id: str, since: dt.datetime | None) -> list[_Source]:
    events = Event.metadata.tables["events"]
    event_filter = [events.c.workspace_id == workspace_id]
    if since is not None:
        event_filter.append(events.c.timestamp >= since)
    orders, order_count = commerce.orders_for_export(
        workspace_id, since, columns=ORDERS_SCHEMA.names
    )
    items, item_count = commerce.order_items_for_export(workspace_id, since)
    return [
        _Source(
            "events",
            EVENTS_SCHEMA,
            "timestamp",
            select(
                events.c.id,
                events.c.message_id,
                events.c.type,
                events.c.event,
                events.c.customer_id,
                events.c.user_id,
                events.c.anonymous_id,
                events.c.timestamp,
                events.c.sent_at,
                events.c.received_at,
                cast(events.c.properties, Text).label("properties"),
                cast(events.c.context, Text).label("context"),
            )
            .where(*event_filter)
            .order_by(events.c.timestamp, events.c.id),
            select(func.count()).select_from(events).where(*event_filter),
        ),
        _Source("orders", ORDERS_SCHEMA, "placed_at", orders, order_count),
        _Source("order_items", ORDER_ITEMS_SCHEMA, "placed_at", items, item_count),
    ]


@dataclass(frozen=True)
class ExportSummary:
    """What an export wrote: rows per table, day partitions, and the export's root folder."""

    events: int
    orders: int
    order_items: int
    partitions: int
    path: Path

    def as_dict(self) -> dict[str, Any]:
        """The summary as ``cxloop export parquet --json`` prints it."""
        return {
            "events": self.events,
            "orders": self.orders,
            "order_items": self.order_items,
            "partitions": self.partitions,
            "path": str(self.path),
        }


@dataclass
class _Staged:
    """Files written under the staging folder, per table and day, before they go live."""

    root: Path
    rows: dict[str, int] = field(default_factory=dict)
    files: dict[tuple[str, dt.date], list[Path]] = field(default_factory=dict)


def _silent(stage: str, done: int, total: int) -> None:
    return None


def partition_dir(root: Path, table: str, workspace_id: str, day: dt.date) -> Path:
    """The folder of one table's day for one workspace."""
    return root / table / f"workspace_id={workspace_id}" / f"date={day.isoformat()}"


def _check_workspace(session: Session, workspace_id: str) -> None:
    if workspaces.get_workspace(session, workspace_id) is None:
        raise InvalidInput("workspace", f"no workspace {workspace_id!r}")


def _table(schema: Any, rows: Sequence[Sequence[Any]]) -> Any:
    columns = list(zip(*rows, strict=True))
    arrays = [pa.array(column, type=f.type) for column, f in zip(columns, schema, strict=True)]
    return pa.Table.from_arrays(arrays, schema=schema)


def _day_runs(days: Sequence[dt.date]) -> Iterator[tuple[dt.date, int, int]]:
    """(day, start, length) for each run of equal days."""
    start = 0
    for index in range(1, len(days) + 1):
        if index == len(days) or days[index] != days[start]:
            yield days[start], start, index - start
            start = index


def _stage_table(
    session: Session, source: _Source, staged: _Staged, chunk: int, report: Report
) -> None:
    total = int(session.scalar(source.count) or 0)
    report(source.name, 0, total)
    day_index = source.schema.get_field_index(source.day_column)
    writer: Any = None
    current: dt.date | None = None
    done = 0
    try:
        result = session.execute(source.rows, execution_options={"yield_per": chunk})
        for rows in result.partitions():
            table = _table(source.schema, rows)
            days = [row[day_index].date() for row in rows]  # aware UTC: the UTC day
            for day, start, length in _day_runs(days):
                if day != current:
                    if writer is not None:
                        writer.close()
                    # Rows come in time order, so a day normally gets one file; a day seen
                    # again (timestamps stored out of order) gets another part, never a mix.
                    parts = staged.files.setdefault((source.name, day), [])
                    path = staged.root / source.name / day.isoformat() / PART.format(len(parts))
                    path.parent.mkdir(parents=True, exist_ok=True)
                    parts.append(path)
                    writer = pq.ParquetWriter(path, source.schema, compression="zstd")
                    current = day
                writer.write_table(table.slice(start, length), row_group_size=chunk)
            done += len(rows)
            report(source.name, done, max(total, done))
    finally:
        if writer is not None:
            writer.close()
    staged.rows[source.name] = done


def _publish(
    root: Path, workspace_id: str, since: dt.date | None, staged: _Staged, tables: Sequence[str]
) -> None:
    """Move staged day files into place, each with one atomic rename; drop emptied days."""
    for (table, day), files in staged.files.items():
        target = partition_dir(root, table, workspace_id, day)
        target.mkdir(parents=True, exist_ok=True)
        names = set()
        for staged_file in files:
            staged_file.replace(target / staged_file.name)
            names.add(staged_file.name)
        for stale in target.glob("part-*.parquet"):
            if stale.name not in names:
                stale.unlink()
    for table in tables:
        written = {day for (name, day) in staged.files if name == table}
        base = root / table / f"workspace_id={workspace_id}"
        for folder in base.glob("date=*"):
            try:
                day = dt.date.fromisoformat(folder.name.removeprefix("date="))
            except ValueError:
                continue
            if day not in written and (since is None or day >= since):
                shutil.rmtree(folder)


def export_parquet(
    db: Database,
    workspace_id: str,
    root: Path,
    *,
    since: dt.date | None = None,
    chunk: int = CHUNK,
    progress: Report | None = None,
) -> ExportSummary:
    """Export a workspace's events, orders and order items under ``root``, by UTC day.

    With ``since``, only the days from ``since`` on are rewritten; older ones are left as
    they are. ``progress(table, done, total)`` is called after each chunk.
    """
    if chunk < 1:
        raise ValueError("chunk must be at least 1")
    report = progress or _silent
    start = None if since is None else dt.datetime.combine(since, dt.time(), tzinfo=dt.UTC)
    sources = _sources(workspace_id, start)
    with db.session() as session:
        _check_workspace(session, workspace_id)
    root.mkdir(parents=True, exist_ok=True)
    # The staging folder sits beside the tables (same file system, so renames are atomic)
    # and its leading dot keeps readers that glob a table's folder away from it.
    staged = _Staged(root / f".staging-{secrets.token_hex(6)}")
    try:
        with db.session() as session:
            if db.dialect == "postgresql":
                # One snapshot for the three tables: items always match their orders.
                session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            for source in sources:
                _stage_table(session, source, staged, chunk, report)
        _publish(root, workspace_id, since, staged, [s.name for s in sources])
    finally:
        shutil.rmtree(staged.root, ignore_errors=True)
    return ExportSummary(
        events=staged.rows["events"],
        orders=staged.rows["orders"],
        order_items=staged.rows["order_items"],
        partitions=len(staged.files),
        path=root.resolve(),
    )
