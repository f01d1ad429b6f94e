"""Rows of the operational store as Arrow tables: how a domain serves its facts to analytics.

On PostgreSQL the query runs as ``COPY (…) TO STDOUT`` in CSV, streamed into Arrow's CSV reader
(multi-threaded, no Python object per value; timestamps printed in UTC). On SQLite
values are read without the ORM's per-value conversions (timestamps come back as SQLite's text
and are converted by Arrow, column by column). Either way millions of rows move at Arrow's speed
rather than Python's, in the session's transaction.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from psycopg import pq
from sqlalchemy import DateTime, Select, String, type_coerce
from sqlalchemy.orm import Session

CHUNK = 100_000
TIMESTAMP = pa.timestamp("us", tz="UTC")

# (column name, SQL expression, Arrow type)
Field = tuple[str, Any, pa.DataType]


def _is_time(kind: pa.DataType) -> bool:
    return bool(pa.types.is_timestamp(kind))


def arrow_table(
    session: Session, query: Select[Any], fields: Sequence[Field], *, chunk: int = CHUNK
) -> pa.Table:
    """Run ``query`` (its FROM and WHERE; the columns come from ``fields``) into an Arrow table."""
    if session.get_bind().dialect.name == "postgresql":
        return _copied(session, query, fields)
    sqlite = session.get_bind().dialect.name == "sqlite"
    raw = String() if sqlite else DateTime(timezone=True)
    columns = [
        (type_coerce(expr, raw) if _is_time(kind) else expr).label(name)
        for name, expr, kind in fields
    ]
    schema = pa.schema([pa.field(name, kind) for name, _, kind in fields])
    result = session.execute(
        query.with_only_columns(*columns), execution_options={"yield_per": chunk}
    )
    batches = []
    for rows in result.partitions():
        arrays = []
        for (_, _, kind), values in zip(fields, zip(*rows, strict=True), strict=True):
            if _is_time(kind) and sqlite:
                # SQLite keeps UTC as naive text ("2024-05-01 10:00:00.000000").
                naive = pc.cast(pa.array(values, pa.string()), pa.timestamp("us"))
                arrays.append(pc.cast(naive, kind))
            elif pa.types.is_boolean(kind):  # SQLite's booleans may come back as 0 and 1
                arrays.append(pa.array([None if v is None else bool(v) for v in values], kind))
            else:
                arrays.append(pa.array(values, kind))
        batches.append(pa.RecordBatch.from_arrays(arrays, schema=schema))
    return pa.Table.from_batches(batches, schema=schema)


class _CopyOut(io.RawIOBase):
    """A readable file over a ``COPY … TO STDOUT`` sent on a libpq connection. PostgreSQL sends
    a message per row; they are gathered into blocks of ``block`` bytes by a loop of bare libpq
    calls (psycopg's own copy iterator costs about a microsecond and a half a row, more than the
    server takes to print it)."""

    def __init__(self, pgconn: Any, statement: bytes, block: int = 1 << 20) -> None:
        self._pg = pgconn
        self._block = block
        self._left = memoryview(b"")
        self._done = False
        pgconn.send_query(statement)
        result = pgconn.get_result()
        if result.status != pq.ExecStatus.COPY_OUT:
            self._raise(result)

    def readable(self) -> bool:
        return True

    def empty(self) -> bool:
        """Whether the query gave no row at all (reads the first block)."""
        if not self._left and not self._done:
            self._fill()
        return not self._left

    def readinto(self, buffer: Any) -> int:
        if not self._left and not self._done:
            self._fill()
        size = min(len(buffer), len(self._left))
        buffer[:size] = self._left[:size]
        self._left = self._left[size:]
        return size

    def drain(self) -> None:
        """Read what is left, so that the connection is free again."""
        while not self._done:
            self._fill()

    def _fill(self) -> None:
        get = self._pg.get_copy_data
        block = bytearray()
        while len(block) < self._block:
            size, data = get(0)
            if size < 0:
                self._finish()
                break
            block += data
        self._left = memoryview(block)

    def _finish(self) -> None:
        self._done = True
        while (result := self._pg.get_result()) is not None:
            if result.status == pq.ExecStatus.FATAL_ERROR:
                self._raise(result)

    def _raise(self, result: Any) -> None:
        while self._pg.get_result() is not None:  # leave the connection ready for a rollback
            pass
        state = (result.error_field(pq.DiagnosticField.SQLSTATE) or b"").decode()
        message = (result.error_message or b"COPY failed").decode(errors="replace").strip()
        try:
            error = psycopg.errors.lookup(state)
        except KeyError:
            error = psycopg.DatabaseError
        raise error(message)


def _copied(session: Session, query: Select[Any], fields: Sequence[Field]) -> pa.Table:
    """``arrow_table`` on PostgreSQL: the query as CSV through COPY, parsed by Arrow. Times are
    printed in UTC for the transaction; an unquoted empty field is NULL, a quoted one the empty
    string."""
    columns = [expr.label(name) for name, expr, _ in fields]
    raw: psycopg.Connection[Any] = session.connection().connection.driver_connection  # type: ignore[assignment]
    compiled = query.with_only_columns(*columns).compile(
        session.get_bind(), compile_kwargs={"render_postcompile": True}
    )
    statement = psycopg.ClientCursor(raw).mogrify(str(compiled), compiled.params)
    read_as = {name: kind for name, _, kind in fields}
    schema = pa.schema([pa.field(name, kind) for name, _, kind in fields])
    with raw.cursor() as cursor:
        cursor.execute("SELECT set_config('TimeZone', 'UTC', true)")
    copy = f"COPY ({statement}) TO STDOUT (FORMAT csv)"
    stream = _CopyOut(raw.pgconn, copy.encode(raw.info.encoding))
    try:
        if stream.empty():  # no row: Arrow's reader wants at least one line
            return schema.empty_table()
        reader = pacsv.open_csv(
            io.BufferedReader(stream, buffer_size=1 << 20),
            read_options=pacsv.ReadOptions(column_names=list(read_as), block_size=1 << 22),
            convert_options=pacsv.ConvertOptions(
                column_types=read_as,
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
                true_values=["t"],  # PostgreSQL prints booleans as t and f
                false_values=["f"],
            ),
        )
        return reader.read_all().cast(schema)
    finally:
        stream.drain()
