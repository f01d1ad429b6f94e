"""Benchmark of ``cxloop analytics run``: the warehouse sync, RFM and the write-back.

Builds a store (SQLite, or PostgreSQL on a throwaway cluster: ``--store``) of N customers and
10 × N orders with bulk inserts, then times a first run (everything loaded), a second run
(nothing new: the incremental path) and, as a baseline, the same RFM computed in pandas straight
from the operational store. Prints peak RSS and the load average (timings are noisy on a shared
machine).

    PYTHONPATH=src python bench/analytics_run.py --part run --customers 100000 --store postgresql
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import multiprocessing
import os
import resource
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from cxloop import analytics
from cxloop.store.db import Database
from cxloop.workspaces import service as workspaces
from cxloop.workspaces.schemas import WorkspaceCreate

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.helpers.services import postgres_cluster

AS_OF = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def _facts(workspace_id: str, customers: int, seed: int) -> tuple[pa.Table, pa.Table]:
    """The customers and ten times as many orders, as Arrow tables in the stores' columns."""
    rng = np.random.default_rng(seed)
    orders = customers * 10
    # Buying is skewed as in real stores: a few customers place many of the orders.
    owner = np.minimum((rng.pareto(1.2, orders) * customers / 20).astype(np.int64), customers - 1)
    seconds = rng.integers(0, 730 * 86400, orders)
    placed = pa.array(
        np.datetime64(AS_OF.replace(tzinfo=None), "us") - seconds.astype("timedelta64[s]")
    ).cast(pa.timestamp("us", tz="UTC"))
    totals = pa.array(rng.integers(1000, 20000, orders))
    stamp = pa.scalar(AS_OF, pa.timestamp("us", tz="UTC"))
    people = pa.table(
        {
            "id": pa.array(np.arange(1, customers + 1)),
            "workspace_id": pa.array([workspace_id] * customers),
            "user_id": pa.array([f"u{i}" for i in range(customers)]),
            "email": pa.array([f"u{i}@example.com" for i in range(customers)]),
            "traits": pa.array(["{}"] * customers),
            "consent": pa.array(["{}"] * customers),
            "locale": pa.array(["fr"] * customers),
            "created_at": pa.array([stamp] * customers),
        }
    )
    zeros = pa.array(np.zeros(orders, np.int64))
    facts = pa.table(
        {
            "id": pa.array(np.arange(1, orders + 1)),
            "workspace_id": pa.array([workspace_id] * orders),
            "external_id": pa.array([f"#{i}" for i in range(orders)]),
            "customer_id": pa.array(owner + 1),
            "status": pa.array(["paid"] * orders),
            "currency": pa.array(["EUR"] * orders),
            "subtotal_cents": totals,
            "shipping_cents": zeros,
            "discount_cents": zeros,
            "total_cents": totals,
            "refunded_cents": zeros,
            "source": pa.array(["web"] * orders),
            "placed_at": placed,
            "updated_at": placed,
        }
    )
    return people, facts


def build(url: str, customers: int, seed: int) -> str:
    """A migrated store with ``customers`` customers and ten times as many orders, loaded in
    bulk (SQLite: executemany; PostgreSQL: COPY)."""
    db = Database(url)
    with db.session() as session:
        workspace_id = workspaces.create_workspace(
            session, WorkspaceCreate(name="Bench")
        ).workspace_id
    db.dispose()
    people, facts = _facts(workspace_id, customers, seed)
    if url.startswith("sqlite"):
        con = sqlite3.connect(url.removeprefix("sqlite:///"))
        con.execute("PRAGMA synchronous=OFF")
        for name, table in (("customers", people), ("orders", facts)):
            if "placed_at" in table.column_names or "created_at" in table.column_names:
                table = pa.table(
                    [
                        pc.strftime(column, "%Y-%m-%d %H:%M:%S")
                        if pa.types.is_timestamp(column.type)
                        else column
                        for column in table.columns
                    ],
                    names=table.column_names,
                )
            names = ", ".join(table.column_names)
            marks = ", ".join("?" * table.num_columns)
            for batch in table.to_batches(200_000):
                rows = zip(*(column.to_pylist() for column in batch.columns), strict=True)
                con.executemany(f"INSERT INTO {name} ({names}) VALUES ({marks})", rows)
        con.commit()
        con.close()
        return workspace_id
    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain) as con, con.cursor() as cursor:
        for name, table in (("customers", people), ("orders", facts)):
            names = ", ".join(table.column_names)
            with cursor.copy(f"COPY {name} ({names}) FROM STDIN (FORMAT csv)") as copy:
                for batch in table.to_batches(200_000):
                    buffer = io.BytesIO()
                    pacsv.write_csv(batch, buffer, pacsv.WriteOptions(include_header=False))
                    copy.write(buffer.getvalue())
        cursor.execute("ANALYZE")
    return workspace_id


def pandas_baseline(url: str, workspace_id: str) -> float:
    """The same RFM in pandas, read straight from the store; returns seconds."""
    start = time.perf_counter()
    engine = create_engine(url)
    with engine.connect() as con:
        frame = pd.read_sql_query(
            text(
                "SELECT customer_id, placed_at, total_cents - refunded_cents AS net FROM orders"
                " WHERE workspace_id = :ws AND status != 'cancelled' AND customer_id IS NOT NULL"
            ),
            con,
            params={"ws": workspace_id},
        )
    engine.dispose()
    placed = pd.to_datetime(frame["placed_at"], utc=True)
    frame["placed_at"] = placed
    per = frame.groupby("customer_id").agg(
        last=("placed_at", "max"), frequency=("net", "size"), monetary=("net", "sum")
    )
    per["recency"] = (pd.Timestamp(AS_OF) - per["last"]).dt.days
    n = len(per)
    for column, key in (("r", -per["recency"]), ("f", per["frequency"]), ("m", per["monetary"])):
        per[column] = (key.rank(method="min").sub(1).mul(5).floordiv(n) + 1).astype(int)
    return time.perf_counter() - start


@contextlib.contextmanager
def store_url(engine: str, folder: Path) -> Iterator[str]:
    """An empty store: a SQLite file in ``folder``, or a database on a throwaway PostgreSQL
    cluster on 127.0.0.1 (the one the tests start)."""
    if engine == "sqlite":
        yield f"sqlite:///{folder / 'store.db'}"
        return
    with postgres_cluster() as server:
        admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as con:
            con.execute(text('CREATE DATABASE "bench"'))
        admin.dispose()
        yield f"{server}/bench"


def run(customers: int, store: str, seed: int, *, part: str = "run") -> None:
    """Build a store, run the analytics on it (twice for ``part="run"``), run the baseline, and
    print the figures."""
    folder = Path(tempfile.mkdtemp(prefix="cxloop-bench-analytics-"))
    print(f"load average before: {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores)")
    with store_url(store, folder) as url:
        start = time.perf_counter()
        # The store is built, and the baseline run, in child processes: the peak RSS printed
        # below is the analytics runs' own.
        spawn = multiprocessing.get_context("spawn")
        with spawn.Pool(1) as pool:
            workspace_id = pool.apply(build, (url, customers, seed))
        built = time.perf_counter() - start
        print(f"{store} store: {customers:,} customers, {customers * 10:,} orders ({built:.1f} s)")
        db = Database(url)
        warehouse = f"duckdb://{folder / 'warehouse.duckdb'}"
        for label in ("first run", "second run"):
            start = time.perf_counter()
            summary = analytics.run_analytics(db, warehouse, workspace_id, as_of=AS_OF)
            total = time.perf_counter() - start
            stages = ", ".join(f"{k} {v:.2f} s" for k, v in summary.seconds.items())
            loaded = summary.sync.rows["orders"]
            print(f"{label}: {total:.2f} s ({stages}); {loaded:,} orders loaded")
            print(f"  {summary.customers:,} customers scored")
            if part == "warehouse":
                break
        db.dispose()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        with spawn.Pool(1) as pool:
            baseline = pool.apply(pandas_baseline, (url, workspace_id))
    print(f"baseline (pandas on the store, RFM scores only): {baseline:.2f} s")
    print(f"peak RSS of the two runs: {peak:.0f} MB")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


def main() -> None:
    """Build, run twice, run the baseline, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--part", choices=["run", "warehouse"], default="run")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--store", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    run(args.customers, args.store, args.seed, part=args.part)


if __name__ == "__main__":
    main()
