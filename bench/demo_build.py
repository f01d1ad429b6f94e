"""Time ``build_demo`` into a fresh SQLite file per size, against a plain sqlite3 baseline.

The baseline generates the very same store and rows, then inserts them with the standard
library's ``sqlite3`` ``executemany`` into the same schema, with the same pragmas, in one
transaction: the ceiling that cxloop's SQLAlchemy insert path cannot beat. Both timings
include generation and row building; the schema migration is done before the clock starts.

    .venv/bin/python bench/demo_build.py --customers 2000,10000,100000
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import JSON

from cxloop.demo.generator import generate_store
from cxloop.demo.service import TABLES, build_demo, row_counts, table_rows
from cxloop.store.base import UTCDateTime
from cxloop.store.db import Database

AS_OF = dt.date(2025, 3, 1)


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


def _converters(name: str) -> tuple[list[str], list[Callable[[Any], Any] | None]]:
    """Column names of a table and, per column, how a Python value becomes a SQLite value."""
    columns = list(TABLES[name].columns)
    converters: list[Callable[[Any], Any] | None] = []
    for column in columns:
        if isinstance(column.type, UTCDateTime):
            converters.append(_as_text)
        elif isinstance(column.type, JSON):
            converters.append(_as_json)
        else:
            converters.append(None)
    return [c.name for c in columns], converters


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
    plans = {name: _converters(name) for name in TABLES}
    for name, rows, _ in table_rows(store, "ws_baseline", first_ids):
        if not rows:
            continue
        names, converters = plans[name]
        sql = f"INSERT INTO {name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
        pairs = list(zip(names, converters, strict=True))
        conn.executemany(
            sql,
            [tuple(row[n] if f is None else f(row[n]) for n, f in pairs) for row in rows],
        )
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def main() -> None:
    """Run the benchmark and print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", default="2000,10000,100000", help="comma-separated sizes")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    sizes = [int(s) for s in args.customers.split(",") if s.strip()]

    print(
        f"machine: {os.cpu_count()} cores, {platform.machine()}, Python "
        f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )
    print()
    print("| customers | orders | rows | seconds | s per 1,000 customers | baseline s | ratio |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="cxloop-bench-") as tmp:
        folder = Path(tmp)
        for customers in sizes:
            path = _fresh_database(folder, f"demo-{customers}.db")
            db = Database(f"sqlite:///{path}", auto_migrate=False)
            started = time.perf_counter()
            summary = build_demo(db, customers=customers, seed=args.seed, as_of=AS_OF)
            seconds = time.perf_counter() - started
            db.dispose()
            rows = sum(row_counts(generate_store(customers, args.seed, AS_OF)).values())
            base = baseline(
                _fresh_database(folder, f"baseline-{customers}.db"), customers, args.seed
            )
            print(
                f"| {customers:,} | {summary.orders:,} | {rows:,} | {seconds:.1f} | "
                f"{seconds / customers * 1000:.3f} | {base:.1f} | {seconds / base:.2f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
