"""Writing to the merchant's store: coupons created in cxloop are created in Shopify or
WooCommerce too, through their documented discount APIs, so that the customer's code works at
checkout.

- **Shopify**: the GraphQL Admin API (version ``SHOPIFY_VERSION``), ``discountCodeBasicCreate``
  for a percentage or an amount off and ``discountCodeFreeShippingCreate`` for free shipping;
  one use, once per customer, for the customer (``context.customers``: the Shopify customer of
  that user id, when it came from Shopify) or any buyer. Header ``X-Shopify-Access-Token``.
- **WooCommerce**: the REST API v3, ``POST /wp-json/wc/v3/coupons`` with HTTP Basic auth (the
  consumer key and secret): ``percent`` or ``fixed_cart``, ``free_shipping``, one use, restricted
  to the customer's email.

A coupon to write is ``pending`` from the transaction that made it; ``write_coupons`` claims
it (``writing``), calls the store and records ``written`` (with the store's id) or ``failed``
(with the answer). A code the store already has (a retry after a crash that came after the
store's answer) counts as written: the code is the idempotency key. Failed ones are retried
(``pending_coupons``) up to ``ATTEMPTS`` times.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from cxloop import i18n, profiles, sealing, workspaces
from cxloop.commerce.models import Coupon, StoreConnection
from cxloop.errors import InvalidInput
from cxloop.store.base import utcnow
from cxloop.store.db import Database

PLATFORMS = ("shopify", "woocommerce")
SHOPIFY_VERSION = "2026-07"
PURPOSE = "store-credentials"
ATTEMPTS = 5
STALE = dt.timedelta(minutes=10)
TIMEOUT = 15.0
_URL = re.compile(r"^https?://[^\s/?#]+(:\d+)?(/[^\s?#]*)?$")

BASIC = """mutation discountCodeBasicCreate($basicCodeDiscount: DiscountCodeBasicInput!) {
  discountCodeBasicCreate(basicCodeDiscount: $basicCodeDiscount) {
    codeDiscountNode { id }
    userErrors { field code message }
  }
}"""
FREE_SHIPPING = """mutation discountCodeFreeShippingCreate(
  $freeShippingCodeDiscount: DiscountCodeFreeShippingInput!
) {
  discountCodeFreeShippingCreate(freeShippingCodeDiscount: $freeShippingCodeDiscount) {
    codeDiscountNode { id }
    userErrors { field code message }
  }
}"""


# The connection ------------------------------------------------------------------------------


def connect_store(
    session: Session,
    workspace_id: str,
    *,
    platform: str,
    base_url: str,
    credentials: dict[str, str],
    secret_key: str,
    actor: str,
) -> StoreConnection:
    """Set the workspace's store (replacing any): checked, credentials sealed; audited (never
    the credentials)."""
    if platform not in PLATFORMS:
        raise InvalidInput(
            "platform", i18n.gettext("one of %(names)s") % {"names": ", ".join(PLATFORMS)}
        )
    url = base_url.strip().rstrip("/")
    if not _URL.match(url) or len(url) > 300:
        raise InvalidInput("base_url", i18n.gettext("an http(s) URL"))
    needed = ("access_token",) if platform == "shopify" else ("consumer_key", "consumer_secret")
    for name in needed:
        value = credentials.get(name)
        if (
            not isinstance(value, str)
            or not 8 <= len(value) <= 500
            or any(c in value for c in "\r\n")
        ):
            raise InvalidInput(name, i18n.gettext("a key of 8 to 500 characters"))
    sealed = sealing.seal(secret_key, PURPOSE, json.dumps({k: credentials[k] for k in needed}))
    row = session.get(StoreConnection, workspace_id)
    if row is None:
        row = StoreConnection(workspace_id=workspace_id)
        session.add(row)
    row.platform, row.base_url, row.credentials, row.updated_at = platform, url, sealed, utcnow()
    session.flush()
    workspaces.audit(
        session,
        actor=actor,
        action="commerce.store_connected",
        workspace_id=workspace_id,
        subject=platform,
        data={"base_url": url},
    )
    return row


def store_connection(session: Session, workspace_id: str) -> StoreConnection | None:
    """The workspace's store connection, if any."""
    return session.get(StoreConnection, workspace_id)


def disconnect_store(session: Session, workspace_id: str, *, actor: str) -> bool:
    """Forget the workspace's store connection; audited. False if there was none."""
    row = session.get(StoreConnection, workspace_id)
    if row is None:
        return False
    session.delete(row)
    workspaces.audit(
        session, actor=actor, action="commerce.store_disconnected", workspace_id=workspace_id
    )
    return True


# Writing coupons -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Job:
    coupon_id: int
    workspace_id: str
    code: str
    kind: str
    value: int
    currency: str
    starts_at: dt.datetime
    expires_at: dt.datetime
    user_id: str | None
    email: str | None


class StoreError(Exception):
    """The store refused or did not answer."""


def _iso(moment: dt.datetime) -> str:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return aware.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def shopify_request(job: _Job) -> dict[str, Any]:
    """The GraphQL request that makes this coupon in Shopify."""
    context: dict[str, Any] = {"all": "ALL"}
    if job.user_id and job.user_id.isdigit():
        context = {"customers": {"add": [f"gid://shopify/Customer/{job.user_id}"]}}
    common: dict[str, Any] = {
        "title": f"cxloop {job.code}",
        "code": job.code,
        "startsAt": _iso(job.starts_at),
        "endsAt": _iso(job.expires_at),
        "context": context,
        "appliesOncePerCustomer": True,
        "usageLimit": 1,
    }
    if job.kind == "free_shipping":
        return {
            "query": FREE_SHIPPING,
            "variables": {"freeShippingCodeDiscount": {**common, "destination": {"all": True}}},
        }
    if job.kind == "percent":
        value: dict[str, Any] = {"percentage": job.value / 100}
    else:
        value = {"discountAmount": {"amount": f"{job.value / 100:.2f}", "appliesOnEachItem": False}}
    gets = {"value": value, "items": {"all": True}}
    return {"query": BASIC, "variables": {"basicCodeDiscount": {**common, "customerGets": gets}}}


def woocommerce_request(job: _Job) -> dict[str, Any]:
    """The REST body that makes this coupon in WooCommerce."""
    body: dict[str, Any] = {
        "code": job.code,
        "discount_type": "percent" if job.kind == "percent" else "fixed_cart",
        "amount": "0"
        if job.kind == "free_shipping"
        else (str(job.value) if job.kind == "percent" else f"{job.value / 100:.2f}"),
        "free_shipping": job.kind == "free_shipping",
        "individual_use": True,
        "usage_limit": 1,
        "usage_limit_per_user": 1,
        "date_expires_gmt": _iso(job.expires_at)[:-1],
        "description": "cxloop",
    }
    if job.email:
        body["email_restrictions"] = [job.email]
    return body


def _shopify(
    client: httpx.Client, connection: StoreConnection, secrets: dict[str, str], job: _Job
) -> str:
    answer = client.post(
        f"{connection.base_url}/admin/api/{SHOPIFY_VERSION}/graphql.json",
        json=shopify_request(job),
        headers={
            "X-Shopify-Access-Token": secrets["access_token"],
            "Content-Type": "application/json",
        },
    )
    if not answer.is_success:
        raise StoreError(f"HTTP {answer.status_code}: {answer.text[:300]}")
    data = (answer.json() or {}).get("data") or {}
    created = (
        data.get("discountCodeFreeShippingCreate") or data.get("discountCodeBasicCreate") or {}
    )
    errors = created.get("userErrors") or []
    if any(error.get("code") == "TAKEN" for error in errors):
        return "taken"  # written by an earlier attempt
    if errors or not created.get("codeDiscountNode"):
        raise StoreError(json.dumps(errors or answer.json())[:500])
    return str(created["codeDiscountNode"]["id"])


def _woocommerce(
    client: httpx.Client, connection: StoreConnection, secrets: dict[str, str], job: _Job
) -> str:
    answer = client.post(
        f"{connection.base_url}/wp-json/wc/v3/coupons",
        json=woocommerce_request(job),
        auth=(secrets["consumer_key"], secrets["consumer_secret"]),
    )
    if answer.status_code == 400 and "coupon_code_already_exists" in answer.text:
        return "taken"
    if not answer.is_success:
        raise StoreError(f"HTTP {answer.status_code}: {answer.text[:300]}")
    return str((answer.json() or {}).get("id", ""))


def _claimable(now: dt.datetime, stale: dt.timedelta) -> Any:
    return or_(
        Coupon.store_status == "pending",
        (Coupon.store_status == "writing") & (Coupon.store_claimed_at < now - stale),
    )


def _claim(db: Database, ids: Sequence[int], stale: dt.timedelta) -> list[_Job]:
    now = utcnow()
    with db.session() as session:
        rows = session.execute(
            update(Coupon)
            .where(
                Coupon.id.in_(list(ids)), _claimable(now, stale), Coupon.store_attempts < ATTEMPTS
            )
            .values(
                store_status="writing",
                store_claimed_at=now,
                store_attempts=Coupon.store_attempts + 1,
            )
            .returning(
                Coupon.id,
                Coupon.workspace_id,
                Coupon.code,
                Coupon.kind,
                Coupon.value,
                Coupon.currency,
                Coupon.created_at,
                Coupon.expires_at,
                Coupon.customer_id,
            )
            .execution_options(synchronize_session=False)
        ).all()
        people = profiles.customers_by_id(session, [r.customer_id for r in rows if r.customer_id])
        jobs = []
        for r in rows:
            person = people.get(r.customer_id) if r.customer_id else None
            jobs.append(
                _Job(
                    r.id,
                    r.workspace_id,
                    r.code,
                    r.kind,
                    r.value,
                    r.currency,
                    r.created_at,
                    r.expires_at,
                    person.user_id if person else None,
                    person.email if person else None,
                )
            )
        return jobs


def write_coupons(
    db: Database,
    ids: Sequence[int],
    secret_key: str,
    *,
    client: httpx.Client | None = None,
    stale: dt.timedelta = STALE,
) -> int:
    """Write these coupons to their workspace's store (after the transaction that made them
    committed); how many were written."""
    jobs = _claim(db, ids, stale)
    if not jobs:
        return 0
    own = client is None
    http = client or httpx.Client(timeout=TIMEOUT)
    written = 0
    try:
        for job in jobs:
            with db.session() as session:
                connection = store_connection(session, job.workspace_id)
            status, ref, error = "failed", "", ""
            if connection is None:
                status, error = "none", "no store connected"
            else:
                try:
                    secrets = json.loads(
                        sealing.unseal(secret_key, PURPOSE, connection.credentials)
                    )
                    write = _shopify if connection.platform == "shopify" else _woocommerce
                    ref = write(http, connection, secrets, job)
                    status = "written"
                except (StoreError, httpx.HTTPError, sealing.Unreadable, ValueError) as exc:
                    error = f"{type(exc).__name__}: {exc}"[:1000]
            with db.session() as session:
                session.execute(
                    update(Coupon)
                    .where(Coupon.id == job.coupon_id)
                    .values(store_status=status, store_ref=ref[:100], store_error=error)
                )
            written += status == "written"
    finally:
        if own:
            http.close()
    return written


def pending_coupons(
    session: Session, *, stale: dt.timedelta = STALE, limit: int = 1000
) -> list[int]:
    """Coupons to write: pending, failed with attempts left, or left ``writing`` by a process
    that died; failed ones are put back to pending."""
    now = utcnow()
    ids = list(
        session.scalars(
            select(Coupon.id)
            .where(
                Coupon.store_attempts < ATTEMPTS,
                or_(_claimable(now, stale), Coupon.store_status == "failed"),
            )
            .order_by(Coupon.id)
            .limit(limit)
        )
    )
    if ids:
        session.execute(
            update(Coupon)
            .where(Coupon.id.in_(ids), Coupon.store_status == "failed")
            .values(store_status="pending")
        )
    return ids


def write_later(coupon_ids: list[int]) -> None:
    """Have a worker write these coupons to the store (call once their transaction committed)."""
    from cxloop.commerce.tasks import write_coupons as task  # here: the tasks module imports this

    task(coupon_ids)
