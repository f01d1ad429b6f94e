"""Segments: create, change and remove them (each audited), keep their members current, and
tell who entered and who left.

A dynamic segment's members are the customers its condition is true for in a table of customer
facts, one row per customer and a column per field (``segments.column``; the analytics run
builds it after each run and calls ``refresh``). Each refresh writes the difference: members
entering and leaving, with a history row each, so that journeys can start on an entry and the
customer page can show the history.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pyarrow as pa
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cxloop import csv_files, i18n, profiles, workspaces
from cxloop.errors import InvalidInput
from cxloop.segments import sql
from cxloop.segments.expression import matches, parse
from cxloop.segments.models import Segment, SegmentChange, SegmentMember
from cxloop.segments.schemas import (
    Changes,
    Preview,
    SegmentChangePublic,
    SegmentCreate,
    SegmentPublic,
    SegmentUpdate,
)
from cxloop.store.base import utcnow

SAMPLE = 20
CHUNK = 10_000


def public(segment: Segment) -> SegmentPublic:
    """A segment as the API shows it."""
    return SegmentPublic(
        key=segment.key,
        name=segment.name,
        kind=segment.kind,
        condition=segment.condition,
        members=segment.members,
        refreshed_at=segment.refreshed_at,
        created_at=segment.created_at,
        updated_at=segment.updated_at,
    )


def _checked(kind: str, condition: str | None) -> str | None:
    if kind == "static":
        if condition is not None:
            raise InvalidInput(
                "condition", i18n.gettext("a static segment has no condition: its list is set")
            )
        return None
    if condition is None or not condition.strip():
        raise InvalidInput("condition", i18n.gettext("a dynamic segment needs a condition"))
    parse(condition, field="condition")
    return condition.strip()


def get_segment(session: Session, workspace_id: str, key: str) -> Segment | None:
    """The workspace's segment of that key."""
    return session.scalar(
        select(Segment).where(Segment.workspace_id == workspace_id, Segment.key == key)
    )


def found_segment(session: Session, workspace_id: str, key: str) -> Segment:
    segment = get_segment(session, workspace_id, key)
    if segment is None:
        raise InvalidInput(
            "key", i18n.gettext("no segment of that key"), status=404, code="not_found"
        )
    return segment


def list_segments(session: Session, workspace_id: str) -> list[Segment]:
    """The workspace's segments, by name."""
    return list(
        session.scalars(
            select(Segment).where(Segment.workspace_id == workspace_id).order_by(Segment.name)
        )
    )


def create_segment(
    session: Session, workspace_id: str, body: SegmentCreate, *, actor: str
) -> Segment:
    """A new segment (its members come with the next refresh, or the list of a static one);
    audited. Refused: a key already taken, a condition that cannot be read."""
    condition = _checked(body.kind, body.condition)
    if get_segment(session, workspace_id, body.key) is not None:
        raise InvalidInput(
            "key", i18n.gettext("a segment of that key exists already"), status=409, code="conflict"
        )
    now = utcnow()
    segment = Segment(
        workspace_id=workspace_id,
        key=body.key,
        name=body.name.strip(),
        kind=body.kind,
        condition=condition,
        members=0,
        created_at=now,
        updated_at=now,
    )
    session.add(segment)
    session.flush()
    workspaces.audit(
        session,
        actor=actor,
        action="segments.created",
        workspace_id=workspace_id,
        subject=body.key,
        data={"kind": body.kind, "condition": condition},
    )
    return segment


def update_segment(
    session: Session, workspace_id: str, key: str, body: SegmentUpdate, *, actor: str
) -> Segment:
    """Rename a segment or change its condition (its members follow at the next refresh);
    audited."""
    segment = found_segment(session, workspace_id, key)
    changed: dict[str, Any] = {}
    if body.name is not None and body.name.strip() != segment.name:
        segment.name = changed["name"] = body.name.strip()
    if body.condition is not None:
        condition = _checked(segment.kind, body.condition)
        if condition != segment.condition:
            segment.condition = changed["condition"] = condition
    if changed:
        segment.updated_at = utcnow()
        workspaces.audit(
            session,
            actor=actor,
            action="segments.updated",
            workspace_id=workspace_id,
            subject=key,
            data=changed,
        )
    return segment


def delete_segment(session: Session, workspace_id: str, key: str, *, actor: str) -> None:
    """Remove a segment, its members and its history; audited."""
    segment = found_segment(session, workspace_id, key)
    session.delete(segment)
    workspaces.audit(
        session, actor=actor, action="segments.deleted", workspace_id=workspace_id, subject=key
    )


def dynamic_keys(session: Session, workspace_id: str) -> list[str]:
    """The keys of the workspace's dynamic segments (those a refresh recomputes)."""
    rows = session.scalars(
        select(Segment.key)
        .where(Segment.workspace_id == workspace_id, Segment.kind == "dynamic")
        .order_by(Segment.key)
    )
    return list(rows)


def parse_condition(condition: str) -> None:
    """Refuse a condition that cannot be read (an ``ExpressionError`` naming ``condition``)."""
    parse(condition, field="condition")


def member_page(session: Session, segment: Segment, *, limit: int, offset: int) -> list[int]:
    """A page of a segment's members, by customer id."""
    rows = session.scalars(
        select(SegmentMember.customer_id)
        .where(SegmentMember.segment_id == segment.id)
        .order_by(SegmentMember.customer_id)
        .limit(limit)
        .offset(offset)
    )
    return list(rows)


def member_ids(session: Session, segment: Segment) -> set[int]:
    """The ids of a segment's members now."""
    rows = session.scalars(
        select(SegmentMember.customer_id).where(SegmentMember.segment_id == segment.id)
    )
    return set(rows)


def _apply(
    session: Session,
    segment: Segment,
    wanted: set[int],
    at: dt.datetime,
    scope: set[int] | None = None,
) -> Changes:
    """Make the segment's members ``wanted``: all of them, or (``scope``) only as far as these
    customers go, the others left as they are."""
    if scope is None:
        current = member_ids(session, segment)
    else:
        current = set()
        ordered = sorted(scope)
        for start in range(0, len(ordered), CHUNK):
            current |= set(
                session.scalars(
                    select(SegmentMember.customer_id).where(
                        SegmentMember.segment_id == segment.id,
                        SegmentMember.customer_id.in_(ordered[start : start + CHUNK]),
                    )
                )
            )
    entered, left = sorted(wanted - current), sorted(current - wanted)
    if scope is not None:
        # A few customers, perhaps reconsidered by two workers at once: only what this
        # transaction really changed is recorded (the other's delete or insert finds nothing).
        entered, left = _change_some(session, segment, entered, left, at)
        entered_rows: list[int] = []
    else:
        entered_rows = entered
    for start in range(0, len(left), CHUNK) if scope is None else ():
        part = left[start : start + CHUNK]
        session.execute(
            delete(SegmentMember).where(
                SegmentMember.segment_id == segment.id, SegmentMember.customer_id.in_(part)
            )
        )
    if entered_rows:
        session.execute(
            insert(SegmentMember),
            [
                {
                    "segment_id": segment.id,
                    "customer_id": c,
                    "workspace_id": segment.workspace_id,
                    "entered_at": at,
                }
                for c in entered_rows
            ],
        )
    history = [("entered", c) for c in entered] + [("left", c) for c in left]
    if history:
        session.execute(
            insert(SegmentChange),
            [
                {
                    "workspace_id": segment.workspace_id,
                    "segment_id": segment.id,
                    "customer_id": c,
                    "change": change,
                    "at": at,
                }
                for change, c in history
            ],
        )
    if scope is None:
        segment.members, segment.refreshed_at = len(wanted), at
    elif entered or left:
        session.execute(
            update(Segment)
            .where(Segment.id == segment.id)
            .values(members=Segment.members + len(entered) - len(left))
            .execution_options(synchronize_session=False)
        )
    if entered:
        for hook in _entry_hooks:
            hook(session, segment.workspace_id, segment.key, entered, at)
    return Changes(entered=entered, left=left)


def _change_some(
    session: Session, segment: Segment, entered: list[int], left: list[int], at: dt.datetime
) -> tuple[list[int], list[int]]:
    """Delete and insert these members, returning only those this statement changed."""
    gone: list[int] = []
    if left:
        gone = sorted(
            session.scalars(
                delete(SegmentMember)
                .where(SegmentMember.segment_id == segment.id, SegmentMember.customer_id.in_(left))
                .returning(SegmentMember.customer_id)
            )
        )
    came: list[int] = []
    if entered:
        dialect = session.get_bind().dialect.name
        statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(SegmentMember)
        came = sorted(
            session.scalars(
                statement.on_conflict_do_nothing(
                    index_elements=["segment_id", "customer_id"]
                ).returning(SegmentMember.customer_id),
                [
                    {
                        "segment_id": segment.id,
                        "customer_id": c,
                        "workspace_id": segment.workspace_id,
                        "entered_at": at,
                    }
                    for c in entered
                ],
            )
        )
    return came, gone


# Told (session, workspace_id, segment key, customer ids, at) in the transaction that records
# customers entering a segment (journeys start on it); connected by ``cxloop.wiring``.
EntryHook = Callable[[Session, str, str, list[int], dt.datetime], object]
_entry_hooks: list[EntryHook] = []


def on_entry(hook: EntryHook) -> EntryHook:
    """Register ``hook(session, workspace_id, key, customer_ids, at)`` once, at start-up."""
    if hook not in _entry_hooks:
        _entry_hooks.append(hook)
    return hook


def members_of(session: Session, workspace_id: str, key: str) -> list[int]:
    """The ids of the members of the workspace's segment ``key`` (none if there is no such
    segment)."""
    segment = get_segment(session, workspace_id, key)
    return sorted(member_ids(session, segment)) if segment is not None else []


def ensure_segment(
    session: Session, workspace_id: str, key: str, name: str, condition: str, *, actor: str
) -> Segment:
    """The dynamic segment ``key`` with this condition, created or changed as needed (a
    journey's score trigger keeps its own)."""
    segment = get_segment(session, workspace_id, key)
    if segment is None:
        return create_segment(
            session,
            workspace_id,
            SegmentCreate(key=key, name=name, kind="dynamic", condition=condition),
            actor=actor,
        )
    if segment.kind != "dynamic":
        raise InvalidInput("key", i18n.gettext("a static segment of that key exists already"))
    if segment.condition != condition.strip():
        parse(condition, field="condition")
        segment.condition, segment.updated_at = condition.strip(), utcnow()
        workspaces.audit(
            session,
            actor=actor,
            action="segments.updated",
            workspace_id=workspace_id,
            subject=key,
            data={"condition": segment.condition},
        )
    return segment


def refresh(
    session: Session,
    workspace_id: str,
    facts: pa.Table,
    *,
    at: dt.datetime,
    actor: str,
    known: Iterable[int] | None = None,
) -> dict[str, Changes]:
    """Every dynamic segment's members from ``facts`` (a table of customer facts, one row per
    customer); returns who entered and who left, by segment key; audited once. Customers not in
    ``known`` (merged or removed since the facts were made) are left out."""
    segments = [s for s in list_segments(session, workspace_id) if s.kind == "dynamic"]
    if not segments:
        return {}
    allowed = set(known) if known is not None else None
    nodes = [parse(segment.condition or "", field="condition") for segment in segments]
    changes: dict[str, Changes] = {}
    for segment, found in zip(segments, sql.member_lists(facts, nodes), strict=True):
        wanted = {int(c) for c in found if allowed is None or c in allowed}
        changes[segment.key] = _apply(session, segment, wanted, at)
    workspaces.audit(
        session,
        actor=actor,
        action="segments.refreshed",
        workspace_id=workspace_id,
        data={key: {"entered": len(c.entered), "left": len(c.left)} for key, c in changes.items()},
    )
    return changes


def reconsider(
    session: Session,
    workspace_id: str,
    facts: Mapping[int, Mapping[str, Any]],
    *,
    at: dt.datetime,
) -> dict[str, Changes]:
    """Keep dynamic segments current for a few customers whose facts just changed (an order, a
    parcel, an answer): each condition evaluated in-process on their facts (field name to
    value), entries and exits written as a refresh writes them. What changed, by segment."""
    if not facts:
        return {}
    scope = set(facts)
    changes: dict[str, Changes] = {}
    for segment in list_segments(session, workspace_id):
        if segment.kind != "dynamic":
            continue
        node = parse(segment.condition or "", field="condition")
        wanted = {cid for cid, known in facts.items() if matches(node, known)}
        found = _apply(session, segment, wanted, at, scope)
        if found.entered or found.left:
            changes[segment.key] = found
    return changes


def set_members(
    session: Session, workspace_id: str, key: str, customer_ids: Iterable[int], *, actor: str
) -> Changes:
    """A static segment's list, replaced whole; audited."""
    segment = found_segment(session, workspace_id, key)
    if segment.kind != "static":
        raise InvalidInput("key", i18n.gettext("a dynamic segment's members follow its condition"))
    wanted = set(customer_ids)
    known = set(profiles.customer_ids(session, workspace_id).to_pylist())
    strangers = sorted(wanted - known)
    if strangers:
        raise InvalidInput(
            "customer_ids",
            i18n.gettext("no customer of this workspace has the id %(id)s") % {"id": strangers[0]},
        )
    changes = _apply(session, segment, wanted, utcnow())
    workspaces.audit(
        session,
        actor=actor,
        action="segments.members_set",
        workspace_id=workspace_id,
        subject=key,
        data={"entered": len(changes.entered), "left": len(changes.left)},
    )
    return changes


def preview(condition: str, facts: pa.Table, *, sample: int = SAMPLE) -> Preview:
    """What ``condition`` would hold in ``facts``: a count and the first customer ids."""
    node = parse(condition, field="condition")
    (ids,) = sql.member_lists(facts, [node])
    return Preview(members=len(ids), customers=facts.num_rows, sample=ids[:sample])


def history(session: Session, workspace_id: str, customer_id: int) -> list[SegmentChangePublic]:
    """A customer's entries and exits, the latest first."""
    rows = session.execute(
        select(Segment.key, Segment.name, SegmentChange.change, SegmentChange.at)
        .join(Segment, Segment.id == SegmentChange.segment_id)
        .where(SegmentChange.workspace_id == workspace_id, SegmentChange.customer_id == customer_id)
        .order_by(SegmentChange.at.desc(), SegmentChange.id.desc())
    )
    return [SegmentChangePublic(segment=k, name=n, change=c, at=a) for k, n, c, a in rows]


def segments_of(session: Session, workspace_id: str, customer_id: int) -> list[str]:
    """The keys of the segments a customer is in now."""
    rows = session.scalars(
        select(Segment.key)
        .join(SegmentMember, SegmentMember.segment_id == Segment.id)
        .where(SegmentMember.workspace_id == workspace_id, SegmentMember.customer_id == customer_id)
        .order_by(Segment.key)
    )
    return list(rows)


def counts(session: Session, workspace_id: str) -> dict[str, int]:
    """Members per segment key."""
    rows = session.execute(
        select(Segment.key, func.count(SegmentMember.customer_id))
        .outerjoin(SegmentMember, SegmentMember.segment_id == Segment.id)
        .where(Segment.workspace_id == workspace_id)
        .group_by(Segment.key)
    )
    return {k: int(n) for k, n in rows}


def customers_of_csv(session: Session, workspace_id: str, lines: Iterable[str]) -> list[int]:
    """The customers a CSV list names, by its ``user_id`` or ``email`` column (the first found),
    in order; a row naming nobody of the workspace is refused with its line."""
    header, rows = csv_files.records(lines, "file")
    names = [h.strip().lower() for h in header]
    column = next((c for c in ("user_id", "email") if c in names), None)
    if column is None:
        raise InvalidInput("file", i18n.gettext("the file needs a user_id or an email column"))
    index = names.index(column)
    found: list[int] = []
    for line, row in rows:
        value = csv_files.cell(row, index).strip()
        if not value:
            continue
        if column == "user_id":
            customer_id = profiles.customer_id_of(session, workspace_id, value)
        else:
            person = profiles.find_by_email(session, workspace_id, value.lower())
            customer_id = person.id if person is not None else None
        if customer_id is None:
            raise InvalidInput(
                "file",
                i18n.gettext("line %(n)s: no customer %(value)s in this workspace")
                % {"n": line, "value": value[:100]},
            )
        found.append(customer_id)
    return found
