"""One analytics run of a workspace: sync the warehouse, compute the scores step by step, write
them back to the operational store."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from cxloop import segments, workspaces
from cxloop.analytics import (
    calibration,
    experience,
    facts,
    personas,
    propensity,
    rfm,
    service,
    value,
)
from cxloop.analytics.sync import Report, SyncSummary, sync
from cxloop.analytics.warehouse import Warehouse
from cxloop.errors import InvalidInput
from cxloop.store.db import Database


@dataclass(frozen=True)
class StepInput:
    """What a scoring step gets: the warehouse, the workspace, the moment scores are as of, and
    the scores so far (customer_id first)."""

    warehouse: Warehouse
    workspace_id: str
    as_of: dt.datetime
    scores: pa.Table


@dataclass(frozen=True)
class StepOutput:
    """What a step makes: ``scores``, an Arrow table keyed by customer_id with some of the
    model-score columns of customer_scores (clv_12m, p_alive, expected_orders_90d,
    next_order_days, churn_band, propensity, persona), joined onto the RFM scores before the
    write-back; and ``reports``, JSON documents on the workspace as a whole by kind (a model's
    calibration, the personas), stored beside the scores (``service.report`` reads them)."""

    scores: pa.Table | None = None
    reports: dict[str, dict[str, Any]] = field(default_factory=dict)


Step = Callable[[StepInput], StepOutput]


def _value(step: StepInput) -> StepOutput:
    """CLV, P(alive), next order and churn band (BG/NBD + Gamma-Gamma on the history)."""
    orders = step.warehouse.table("orders")
    return StepOutput(scores=value.value_scores(orders, step.workspace_id, step.as_of))


def _clv(step: StepInput) -> StepOutput:
    """The purchase model's holdout check: predicted against actual repeat purchases."""
    orders = step.warehouse.table("orders")
    check = calibration.clv_holdout(orders, step.workspace_id, step.as_of, step.scores.num_rows)
    return StepOutput(reports={"clv": check})


def _propensity(step: StepInput) -> StepOutput:
    """Each new customer's chance of a top-quintile first year, and the model's report."""
    scores, report = propensity.propensity_scores(step.warehouse, step.workspace_id, step.as_of)
    return StepOutput(scores=scores, reports={"propensity": report})


def _experience(step: StepInput) -> StepOutput:
    """Revenue, orders, basket and retention after a first NPS answer, a first delivery and a
    first order (a report only: no per-customer column)."""
    orders, shipments, answers = (
        step.warehouse.table(n) for n in ("orders", "shipments", "answers")
    )
    body = experience.experience_report(orders, shipments, answers, step.workspace_id, step.as_of)
    return StepOutput(reports={experience.KIND: body})


def _personas(step: StepInput) -> StepOutput:
    """Each buyer's persona, from a Gaussian mixture on behaviour features (``personas.py``)."""
    found, report = personas.personas(step.warehouse, step.workspace_id, step.as_of, step.scores)
    return StepOutput(scores=found, reports={"personas": report})


# The steps after RFM, in order.
STEPS: list[tuple[str, Step]] = [
    ("value", _value),
    ("experience", _experience),
    ("clv", _clv),
    ("propensity", _propensity),
    ("personas", _personas),
]


@dataclass
class RunSummary:
    """What a run did: rows loaded, customers scored, segments, and seconds per stage."""

    workspace_id: str
    sync: SyncSummary
    customers: int
    segments: dict[str, int]
    seconds: dict[str, float] = field(default_factory=dict)
    # Per segment key: customers who entered and left at this run's refresh.
    changes: dict[str, dict[str, int]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The summary as ``cxloop analytics run --json`` prints it."""
        return {
            "workspace_id": self.workspace_id,
            "loaded": self.sync.rows,
            "merges": self.sync.merges,
            "customers": self.customers,
            "rfm_segments": self.segments,
            "segments": self.changes,
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
        }


def _silent(stage: str, done: int, total: int) -> None:
    return None


def _join(scores: pa.Table, extra: pa.Table) -> pa.Table:
    added = [name for name in extra.column_names if name != "customer_id"]
    kept = scores.drop_columns([name for name in added if name in scores.column_names])
    return kept.join(extra, "customer_id", join_type="left outer")


def compute_scores(
    warehouse: Warehouse,
    workspace_id: str,
    as_of: dt.datetime,
    steps: list[tuple[str, Step]],
    *,
    progress: Report | None = None,
    seconds: dict[str, float] | None = None,
) -> tuple[pa.Table, dict[str, dict[str, Any]]]:
    """RFM from the warehouse's orders, then each step's columns joined on; and the steps'
    reports. Each stage's time goes into ``seconds`` (``rfm`` then the steps' names)."""
    report = progress or _silent
    timings = seconds if seconds is not None else {}
    stages = 1 + len(steps)
    report("scores", 0, stages)
    start = time.perf_counter()
    scores: pa.Table = rfm.rfm(warehouse.table("orders"), workspace_id, as_of).to_pyarrow()
    timings["rfm"] = time.perf_counter() - start
    report("scores", 1, stages)
    reports: dict[str, dict[str, Any]] = {}
    for done, (name, step) in enumerate(steps, start=2):
        start = time.perf_counter()
        out = step(StepInput(warehouse, workspace_id, as_of, scores))
        if out.scores is not None:
            scores = _join(scores, out.scores)
        reports.update(out.reports)
        timings[name] = time.perf_counter() - start
        report("scores", done, stages)
    return scores, reports


def run_analytics(
    db: Database,
    url: str,
    workspace_id: str,
    *,
    full: bool = False,
    as_of: dt.datetime | None = None,
    actor: str = "analytics",
    progress: Report | None = None,
) -> RunSummary:
    """Sync the workspace's facts into the warehouse at ``url``, score its customers and write
    the scores back (the same run from the CLI, the worker and the demo)."""
    report = progress or _silent
    with db.session() as session:
        if workspaces.get_workspace(session, workspace_id) is None:
            raise InvalidInput("workspace", f"no workspace {workspace_id!r}")
    moment = as_of or dt.datetime.now(dt.UTC)
    warehouse = Warehouse(url)
    seconds: dict[str, float] = {}
    try:
        start = time.perf_counter()
        loaded = sync(db, warehouse, workspace_id, full=full, progress=report)
        seconds["sync"] = time.perf_counter() - start
        scores, reports = compute_scores(
            warehouse, workspace_id, moment, STEPS, progress=report, seconds=seconds
        )
        with db.session() as session:
            wanted = segments.dynamic_keys(session, workspace_id)
        start = time.perf_counter()
        # Segment facts only when a dynamic segment will read them.
        found = facts.warehouse_facts(warehouse, workspace_id, moment) if wanted else None
        seconds["facts"] = time.perf_counter() - start
    finally:
        warehouse.close()
    report("write", 0, 1)
    start = time.perf_counter()
    with db.session() as session:
        written = service.write_scores(
            session, workspace_id, scores, at=moment, actor=actor, reports=reports
        )
    seconds["write"] = time.perf_counter() - start
    report("write", 1, 1)
    start = time.perf_counter()
    changes: dict[str, dict[str, int]] = {}
    if found is not None:
        with db.session() as session:
            table = facts.customer_facts(session, workspace_id, moment, scores, found)
            refreshed = segments.refresh(session, workspace_id, table, at=moment, actor=actor)
        changes = {
            k: {"entered": len(c.entered), "left": len(c.left)} for k, c in refreshed.items()
        }
    seconds["segments"] = time.perf_counter() - start
    with db.session() as session:
        counts = service.segment_counts(session, workspace_id)
    return RunSummary(workspace_id, loaded, written.written, counts, seconds, changes)
