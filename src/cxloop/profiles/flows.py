"""The customer across domains: the 360, the timeline and the customer list with figures.

Profiles sit below the domains that point at a customer (events, orders, answers), so what
gathers them is here, above, and asks each one through its facade.
"""

from __future__ import annotations

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from cxloop import analytics, commerce, ingest, surveys, workspaces
from cxloop.profiles.models import Customer, CustomerMerge, Identity
from cxloop.profiles.schemas import (
    Customer360,
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
    return Scores(
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
    session: Session, workspace_id: str, query: str = "", *, limit: int = 50, offset: int = 0
) -> list[CustomerRow]:
    """Customers matching ``query`` (email, name, user id, phone), most recently seen first."""
    where = [Customer.workspace_id == workspace_id]
    text = query.strip().lower()
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
    customers = session.scalars(
        select(Customer)
        .where(and_(*where))
        .order_by(Customer.last_seen_at.desc().nulls_last(), Customer.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    figures = commerce.order_figures(session, [c.id for c in customers])
    return [
        CustomerRow(
            id=c.id,
            user_id=c.user_id,
            email=c.email,
            name=" ".join(p for p in (c.first_name, c.last_name) if p),
            orders_count=figures.get(c.id, (0, 0))[0],
            revenue=round(figures.get(c.id, (0, 0))[1] / 100, 2),
            last_seen_at=c.last_seen_at,
        )
        for c in customers
    ]


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
