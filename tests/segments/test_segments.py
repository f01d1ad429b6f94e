"""Segments: created and changed with audits, members refreshed from customer facts with
entries and exits recorded, static lists, previews."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa
import pytest
from sqlalchemy import select

from cxloop import segments
from cxloop.errors import InvalidInput
from cxloop.segments import service
from cxloop.segments.schemas import SegmentCreate, SegmentUpdate
from cxloop.store.db import Database
from cxloop.workspaces import service as workspaces
from cxloop.workspaces.models import AuditEntry
from cxloop.workspaces.schemas import WorkspaceCreate
from tests.helpers import factories

DAY = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def _facts(rows: dict[int, dict[str, Any]]) -> pa.Table:
    """A facts table with every batch field, NULL unless given."""
    ids = list(rows)
    kinds = {"number": pa.float64(), "text": pa.string(), "bool": pa.bool_()}
    columns: dict[str, pa.Array] = {"customer_id": pa.array(ids, pa.int64())}
    for name, spec in segments.FIELDS.items():
        if spec.batch:
            kind = kinds.get(spec.kind, pa.list_(pa.string()))
            columns[segments.column(name)] = pa.array([rows[i].get(name) for i in ids], kind)
    return pa.table(columns)


def _workspace(db: Database, make_workspace: Any) -> tuple[str, list[int]]:
    workspace_id = make_workspace().workspace_id
    return workspace_id, [factories.customer(db, workspace_id) for _ in range(4)]


def test_a_dynamic_segment_follows_the_facts_and_records_entries_and_exits(
    any_db: Database,
) -> None:
    with any_db.session() as session:
        ws = workspaces.create_workspace(session, WorkspaceCreate(name="Shop")).workspace_id
    a, b, c, d = (factories.customer(any_db, ws) for _ in range(4))
    # given a segment of unhappy customers who paid for delivery
    with any_db.session() as session:
        body = SegmentCreate(
            key="unhappy_shipping",
            name="Unhappy about shipping",
            condition='nps.score <= 6 and nps.blamed contains "delivery_cost"',
        )
        service.create_segment(session, ws, body, actor="admin@shop")
    # when the first facts come: a and b match, c answered happily, d never answered
    first = _facts(
        {
            a: {"nps.score": 3, "nps.blamed": ["delivery_cost"]},
            b: {"nps.score": 6, "nps.blamed": ["delivery_cost", "price"]},
            c: {"nps.score": 10, "nps.blamed": []},
            d: {},
        }
    )
    with any_db.session() as session:
        changes = segments.refresh(session, ws, first, at=DAY, actor="analytics")
    # then a and b entered
    assert changes["unhappy_shipping"].entered == sorted([a, b])
    # when the next facts come: b answered again, happier; d now matches
    later = DAY + dt.timedelta(days=1)
    second = _facts(
        {
            a: {"nps.score": 3, "nps.blamed": ["delivery_cost"]},
            b: {"nps.score": 9, "nps.blamed": []},
            c: {"nps.score": 10, "nps.blamed": []},
            d: {"nps.score": 2, "nps.blamed": ["delivery_cost"]},
        }
    )
    with any_db.session() as session:
        changes = segments.refresh(session, ws, second, at=later, actor="analytics")
    # then d entered and b left; a, still in, is not entered twice
    assert changes["unhappy_shipping"].entered == [d]
    assert changes["unhappy_shipping"].left == [b]
    with any_db.session() as session:
        segment = service.get_segment(session, ws, "unhappy_shipping")
        assert segment is not None and segment.members == 2 and segment.refreshed_at == later
        assert service.member_ids(session, segment) == {a, d}
        # and b's history reads: left, then entered
        assert [(h.change, h.at) for h in segments.history(session, ws, b)] == [
            ("left", later),
            ("entered", DAY),
        ]
        assert segments.segments_of(session, ws, d) == ["unhappy_shipping"]
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.workspace_id == ws).order_by(AuditEntry.id)
        ).all()
    assert actions[-3:] == ["segments.created", "segments.refreshed", "segments.refreshed"]


def test_customers_unknown_to_the_store_are_left_out(db: Database, make_workspace: Any) -> None:
    ws, (a, *_rest) = _workspace(db, make_workspace)
    with db.session() as session:
        service.create_segment(
            session,
            ws,
            SegmentCreate(key="big", name="Big", condition="orders.count >= 1"),
            actor="t",
        )
    facts = _facts({a: {"orders.count": 3}, 999_999: {"orders.count": 5}})
    with db.session() as session:
        changes = segments.refresh(session, ws, facts, at=DAY, actor="t", known=[a])
    assert changes["big"].entered == [a]


@pytest.mark.parametrize(
    ("body", "field", "status"),
    [
        ({"key": "x", "name": "X", "condition": "nps.score >"}, "condition", 422),
        ({"key": "x", "name": "X"}, "condition", 422),
        ({"key": "x", "name": "X", "kind": "static", "condition": "r > 1"}, "condition", 422),
        ({"key": "taken", "name": "X", "condition": "r > 1"}, "key", 409),
    ],
)
def test_a_segment_that_cannot_be_made_is_refused_naming_the_field(
    db: Database, make_workspace: Any, body: dict[str, Any], field: str, status: int
) -> None:
    ws = make_workspace().workspace_id
    with db.session() as session:
        service.create_segment(
            session, ws, SegmentCreate(key="taken", name="T", condition="r > 1"), actor="t"
        )
    with pytest.raises(InvalidInput) as caught, db.session() as session:
        service.create_segment(session, ws, SegmentCreate(**body), actor="t")
    assert (caught.value.field, caught.value.status) == (field, status)


def test_a_static_list_is_replaced_whole_and_a_change_is_audited(
    db: Database, make_workspace: Any
) -> None:
    ws, (a, b, c, _d) = _workspace(db, make_workspace)
    with db.session() as session:
        service.create_segment(
            session, ws, SegmentCreate(key="vip", name="VIP", kind="static"), actor="t"
        )
        service.set_members(session, ws, "vip", [a, b], actor="t")
    with db.session() as session:
        changes = service.set_members(session, ws, "vip", [b, c], actor="t")
        service.update_segment(session, ws, "vip", SegmentUpdate(name="Club VIP"), actor="t")
    assert (changes.entered, changes.left) == ([c], [a])
    with db.session() as session:
        segment = service.get_segment(session, ws, "vip")
        assert segment is not None and segment.name == "Club VIP"
        assert service.member_ids(session, segment) == {b, c}
        # and a dynamic segment's list cannot be set by hand
        service.create_segment(
            session, ws, SegmentCreate(key="dyn", name="D", condition="r > 1"), actor="t"
        )
    with pytest.raises(InvalidInput), db.session() as session:
        service.set_members(session, ws, "dyn", [a], actor="t")


def test_a_preview_counts_and_samples_without_writing() -> None:
    facts = _facts({i: {"clv_12m": float(i * 10)} for i in range(1, 51)})
    shown = service.preview("clv_12m >= 300", facts, sample=5)
    assert (shown.members, shown.customers, shown.sample) == (21, 50, [30, 31, 32, 33, 34])
