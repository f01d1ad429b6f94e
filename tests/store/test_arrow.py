"""Facts served as Arrow (``store.arrow.arrow_table``): the same table from SQLite's reader and
from PostgreSQL's COPY, whatever the text holds."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
from sqlalchemy import select

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
