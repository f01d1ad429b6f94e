"""Merging two customers re-points every row that names one, whatever domain owns it."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
from sqlalchemy import select

from cxloop import profiles
from cxloop.analytics.models import CustomerScore
from cxloop.analytics.rfm import COLUMNS
from cxloop.analytics.service import write_scores
from cxloop.store.db import Database
from cxloop.workspaces import service as workspaces
from cxloop.workspaces.schemas import WorkspaceCreate

NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def _scores(frequency: dict[int, int]) -> pa.Table:
    ids = list(frequency)
    columns = {
        n: pa.array(
            ["loyal"] * len(ids)
            if n == "rfm_segment"
            else ids
            if n == "customer_id"
            else [frequency[i] for i in ids]
            if n == "frequency"
            else [3] * len(ids),
            pa.string() if n == "rfm_segment" else pa.int64(),
        )
        for n in COLUMNS
    }
    return pa.table(columns)


def test_a_merge_of_two_scored_customers_keeps_the_survivors_score(any_db: Database) -> None:
    # given two customers, each scored by the last run
    with any_db.session() as session:
        ws = workspaces.create_workspace(session, WorkspaceCreate(name="Shop")).workspace_id
    with any_db.session() as session:
        first = profiles.resolve(session, ws, profiles.Keys(user_id="u1"), source="t")
        second = profiles.resolve(session, ws, profiles.Keys(email="b@example.com"), source="t")
        assert first is not None and second is not None
        ids = (first.id, second.id)
    with any_db.session() as session:
        write_scores(session, ws, _scores({ids[0]: 4, ids[1]: 9}), at=NOW, actor="t")
    # when a message names both, so that they are found to be one
    with any_db.session() as session:
        both = profiles.Keys(user_id="u1", email="b@example.com")
        survivor = profiles.resolve(session, ws, both, source="t")
        assert survivor is not None
        kept = survivor.id
    # then the merge went through, and one score is left: the survivor's own
    with any_db.session() as session:
        rows = session.execute(
            select(CustomerScore.customer_id, CustomerScore.frequency).where(
                CustomerScore.workspace_id == ws
            )
        ).all()
    assert [tuple(r) for r in rows] == [(kept, 4 if kept == ids[0] else 9)]
