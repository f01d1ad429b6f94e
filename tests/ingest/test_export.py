"""The Parquet export: the store's rows by UTC day, read back by DuckDB and pyarrow."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pytest
from sqlalchemy import delete, select

from cxloop.commerce.models import Order, OrderItem
from cxloop.demo.service import DemoSummary, build_demo
from cxloop.ingest.export import ExportSummary, export_parquet
from cxloop.ingest.models import Event
from cxloop.store.db import Database

AS_OF = dt.date(2025, 3, 1)
CXLOOP = str(Path(sys.executable).with_name("cxloop"))
TABLES = ("events", "orders", "order_items")


@pytest.fixture
def demo(db: Database) -> DemoSummary:
    """A small demo store (200 customers, fixed seed and date) in the SQLite store."""
    return build_demo(db, customers=200, seed=1, as_of=AS_OF)


def _store_days(db: Database, workspace_id: str) -> dict[str, dict[dt.date, int]]:
    """Rows per UTC day of each exported table, counted from the store itself."""
    days: dict[str, dict[dt.date, int]] = {name: {} for name in TABLES}
    with db.session() as session:
        stamps = {
            "events": session.scalars(
                select(Event.timestamp).where(Event.workspace_id == workspace_id)
            ).all(),
            "orders": session.scalars(
                select(Order.placed_at).where(Order.workspace_id == workspace_id)
            ).all(),
            "order_items": session.scalars(
                select(Order.placed_at)
                .join(OrderItem, OrderItem.order_id == Order.id)
                .where(Order.workspace_id == workspace_id)
            ).all(),
        }
    for name, values in stamps.items():
        for stamp in values:
            day = stamp.astimezone(dt.UTC).date()
            days[name][day] = days[name].get(day, 0) + 1
    return days


def _read(root: Path, table: str) -> duckdb.DuckDBPyRelation:
    glob = str(root / table / "**" / "*.parquet")
    return duckdb.sql(f"SELECT * FROM read_parquet('{glob}', hive_partitioning = true)")


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*.parquet"))
    }


def test_the_export_holds_every_row_of_the_store_by_day(
    db: Database, demo: DemoSummary, tmp_path: Path
) -> None:
    # given a demo store
    root = tmp_path / "export"
    expected = _store_days(db, demo.workspace_id)
    # when it is exported
    summary = export_parquet(db, demo.workspace_id, root)
    # then the summary counts the store's rows and one partition per table and day
    assert summary == ExportSummary(
        events=sum(expected["events"].values()),
        orders=demo.orders,
        order_items=sum(expected["order_items"].values()),
        partitions=sum(len(days) for days in expected.values()),
        path=root.resolve(),
    )
    # and DuckDB, reading the Hive partitions, finds the same rows per day and workspace
    for table in TABLES:
        per_day = _read(root, table).aggregate("workspace_id, date, count(*)").fetchall()
        assert {(w, d): n for w, d, n in per_day} == {
            (demo.workspace_id, day): n for day, n in expected[table].items()
        }
    # and the revenue (not cancelled, less refunds) is the store's, to the cent
    [(revenue,)] = (
        _read(root, "orders")
        .filter("status <> 'cancelled'")
        .aggregate("sum(total_cents - refunded_cents)")
        .fetchall()
    )
    assert int(revenue) == round(demo.revenue * 100)
    # and each day of each table is exactly one file in its own folder
    for table in TABLES:
        base = root / table / f"workspace_id={demo.workspace_id}"
        folders = sorted(base.iterdir())
        assert [f.name for f in folders] == [f"date={d}" for d in sorted(expected[table])]
        assert all([p.name for p in f.iterdir()] == ["part-00000.parquet"] for f in folders)
    # and nothing is left of the staging folder
    assert sorted(p.name for p in root.iterdir()) == sorted(TABLES)


def test_columns_have_documented_types_and_json_text(
    db: Database, demo: DemoSummary, tmp_path: Path
) -> None:
    # given an exported store
    root = tmp_path / "export"
    export_parquet(db, demo.workspace_id, root)
    # when pyarrow reads it with Hive partitioning
    events = ds.dataset(root / "events", format="parquet", partitioning="hive").to_table()
    orders = ds.dataset(root / "orders", format="parquet", partitioning="hive")
    items = ds.dataset(root / "order_items", format="parquet", partitioning="hive")
    # then times are UTC microseconds, money is int64 cents, JSON columns are JSON text
    utc = pa.timestamp("us", tz="UTC")
    assert events.schema.field("timestamp").type == utc
    assert orders.schema.field("placed_at").type == utc
    assert items.schema.field("placed_at").type == utc
    for name in ("subtotal_cents", "shipping_cents", "discount_cents", "total_cents"):
        assert orders.schema.field(name).type == pa.int64()
    assert items.schema.field("unit_price_cents").type == pa.int64()
    assert events.schema.field("properties").type == pa.string()
    first = events.slice(0, 1).to_pylist()[0]
    with db.session() as session:
        stored = session.scalars(select(Event).where(Event.message_id == first["message_id"])).one()
    assert json.loads(first["properties"]) == stored.properties
    assert json.loads(first["context"]) == stored.context
    assert first["timestamp"] == stored.timestamp
    # and an item's lines add up to its order's lines
    [(lines,)] = _read(root, "order_items").aggregate("sum(total_cents)").fetchall()
    with db.session() as session:
        expected = sum(session.scalars(select(OrderItem.total_cents)).all())
    assert int(lines) == expected


def test_small_chunks_give_the_same_files(db: Database, demo: DemoSummary, tmp_path: Path) -> None:
    # given the store exported in big chunks and in chunks smaller than a day
    big, small = tmp_path / "big", tmp_path / "small"
    export_parquet(db, demo.workspace_id, big)
    export_parquet(db, demo.workspace_id, small, chunk=3)
    # then both hold the same rows in the same partitions
    for table in TABLES:
        a = ds.dataset(big / table, format="parquet", partitioning="hive").to_table()
        b = ds.dataset(small / table, format="parquet", partitioning="hive").to_table()
        assert a.sort_by("id").equals(b.sort_by("id"))
    assert sorted(_files(big)) == sorted(_files(small))


def test_exporting_again_rewrites_the_same_files_and_drops_emptied_days(
    db: Database, demo: DemoSummary, tmp_path: Path
) -> None:
    # given an export
    root = tmp_path / "export"
    first = export_parquet(db, demo.workspace_id, root)
    before = _files(root)
    # when it runs again on the same store
    again = export_parquet(db, demo.workspace_id, root)
    # then it writes the very same bytes
    assert again == first
    assert _files(root) == before
    # when a day's events disappear from the store and it runs once more
    with db.session() as session:
        stamp = session.scalars(select(Event.timestamp).order_by(Event.timestamp)).first()
    assert stamp is not None
    day = stamp.date()
    with db.session() as session:
        session.execute(
            delete(Event).where(
                Event.timestamp >= dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC),
                Event.timestamp
                < dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC) + dt.timedelta(days=1),
            )
        )
    export_parquet(db, demo.workspace_id, root)
    # then that day's partition is gone and every other file is unchanged
    gone = f"events/workspace_id={demo.workspace_id}/date={day}/part-00000.parquet"
    assert _files(root) == {k: v for k, v in before.items() if k != gone}


def test_since_rewrites_only_the_days_from_that_date(
    db: Database, demo: DemoSummary, tmp_path: Path
) -> None:
    # given an export, and then orders removed from the store on both sides of a date
    root = tmp_path / "export"
    export_parquet(db, demo.workspace_id, root)
    before = _files(root)
    since = dt.date(2025, 1, 1)
    cut = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    with db.session() as session:
        session.execute(delete(Order).where(Order.workspace_id == demo.workspace_id))
    assert _store_days(db, demo.workspace_id)["orders"] == {}
    # when the export runs from that date
    summary = export_parquet(db, demo.workspace_id, root, since=since)
    # then it counts only the rows from that date on
    with db.session() as session:
        recent_events = len(session.scalars(select(Event.id).where(Event.timestamp >= cut)).all())
    assert (summary.events, summary.orders, summary.order_items) == (recent_events, 0, 0)
    # and the days before it are untouched while the later order days are gone
    after = _files(root)
    for name, data in before.items():
        day = dt.date.fromisoformat(name.split("date=")[1].split("/")[0])
        if day < since:
            assert after[name] == data
        elif not name.startswith("events/"):
            assert name not in after


def test_a_failed_export_leaves_the_previous_one_whole(
    db: Database, demo: DemoSummary, tmp_path: Path
) -> None:
    # given an export, then a store that changed
    root = tmp_path / "export"
    export_parquet(db, demo.workspace_id, root)
    before = _files(root)
    with db.session() as session:
        session.execute(delete(Event).where(Event.workspace_id == demo.workspace_id))

    # when the next export breaks half-way through
    def explode(stage: str, done: int, total: int) -> None:
        if stage == "order_items":
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        export_parquet(db, demo.workspace_id, root, progress=explode)
    # then the previous export is exactly as it was, with no staging folder left
    assert _files(root) == before
    assert sorted(p.name for p in root.iterdir()) == sorted(TABLES)


@pytest.mark.postgres
def test_the_export_reads_postgresql_too(pg_url: str, tmp_path: Path) -> None:
    # given a demo store on PostgreSQL
    db = Database(pg_url)
    try:
        summary = build_demo(db, customers=50, seed=2, as_of=AS_OF)
        # when it is exported
        result = export_parquet(db, summary.workspace_id, tmp_path / "export", chunk=100)
    finally:
        db.dispose()
    # then the orders and revenue are the store's
    assert result.orders == summary.orders
    [(revenue,)] = (
        _read(tmp_path / "export", "orders")
        .filter("status <> 'cancelled'")
        .aggregate("sum(total_cents - refunded_cents)")
        .fetchall()
    )
    assert int(revenue) == round(summary.revenue * 100)


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environ = dict(os.environ)
    environ["CXLOOP_HOME"] = str(tmp_path / "home")
    environ["CXLOOP_DATABASE_URL"] = f"sqlite:///{tmp_path / 'cxloop.db'}"
    return subprocess.run([CXLOOP, *args], env=environ, capture_output=True, text=True, timeout=120)


def test_the_command_prints_its_summary_as_json(
    db: Database, demo: DemoSummary, tmp_path: Path
) -> None:
    # given the demo store in the store the command uses (the db fixture's file)
    # when the export command runs with --json
    result = _cli(tmp_path, "export", "parquet", "--workspace", demo.workspace_id, "--json")
    # then it prints one JSON document naming the export folder under CXLOOP_HOME
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    root = (tmp_path / "home" / "export").resolve()
    assert printed == export_parquet(db, demo.workspace_id, root).as_dict()
    assert printed["path"] == str(root)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--workspace", "ws_nope"], "cxloop: workspace: no workspace 'ws_nope'"),
        (["--workspace", "ws_nope", "--since", "2025-02-30"], "cxloop: --since: '2025-02-30'"),
    ],
)
def test_a_bad_argument_is_one_line_and_exit_2(
    db: Database, tmp_path: Path, args: list[str], says: str
) -> None:
    # when the export is asked for something that does not exist
    result = _cli(tmp_path, "export", "parquet", *args, "--json")
    # then one line on stderr, exit 2, nothing on stdout and nothing written
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith(says)
    assert result.stderr.count("\n") == 1
    assert not (tmp_path / "home" / "export").exists()
