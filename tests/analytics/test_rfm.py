"""RFM scoring and segments, on hand-built orders, as Ibis expressions run on DuckDB."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import ibis
import pyarrow as pa
import pytest

from cxloop.analytics import rfm
from cxloop.analytics.warehouse import Warehouse

AS_OF = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
WS = "w1"

# The rules table of docs/rfm.md, written out again by hand: (segment, R scores, F scores).
RULES = [
    ("champions", {5}, {4, 5}),
    ("loyal", {3, 4}, {4, 5}),
    ("potential_loyalist", {4, 5}, {2, 3}),
    ("new", {5}, {1}),
    ("promising", {4}, {1}),
    ("need_attention", {3}, {3}),
    ("about_to_sleep", {3}, {1, 2}),
    ("at_risk", {1, 2}, {3, 4}),
    ("cant_lose", {1, 2}, {5}),
    ("hibernating", {2}, {1, 2}),
    ("hibernating", {1}, {2}),
    ("lost", {1}, {1}),
]


@pytest.fixture
def warehouse() -> Iterator[Warehouse]:
    """An in-memory DuckDB warehouse."""
    wh = Warehouse("duckdb://:memory:")
    yield wh
    wh.close()


def orders(rows: list[tuple[int, int, int, str]], *, refunded: dict[int, int] | None = None):
    """Orders as the owner serves them: (customer, days before AS_OF, total cents, status)."""
    refunds = refunded or {}
    return pa.table(
        {
            "id": pa.array(range(1, len(rows) + 1), pa.int64()),
            "customer_id": pa.array([r[0] for r in rows], pa.int64()),
            "status": [r[3] for r in rows],
            "currency": ["EUR"] * len(rows),
            "total_cents": pa.array([r[2] for r in rows], pa.int64()),
            "refunded_cents": pa.array(
                [refunds.get(i, 0) for i in range(1, len(rows) + 1)], pa.int64()
            ),
            "placed_at": pa.array(
                [AS_OF - dt.timedelta(days=r[1], hours=1) for r in rows], pa.timestamp("us", "UTC")
            ),
            "cancelled_at": pa.nulls(len(rows), pa.timestamp("us", "UTC")),
            "updated_at": pa.array([AS_OF] * len(rows), pa.timestamp("us", "UTC")),
        }
    )


def scored(warehouse: Warehouse, rows: pa.Table) -> dict[int, dict[str, object]]:
    warehouse.upsert("orders", WS, rows, fresh=True)
    table = rfm.rfm(warehouse.table("orders"), WS, AS_OF).to_pyarrow()
    return {row["customer_id"]: row for row in table.to_pylist()}


def test_distinct_values_fill_the_five_quintiles_two_by_two(warehouse: Warehouse) -> None:
    # Given ten customers, customer c with c orders of 10 € each, the last one c days ago
    rows = [(c, c + k, 1000, "paid") for c in range(1, 11) for k in range(c)]
    # When scored
    got = scored(warehouse, orders(rows))
    # Then F and M rise two customers at a time, and R falls the same way with age
    assert [got[c]["f"] for c in range(1, 11)] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert [got[c]["m"] for c in range(1, 11)] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert [got[c]["r"] for c in range(1, 11)] == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    assert got[3]["recency_days"] == 3
    assert got[3]["frequency"] == 3
    assert got[3]["monetary_cents"] == 3000


def test_ties_share_a_score_and_are_never_split(warehouse: Warehouse) -> None:
    # Given six one-order customers, two with two orders, one with three and one with four,
    # all bought on the same day, for the same amount per customer
    counts = {1: 1, 2: 1, 3: 1, 4: 1, 5: 1, 6: 1, 7: 2, 8: 2, 9: 3, 10: 4}
    rows = [(c, 10, 500 * 6 // n, "paid") for c, n in counts.items() for _ in range(n)]
    # When scored
    got = scored(warehouse, orders(rows))
    # Then the six single buyers all get F = 1 (60% below nobody), the pair F = 4 (6 of 10 below),
    # the three-order customer 5 (8 below) and the four-order one 5 (9 below)
    assert [got[c]["f"] for c in range(1, 11)] == [1, 1, 1, 1, 1, 1, 4, 4, 5, 5]
    # and the same day, or the same money, is the same score for everyone
    assert {got[c]["r"] for c in range(1, 11)} == {1}
    assert {got[c]["m"] for c in range(1, 11)} == {1}


def test_cancelled_orders_do_not_count_and_refunds_are_taken_off(warehouse: Warehouse) -> None:
    # Given a customer with a paid order (half refunded) and a more recent cancelled one
    rows = [(1, 30, 4000, "paid"), (1, 2, 9000, "cancelled"), (2, 5, 100, "cancelled")]
    # When scored
    got = scored(warehouse, orders(rows, refunded={1: 1500}))
    # Then only the paid order counts, less its refund; a customer with only cancelled orders
    # is not scored at all
    assert got[1]["frequency"] == 1
    assert got[1]["monetary_cents"] == 2500
    assert got[1]["recency_days"] == 30
    assert set(got) == {1}


def test_other_workspaces_orders_are_left_out(warehouse: Warehouse) -> None:
    # Given one order in another workspace
    warehouse.upsert("orders", "w2", orders([(9, 1, 100, "paid")]), fresh=True)
    # When a workspace with its own order is scored
    got = scored(warehouse, orders([(1, 1, 100, "paid")]))
    # Then only its customer is there
    assert set(got) == {1}


@pytest.mark.parametrize(("name", "recency", "frequency"), RULES)
def test_every_cell_of_a_rule_gets_its_segment(
    name: str, recency: set[int], frequency: set[int]
) -> None:
    # Given every (R, F) cell the rule covers
    cells = [(r, f) for r in sorted(recency) for f in sorted(frequency)]
    table = ibis.memtable({"r": [c[0] for c in cells], "f": [c[1] for c in cells]})
    # When the segment expression runs on DuckDB
    got = ibis.duckdb.connect().execute(table.mutate(s=rfm.segment(table.r, table.f)))
    # Then each cell is in the rule's segment, and the Python grid agrees
    assert list(got["s"]) == [name] * len(cells)
    assert {rfm.segment_of(r, f) for r, f in cells} == {name}


def test_the_rules_cover_the_25_cells_once_and_name_every_segment() -> None:
    cells = [(r, f) for name, rs, fs in RULES for r in rs for f in fs]
    assert sorted(cells) == [(r, f) for r in range(1, 6) for f in range(1, 6)]
    assert {name for name, _, _ in RULES} == set(rfm.SEGMENTS)
    assert len(rfm.SEGMENTS) == 11
