"""The analytics' scores in the operational store: written in bulk by a run, read in real time
by the customer 360, segments and journeys."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from sqlalchemy import case, delete, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Subquery

from cxloop import profiles, workspaces
from cxloop.analytics import value
from cxloop.analytics.models import AnalyticsReport, CustomerScore
from cxloop.analytics.rfm import COLUMNS, SEGMENT_GRID, SEGMENTS
from cxloop.analytics.schemas import (
    CustomerScores,
    GridCell,
    ModelReports,
    PersonaFeature,
    PersonaPublic,
    PersonasOverview,
    RfmOverview,
    SegmentFigures,
)
from cxloop.store.arrow import arrow_table

OPTIONAL = {
    "clv_12m": pa.float64(),
    "p_alive": pa.float64(),
    "expected_orders_90d": pa.float64(),
    "next_order_days": pa.float64(),
    "churn_band": pa.string(),
    "propensity": pa.float64(),
    "persona": pa.string(),
}
# The columns a run writes; the model scores are NULL until the step that makes them is wired.
SCORE_COLUMNS = (*COLUMNS, *OPTIONAL)
# The churn bands a run may write, the safest first; the console lists the riskiest first.
CHURN_BANDS = value.BANDS
CHURN_RANK = case(
    (CustomerScore.churn_band == "high", 0),
    (CustomerScore.churn_band == "medium", 1),
    (CustomerScore.churn_band == "low", 2),
    else_=3,
)
# Lower edges of the bands of 12-month value the console's chart counts customers in.
CLV_BANDS = (0.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0)
CHUNK = 50_000


@dataclass(frozen=True)
class WriteSummary:
    """What ``write_scores`` did: rows written, rows of unknown customers left out, when."""

    written: int
    skipped: int
    computed_at: dt.datetime


def _complete(scores: pa.Table, known: pa.Array) -> pa.Table:
    """The scores of known customers, with every column (missing model scores as NULL)."""
    for name, kind in OPTIONAL.items():
        if name not in scores.column_names:
            scores = scores.append_column(name, pa.nulls(scores.num_rows, kind))
    kept = scores.filter(pc.is_in(scores.column("customer_id"), value_set=known))
    return kept.select(list(SCORE_COLUMNS))


def _copy_postgres(session: Session, workspace_id: str, rows: pa.Table, at: dt.datetime) -> None:
    """Replace the workspace's scores by ``rows`` on PostgreSQL: COPY into a staging table, then
    joins: a DELETE of those no longer scored, an UPDATE of those scored before (their keys
    kept, so no foreign-key check), and an INSERT of the rest. At a million customers the
    UPDATE's hash join took 8 s where an upsert, a probe per row, took 13 to 18 s. Writers of
    one workspace queue on an advisory lock (two runs would insert the same new customers)."""
    names = rows.column_names
    scored = [name for name in names if name != "customer_id"]
    cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"scores:{workspace_id}",))
    cursor.execute(
        f"CREATE TEMP TABLE stage_scores ON COMMIT DROP AS SELECT {', '.join(names)}"
        " FROM customer_scores WITH NO DATA"
    )
    with cursor.copy(f"COPY stage_scores ({', '.join(names)}) FROM STDIN (FORMAT csv)") as copy:
        for start in range(0, rows.num_rows, CHUNK * 4):
            buffer = io.BytesIO()
            pacsv.write_csv(
                rows.slice(start, CHUNK * 4), buffer, pacsv.WriteOptions(include_header=False)
            )
            copy.write(buffer.getbuffer())
    cursor.execute("ANALYZE stage_scores")
    keys = {"ws": workspace_id, "at": at}
    cursor.execute(
        "DELETE FROM customer_scores c WHERE c.workspace_id = %(ws)s AND NOT EXISTS"
        " (SELECT 1 FROM stage_scores s WHERE s.customer_id = c.customer_id)",
        keys,
    )
    cursor.execute(
        f"UPDATE customer_scores c SET {', '.join(f'{n} = s.{n}' for n in scored)},"
        " computed_at = %(at)s FROM stage_scores s"
        " WHERE c.workspace_id = %(ws)s AND c.customer_id = s.customer_id",
        keys,
    )
    # What is left staged is new. (An INSERT reading the table it fills would be planned on the
    # table as it was: empty at the first run, a nested loop over a heap growing under it.)
    cursor.execute(
        "DELETE FROM stage_scores s USING customer_scores c"
        " WHERE c.workspace_id = %(ws)s AND c.customer_id = s.customer_id",
        keys,
    )
    cursor.execute(
        f"INSERT INTO customer_scores (workspace_id, {', '.join(names)}, computed_at)"
        f" SELECT %(ws)s, {', '.join(names)}, %(at)s FROM stage_scores",
        keys,
    )
    cursor.execute("DROP TABLE stage_scores")


def _insert_many(session: Session, workspace_id: str, rows: pa.Table, at: dt.datetime) -> None:
    # SQLite: one prepared INSERT run over plain tuples (no ORM objects): about a million a second
    # stamp, the way SQLAlchemy stores a UTC time there (naive text).
    stamp = at.astimezone(dt.UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    names = ", ".join(("workspace_id", *rows.column_names, "computed_at"))
    marks = ", ".join("?" * (len(rows.column_names) + 2))
    sql = f"INSERT INTO customer_scores ({names}) VALUES ({marks})"
    cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    for batch in rows.to_batches(CHUNK):
        columns = [column.to_pylist() for column in batch.columns]
        n = batch.num_rows
        cursor.executemany(sql, zip([workspace_id] * n, *columns, [stamp] * n, strict=True))


@dataclass(frozen=True)
class Report:
    """What the last run learnt about the workspace as a whole, for one kind of report."""

    kind: str
    body: dict[str, Any]
    computed_at: dt.datetime


def _replace_reports(
    session: Session, workspace_id: str, reports: dict[str, dict[str, Any]], at: dt.datetime
) -> None:
    session.execute(delete(AnalyticsReport).where(AnalyticsReport.workspace_id == workspace_id))
    session.add_all(
        AnalyticsReport(workspace_id=workspace_id, kind=kind, body=body, computed_at=at)
        for kind, body in sorted(reports.items())
    )


def report(session: Session, workspace_id: str, kind: str) -> Report | None:
    """The last run's report of a kind (None: no run made one yet)."""
    row = session.get(AnalyticsReport, (workspace_id, kind))
    return None if row is None else Report(row.kind, row.body, row.computed_at)


def write_scores(
    session: Session,
    workspace_id: str,
    scores: pa.Table,
    *,
    at: dt.datetime,
    actor: str,
    reports: dict[str, dict[str, Any]] | None = None,
) -> WriteSummary:
    """Replace the workspace's scores by ``scores`` (an Arrow table keyed by customer_id, with the
    RFM columns and any model scores), in bulk, and its reports by ``reports`` (JSON documents
    by kind); audited. Customers merged or deleted since the facts were loaded are left out."""
    known = profiles.customer_ids(session, workspace_id)
    rows = _complete(scores, known)
    session.flush()
    if session.get_bind().dialect.name == "postgresql":
        _copy_postgres(session, workspace_id, rows, at)
    else:
        session.execute(delete(CustomerScore).where(CustomerScore.workspace_id == workspace_id))
        _insert_many(session, workspace_id, rows, at)
    _replace_reports(session, workspace_id, reports or {}, at)
    counts = pc.value_counts(rows.column("rfm_segment")).to_pylist() if rows.num_rows else []
    workspaces.audit(
        session,
        actor=actor,
        action="analytics.scores_written",
        workspace_id=workspace_id,
        data={
            "customers": rows.num_rows,
            "skipped": scores.num_rows - rows.num_rows,
            "segments": {c["values"]: c["counts"] for c in counts},
            "reports": sorted(reports or {}),
        },
    )
    return WriteSummary(rows.num_rows, scores.num_rows - rows.num_rows, at)


def scores_table(
    session: Session, workspace_id: str, customer_ids: Sequence[int] | None = None
) -> pa.Table:
    """The scores the last run wrote (for every customer, or those of ``customer_ids``), as
    Arrow keyed by customer_id (the RFM columns, then the model scores)."""
    numbers = {"rfm_segment": pa.string()}
    fields = [
        (
            name,
            getattr(CustomerScore, name),
            OPTIONAL.get(name, numbers.get(name, pa.int64())),
        )
        for name in SCORE_COLUMNS
    ]
    query = select(CustomerScore.customer_id).where(CustomerScore.workspace_id == workspace_id)
    if customer_ids is not None:
        query = query.where(CustomerScore.customer_id.in_(list(customer_ids)))
    return arrow_table(session, query, fields)


def _public(row: CustomerScore) -> CustomerScores:
    return CustomerScores(
        recency_days=row.recency_days,
        frequency=row.frequency,
        monetary=round(row.monetary_cents / 100, 2),
        r=row.r,
        f=row.f,
        m=row.m,
        rfm_segment=row.rfm_segment,
        clv_12m=row.clv_12m,
        p_alive=row.p_alive,
        expected_orders_90d=row.expected_orders_90d,
        next_order_days=row.next_order_days,
        churn_band=row.churn_band,
        propensity=row.propensity,
        persona=row.persona,
        computed_at=row.computed_at,
    )


def scores_of(session: Session, workspace_id: str, customer_id: int) -> CustomerScores | None:
    """A customer's scores from the last run (None: not scored, e.g. no order yet)."""
    row = session.get(CustomerScore, (workspace_id, customer_id))
    return None if row is None else _public(row)


def usual_gap_days(first: dt.datetime, last: dt.datetime, orders: int) -> float | None:
    """The usual days between two orders of a customer (None with a single order): the time
    from the first to the last order, shared among the gaps between them."""
    if orders < 2:
        return None
    return round((last - first).total_seconds() / 86400 / (orders - 1), 1)


def personas_of(session: Session, workspace_id: str) -> dict[int, str]:
    """Each scored customer's persona code, as the last run gave them."""
    rows = session.execute(
        select(CustomerScore.customer_id, CustomerScore.persona).where(
            CustomerScore.workspace_id == workspace_id, CustomerScore.persona.is_not(None)
        )
    )
    return {int(customer_id): str(persona) for customer_id, persona in rows}


def score_table(workspace_id: str) -> Subquery:
    """The workspace's scores as a subquery keyed by ``customer_id``, with ``churn_rank`` (0 for
    the high band, 3 when there is none): the customer list joins it to filter and sort."""
    return (
        select(
            CustomerScore.customer_id,
            CustomerScore.rfm_segment,
            CustomerScore.r,
            CustomerScore.f,
            CustomerScore.m,
            CustomerScore.clv_12m,
            CustomerScore.p_alive,
            CustomerScore.churn_band,
            CHURN_RANK.label("churn_rank"),
            CustomerScore.persona,
        )
        .where(CustomerScore.workspace_id == workspace_id)
        .subquery("scores")
    )


def ranked_scores(
    session: Session, workspace_id: str, *, by: str, limit: int | None
) -> list[tuple[int, CustomerScores]]:
    """Customers with their scores, ``by="clv"`` the highest 12-month value first, ``by="churn"``
    those of the high then the medium churn band, the least likely alive first, ``by="propensity"``
    the new customers likeliest to become top customers first. Empty until the model scores are
    computed."""
    query = select(CustomerScore).where(CustomerScore.workspace_id == workspace_id)
    if by == "clv":
        query = query.where(CustomerScore.clv_12m.is_not(None)).order_by(
            CustomerScore.clv_12m.desc(), CustomerScore.customer_id
        )
    elif by == "propensity":
        query = query.where(CustomerScore.propensity.is_not(None)).order_by(
            CustomerScore.propensity.desc(), CustomerScore.customer_id
        )
    else:
        query = query.where(CustomerScore.churn_band.in_(("high", "medium"))).order_by(
            CHURN_RANK, CustomerScore.p_alive.asc().nulls_last(), CustomerScore.customer_id
        )
    if limit is not None:
        query = query.limit(limit)
    return [(row.customer_id, _public(row)) for row in session.scalars(query)]


def model_coverage(session: Session, workspace_id: str) -> dict[str, int]:
    """How many customers have each model score (``clv_12m``, ``p_alive``, ``churn_band``):
    0 until the step that makes it has run."""
    row = session.execute(
        select(
            func.count(CustomerScore.clv_12m),
            func.count(CustomerScore.p_alive),
            func.count(CustomerScore.churn_band),
        ).where(CustomerScore.workspace_id == workspace_id)
    ).one()
    return {"clv_12m": int(row[0]), "p_alive": int(row[1]), "churn_band": int(row[2])}


def segment_values(session: Session, workspace_id: str) -> dict[str, float | None]:
    """Average 12-month customer value per RFM segment (None where no CLV is computed)."""
    rows = session.execute(
        select(CustomerScore.rfm_segment, func.avg(CustomerScore.clv_12m))
        .where(CustomerScore.workspace_id == workspace_id)
        .group_by(CustomerScore.rfm_segment)
    ).all()
    found = {str(name): (None if avg is None else round(float(avg), 2)) for name, avg in rows}
    return {name: found.get(name) for name in SEGMENTS}


def clv_distribution(session: Session, workspace_id: str) -> list[tuple[float, float | None, int]]:
    """Customers per band of 12-month value: (from, up to or None for the last band, count);
    empty when no CLV is computed."""
    values = session.scalars(
        select(CustomerScore.clv_12m).where(
            CustomerScore.workspace_id == workspace_id, CustomerScore.clv_12m.is_not(None)
        )
    ).all()
    if not values:
        return []
    edges = (*CLV_BANDS, float("inf"))
    counts = np.histogram(np.asarray(values, dtype=float).clip(min=0), bins=edges)[0]
    return [
        (edges[i], None if i == len(CLV_BANDS) - 1 else edges[i + 1], int(n))
        for i, n in enumerate(counts)
    ]


def segment_counts(session: Session, workspace_id: str) -> dict[str, int]:
    """Customers per RFM segment, every segment listed (0 when empty), best first."""
    rows = session.execute(
        select(CustomerScore.rfm_segment, func.count())
        .where(CustomerScore.workspace_id == workspace_id)
        .group_by(CustomerScore.rfm_segment)
    ).all()
    found = {str(name): int(n) for name, n in rows}
    return {name: found.get(name, 0) for name in SEGMENTS}


def rfm_overview(session: Session, workspace_id: str) -> RfmOverview:
    """Segments and the 5 × 5 recency × frequency grid: customers and revenue per cell."""
    rows = session.execute(
        select(
            CustomerScore.r,
            CustomerScore.f,
            func.count(),
            func.coalesce(func.sum(CustomerScore.monetary_cents), 0),
            func.max(CustomerScore.computed_at),
        )
        .where(CustomerScore.workspace_id == workspace_id)
        .group_by(CustomerScore.r, CustomerScore.f)
    ).all()
    cells: dict[tuple[int, int], tuple[int, int]] = {}
    computed: Any = None
    for r, f, n, cents, at in rows:
        cells[(int(r), int(f))] = (int(n), int(cents))
        computed = at if computed is None or (at is not None and at > computed) else computed
    segments = {name: [0, 0] for name in SEGMENTS}
    grid = []
    for r in range(5, 0, -1):
        for f in range(1, 6):
            n, cents = cells.get((r, f), (0, 0))
            name = SEGMENT_GRID[r][f]
            segments[name][0] += n
            segments[name][1] += cents
            grid.append(
                GridCell(r=r, f=f, segment=name, customers=n, revenue=round(cents / 100, 2))
            )
    workspace = workspaces.get_workspace(session, workspace_id)
    if isinstance(computed, str):  # SQLite's max() comes back as text
        computed = dt.datetime.fromisoformat(computed).replace(tzinfo=dt.UTC)
    return RfmOverview(
        computed_at=computed,
        customers=sum(n for n, _ in cells.values()),
        currency=(workspace.currency if workspace else None) or "EUR",
        segments={
            name: SegmentFigures(customers=n, revenue=round(c / 100, 2))
            for name, (n, c) in segments.items()
        },
        grid=grid,
    )


def model_reports(session: Session, workspace_id: str) -> ModelReports:
    """The propensity and CLV holdout reports of the last run (each None until one made it)."""
    found = {kind: report(session, workspace_id, kind) for kind in ("propensity", "clv")}
    times = [r.computed_at for r in found.values() if r is not None]
    return ModelReports(
        computed_at=max(times) if times else None,
        **{kind: (None if r is None else r.body) for kind, r in found.items()},
    )


def personas_overview(session: Session, workspace_id: str, locale: str) -> PersonasOverview:
    """The last run's personas, named and described in ``locale`` (``fr`` or ``en``); empty
    (``computed_at`` None) before any run made them."""
    found = report(session, workspace_id, "personas")
    workspace = workspaces.get_workspace(session, workspace_id)
    body: dict[str, Any] = found.body if found else {}
    return PersonasOverview(
        computed_at=found.computed_at if found else None,
        locale=locale,
        currency=(workspace.currency if workspace else None) or "EUR",
        customers=int(body.get("customers", 0)),
        k=int(body.get("k", 0)),
        reason=body.get("reason"),
        bic=body.get("bic", {}),
        sample=int(body.get("sample", 0)),
        features=body.get("features", []),
        population=body.get("population", {}),
        personas=[
            PersonaPublic(
                code=p["code"],
                name=p["words"][locale]["name"],
                description=p["words"][locale]["description"],
                customers=p["customers"],
                share=p["share"],
                revenue_share=p["revenue_share"],
                average_clv_12m=p["average_clv_12m"],
                means=p["means"],
                distinct=[PersonaFeature(**d) for d in p["distinct"]],
            )
            for p in body.get("personas", [])
        ],
    )


def persona_names(session: Session, workspace_id: str, locale: str) -> dict[str, str]:
    """The last run's personas, code to name in ``locale`` (``fr`` or ``en``), largest first;
    empty before any run made them."""
    found = report(session, workspace_id, "personas")
    personas = found.body.get("personas", []) if found else []
    return {p["code"]: p["words"][locale]["name"] for p in personas}
