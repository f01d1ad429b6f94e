"""Rows of the operational store as Arrow tables: how a domain serves its facts to analytics.

Values are read without the ORM's per-value conversions (timestamps come back as SQLite's text
or PostgreSQL's aware datetimes and are converted by Arrow, column by column), so that millions
of rows move at Arrow's speed rather than Python's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
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
            else:
                arrays.append(pa.array(values, kind))
        batches.append(pa.RecordBatch.from_arrays(arrays, schema=schema))
    return pa.Table.from_batches(batches, schema=schema)
