"""The customer facts segments test: one row per customer of the workspace, a column per field
of the condition language (``segments.FIELDS``, named by ``segments.column``).

Each part comes from its owner: order and parcel figures from the warehouse (computed there,
with the run's ``as_of``), the scores from the run itself, the customer's locale, country and
email from ``profiles``, the last NPS answer from ``surveys``. A customer with no order has
NULL figures, not zeros: "no order" and "an order of 0" stay apart, as the language's missing
values expect.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import ibis
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy.orm import Session

from cxloop import commerce, i18n, profiles, segments, surveys
from cxloop.analytics import rfm, service
from cxloop.analytics.warehouse import Warehouse
from cxloop.errors import InvalidInput

DAY_MICROS = 86_400_000_000
_KINDS = {"number": pa.float64(), "text": pa.string(), "bool": pa.bool_()}


def _days_since(column: Any, as_of: dt.datetime) -> pa.Array:
    """Whole days from each time to ``as_of`` (NULL stays NULL)."""
    micros = pc.cast(pc.cast(column, pa.timestamp("us", "UTC")), pa.int64())
    now = int(as_of.timestamp() * 1_000_000)
    return pc.cast(pc.floor(pc.divide(pc.subtract(now, micros), float(DAY_MICROS))), pa.float64())


def warehouse_facts(warehouse: Any, workspace_id: str, as_of: dt.datetime) -> pa.Table:
    """Per customer with an order: orders not cancelled and their revenue less refunds, days
    since the last and the first, parcels, late ones (delivered after their promise, or not
    delivered and past it), and whether the last shipped was late."""
    live = rfm.live_orders(warehouse.table("orders"), workspace_id, as_of)
    net = ibis.greatest(live.total_cents - live.refunded_cents.fill_null(0), 0)
    per_order = live.group_by("customer_id").aggregate(
        orders_count=live.count(),
        revenue_cents=net.sum(),
        last_at=live.placed_at.max(),
        first_at=live.placed_at.min(),
    )
    parcels = warehouse.table("shipments")
    parcels = parcels.filter(parcels.workspace_id == workspace_id)
    owned = parcels.join(live.select("id", "customer_id"), parcels.order_id == live.id)
    moment = ibis.timestamp(as_of)
    late = owned.promised_at.notnull() & (owned.delivered_at.fill_null(moment) > owned.promised_at)
    flagged = owned.mutate(late=ibis.ifelse(late, 1, 0), rank_key=owned.id)
    per_parcel = flagged.group_by("customer_id").aggregate(
        shipments_count=flagged.count(),
        shipments_late=flagged.late.sum(),
        last_late=flagged.late.argmax(flagged.rank_key),
    )
    joined = per_order.left_join(per_parcel, "customer_id").select(
        per_order.customer_id,
        per_order.orders_count,
        per_order.revenue_cents,
        per_order.last_at,
        per_order.first_at,
        per_parcel.shipments_count,
        per_parcel.shipments_late,
        per_parcel.last_late,
    )
    found = joined.to_pyarrow()
    shipped = pc.fill_null(found.column("shipments_count"), 0)
    late_count = pc.fill_null(found.column("shipments_late"), 0)
    return pa.table(
        {
            "customer_id": found.column("customer_id"),
            "orders.count": pc.cast(found.column("orders_count"), pa.float64()),
            "orders.revenue": pc.divide(
                pc.cast(found.column("revenue_cents"), pa.float64()), 100.0
            ),
            "orders.last_days": _days_since(found.column("last_at"), as_of),
            "orders.first_days": _days_since(found.column("first_at"), as_of),
            "shipments.count": pc.cast(shipped, pa.float64()),
            "shipments.late": pc.cast(late_count, pa.float64()),
            "shipments.last_late": pc.equal(found.column("last_late"), 1),
        }
    )


def _aligned(keys: np.ndarray, part: pa.Table) -> pa.Table:
    """``part``'s rows for each of ``keys`` (by customer_id), NULL where it has none. (Arrow's
    join takes no list columns: the NPS themes.)"""
    ids = np.asarray(part.column("customer_id").to_numpy(zero_copy_only=False), dtype=np.int64)
    if not ids.size:
        return _empty_like(part, keys.size)
    order = np.argsort(ids, kind="stable")
    at = np.minimum(np.searchsorted(ids[order], keys), ids.size - 1)
    found = ids[order][at] == keys
    rows = pa.array(order[at], pa.int64(), mask=~found)
    return part.drop_columns(["customer_id"]).take(rows)


def _empty_like(part: pa.Table, n: int) -> pa.Table:
    return pa.table({f.name: pa.nulls(n, f.type) for f in part.schema if f.name != "customer_id"})


def customer_facts(
    session: Session,
    workspace_id: str,
    as_of: dt.datetime,
    scores: pa.Table,
    from_warehouse: pa.Table,
) -> pa.Table:
    """The facts table: every customer of the workspace, with its scores (``scores``, the run's,
    keyed by customer_id), the ``warehouse_facts``, its attributes and its last NPS answer."""
    people = profiles.customer_attributes(session, workspace_id)
    answers = surveys.answer_facts(session, workspace_id)
    nps = pa.table(
        {
            "customer_id": answers.column("customer_id"),
            "nps.score": pc.cast(answers.column("score"), pa.float64()),
            "nps.category": answers.column("category"),
            "nps.days_ago": _days_since(answers.column("created_at"), as_of),
            "nps.themes": answers.column("themes"),
            "nps.praised": answers.column("praised"),
            "nps.blamed": answers.column("blamed"),
        }
    )
    scored = scores.select([n for n in scores.column_names if n != "monetary_cents"])
    if "monetary_cents" in scores.column_names:
        cents = pc.cast(scores.column("monetary_cents"), pa.float64())
        scored = scored.append_column("monetary", pc.divide(cents, 100.0))
    keys = np.sort(
        np.asarray(people.column("customer_id").to_numpy(zero_copy_only=False), dtype=np.int64)
    )
    found: dict[str, Any] = {}
    for part in (people, scored, from_warehouse, nps):
        aligned = _aligned(keys, part)
        found.update({name: aligned.column(name) for name in aligned.column_names})
    columns: dict[str, Any] = {"customer_id": pa.array(keys, pa.int64())}
    for name, spec in segments.FIELDS.items():
        if not spec.batch:
            continue
        kind = _KINDS.get(spec.kind, pa.list_(pa.string()))
        column = found.get(name)
        columns[segments.column(name)] = (
            pa.nulls(keys.size, kind) if column is None else pc.cast(column, kind)
        )
    return pa.table(columns)


def current_facts(session: Session, url: str, workspace_id: str, as_of: dt.datetime) -> pa.Table:
    """The facts now, for a preview: the warehouse's figures as the last sync left them, the
    scores the last run wrote. A warehouse held by a run (DuckDB lets one process write) is a
    409: a preview waits for the run."""
    try:
        warehouse = Warehouse(url)
    except Exception as exc:  # DuckDB's lock error has no stable type across versions
        raise InvalidInput(
            "warehouse",
            i18n.gettext("the analytics are running: try again in a moment"),
            status=409,
            code="busy",
        ) from exc
    try:
        found = warehouse_facts(warehouse, workspace_id, as_of)
    finally:
        warehouse.close()
    scores = service.scores_table(session, workspace_id)
    return customer_facts(session, workspace_id, as_of, scores, found)


def facts_of(
    session: Session, workspace_id: str, customer_ids: Sequence[int], as_of: dt.datetime
) -> dict[int, dict[str, Any]]:
    """A few customers' facts, by field name (``segments.evaluate`` reads them): the scores
    of the last run, order and parcel figures from the operational store as they are now
    (``commerce.live_figures``), the attributes and the last NPS answer. For real-time
    triggers; the batch path is ``customer_facts``."""
    ids = sorted({int(i) for i in customer_ids})
    found: dict[int, dict[str, Any]] = {}
    for row in profiles.customer_attributes(session, workspace_id, ids).to_pylist():
        found[row.pop("customer_id")] = row
    for row in service.scores_table(session, workspace_id, ids).to_pylist():
        facts = found.get(row.pop("customer_id"))
        if facts is None:
            continue
        cents = row.pop("monetary_cents", None)
        facts.update(row)
        facts["monetary"] = None if cents is None else cents / 100.0
    for cid, figures in commerce.live_figures(session, workspace_id, ids, as_of).items():
        if cid in found:
            found[cid].update(figures)
    for row in surveys.answer_facts(session, workspace_id, ids).to_pylist():
        facts = found.get(row["customer_id"])
        if facts is None:
            continue
        answered = row["created_at"]
        if answered is not None and answered.tzinfo is None:
            answered = answered.replace(tzinfo=dt.UTC)
        facts.update(
            {
                "nps.score": row["score"],
                "nps.category": row["category"],
                "nps.days_ago": None if answered is None else float((as_of - answered).days),
                "nps.themes": row["themes"],
                "nps.praised": row["praised"],
                "nps.blamed": row["blamed"],
            }
        )
    return found


__all__ = ["current_facts", "customer_facts", "facts_of", "warehouse_facts"]
