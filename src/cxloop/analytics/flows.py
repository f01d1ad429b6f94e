"""The scores beside the customers they belong to: names from profiles, order history from
commerce, for the console's lists of the most valuable customers and of the churn risks."""

from __future__ import annotations

from sqlalchemy.orm import Session

from cxloop import commerce, profiles
from cxloop.analytics import service
from cxloop.analytics.schemas import ScoredCustomer


def scored_customers(
    session: Session, workspace_id: str, *, by: str, limit: int | None
) -> list[ScoredCustomer]:
    """The highest 12-month values (``by="clv"``) or the churn risks, high band first
    (``by="churn"``), each with the customer's name and usual days between two orders."""
    ranked = service.ranked_scores(session, workspace_id, by=by, limit=limit)
    ids = [customer_id for customer_id, _ in ranked]
    found = profiles.customers_by_id(session, ids)
    spans = commerce.order_spans(session, ids)
    rows = []
    for customer_id, scores in ranked:
        customer = found.get(customer_id)
        name = ""
        if customer is not None:
            parts = (customer.first_name, customer.last_name)
            name = " ".join(p for p in parts if p) or customer.email or customer.user_id or ""
        span = spans.get(customer_id)
        gap = service.usual_gap_days(*span, scores.frequency) if span else None
        rows.append(
            ScoredCustomer(customer_id=customer_id, name=name, scores=scores, usual_gap_days=gap)
        )
    return rows
