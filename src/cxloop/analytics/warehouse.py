"""The analytics warehouse: copies of the facts, loaded through Arrow, queried with Ibis.

Two engines behind one small interface:

- DuckDB (the default), a file under ``CXLOOP_HOME``: batches are handed over as Arrow, no copy;
- PostgreSQL (a ``postgresql://`` ``CXLOOP_ANALYTICS_URL``, typically the operational database
  itself): the tables live in their own schema, ``cxloop_warehouse``, batches arrive by ``COPY``
  and the Ibis expressions run in place, next to the operational tables.

Each fact table is keyed by ``(workspace_id, id)``. A load is an upsert: the rows of a batch
replace those with the same key (DELETE … USING the staged batch, then INSERT), so loading a row
twice leaves one copy. ``watermarks`` keeps, per workspace and table, the highest id loaded and
when the last sync started (see ``sync.py`` for how they are used).
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ibis
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy.engine import make_url

SCHEMA = "cxloop_warehouse"

# Every fact table and its columns (beside workspace_id), in the order the owners serve them.
TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "orders": (
        ("id", "BIGINT"),
        ("customer_id", "BIGINT"),
        ("status", "VARCHAR"),
        ("currency", "VARCHAR"),
        ("subtotal_cents", "BIGINT"),
        ("shipping_cents", "BIGINT"),
        ("discount_cents", "BIGINT"),
        ("total_cents", "BIGINT"),
        ("refunded_cents", "BIGINT"),
        ("coupon_code", "VARCHAR"),
        ("source", "VARCHAR"),
        ("shipping_country", "VARCHAR"),
        ("placed_at", "TIMESTAMPTZ"),
        ("cancelled_at", "TIMESTAMPTZ"),
        ("updated_at", "TIMESTAMPTZ"),
    ),
    "order_items": (
        ("id", "BIGINT"),
        ("order_id", "BIGINT"),
        ("product_id", "BIGINT"),
        ("quantity", "BIGINT"),
        ("total_cents", "BIGINT"),
        ("category", "VARCHAR"),
    ),
    "shipments": (
        ("id", "BIGINT"),
        ("order_id", "BIGINT"),
        ("status", "VARCHAR"),
        ("shipped_at", "TIMESTAMPTZ"),
        ("promised_at", "TIMESTAMPTZ"),
        ("delivered_at", "TIMESTAMPTZ"),
    ),
    "events": (
        ("id", "BIGINT"),
        ("customer_id", "BIGINT"),
        ("type", "VARCHAR"),
        ("event", "VARCHAR"),
        ("timestamp", "TIMESTAMPTZ"),
    ),
    "answers": (
        ("id", "BIGINT"),
        ("customer_id", "BIGINT"),
        ("survey_id", "BIGINT"),
        ("score", "BIGINT"),
        ("category", "VARCHAR"),
        ("status", "VARCHAR"),
        ("sentiment", "DOUBLE PRECISION"),
        ("created_at", "TIMESTAMPTZ"),
        ("updated_at", "TIMESTAMPTZ"),
    ),
}
# Parcels on their way are asked for again at each sync, for this long after their promised date.
OPEN_FOR = dt.timedelta(days=90)
# Tables loaded under another table's watermark (an order's items travel with it).
LOADED_WITH = {"order_items": "orders"}
# Tables whose customer_id a merge of two customers re-points.
CUSTOMER_TABLES = ("orders", "events", "answers")


@dataclass(frozen=True)
class Watermark:
    """How far a workspace's table is loaded: the highest id, and when the last sync began."""

    last_id: int
    synced_at: dt.datetime


class Warehouse:
    """One connection to the warehouse, DuckDB or PostgreSQL; ``ibis`` runs the expressions."""

    def __init__(self, url: str) -> None:
        self.url = url
        if url.startswith("duckdb"):
            import duckdb

            path = url.removeprefix("duckdb://")
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.engine = "duckdb"
            self._duck = duckdb.connect(path or ":memory:")
            self.ibis: Any = ibis.duckdb.from_connection(self._duck)
            self._prefix = ""
        elif url.startswith("postgresql"):
            import psycopg

            parts = make_url(url)
            self.engine = "postgresql"
            self._pg = psycopg.connect(
                parts.set(drivername="postgresql").render_as_string(hide_password=False)
            )
            self.ibis = ibis.postgres.connect(
                host=parts.host,
                port=parts.port or 5432,
                user=parts.username,
                password=parts.password,
                database=parts.database,
            )
            self._prefix = f"{SCHEMA}."
        else:
            raise ValueError("CXLOOP_ANALYTICS_URL must start with duckdb:// or postgresql")
        self._create()

    # Plumbing ------------------------------------------------------------------------------

    def _run(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        if self.engine == "duckdb":
            cursor = self._duck.execute(sql, list(params))
            return cursor.fetchall() if cursor.description else []
        with self._pg.cursor() as cur:
            cur.execute(sql.replace("?", "%s"), list(params))
            return list(cur.fetchall()) if cur.description else []

    def _commit(self) -> None:
        if self.engine == "postgresql":
            self._pg.commit()

    def name(self, table: str) -> str:
        """The table's qualified name in SQL."""
        return f"{self._prefix}{table}"

    def _create(self) -> None:
        """Create the tables; a table made by an older cxloop with other columns is dropped and
        its watermark forgotten, so the next sync loads it again whole."""
        if self.engine == "postgresql":
            self._run(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        self._run(
            f"CREATE TABLE IF NOT EXISTS {self.name('watermarks')} (workspace_id VARCHAR,"
            " table_name VARCHAR, last_id BIGINT, synced_at TIMESTAMPTZ)"
        )
        stale = set()
        for table, columns in TABLES.items():
            found = self._columns(table)
            if found and found != ["workspace_id", *(c for c, _ in columns)]:
                stale.add(LOADED_WITH.get(table, table))
        for table, columns in TABLES.items():
            root = LOADED_WITH.get(table, table)
            if root in stale:
                # The table and those loaded with it go, and their watermark.
                self._run(f"DROP TABLE IF EXISTS {self.name(table)}")
                self._run(f"DELETE FROM {self.name('watermarks')} WHERE table_name = ?", (root,))
            body = ", ".join(f'"{c}" {kind}' for c, kind in columns)
            self._run(
                f"CREATE TABLE IF NOT EXISTS {self.name(table)} (workspace_id VARCHAR, {body})"
            )
        self._commit()

    def _columns(self, table: str) -> list[str]:
        """The columns of ``table`` as it stands, in order ([] if it does not exist)."""
        schema = SCHEMA if self.engine == "postgresql" else "main"
        rows = self._run(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = ?"
            " AND table_name = ? ORDER BY ordinal_position",
            (schema, table),
        )
        return [str(name) for (name,) in rows]

    def _stage(self, table: str, batch: pa.Table) -> str:
        """Make ``batch`` readable in SQL as a staging table; returns its name."""
        stage = f"stage_{table}"
        if self.engine == "duckdb":
            self._duck.register(stage, batch)
            return stage
        self._run(f"DROP TABLE IF EXISTS {stage}")
        self._run(f"CREATE TEMP TABLE {stage} AS SELECT * FROM {self.name(table)} WITH NO DATA")
        names = ", ".join(f'"{c}"' for c in batch.column_names)
        buffer = io.BytesIO()
        pacsv.write_csv(batch, buffer)
        with (
            self._pg.cursor() as cur,
            cur.copy(f"COPY {stage} ({names}) FROM STDIN (FORMAT csv, HEADER true)") as copy,
        ):
            copy.write(buffer.getbuffer())
        return stage

    def _unstage(self, stage: str) -> None:
        if self.engine == "duckdb":
            self._duck.unregister(stage)
        else:
            self._run(f"DROP TABLE IF EXISTS {stage}")

    # Loading -------------------------------------------------------------------------------

    def upsert(self, table: str, workspace_id: str, batch: pa.Table, *, fresh: bool = False) -> int:
        """Load ``batch`` (the owner's columns) into ``table``: rows with a known id replace
        theirs. ``fresh`` (nothing of this workspace loaded yet) skips looking for them."""
        if batch.num_rows == 0:
            return 0
        rows = _with_workspace(batch, workspace_id)
        stage = self._stage(table, rows)
        try:
            target = self.name(table)
            if not fresh:
                self._run(
                    f"DELETE FROM {target} USING {stage} s"
                    f" WHERE {target}.workspace_id = s.workspace_id AND {target}.id = s.id"
                )
            names = ", ".join(f'"{c}"' for c in rows.column_names)
            self._run(f"INSERT INTO {target} ({names}) SELECT {names} FROM {stage}")
        finally:
            self._unstage(stage)
        self._commit()
        return int(batch.num_rows)

    def replace_children(
        self, table: str, parent_column: str, workspace_id: str, parents: pa.Array, batch: pa.Table
    ) -> int:
        """Replace every row of ``table`` whose parent is in ``parents`` by ``batch`` (an order's
        items travel whole: lines the store removed go too)."""
        if len(parents) == 0:
            return 0
        keys = _with_workspace(pa.table({"id": parents}), workspace_id)
        stage = self._stage_keys(keys)
        try:
            target = self.name(table)
            self._run(
                f"DELETE FROM {target} USING {stage} s WHERE {target}.workspace_id ="
                f" s.workspace_id AND {target}.{parent_column} = s.id"
            )
        finally:
            self._unstage(stage)
        return self.upsert(table, workspace_id, batch, fresh=True)

    def _stage_keys(self, keys: pa.Table) -> str:
        if self.engine == "duckdb":
            self._duck.register("stage_keys", keys)
            return "stage_keys"
        self._run("DROP TABLE IF EXISTS stage_keys")
        self._run("CREATE TEMP TABLE stage_keys (workspace_id VARCHAR, id BIGINT)")
        buffer = io.BytesIO()
        pacsv.write_csv(keys, buffer)
        with (
            self._pg.cursor() as cur,
            cur.copy(
                "COPY stage_keys (workspace_id, id) FROM STDIN (FORMAT csv, HEADER true)"
            ) as copy,
        ):
            copy.write(buffer.getbuffer())
        return "stage_keys"

    def open_parcels(self, workspace_id: str, now: dt.datetime) -> list[int]:
        """Ids of the parcels loaded as still on their way (pending, in transit), but for those
        promised more than ``OPEN_FOR`` ago: lost without word."""
        rows = self._run(
            f"SELECT id FROM {self.name('shipments')} WHERE workspace_id = ?"
            " AND status IN ('pending', 'in_transit')"
            " AND (promised_at IS NULL OR promised_at >= ?)",
            (workspace_id, now - OPEN_FOR),
        )
        return [int(row[0]) for row in rows]

    def repoint(self, workspace_id: str, from_id: int, into_id: int) -> None:
        """A merge of two customers: facts of ``from_id`` become ``into_id``'s."""
        for table in CUSTOMER_TABLES:
            self._run(
                f"UPDATE {self.name(table)} SET customer_id = ?"
                " WHERE workspace_id = ? AND customer_id = ?",
                (into_id, workspace_id, from_id),
            )
        self._commit()

    def forget(self, workspace_id: str) -> None:
        """Drop everything loaded for a workspace (a full re-load follows)."""
        for table in (*TABLES, "watermarks"):
            self._run(f"DELETE FROM {self.name(table)} WHERE workspace_id = ?", (workspace_id,))
        self._commit()

    # Watermarks ----------------------------------------------------------------------------

    def watermark(self, workspace_id: str, table: str) -> Watermark | None:
        """How far ``table`` is loaded for the workspace (None: never)."""
        rows = self._run(
            f"SELECT last_id, synced_at FROM {self.name('watermarks')}"
            " WHERE workspace_id = ? AND table_name = ?",
            (workspace_id, table),
        )
        if not rows:
            return None
        last_id, synced_at = rows[0]
        return Watermark(int(last_id), _utc(synced_at))

    def set_watermark(self, workspace_id: str, table: str, mark: Watermark) -> None:
        """Record how far ``table`` is loaded (after its rows are in)."""
        marks = self.name("watermarks")
        self._run(
            f"DELETE FROM {marks} WHERE workspace_id = ? AND table_name = ?", (workspace_id, table)
        )
        self._run(
            f"INSERT INTO {marks} (workspace_id, table_name, last_id, synced_at)"
            " VALUES (?, ?, ?, ?)",
            (workspace_id, table, mark.last_id, mark.synced_at),
        )
        self._commit()

    # Reading -------------------------------------------------------------------------------

    def table(self, name: str) -> Any:
        """An Ibis table of the warehouse."""
        if self.engine == "postgresql":
            return self.ibis.table(name, database=SCHEMA)
        return self.ibis.table(name)

    def count(self, table: str, workspace_id: str) -> int:
        """Rows of ``table`` loaded for the workspace."""
        rows = self._run(
            f"SELECT count(*) FROM {self.name(table)} WHERE workspace_id = ?", (workspace_id,)
        )
        return int(rows[0][0])

    def close(self) -> None:
        """Close the connections."""
        if self.engine == "duckdb":
            self._duck.close()
        else:
            self.ibis.disconnect()
            self._pg.close()


def _with_workspace(batch: pa.Table, workspace_id: str) -> pa.Table:
    column = pa.array([workspace_id], pa.string()).take(
        pa.array(np.zeros(batch.num_rows, dtype=np.int64))
    )
    return batch.add_column(0, "workspace_id", column)


def _utc(moment: Any) -> dt.datetime:
    assert isinstance(moment, dt.datetime)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)
