"""Facts served as Arrow (``store.arrow.arrow_table``): the same table from SQLite's reader and
from PostgreSQL's COPY, whatever the text holds."""

from __future__ import annotations

import datetime as dt

import psycopg
import pyarrow as pa
import pytest
from sqlalchemy import func, select

from cxloop.commerce.models import Order
from cxloop.store.arrow import TIMESTAMP, arrow_table
from cxloop.store.db import Database
from cxloop.workspaces import service as workspaces
from cxloop.workspaces.schemas import WorkspaceCreate
from tests.helpers import factories

AWKWARD = ["", 'say "hi", then\nleave', "a,b;c\\d", "NULL", "\\N", "é ü 😀"]


def test_rows_come_back_as_typed_arrow_with_nulls_empty_strings_and_times_intact(
    any_db: Database,
) -> None:
    with any_db.session() as session:
        workspace_id = workspaces.create_workspace(
            session, WorkspaceCreate(name="Shop")
        ).workspace_id
    customer = factories.customer(any_db, workspace_id)
    # Given orders whose text fields hold quotes, separators, newlines, look-alikes of NULL and
    # the empty string, one NULL, and times before and after 1970 to the microsecond
    moments = [
        dt.datetime(1969, 7, 20, 20, 17, 40, 123456, tzinfo=dt.UTC),
        dt.datetime(2026, 12, 6, 1, 2, 3, 999999, tzinfo=dt.UTC),
    ]
    codes: list[str | None] = [*AWKWARD, None]
    for i, code in enumerate(codes):
        factories.order(
            any_db,
            workspace_id,
            customer,
            moments[i % 2],
            coupon_code=code,
            total_cents=2**40 + i,
            cancelled_at=None if i % 3 else moments[1],
        )
    fields = [
        ("id", Order.id, pa.int64()),
        ("coupon_code", Order.coupon_code, pa.string()),
        ("total_cents", Order.total_cents, pa.int64()),
        ("placed_at", Order.placed_at, TIMESTAMP),
        ("cancelled_at", Order.cancelled_at, TIMESTAMP),
        ("has_code", Order.coupon_code.is_not(None), pa.bool_()),
    ]
    # When they are read as Arrow
    with any_db.session() as session:
        table = arrow_table(
            session, select(Order.id).where(Order.workspace_id == workspace_id), fields
        )
    # Then every value comes back as it was stored, with the declared types
    assert table.schema == pa.schema([pa.field(n, k) for n, _, k in fields])
    rows = sorted(table.to_pylist(), key=lambda row: row["id"])
    assert [row["coupon_code"] for row in rows] == codes
    assert [row["total_cents"] for row in rows] == [2**40 + i for i in range(len(codes))]
    assert [row["placed_at"] for row in rows] == [moments[i % 2] for i in range(len(codes))]
    assert [row["has_code"] for row in rows] == [code is not None for code in codes]
    assert [row["cancelled_at"] for row in rows] == [
        None if i % 3 else moments[1] for i in range(len(codes))
    ]


def test_a_query_with_no_row_gives_an_empty_table_with_the_declared_columns(
    any_db: Database,
) -> None:
    fields = [("id", Order.id, pa.int64()), ("placed_at", Order.placed_at, TIMESTAMP)]
    with any_db.session() as session:
        table = arrow_table(session, select(Order.id).where(Order.workspace_id == "none"), fields)
    assert table.num_rows == 0
    assert table.schema == pa.schema([pa.field(n, k) for n, _, k in fields])


def test_a_long_copy_is_read_whole_and_a_failing_one_raises_and_leaves_the_session_usable(
    pg_url: str,
) -> None:
    db = Database(pg_url)
    series = func.generate_series(1, 200_000).table_valued("n").render_derived()
    n = series.c.n
    with db.session() as session:
        # Given a query whose rows fill several of the reader's blocks
        fields = [("n", n, pa.int64()), ("label", func.repeat("é", n % 7), pa.string())]
        table = arrow_table(session, select(n), fields)
        # Then every row comes back, in order
        assert table.column("n").to_pylist() == list(range(1, 200_001))
        assert table.column("label").to_pylist()[:8] == ["é" * (i % 7) for i in range(1, 9)]
    # Given a query that fails after more than a block of rows was sent
    failing = [("n", 1 / (n - 150_000), pa.int64())]
    with pytest.raises(psycopg.errors.DivisionByZero), db.session() as session:
        raw = session.connection().connection.driver_connection
        try:
            arrow_table(session, select(n), failing)
        finally:
            status = raw.info.transaction_status
    # Then the error is PostgreSQL's, and the connection is left ready for the rollback
    assert status == psycopg.pq.TransactionStatus.INERROR
    with db.session() as session:
        assert arrow_table(session, select(n), fields).num_rows == 200_000
    db.dispose()
