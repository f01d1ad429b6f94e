"""Measured uplift: the statistics against published values, and a journey's treated customers
against its holdout on a real store."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from scipy import stats

from cxloop import channels
from cxloop.journeys import engine, service
from cxloop.journeys.uplift import means, proportions, wilson
from cxloop.profiles import service as profiles
from cxloop.segments import service as segments
from cxloop.segments.schemas import SegmentCreate
from cxloop.store.db import Database
from cxloop.wiring import wire
from tests.helpers import factories as f


def test_wilson_and_newcombe_match_newcombe_1998() -> None:
    # Newcombe (1998), Statistics in Medicine 17:873-890, table II: 56/70 against 48/80,
    # method 10 (hybrid score) gives 0.0524 to 0.3339 for the difference 0.2.
    share, low, high = wilson(56, 70)
    reference = stats.binomtest(56, 70).proportion_ci(method="wilson")
    assert share == 0.8 and (low, high) == pytest.approx((reference.low, reference.high))
    found = proportions((56, 70), (48, 80))
    assert found["difference"] == pytest.approx(0.2)
    assert found["difference_ci95"] == pytest.approx([0.0524, 0.3339], abs=1e-4)
    table = [[56, 14], [48, 32]]  # the pooled z test is the uncorrected chi-squared test
    assert found["p_value"] == pytest.approx(stats.chi2_contingency(table, correction=False).pvalue)
    empty = proportions((0, 0), (3, 10))
    assert empty["treated"] is None and empty["difference"] is None


def test_welch_matches_scipy() -> None:
    rng = np.random.default_rng(7)
    a, b = rng.gamma(2.0, 30.0, 400), rng.gamma(2.0, 25.0, 120)
    found = means(a, b)
    reference = stats.ttest_ind(a, b, equal_var=False)
    assert found["p_value"] == pytest.approx(reference.pvalue, rel=1e-9)
    assert found["difference"] == pytest.approx(a.mean() - b.mean())
    low, high = found["difference_ci95"]
    assert low < found["difference"] < high


JOURNEY = """
key: lapsed
holdout: 50
goal: {event: Order Completed, within: 30d}
trigger: {segment: lapsed}
steps:
  - send: {subject: "Revenez", body: "Revenez", marketing: false}
"""


def test_treated_against_holdout_on_a_store(
    app: FastAPI, db: Database, make_workspace: Any
) -> None:
    wire()
    owner = make_workspace()
    ws = owner.workspace_id
    people = [f.customer(db, ws) for _ in range(60)]
    with db.session() as session:
        segments.create_segment(
            session, ws, SegmentCreate(key="lapsed", name="L", kind="static"), actor="t"
        )
        service.create_journey(session, ws, JOURNEY, actor="t", status="active")
        segments.set_members(session, ws, "lapsed", people, actor="t")
    now = dt.datetime.now(dt.UTC)
    with db.session() as session:
        due = engine.due_runs(session, now + dt.timedelta(seconds=1))
    from cxloop.config import get_settings

    effects = engine.advance(db, due, get_settings(), now + dt.timedelta(seconds=1))
    channels.deliver(db, effects.emails, channels.sender_for(get_settings()))
    treated = [c for c in people if not engine.in_holdout("lapsed", c, 50)]
    control = [c for c in people if engine.in_holdout("lapsed", c, 50)]
    # Every treated customer buys 40 after entry, one holdout customer buys 40; one order
    # before entry counts for nothing; one treated customer unsubscribes.
    later = dt.datetime.now(dt.UTC)  # after their entry, before the results are read
    for cid in [*treated, control[0]]:
        f.order(db, ws, cid, later, total_cents=4000)
    f.order(db, ws, control[1], now - dt.timedelta(days=3), total_cents=9900)
    with db.session() as session:
        profiles.set_consent(session, ws, treated[0], "email", "denied", source="unsubscribe")
    headers = {"Authorization": f"Bearer {owner.admin_key}"}
    with TestClient(app) as client:
        found = client.get("/api/v1/journeys/lapsed/uplift?days=30", headers=headers).json()
    assert found["customers"] == {"treated": len(treated), "holdout": len(control)}
    repeat = found["repeat_purchase"]
    assert repeat["treated"] == 1.0 and repeat["holdout"] == pytest.approx(1 / len(control))
    assert repeat["p_value"] < 0.001 and repeat["difference_ci95"][0] > 0.5
    revenue = found["revenue_per_customer"]
    assert revenue["treated"] == pytest.approx(40.0) and revenue["holdout"] == pytest.approx(
        40 / len(control)
    )
    unsubscribed = found["unsubscribe_rate"]
    assert (
        unsubscribed["treated"] == pytest.approx(1 / len(treated)) and unsubscribed["holdout"] == 0
    )
    assert found["later_nps"]["treated_answers"] == 0
    activity = found["activity"]
    assert activity["sent"] == activity["messages"] == len(treated)
    assert activity["attributed_revenue"] == pytest.approx(40.0 * len(treated))
    assert activity["clicked"] == 0 and activity["opened"] == 0
