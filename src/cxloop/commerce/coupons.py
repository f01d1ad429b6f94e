"""Coupons: unique single-use codes for one customer, and their redemption by an order.

A code is eight characters from an alphabet without look-alikes (no 0/O, 1/I/L, 5/S, 2/Z,
8/B), in two groups: ``K7MX-QR4D``. 23 letters and 5 digits give 28^8 ≈ 3.8·10^11 codes;
a code already taken in the workspace is drawn again. A coupon created by a journey step
carries that step's idempotency key (unique): a step retried after a crash finds its coupon.
An incoming order whose coupon code is one of ours redeems it (``redeem``).
"""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cxloop import i18n
from cxloop.commerce.models import Coupon, Order, StoreConnection
from cxloop.errors import InvalidInput
from cxloop.store.base import utcnow

ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
KINDS = ("percent", "fixed", "free_shipping")
_TRIES = 20


def new_code() -> str:
    """A random code such as ``K7MX-QR4D``."""
    chars = "".join(secrets.choice(ALPHABET) for _ in range(8))
    return f"{chars[:4]}-{chars[4:]}"


def normal_code(code: str) -> str:
    """A code as typed by a customer, in its stored form (upper case, one dash)."""
    bare = "".join(c for c in code.upper() if c.isalnum())
    return f"{bare[:4]}-{bare[4:]}" if len(bare) == 8 else code.strip().upper()


def by_key(session: Session, key: str) -> Coupon | None:
    """The coupon a step of that idempotency key created."""
    return session.scalar(select(Coupon).where(Coupon.key == key))


def issue_coupon(
    session: Session,
    workspace_id: str,
    *,
    kind: str,
    value: float,
    customer_id: int | None,
    expires_at: dt.datetime,
    source: str,
    currency: str = "EUR",
    key: str | None = None,
) -> Coupon:
    """A new coupon in the caller's transaction (``value``: a percentage, or an amount in the
    currency's units); with ``key``, the coupon that key made before if there is one."""
    if key is not None:
        found = by_key(session, key)
        if found is not None:
            return found
    if kind not in KINDS:
        raise InvalidInput("kind", i18n.gettext("one of %(names)s") % {"names": ", ".join(KINDS)})
    if kind == "percent" and not 0 < value <= 100:
        raise InvalidInput("value", i18n.gettext("a percentage above 0, at most 100"))
    if kind == "fixed" and not 0 < value <= 100_000:
        raise InvalidInput("value", i18n.gettext("an amount above 0"))
    stored = 0 if kind == "free_shipping" else round(value * (100 if kind == "fixed" else 1))
    for _ in range(_TRIES):
        code = new_code()
        taken = session.scalar(
            select(Coupon.id).where(Coupon.workspace_id == workspace_id, Coupon.code == code)
        )
        if taken is None:
            break
    else:  # pragma: no cover - 20 collisions in 3.8e11 codes
        raise RuntimeError("no free coupon code")
    # Written to the store too when one is connected (``stores.write_coupons``, after commit).
    connected = session.get(StoreConnection, workspace_id) is not None
    coupon = Coupon(
        workspace_id=workspace_id,
        store_status="pending" if connected else "none",
        code=code,
        kind=kind,
        value=stored,
        currency=currency,
        customer_id=customer_id,
        expires_at=expires_at,
        source=source[:100],
        key=key,
        created_at=utcnow(),
    )
    session.add(coupon)
    session.flush()
    return coupon


def redeem(session: Session, order: Order) -> Coupon | None:
    """Mark the order's coupon (if one of ours, unexpired and unused) redeemed by it."""
    if not order.coupon_code:
        return None
    coupon = session.scalar(
        select(Coupon).where(
            Coupon.workspace_id == order.workspace_id,
            Coupon.code == normal_code(order.coupon_code),
        )
    )
    if coupon is None or coupon.redeemed_order_id is not None:
        return None
    if coupon.expires_at < order.placed_at:
        return None
    coupon.redeemed_order_id, coupon.redeemed_at = order.id, order.placed_at
    return coupon


def coupons_of(session: Session, workspace_id: str, customer_id: int) -> list[Coupon]:
    """A customer's coupons, newest first."""
    return list(
        session.scalars(
            select(Coupon)
            .where(Coupon.workspace_id == workspace_id, Coupon.customer_id == customer_id)
            .order_by(Coupon.id.desc())
        )
    )


def coupon_counts(
    session: Session, workspace_id: str, sources: list[str]
) -> dict[str, tuple[int, int]]:
    """Per source (``journey:<key>``): coupons created and redeemed."""
    rows = session.execute(
        select(Coupon.source, func.count(), func.count(Coupon.redeemed_order_id))
        .where(Coupon.workspace_id == workspace_id, Coupon.source.in_(sources))
        .group_by(Coupon.source)
    ).all()
    return {source: (int(made), int(used)) for source, made, used in rows}


def coupons_issued_since(
    session: Session, workspace_id: str, source: str, since: dt.datetime
) -> int:
    """How many coupons ``source`` made since ``since`` (a daily budget counts them)."""
    count = session.scalar(
        select(func.count())
        .select_from(Coupon)
        .where(
            Coupon.workspace_id == workspace_id,
            Coupon.source == source,
            Coupon.created_at >= since,
        )
    )
    return int(count or 0)
