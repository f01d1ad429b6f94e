"""The customer across domains: the 360, the timeline and the customer list with figures.

Profiles sit below the domains that point at a customer (events, orders, answers), so what
gathers them is here, above, and asks each one through its facade.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import RowMapping, and_, func, or_, select
from sqlalchemy.orm import Session

from cxloop import analytics, commerce, ingest, surveys, workspaces
from cxloop.profiles.models import Customer, CustomerMerge, Identity
from cxloop.profiles.schemas import (
    Customer360,
    CustomerFilter,
    CustomerRow,
    EventSummary,
    IdentityPublic,
    MergePublic,
    NpsSummary,
    Scores,
    TimelineEntry,
)


def customer_360(
    session: Session, workspace_id: str, customer: Customer, *, recent: int = 20
) -> Customer360:
    """Everything known about ``customer``: identities, consent, activity, orders, merges."""
    identities = session.scalars(
        select(Identity).where(Identity.customer_id == customer.id).order_by(Identity.id)
    ).all()
    latest = ingest.latest_events(session, customer.id, limit=recent) if recent else []
    merges = session.scalars(
        select(CustomerMerge)
        .where(CustomerMerge.into_customer_id == customer.id)
        .order_by(CustomerMerge.id)
    ).all()
    figures = commerce.order_figures(session, [customer.id])
    orders_count, cents = figures.get(customer.id, (0, 0))
    workspace = workspaces.get_workspace(session, workspace_id)
    return Customer360(
        id=customer.id,
        user_id=customer.user_id,
        email=customer.email,
        traits=customer.traits or {},
        identities=[
            IdentityPublic(kind=i.kind, value=i.value, source=i.source, created_at=i.created_at)
            for i in identities
        ],
        consent=customer.consent or {},
        event_count=ingest.event_count(session, customer.id),
        orders_count=orders_count,
        revenue=round(cents / 100, 2),
        currency=(workspace.currency if workspace else None) or "EUR",
        first_seen_at=customer.first_seen_at,
        last_seen_at=customer.last_seen_at,
        recent_events=[
            EventSummary(messageId=m, type=t, event=e, timestamp=ts, properties=p or {})
            for m, t, e, ts, p in latest
        ],
        merges=[
            MergePublic(
                from_customer_id=m.from_customer_id,
                identity_kind=m.identity_kind,
                identity_value=m.identity_value,
                source=m.source,
                at=m.at,
            )
            for m in merges
        ],
        scores=_scores_of(session, workspace_id, customer.id),
        nps=_nps_of(session, customer.id),
    )


def _scores_of(session: Session, workspace_id: str, customer_id: int) -> Scores:
    found = analytics.scores_of(session, workspace_id, customer_id)
    if found is None:
        return Scores()
    span = commerce.order_spans(session, [customer_id]).get(customer_id)
    return Scores(
        usual_gap_days=analytics.usual_gap_days(*span, found.frequency) if span else None,
        rfm_segment=found.rfm_segment,
        clv=found.clv_12m,
        churn_risk=None if found.p_alive is None else round(1 - found.p_alive, 4),
        r=found.r,
        f=found.f,
        m=found.m,
        recency_days=found.recency_days,
        frequency=found.frequency,
        monetary=found.monetary,
        p_alive=found.p_alive,
        expected_orders_90d=found.expected_orders_90d,
        next_order_days=found.next_order_days,
        churn_band=found.churn_band,
        propensity=found.propensity,
        persona=found.persona,
        computed_at=found.computed_at,
    )


def _nps_of(session: Session, customer_id: int) -> NpsSummary:
    count, last = surveys.customer_answers(session, customer_id)
    return NpsSummary(
        responses=count,
        last_score=last[0] if last else None,
        category=last[1] if last else None,
        themes=last[2] if last else [],
        sentiment=last[3] if last else None,
    )


def search_customers(
    session: Session,
    workspace_id: str,
    query: str = "",
    *,
    limit: int | None = 50,
    offset: int = 0,
    filters: CustomerFilter | None = None,
) -> list[CustomerRow]:
    """Customers matching ``query`` (email, name, user id, phone) and ``filters``, with their
    latest NPS answer and scores, most recently seen first unless sorted otherwise; every match
    when ``limit`` is None (an export). One statement joined to the owners' subqueries; a page
    that neither filters nor sorts on answers or orders asks for its rows' ones afterwards."""
    wanted = filters or CustomerFilter(q=query)
    scores = analytics.score_table(workspace_id)
    answers = surveys.last_answers(workspace_id)
    totals = commerce.order_totals(workspace_id)
    joined_totals = limit is None or wanted.sort in ("orders", "revenue")
    joined_answers = limit is None or wanted.nps is not None
    where = [Customer.workspace_id == workspace_id]
    text = (query or wanted.q).strip().lower()
    if text:
        like = f"%{text.replace('%', '').replace('_', '')}%"
        where.append(
            or_(
                func.lower(Customer.email).like(like),
                func.lower(Customer.first_name).like(like),
                func.lower(Customer.last_name).like(like),
                func.lower(Customer.user_id).like(like),
                Customer.phone.like(like),
            )
        )
    for column, value in (
        (scores.c.rfm_segment, wanted.segment),
        (scores.c.churn_band, wanted.churn_band),
        (scores.c.r, wanted.r),
        (scores.c.f, wanted.f),
        (answers.c.category, wanted.nps),
        (scores.c.persona, wanted.persona),
    ):
        if value is not None:
            where.append(column == value)
    order = {
        "orders": [totals.c.orders.desc().nulls_last()],
        "revenue": [totals.c.revenue_cents.desc().nulls_last()],
        "clv": [scores.c.clv_12m.desc().nulls_last()],
        "churn": [scores.c.churn_rank.asc().nulls_last(), scores.c.p_alive.asc().nulls_last()],
    }.get(wanted.sort, [Customer.last_seen_at.desc().nulls_last()])
    # Plain columns, not entities: an export of 100,000 rows would spend its time building them.
    columns: list[Any] = [Customer.id, Customer.user_id, Customer.email, Customer.first_name]
    columns += [Customer.last_name, Customer.last_seen_at]
    columns += [scores.c.rfm_segment, scores.c.r, scores.c.f]
    columns += [scores.c.clv_12m, scores.c.p_alive, scores.c.churn_band]
    statement = select(*columns).select_from(Customer)
    statement = statement.outerjoin(scores, scores.c.customer_id == Customer.id)
    if joined_answers:
        statement = statement.add_columns(answers.c.score, answers.c.category)
        statement = statement.outerjoin(answers, answers.c.customer_id == Customer.id)
    if joined_totals:
        statement = statement.add_columns(totals.c.orders, totals.c.revenue_cents)
        statement = statement.outerjoin(totals, totals.c.customer_id == Customer.id)
    statement = statement.where(and_(*where)).order_by(*order, Customer.id.desc()).offset(offset)
    rows = session.execute(statement if limit is None else statement.limit(limit)).all()
    ids = [row.id for row in rows]
    if joined_totals:
        figures = {row.id: (row.orders or 0, row.revenue_cents or 0) for row in rows}
    else:
        figures = commerce.order_figures(session, ids)
    if joined_answers:
        nps = {row.id: (row.score, row.category) for row in rows}
    else:
        page = surveys.last_answers(workspace_id, ids)
        chosen = select(page.c.customer_id, page.c.score, page.c.category)
        nps = {cid: (score, category) for cid, score, category in session.execute(chosen)}
    return [
        _row(row._mapping, figures.get(row.id, (0, 0)), nps.get(row.id, (None, None)))
        for row in rows
    ]


def _row(
    found: RowMapping, figures: tuple[int, int], nps: tuple[int | None, str | None]
) -> CustomerRow:
    return CustomerRow(
        id=found["id"],
        user_id=found["user_id"],
        email=found["email"],
        name=" ".join(p for p in (found["first_name"], found["last_name"]) if p),
        orders_count=figures[0],
        revenue=round(figures[1] / 100, 2),
        last_seen_at=found["last_seen_at"],
        nps_score=nps[0],
        nps_category=nps[1],
        rfm_segment=found["rfm_segment"],
        r=found["r"],
        f=found["f"],
        clv=found["clv_12m"],
        p_alive=found["p_alive"],
        churn_band=found["churn_band"],
    )


def timeline(
    session: Session, workspace_id: str, customer_id: int, *, limit: int = 200
) -> list[TimelineEntry]:
    """A customer's events, orders and parcels in one list, newest first."""
    entries: list[TimelineEntry] = []
    events = ingest.latest_events(session, customer_id, limit=limit, workspace_id=workspace_id)
    for message_id, kind, name, at, properties in events:
        entries.append(
            TimelineEntry(
                at=at,
                kind="event",
                title=name or kind,
                detail={"type": kind, "messageId": message_id, "properties": properties or {}},
            )
        )
    for external_id, status, total, currency, placed_at in commerce.orders_of(
        session, workspace_id, customer_id, limit=limit
    ):
        entries.append(
            TimelineEntry(
                at=placed_at,
                kind="order",
                title=external_id,
                detail={"status": status, "total": total / 100, "currency": currency},
            )
        )
    for external_id, carrier, status, promised, delivered, shipped in commerce.shipments_of(
        session, workspace_id, customer_id, limit=limit
    ):
        moment = delivered or shipped or promised
        if moment is None:
            continue
        late = bool(delivered and promised and delivered > promised)
        entries.append(
            TimelineEntry(
                at=moment,
                kind="shipment",
                title=external_id,
                detail={
                    "carrier": carrier,
                    "status": status,
                    "late": late,
                    "promised_at": promised.isoformat() if promised else None,
                    "delivered_at": delivered.isoformat() if delivered else None,
                },
            )
        )
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries[:limit]
