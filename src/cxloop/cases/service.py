"""Cases: open one for a customer's problem (by hand, from a journey step, an alert or the NPS
page), give it an owner and a due date, note what was done, close it.

Each change is one audited action. A case opened by a journey step carries the step's
idempotency key (unique): the step retried after a crash finds its case instead of opening a
second. The customer's next order and next NPS answer are noted on their open cases
(``note_customer``, wired at start-up).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cxloop import i18n, ingest, workspaces
from cxloop.cases.models import Case, CaseNote
from cxloop.errors import InvalidInput
from cxloop.store.base import utcnow

STATUSES = ("open", "waiting", "closed")
SOURCES = ("manual", "journey", "alert", "nps", "assistant")
MAX_NOTE = 5000


def by_key(session: Session, key: str) -> Case | None:
    """The case a step of that idempotency key opened."""
    return session.scalar(select(Case).where(Case.key == key))


def open_case(
    session: Session,
    workspace_id: str,
    *,
    title: str,
    customer_id: int | None,
    actor: str,
    owner: str = "",
    due_at: dt.datetime | None = None,
    source: str = "manual",
    source_ref: str = "",
    key: str | None = None,
    note: str = "",
) -> Case:
    """A new case (audited); with ``key``, the case that key opened before if there is one."""
    if key is not None:
        found = by_key(session, key)
        if found is not None:
            return found
    title = " ".join(title.split())
    if not title or len(title) > 300:
        raise InvalidInput("title", i18n.gettext("a title of 1 to 300 characters"))
    if source not in SOURCES:
        raise InvalidInput(
            "source", i18n.gettext("one of %(names)s") % {"names": ", ".join(SOURCES)}
        )
    if len(owner) > 320:
        raise InvalidInput("owner", i18n.gettext("at most %(n)s characters") % {"n": 320})
    now = utcnow()
    case = Case(
        workspace_id=workspace_id,
        customer_id=customer_id,
        title=title,
        status="open",
        owner=owner.strip(),
        due_at=due_at,
        source=source,
        source_ref=source_ref[:100],
        key=key,
        created_at=now,
        updated_at=now,
    )
    session.add(case)
    session.flush()
    if note.strip():
        session.add(
            CaseNote(
                case_id=case.id,
                workspace_id=workspace_id,
                author=actor,
                text=note.strip()[:MAX_NOTE],
                created_at=now,
            )
        )
    workspaces.audit(
        session,
        actor=actor,
        action="cases.opened",
        workspace_id=workspace_id,
        subject=str(case.id),
        data={"source": source, "customer_id": customer_id, "owner": case.owner},
    )
    return case


def get_case(session: Session, workspace_id: str, case_id: int) -> Case | None:
    """One case of this workspace."""
    case = session.get(Case, case_id)
    return case if case is not None and case.workspace_id == workspace_id else None


def found_case(session: Session, workspace_id: str, case_id: int) -> Case:
    case = get_case(session, workspace_id, case_id)
    if case is None:
        raise InvalidInput(
            "case_id", i18n.gettext("no case of that id"), status=404, code="not_found"
        )
    return case


def update_case(
    session: Session,
    workspace_id: str,
    case_id: int,
    *,
    actor: str,
    status: str | None = None,
    owner: str | None = None,
    due_at: dt.datetime | None = None,
) -> Case:
    """Change a case's status, owner or due date (those given); audited."""
    case = found_case(session, workspace_id, case_id)
    changed: dict[str, object] = {}
    if status is not None:
        if status not in STATUSES:
            raise InvalidInput(
                "status", i18n.gettext("one of %(names)s") % {"names": ", ".join(STATUSES)}
            )
        if status != case.status:
            case.status = status
            case.closed_at = utcnow() if status == "closed" else None
            changed["status"] = status
    if owner is not None and owner.strip() != case.owner:
        if len(owner) > 320:
            raise InvalidInput("owner", i18n.gettext("at most %(n)s characters") % {"n": 320})
        case.owner = owner.strip()
        changed["owner"] = case.owner
    if due_at is not None and due_at != case.due_at:
        case.due_at = due_at
        changed["due_at"] = due_at.isoformat()
    if changed:
        case.updated_at = utcnow()
        workspaces.audit(
            session,
            actor=actor,
            action="cases.updated",
            workspace_id=workspace_id,
            subject=str(case.id),
            data=changed,
        )
    return case


def add_note(
    session: Session, workspace_id: str, case_id: int, *, author: str, text: str
) -> CaseNote:
    """A note on the case, by ``author``."""
    case = found_case(session, workspace_id, case_id)
    body = text.strip()
    if not body or len(body) > MAX_NOTE:
        raise InvalidInput(
            "text", i18n.gettext("a note of 1 to %(n)s characters") % {"n": MAX_NOTE}
        )
    note = CaseNote(
        case_id=case.id,
        workspace_id=workspace_id,
        author=author[:320],
        text=body,
        created_at=utcnow(),
    )
    case.updated_at = note.created_at
    session.add(note)
    session.flush()
    return note


def notes_of(session: Session, case: Case) -> list[CaseNote]:
    """A case's notes, oldest first."""
    return list(
        session.scalars(select(CaseNote).where(CaseNote.case_id == case.id).order_by(CaseNote.id))
    )


def list_cases(
    session: Session,
    workspace_id: str,
    *,
    status: str = "",
    owner: str = "",
    customer_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Case]:
    """The inbox: open cases first by due date, or those of one status, owner or customer."""
    query = select(Case).where(Case.workspace_id == workspace_id)
    if status:
        query = query.where(Case.status == status)
    if owner:
        query = query.where(Case.owner == owner)
    if customer_id is not None:
        query = query.where(Case.customer_id == customer_id)
    query = query.order_by(
        Case.status == "closed", Case.due_at.is_(None), Case.due_at, Case.id.desc()
    )
    return list(session.scalars(query.limit(limit).offset(offset)))


def count_cases(session: Session, workspace_id: str, sources: list[str]) -> dict[str, int]:
    """Cases per ``source_ref`` among ``sources`` (e.g. ``journey:<key>``)."""
    rows = session.execute(
        select(Case.source_ref, func.count())
        .where(Case.workspace_id == workspace_id, Case.source_ref.in_(sources))
        .group_by(Case.source_ref)
    ).all()
    return {ref: int(n) for ref, n in rows}


def note_customer(session: Session, workspace_id: str, customer_id: int, text: str) -> int:
    """Note ``text`` (by cxloop) on every case of the customer not closed; how many."""
    cases = session.scalars(
        select(Case).where(
            Case.workspace_id == workspace_id,
            Case.customer_id == customer_id,
            Case.status != "closed",
        )
    ).all()
    now = utcnow()
    for case in cases:
        session.add(
            CaseNote(
                case_id=case.id,
                workspace_id=workspace_id,
                author="cxloop",
                text=text[:MAX_NOTE],
                created_at=now,
            )
        )
        case.updated_at = now
    return len(cases)


# What the customer does next shows on their open cases --------------------------------------


def _speaking_for(session: Session, workspace_id: str) -> str:
    workspace = workspaces.get_workspace(session, workspace_id)
    return i18n.supported(workspace.locale if workspace else None)


def hear_events(session: Session, rows: Sequence[Mapping[str, Any]]) -> int:
    """Note a recent order (``Order Completed``) on the customer's open cases, in the
    transaction that stores it; how many notes."""
    written = 0
    for row in rows:
        if row.get("event") != "Order Completed" or row.get("customer_id") is None:
            continue
        if not ingest.is_news(row):
            continue
        workspace_id = str(row["workspace_id"])
        properties = row.get("properties") or {}
        with i18n.speaking(_speaking_for(session, workspace_id)):
            text = i18n.gettext("New order %(order)s, %(total)s %(currency)s") % {
                "order": properties.get("order_id", ""),
                "total": properties.get("total", ""),
                "currency": properties.get("currency", ""),
            }
        written += note_customer(session, workspace_id, int(row["customer_id"]), text)
    return written


def hear_answer(
    session: Session, workspace_id: str, customer_id: int, score: int, comment: str
) -> int:
    """Note a new NPS answer on the customer's open cases; how many notes."""
    with i18n.speaking(_speaking_for(session, workspace_id)):
        text = i18n.gettext("New NPS answer: %(score)s/10") % {"score": score}
    if comment.strip():
        text = f"{text}: {comment.strip()}"
    return note_customer(session, workspace_id, customer_id, text)
