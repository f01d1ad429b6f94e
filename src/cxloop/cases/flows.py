"""Cases hearing what happens elsewhere (connected by ``cxloop.wiring``)."""

from __future__ import annotations

from cxloop import surveys
from cxloop.cases import service
from cxloop.store.runtime import get_database


def answer_settled(response_id: int) -> None:
    """A settled NPS answer shows on the customer's open cases."""
    with get_database().session() as session:
        response = surveys.answer_by_id(session, response_id)
        if response is None or response.status != "confirmed" or response.customer_id is None:
            return
        service.hear_answer(
            session,
            response.workspace_id,
            response.customer_id,
            response.score,
            response.comment or "",
        )
