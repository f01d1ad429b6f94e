"""Time ``build_demo`` into a fresh SQLite file per size, against a plain sqlite3 baseline.

The baseline generates the very same store and rows, then inserts them with the standard
library's ``sqlite3`` ``executemany`` into the same schema, with the same pragmas, in one
transaction: the ceiling that cxloop's SQLAlchemy insert path cannot beat. Both timings
include generation and row building; the schema migration is done before the clock starts.
Each build runs in a newly spawned process, which reports its peak resident memory (imports
included); the two stores are checked to hold the same number of rows.

    .venv/bin/python bench/demo_build.py --customers 2000,10000,100000
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import os
import platform
import resource
import sqlite3
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Column, ColumnDefault

from cxloop.demo.generator import generate_store
from cxloop.demo.service import TABLES, build_demo, table_rows
from cxloop.store.base import UTCDateTime
from cxloop.store.db import Database

AS_OF = dt.date(2025, 3, 1)
TARGET_CUSTOMERS = 100_000
TARGET_SECONDS = 120.0


def _fresh_database(folder: Path, name: str) -> Path:
    """A migrated, empty SQLite file."""
    path = folder / name
    db = Database(f"sqlite:///{path}")
    db.dispose()
    return path


def _as_text(value: dt.datetime | None) -> str | None:
    # The format SQLAlchemy's SQLite DateTime stores, in UTC like UTCDateTime.
    if value is None:
        return None
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _as_json(value: Any) -> str:
    return json.dumps(value)


def _default(column: Column[Any]) -> Callable[[], Any] | None:
    """The Python-side default SQLAlchemy fills in when a row leaves the column out."""
    default = column.default
    if not isinstance(default, ColumnDefault):
        return None
    if default.is_callable:
        fill = default.arg
        return lambda: fill(None)
    value = default.arg
    return lambda: value


Convert = Callable[[Any], Any] | None


def _converter(column: Column[Any]) -> Convert:
    """How a Python value of the column becomes a SQLite value (None: as it is)."""
    if isinstance(column.type, UTCDateTime):
        return _as_text
    if isinstance(column.type, JSON):
        return _as_json
    return None


def _values(name: str, rows: list[dict[str, Any]]) -> tuple[str, list[tuple[Any, ...]]]:
    """The INSERT statement for a chunk of a table's rows and its parameters.

    A column the rows leave out gets its Python-side default, per row, as SQLAlchemy's insert
    does; one with no such default is left to SQLite.
    """
    keys = rows[0].keys()
    given = [(c.name, _converter(c)) for c in TABLES[name].columns if c.name in keys]
    filled = [
        (c.name, fill, _converter(c))
        for c in TABLES[name].columns
        if c.name not in keys and (fill := _default(c)) is not None
    ]
    names = [n for n, _ in given] + [n for n, _, _ in filled]
    sql = f"INSERT INTO {name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
    params = [
        tuple(row[n] if f is None else f(row[n]) for n, f in given)
        + tuple(fill() if f is None else f(fill()) for _, fill, f in filled)
        for row in rows
    ]
    return sql, params


def baseline(path: Path, customers: int, seed: int) -> float:
    """Seconds to generate the store and insert it through plain sqlite3."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA synchronous=NORMAL")
    started = time.perf_counter()
    store = generate_store(customers, seed, AS_OF)
    conn.execute("BEGIN")
    conn.execute(
        "INSERT INTO workspaces (id, name, locale, currency, timezone, created_at) "
        "VALUES ('ws_baseline', 'Baseline', 'fr', 'EUR', 'Europe/Paris', ?)",
        (_as_text(dt.datetime.now(dt.UTC)),),
    )
    first_ids = dict.fromkeys(TABLES, 1)
    for name, rows, _ in table_rows(store, "ws_baseline", first_ids):
        if not rows:
            continue
        conn.executemany(*_values(name, rows))
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


@dataclass(frozen=True)
class Run:
    """One timed build in a process of its own: seconds, what it stored, peak memory."""

    seconds: float
    orders: int
    rows: int
    peak_mb: float


def _peak_mb() -> float:
    # ru_maxrss is in KiB on Linux: the process's resident high-water mark, imports included.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _count(path: Path, table: str) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def _stored_rows(path: Path) -> int:
    return sum(_count(path, name) for name in TABLES)


def run_cxloop(path: Path, customers: int, seed: int) -> Run:
    """``build_demo`` into a migrated file; meant to run in a fresh process."""
    db = Database(f"sqlite:///{path}", auto_migrate=False)
    started = time.perf_counter()
    summary = build_demo(db, customers=customers, seed=seed, as_of=AS_OF)
    seconds = time.perf_counter() - started
    db.dispose()
    return Run(seconds, summary.orders, _stored_rows(path), _peak_mb())


def run_baseline(path: Path, customers: int, seed: int) -> Run:
    """The plain sqlite3 baseline into a migrated file; meant to run in a fresh process."""
    seconds = baseline(path, customers, seed)
    return Run(seconds, _count(path, "orders"), _stored_rows(path), _peak_mb())


def in_fresh_process(run: Callable[[Path, int, int], Run], path: Path, size: int, seed: int) -> Run:
    """``run`` in a newly spawned process, so that its peak memory is its own."""
    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
        return pool.submit(run, path, size, seed).result()


def main() -> None:
    """Run the benchmark and print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", default="2000,10000,100000", help="comma-separated sizes")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    sizes = [int(s) for s in args.customers.split(",") if s.strip()]

    print(
        f"machine: {os.cpu_count()} cores, {platform.machine()}, Python "
        f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}; load average "
        + ", ".join(f"{x:.1f}" for x in os.getloadavg())
    )
    print()
    print(
        "| customers | orders | rows | seconds | s per 1,000 customers | baseline s | ratio "
        "| peak MB | baseline peak MB |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    largest: tuple[int, float] | None = None
    with tempfile.TemporaryDirectory(prefix="cxloop-bench-") as tmp:
        folder = Path(tmp)
        for customers in sizes:
            ours = in_fresh_process(
                run_cxloop, _fresh_database(folder, f"demo-{customers}.db"), customers, args.seed
            )
            base = in_fresh_process(
                run_baseline,
                _fresh_database(folder, f"baseline-{customers}.db"),
                customers,
                args.seed,
            )
            if (ours.orders, ours.rows) != (base.orders, base.rows):
                raise SystemExit(f"the two stores differ: {ours} and {base}")
            print(
                f"| {customers:,} | {ours.orders:,} | {ours.rows:,} | {ours.seconds:.1f} | "
                f"{ours.seconds / customers * 1000:.3f} | {base.seconds:.1f} | "
                f"{ours.seconds / base.seconds:.2f} | {ours.peak_mb:,.0f} | {base.peak_mb:,.0f} |",
                flush=True,
            )
            if customers >= TARGET_CUSTOMERS:
                largest = (customers, ours.seconds)
    if largest is not None:
        customers, seconds = largest
        verdict = "met" if seconds < TARGET_SECONDS else "**not met**"
        print(
            f"\ntarget: {TARGET_CUSTOMERS:,} customers in under {TARGET_SECONDS:.0f} s: "
            f"{verdict} ({customers:,} in {seconds:.1f} s, {TARGET_SECONDS / seconds:.1f}x under)"
        )


if __name__ == "__main__":
    main()
