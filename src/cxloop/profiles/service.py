"""Identity resolution and the customer 360.

Rules, in order:
1. Identifiers (user id, email, phone, anonymous id) resolve to at most one customer each.
2. An anonymous id alone makes no customer: its events wait, unlinked, until an identify, a
   login or a checkout names the person; then they join the customer.
3. When the identifiers of one message point at several customers, they are merged into the one
   holding the user id (else the oldest), and the merge is recorded with the identity that
   linked them. Two customers that each have their own user id are never merged: the user id
   wins and the other identifier stays where it was.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, and_, bindparam, delete, func, or_, select, tuple_, update
from sqlalchemy.orm import Session

from cxloop.errors import InvalidInput
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
from cxloop.store.base import utcnow
from cxloop.store.registry import load_models

# Kinds in the order that decides which customer survives a merge.
KINDS = ("user_id", "email", "phone", "anonymous_id")
_PHONE_JUNK = re.compile(r"[\s().\-]")
RESERVED = {
    "email": "email",
    "firstName": "first_name",
    "first_name": "first_name",
    "lastName": "last_name",
    "last_name": "last_name",
    "phone": "phone",
}


@dataclass(frozen=True)
class Keys:
    """The identifiers a message carries."""

    user_id: str | None = None
    anonymous_id: str | None = None
    email: str | None = None
    phone: str | None = None

    def pairs(self) -> list[tuple[str, str]]:
        """(kind, normalised value) for each identifier present, strongest first."""
        out: list[tuple[str, str]] = []
        for kind in KINDS:
            value = normalise(kind, getattr(self, kind))
            if value:
                out.append((kind, value))
        return out


def normalise(kind: str, value: object) -> str | None:
    """The canonical form of an identifier (emails lower-cased, phones without separators)."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    if kind == "email":
        return text.lower() if "@" in text else None
    if kind == "phone":
        return _PHONE_JUNK.sub("", text) or None
    return text[:200]


def _customer_tables() -> list[Table]:
    # Every table that points at a customer, whatever domain owns it: a merge moves them all.
    return [
        table
        for table in load_models().metadata.sorted_tables
        if "customer_id" in table.c and table.name not in ("identities", "customers")
    ]


def apply_traits(customer: Customer, traits: Mapping[str, Any]) -> None:
    """Keep every trait; copy Segment's reserved ones (email, names, phone, address) to columns."""
    if not traits:
        return
    merged = dict(customer.traits or {})
    merged.update(traits)
    customer.traits = merged
    for trait, column in RESERVED.items():
        value = traits.get(trait)
        if isinstance(value, str) and value.strip():
            if column == "email":
                value = normalise("email", value)
            elif column == "phone":
                value = normalise("phone", value)
            if value:
                setattr(customer, column, value)
    name = traits.get("name")
    if isinstance(name, str) and name.strip() and not customer.first_name:
        first, _, last = name.strip().partition(" ")
        customer.first_name, customer.last_name = first, last or customer.last_name
    address = traits.get("address")
    if isinstance(address, Mapping):
        city, country = address.get("city"), address.get("country")
        if isinstance(city, str) and city.strip():
            customer.city = city.strip()[:100]
        if isinstance(country, str) and len(country.strip()) == 2:
            customer.country = country.strip().upper()
    for trait, column in (("locale", "locale"), ("timezone", "timezone")):
        value = traits.get(trait)
        if isinstance(value, str) and value.strip():
            setattr(customer, column, value.strip()[: 8 if column == "locale" else 64])


def resolve(
    session: Session,
    workspace_id: str,
    keys: Keys,
    *,
    source: str,
    at: dt.datetime | None = None,
    traits: Mapping[str, Any] | None = None,
    create: bool = True,
) -> Customer | None:
    """The customer these identifiers name, linking new ones and merging duplicates.

    Returns None for an anonymous id alone (or when ``create`` is false and nobody matches).
    """
    at = at or utcnow()
    pairs = keys.pairs()
    if traits:
        for kind in ("email", "phone"):
            value = normalise(kind, traits.get(kind))
            if value and all(k != kind for k, _ in pairs):
                pairs.append((kind, value))
    if not pairs:
        return None
    found = session.execute(
        select(Identity.kind, Identity.value, Identity.customer_id).where(
            Identity.workspace_id == workspace_id,
            tuple_(Identity.kind, Identity.value).in_(pairs),
        )
    ).all()
    owner_of = {(kind, value): cid for kind, value, cid in found}
    candidates = sorted(set(owner_of.values()))
    if not candidates:
        if not create or all(kind == "anonymous_id" for kind, _ in pairs):
            return None
        customer = Customer(workspace_id=workspace_id, first_seen_at=at, last_seen_at=at)
        session.add(customer)
        session.flush()
    else:
        customer = _survivor(session, workspace_id, pairs, owner_of, candidates, source)
    new_anonymous: list[str] = []
    for kind, value in pairs:
        if (kind, value) in owner_of and owner_of[(kind, value)] != customer.id:
            continue  # kept by a customer with another user id (rule 3)
        if (kind, value) not in owner_of:
            if kind == "user_id" and customer.user_id not in (None, value):
                continue  # one user id per customer
            session.add(
                Identity(
                    workspace_id=workspace_id,
                    customer_id=customer.id,
                    kind=kind,
                    value=value,
                    source=source[:64],
                    created_at=at,
                )
            )
            if kind == "anonymous_id":
                new_anonymous.append(value)
        if kind == "user_id" and customer.user_id is None:
            customer.user_id = value
        elif kind in ("email", "phone") and getattr(customer, kind) is None:
            setattr(customer, kind, value)
    if traits:
        apply_traits(customer, traits)
    if customer.first_seen_at is None or at < customer.first_seen_at:
        customer.first_seen_at = at
    if customer.last_seen_at is None or at > customer.last_seen_at:
        customer.last_seen_at = at
    session.flush()
    if new_anonymous:
        _claim_anonymous_events(session, workspace_id, customer.id, new_anonymous)
    return customer


def _claim_anonymous_events(
    session: Session, workspace_id: str, customer_id: int, anonymous_ids: list[str]
) -> None:
    events = load_models().metadata.tables["events"]
    session.execute(
        update(events)
        .where(
            events.c.workspace_id == workspace_id,
            events.c.anonymous_id.in_(anonymous_ids),
            events.c.customer_id.is_(None),
        )
        .values(customer_id=customer_id)
    )


def _survivor(
    session: Session,
    workspace_id: str,
    pairs: list[tuple[str, str]],
    owner_of: dict[tuple[str, str], int],
    candidates: list[int],
    source: str,
) -> Customer:
    customers = {
        c.id: c for c in session.scalars(select(Customer).where(Customer.id.in_(candidates)))
    }
    user_pair = next(((k, v) for k, v in pairs if k == "user_id"), None)
    if user_pair and user_pair in owner_of:
        survivor = customers[owner_of[user_pair]]
    else:
        # The strongest identifier present decides; ties go to the oldest customer.
        ranked = sorted(
            ((KINDS.index(k), owner_of[(k, v)]) for k, v in pairs if (k, v) in owner_of)
        )
        survivor = customers[ranked[0][1]]
    for kind, value in pairs:
        other_id = owner_of.get((kind, value))
        if other_id is None or other_id == survivor.id or other_id not in customers:
            continue
        other = customers[other_id]
        if other.user_id and survivor.user_id and other.user_id != survivor.user_id:
            continue
        merge(session, workspace_id, other, survivor, kind=kind, value=value, source=source)
        del customers[other_id]
        for key, cid in list(owner_of.items()):
            if cid == other_id:
                owner_of[key] = survivor.id
    return survivor


def merge(
    session: Session,
    workspace_id: str,
    loser: Customer,
    survivor: Customer,
    *,
    kind: str,
    value: str,
    source: str,
) -> CustomerMerge:
    """Fold ``loser`` into ``survivor``: identities, events, orders and every other reference."""
    moved: dict[str, int] = {}
    result: Any = session.execute(
        update(Identity).where(Identity.customer_id == loser.id).values(customer_id=survivor.id)
    )
    moved["identities"] = int(result.rowcount or 0)
    for table in _customer_tables():
        result = session.execute(
            update(table).where(table.c.customer_id == loser.id).values(customer_id=survivor.id)
        )
        if result.rowcount:
            moved[table.name] = int(result.rowcount)
    for column in (
        "user_id",
        "email",
        "phone",
        "first_name",
        "last_name",
        "locale",
        "country",
        "city",
        "timezone",
    ):
        if getattr(survivor, column) is None and getattr(loser, column) is not None:
            setattr(survivor, column, getattr(loser, column))
    survivor.traits = {**(loser.traits or {}), **(survivor.traits or {})}
    survivor.consent = {**(loser.consent or {}), **(survivor.consent or {})}
    survivor.first_seen_at = min(
        (t for t in (survivor.first_seen_at, loser.first_seen_at) if t), default=None
    )
    survivor.last_seen_at = max(
        (t for t in (survivor.last_seen_at, loser.last_seen_at) if t), default=None
    )
    record = CustomerMerge(
        workspace_id=workspace_id,
        from_customer_id=loser.id,
        into_customer_id=survivor.id,
        identity_kind=kind,
        identity_value=value,
        source=source[:200],
        moved=moved,
    )
    session.add(record)
    # Callers holding identity lookups from before this merge use the count to refresh them.
    session.info["cx_merges"] = int(session.info.get("cx_merges", 0)) + 1
    loser_user_id = loser.user_id
    session.execute(delete(Customer).where(Customer.id == loser.id))
    session.expunge(loser)
    if survivor.user_id is None and loser_user_id:
        survivor.user_id = loser_user_id
    session.flush()
    return record


def alias(
    session: Session,
    workspace_id: str,
    *,
    previous_id: str,
    user_id: str,
    source: str,
    at: dt.datetime | None = None,
) -> Customer:
    """Segment's alias: ``previous_id`` (an earlier user id or anonymous id) is ``user_id``."""
    target = resolve(session, workspace_id, Keys(user_id=user_id), source=source, at=at)
    assert target is not None  # a user id always makes a customer
    previous = session.scalar(
        select(Identity).where(
            Identity.workspace_id == workspace_id,
            Identity.kind.in_(("user_id", "anonymous_id")),
            Identity.value == previous_id,
        )
    )
    if previous is None:
        session.add(
            Identity(
                workspace_id=workspace_id,
                customer_id=target.id,
                kind="anonymous_id",
                value=previous_id,
                source=source[:64],
                created_at=at or utcnow(),
            )
        )
        session.flush()
        _claim_anonymous_events(session, workspace_id, target.id, [previous_id])
    elif previous.customer_id != target.id:
        # An explicit alias merges even two user ids: the caller says they are one person.
        loser = session.get(Customer, previous.customer_id)
        if loser is not None:
            user_of_target = target.user_id
            merge(
                session,
                workspace_id,
                loser,
                target,
                kind=previous.kind,
                value=previous_id,
                source=source,
            )
            target.user_id = user_of_target
    return target


def lookup_identities(
    session: Session, workspace_id: str, pairs: set[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """The customer id behind each known (kind, value) pair; unknown pairs are absent."""
    known: dict[tuple[str, str], int] = {}
    ordered = sorted(pairs)
    for start in range(0, len(ordered), 400):
        chunk = ordered[start : start + 400]
        rows = session.execute(
            select(Identity.kind, Identity.value, Identity.customer_id).where(
                Identity.workspace_id == workspace_id,
                tuple_(Identity.kind, Identity.value).in_(chunk),
            )
        ).all()
        known.update({(kind, value): cid for kind, value, cid in rows})
    return known


def touch_customers(session: Session, seen: Mapping[int, dt.datetime]) -> None:
    """Move each customer's ``last_seen_at`` forward to the given time (never back)."""
    customers = load_models().metadata.tables["customers"]
    session.execute(
        update(customers)
        .where(
            customers.c.id == bindparam("cid"),
            or_(customers.c.last_seen_at.is_(None), customers.c.last_seen_at < bindparam("ts")),
        )
        .values(last_seen_at=bindparam("ts")),
        [{"cid": cid, "ts": ts} for cid, ts in seen.items()],
    )


def find_by_user_id(session: Session, workspace_id: str, user_id: str) -> Customer | None:
    """The customer known by this user id (directly or through a merged identity)."""
    customer = session.scalar(
        select(Customer).where(Customer.workspace_id == workspace_id, Customer.user_id == user_id)
    )
    if customer is not None:
        return customer
    return session.scalar(
        select(Customer)
        .join(Identity, Identity.customer_id == Customer.id)
        .where(
            Identity.workspace_id == workspace_id,
            Identity.kind == "user_id",
            Identity.value == user_id,
        )
    )


def _order_figures(session: Session, customer_ids: list[int]) -> dict[int, tuple[int, int]]:
    orders = load_models().metadata.tables["orders"]
    rows = session.execute(
        select(
            orders.c.customer_id,
            func.count(),
            func.coalesce(func.sum(orders.c.total_cents - orders.c.refunded_cents), 0),
        )
        .where(orders.c.customer_id.in_(customer_ids), orders.c.status != "cancelled")
        .group_by(orders.c.customer_id)
    ).all()
    return {cid: (int(n), int(cents)) for cid, n, cents in rows}


def customer_360(
    session: Session, workspace_id: str, customer: Customer, *, recent: int = 20
) -> Customer360:
    """Everything known about ``customer``: identities, consent, activity, orders, merges."""
    events = load_models().metadata.tables["events"]
    workspaces = load_models().metadata.tables["workspaces"]
    identities = session.scalars(
        select(Identity).where(Identity.customer_id == customer.id).order_by(Identity.id)
    ).all()
    event_count = (
        session.scalar(
            select(func.count()).select_from(events).where(events.c.customer_id == customer.id)
        )
        or 0
    )
    latest = session.execute(
        select(
            events.c.message_id,
            events.c.type,
            events.c.event,
            events.c.timestamp,
            events.c.properties,
        )
        .where(events.c.customer_id == customer.id)
        .order_by(events.c.timestamp.desc(), events.c.id.desc())
        .limit(recent)
    ).all()
    merges = session.scalars(
        select(CustomerMerge)
        .where(CustomerMerge.into_customer_id == customer.id)
        .order_by(CustomerMerge.id)
    ).all()
    orders_count, cents = _order_figures(session, [customer.id]).get(customer.id, (0, 0))
    currency = (
        session.scalar(select(workspaces.c.currency).where(workspaces.c.id == workspace_id))
        or "EUR"
    )
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
        event_count=int(event_count),
        orders_count=orders_count,
        revenue=round(cents / 100, 2),
        currency=currency,
        first_seen_at=customer.first_seen_at,
        last_seen_at=customer.last_seen_at,
        recent_events=[
            EventSummary(
                messageId=m,
                type=t,
                event=e,
                timestamp=ts,
                properties=p or {},
            )
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
        scores=Scores(),
        nps=_nps_of(session, customer.id),
    )


def _nps_of(session: Session, customer_id: int) -> NpsSummary:
    responses = load_models().metadata.tables["responses"]
    confirmed = (responses.c.customer_id == customer_id) & (responses.c.status == "confirmed")
    count = session.scalar(select(func.count()).select_from(responses).where(confirmed)) or 0
    last = session.execute(
        select(responses.c.score, responses.c.category, responses.c.themes, responses.c.sentiment)
        .where(confirmed)
        .order_by(responses.c.created_at.desc(), responses.c.id.desc())
        .limit(1)
    ).first()
    return NpsSummary(
        responses=int(count),
        last_score=last[0] if last else None,
        category=last[1] if last else None,
        themes=list(last[2] or []) if last else [],
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
    figures = _order_figures(session, [c.id for c in customers])
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
    events = load_models().metadata.tables["events"]
    orders = load_models().metadata.tables["orders"]
    shipments = load_models().metadata.tables["shipments"]
    entries: list[TimelineEntry] = []
    for message_id, kind, name, at, properties in session.execute(
        select(
            events.c.message_id,
            events.c.type,
            events.c.event,
            events.c.timestamp,
            events.c.properties,
        )
        .where(events.c.workspace_id == workspace_id, events.c.customer_id == customer_id)
        .order_by(events.c.timestamp.desc())
        .limit(limit)
    ):
        entries.append(
            TimelineEntry(
                at=at,
                kind="event",
                title=name or kind,
                detail={"type": kind, "messageId": message_id, "properties": properties or {}},
            )
        )
    for external_id, status, total, currency, placed_at in session.execute(
        select(
            orders.c.external_id,
            orders.c.status,
            orders.c.total_cents,
            orders.c.currency,
            orders.c.placed_at,
        )
        .where(orders.c.workspace_id == workspace_id, orders.c.customer_id == customer_id)
        .order_by(orders.c.placed_at.desc())
        .limit(limit)
    ):
        entries.append(
            TimelineEntry(
                at=placed_at,
                kind="order",
                title=external_id,
                detail={"status": status, "total": total / 100, "currency": currency},
            )
        )
    for external_id, carrier, status, promised, delivered, shipped in session.execute(
        select(
            shipments.c.external_id,
            shipments.c.carrier,
            shipments.c.status,
            shipments.c.promised_at,
            shipments.c.delivered_at,
            shipments.c.shipped_at,
        )
        .join(orders, orders.c.id == shipments.c.order_id)
        .where(shipments.c.workspace_id == workspace_id, orders.c.customer_id == customer_id)
        .limit(limit)
    ):
        at = delivered or shipped or promised
        if at is None:
            continue
        late = bool(delivered and promised and delivered > promised)
        entries.append(
            TimelineEntry(
                at=at,
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


def get_customer(session: Session, workspace_id: str, customer_id: int) -> Customer | None:
    """The customer with this id in this workspace (None if it belongs to another)."""
    customer = session.get(Customer, customer_id)
    if customer is None or customer.workspace_id != workspace_id:
        return None
    return customer


# Consent -----------------------------------------------------------------------------------
#
# The rule, per channel: email may be sent unless the customer said no (or the address bounced
# hard, or they complained: both record a denial); every other channel (SMS, push) needs an
# explicit "granted". Feedback email is transactional follow-up of an order, which is why it
# does not wait for an opt-in, but one "no" stops it at once.
CONSENT_STATUSES = ("granted", "denied")
OPT_OUT_CHANNELS = frozenset({"email"})
_CHANNEL = re.compile(r"^[a-z][a-z_]{0,15}$")


def set_consent(
    session: Session,
    workspace_id: str,
    customer_id: int,
    channel: str,
    status: str,
    *,
    source: str,
    detail: str = "",
) -> None:
    """Record a customer's consent for a channel, with its source and time (idempotent)."""
    if not _CHANNEL.match(channel):
        raise InvalidInput("channel", "must be a channel name such as email or sms")
    if status not in CONSENT_STATUSES:
        raise InvalidInput("status", f"must be one of {', '.join(CONSENT_STATUSES)}")
    if not source.strip():
        raise InvalidInput("source", "must say where the consent comes from")
    customer = get_customer(session, workspace_id, customer_id)
    if customer is None:
        raise InvalidInput("customer_id", f"no customer {customer_id} in this workspace")
    consent = dict(customer.consent or {})
    if (consent.get(channel) or {}).get("status") == status:
        return  # already so: the first record keeps its source and time
    at = utcnow()
    consent[channel] = {"status": status, "source": source[:100], "at": at.isoformat()}
    customer.consent = consent
    session.execute(
        load_models()
        .metadata.tables["consent_changes"]
        .insert()
        .values(
            workspace_id=workspace_id,
            customer_id=customer.id,
            channel=channel,
            status=status,
            source=source[:100],
            detail=detail,
            at=at,
        )
    )
    session.flush()


def may_contact(customer: Customer, channel: str) -> bool:
    """Whether consent allows ``channel`` for this customer (email: unless denied; else granted)."""
    status = ((customer.consent or {}).get(channel) or {}).get("status")
    if channel in OPT_OUT_CHANNELS:
        return status != "denied"
    return status == "granted"


def find_current(session: Session, workspace_id: str, customer_id: int) -> Customer | None:
    """The customer with this id, or the one it was merged into since (None if unknown)."""
    seen: set[int] = set()
    while customer_id not in seen:
        seen.add(customer_id)
        customer = get_customer(session, workspace_id, customer_id)
        if customer is not None:
            return customer
        into = session.scalar(
            select(CustomerMerge.into_customer_id).where(
                CustomerMerge.workspace_id == workspace_id,
                CustomerMerge.from_customer_id == customer_id,
            )
        )
        if into is None:
            return None
        customer_id = into
    return None
