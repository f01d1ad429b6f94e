"""Benchmark of ``cxloop analytics run``: the warehouse sync, RFM and the write-back.

Builds a SQLite store of N customers and 10 × N orders with bulk inserts, then times a first run
(everything loaded), a second run (nothing new: the incremental path) and, as a baseline, the
same RFM computed in pandas straight from the operational store. Prints peak RSS.

    PYTHONPATH=src python bench/analytics_run.py --part run --customers 100000
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import sqlite3
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from cxloop import analytics
from cxloop.store.db import Database
from cxloop.workspaces import service as workspaces
from cxloop.workspaces.schemas import WorkspaceCreate

AS_OF = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def build(path: Path, customers: int, seed: int) -> str:
    """A migrated SQLite store with ``customers`` customers and ten times as many orders."""
    db = Database(f"sqlite:///{path}")
    with db.session() as session:
        workspace_id = workspaces.create_workspace(
            session, WorkspaceCreate(name="Bench")
        ).workspace_id
    db.dispose()
    rng = np.random.default_rng(seed)
    orders = customers * 10
    # Buying is skewed as in real stores: a few customers place many of the orders.
    owner = np.minimum((rng.pareto(1.2, orders) * customers / 20).astype(np.int64), customers - 1)
    days = rng.integers(0, 730, orders)
    placed = [
        (AS_OF - dt.timedelta(days=int(d), seconds=int(s))).strftime("%Y-%m-%d %H:%M:%S.%f")
        for d, s in zip(days, rng.integers(0, 86400, orders), strict=True)
    ]
    totals = rng.integers(1000, 20000, orders)
    con = sqlite3.connect(path)
    con.execute("PRAGMA synchronous=OFF")
    stamp = AS_OF.strftime("%Y-%m-%d %H:%M:%S.%f")
    con.executemany(
        "INSERT INTO customers (id, workspace_id, user_id, email, traits, consent, locale,"
        " created_at) VALUES (?, ?, ?, ?, '{}', '{}', 'fr', ?)",
        ((i + 1, workspace_id, f"u{i}", f"u{i}@example.com", stamp) for i in range(customers)),
    )
    con.executemany(
        "INSERT INTO orders (id, workspace_id, external_id, customer_id, status, currency,"
        " subtotal_cents, shipping_cents, discount_cents, total_cents, refunded_cents, source,"
        " placed_at, updated_at) VALUES (?, ?, ?, ?, 'paid', 'EUR', ?, 0, 0, ?, 0, 'web', ?, ?)",
        (
            (
                i + 1,
                workspace_id,
                f"#{i}",
                int(owner[i]) + 1,
                int(totals[i]),
                int(totals[i]),
                placed[i],
                placed[i],
            )
            for i in range(orders)
        ),
    )
    con.commit()
    con.close()
    return workspace_id


def pandas_baseline(path: Path, workspace_id: str) -> float:
    """The same RFM in pandas, read straight from the store; returns seconds."""
    start = time.perf_counter()
    con = sqlite3.connect(path)
    frame = pd.read_sql_query(
        "SELECT customer_id, placed_at, total_cents - refunded_cents AS net FROM orders"
        " WHERE workspace_id = ? AND status != 'cancelled' AND customer_id IS NOT NULL",
        con,
        params=(workspace_id,),
        parse_dates=["placed_at"],
    )
    con.close()
    per = frame.groupby("customer_id").agg(
        last=("placed_at", "max"), frequency=("net", "size"), monetary=("net", "sum")
    )
    per["recency"] = (AS_OF.replace(tzinfo=None) - per["last"]).dt.days
    n = len(per)
    for column, key in (("r", -per["recency"]), ("f", per["frequency"]), ("m", per["monetary"])):
        per[column] = (key.rank(method="min").sub(1).mul(5).floordiv(n) + 1).astype(int)
    return time.perf_counter() - start


def main() -> None:
    """Build, run twice, run the baseline, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--part", choices=["run", "warehouse"], default="run")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="cxloop-bench-analytics-"))
    store = folder / "store.db"
    start = time.perf_counter()
    workspace_id = build(store, args.customers, args.seed)
    built = time.perf_counter() - start
    print(f"store: {args.customers:,} customers, {args.customers * 10:,} orders ({built:.1f} s)")
    db = Database(f"sqlite:///{store}")
    url = f"duckdb://{folder / 'warehouse.duckdb'}"
    for label in ("first run", "second run"):
        start = time.perf_counter()
        summary = analytics.run_analytics(db, url, workspace_id, as_of=AS_OF)
        total = time.perf_counter() - start
        stages = ", ".join(f"{k} {v:.2f} s" for k, v in summary.seconds.items())
        loaded = summary.sync.rows["orders"]
        print(f"{label}: {total:.2f} s ({stages}); {loaded:,} orders loaded")
        print(f"  {summary.customers:,} customers scored")
        if args.part == "warehouse":
            break
    baseline = pandas_baseline(store, workspace_id)
    print(f"baseline (pandas on the store, RFM scores only): {baseline:.2f} s")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    db.dispose()


if __name__ == "__main__":
    main()
