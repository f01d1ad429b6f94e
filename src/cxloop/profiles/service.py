"""Identity resolution, consent, and the customers themselves.

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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from sqlalchemy import Table, bindparam, delete, func, or_, select, tuple_, update
from sqlalchemy.orm import Session
from sqlalchemy.sql import Subquery

from cxloop.errors import InvalidInput
from cxloop.profiles.models import ConsentChange, Customer, CustomerMerge, Identity
from cxloop.store.arrow import arrow_table
from cxloop.store.base import utcnow
from cxloop.store.registry import referencing_tables

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
    # The one place a domain writes rows it does not own, through the store's list of tables:
    # re-pointing a foreign key is not reading a domain's data, and a table added later is
    # covered without anyone remembering to register it.
    return referencing_tables("customer_id", exclude=("identities", "customers"))


def _drop_clashes(session: Session, table: Table, loser: int, survivor: int) -> None:
    """In a table keyed by customer and something else (a score per workspace, a membership per
    segment: rows derived from the customer, made again by the next run), the loser's rows
    whose key the survivor already holds would clash once re-pointed: the survivor's stay."""
    key = list(table.primary_key.columns)
    others = [column for column in key if column.name != "customer_id"]
    if len(others) == len(key) or not others:
        return
    held = select(*others).where(table.c.customer_id == survivor)
    session.execute(delete(table).where(table.c.customer_id == loser, tuple_(*others).in_(held)))


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


# Told (session, workspace_id, customer_id, anonymous ids) when anonymous ids join a customer,
# so that the events waiting under them are linked: the event log is ingest's, which hands
# this in (``cxloop.ingest``'s ``claim_anonymous_events``).
ClaimEvents = Callable[[Session, str, int, list[str]], None]


def resolve(
    session: Session,
    workspace_id: str,
    keys: Keys,
    *,
    source: str,
    at: dt.datetime | None = None,
    traits: Mapping[str, Any] | None = None,
    create: bool = True,
    claim: ClaimEvents | None = None,
    anonymous: bool = False,
) -> Customer | None:
    """The customer these identifiers name, linking new ones and merging duplicates.

    Returns None for an anonymous id alone (or when ``create`` is false and nobody matches),
    unless ``anonymous``: then an anonymous id alone makes a customer (a visitor who subscribed
    to web push, whom journeys may now reach).
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
        if not create or (not anonymous and all(kind == "anonymous_id" for kind, _ in pairs)):
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
    if new_anonymous and claim is not None:
        claim(session, workspace_id, customer.id, new_anonymous)
    return customer


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
        _drop_clashes(session, table, loser.id, survivor.id)
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
    claim: ClaimEvents | None = None,
) -> Customer:
    """Segment's alias: ``previous_id`` (an earlier user id or anonymous id) is ``user_id``."""
    target = resolve(
        session, workspace_id, Keys(user_id=user_id), source=source, at=at, claim=claim
    )
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
        if claim is not None:
            claim(session, workspace_id, target.id, [previous_id])
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


def identities_of(workspace_id: str, kind: str) -> Subquery:
    """The workspace's identifiers of one kind (``value``) with their customer
    (``customer_id``), as a subquery another domain joins its own identifiers to."""
    return (
        select(Identity.value.label("value"), Identity.customer_id.label("customer_id"))
        .where(Identity.workspace_id == workspace_id, Identity.kind == kind)
        .subquery(f"identities_{kind}")
    )


def touch_customers(session: Session, seen: Mapping[int, dt.datetime]) -> None:
    """Move each customer's ``last_seen_at`` forward to the given time (never back)."""
    customers = Customer.metadata.tables["customers"]  # the Table, for a Core update
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
    session.add(
        ConsentChange(
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


def customers_by_id(session: Session, customer_ids: Sequence[int]) -> dict[int, Customer]:
    """The customers with these ids, loaded in chunks (a few hundred per query)."""
    found: dict[int, Customer] = {}
    ids = sorted(set(customer_ids))
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        found.update(
            (c.id, c) for c in session.scalars(select(Customer).where(Customer.id.in_(chunk)))
        )
    return found


def customer_id_of(session: Session, workspace_id: str, user_id: str) -> int | None:
    """The id of the customer whose own user id is ``user_id`` (merged identities aside)."""
    return session.scalar(
        select(Customer.id).where(
            Customer.workspace_id == workspace_id, Customer.user_id == user_id
        )
    )


def find_by_email(session: Session, workspace_id: str, email: str) -> Customer | None:
    """The first customer with this email address as their own (not a merged identity)."""
    return session.scalar(
        select(Customer)
        .where(Customer.workspace_id == workspace_id, Customer.email == email)
        .order_by(Customer.id)
        .limit(1)
    )


def user_id_of(session: Session, customer_id: int) -> str | None:
    """A customer's own user id, if they have one."""
    return session.scalar(select(Customer.user_id).where(Customer.id == customer_id))


def count_customers(session: Session, workspace_id: str) -> int:
    """How many customers the workspace knows."""
    count = session.scalar(
        select(func.count()).select_from(Customer).where(Customer.workspace_id == workspace_id)
    )
    return int(count or 0)


def newest_customer_id(session: Session, workspace_id: str) -> int:
    """The highest customer id of the workspace (0 if none): what was created after it is new."""
    return int(
        session.scalar(select(func.max(Customer.id)).where(Customer.workspace_id == workspace_id))
        or 0
    )


def merges_after(session: Session, workspace_id: str, after_id: int) -> list[tuple[int, int, int]]:
    """Merges recorded after ``after_id``, oldest first: (merge id, from customer, into customer).
    Copies of a customer's facts elsewhere (the warehouse) re-point theirs the same way."""
    rows = session.execute(
        select(CustomerMerge.id, CustomerMerge.from_customer_id, CustomerMerge.into_customer_id)
        .where(CustomerMerge.workspace_id == workspace_id, CustomerMerge.id > after_id)
        .order_by(CustomerMerge.id)
    )
    return [(int(i), int(f), int(t)) for i, f, t in rows]


def customer_attributes(
    session: Session, workspace_id: str, customer_ids: Sequence[int] | None = None
) -> pa.Table:
    """Every customer of the workspace (or those of ``customer_ids``) with what segments test:
    id, locale, country and whether an email address is known, as Arrow."""
    query = select(Customer.id).where(Customer.workspace_id == workspace_id)
    if customer_ids is not None:
        query = query.where(Customer.id.in_(list(customer_ids)))
    return arrow_table(
        session,
        query,
        [
            ("customer_id", Customer.id, pa.int64()),
            ("locale", Customer.locale, pa.string()),
            ("country", Customer.country, pa.string()),
            ("has_email", Customer.email.is_not(None), pa.bool_()),
        ],
    )


def customer_ids(session: Session, workspace_id: str) -> pa.Array:
    """The ids of the workspace's customers, as an Arrow array (to check ids in bulk)."""
    table = arrow_table(
        session,
        select(Customer.id).where(Customer.workspace_id == workspace_id),
        [("id", Customer.id, pa.int64())],
    )
    return table.column("id").combine_chunks()


def denials_in_windows(
    session: Session,
    workspace_id: str,
    customer_ids: Sequence[int],
    channel: str,
    start: dt.datetime,
    end: dt.datetime,
) -> list[tuple[int, dt.datetime]]:
    """Consent denied for ``channel`` (an unsubscribe, a complaint, a bounce) by these
    customers in [start, end): (customer id, at). A comparison's input."""
    found: list[tuple[int, dt.datetime]] = []
    ids = sorted({int(c) for c in customer_ids})
    for begin in range(0, len(ids), 5000):
        for cid, at in session.execute(
            select(ConsentChange.customer_id, ConsentChange.at).where(
                ConsentChange.workspace_id == workspace_id,
                ConsentChange.customer_id.in_(ids[begin : begin + 5000]),
                ConsentChange.channel == channel,
                ConsentChange.status == "denied",
                ConsentChange.at >= start,
                ConsentChange.at < end,
            )
        ):
            found.append((int(cid), at if at.tzinfo else at.replace(tzinfo=dt.UTC)))
    return found
