"""The sign-in throttle: failed attempts counted per account and per address, in the store.

After ``ACCOUNT_LIMIT`` failures for one email (``ADDRESS_LIMIT`` from one address, which an
office may share) with less than ``WINDOW`` between them, that account or address is refused
for ``BASE_BACKOFF``, doubled at each further failure up to ``MAX_BACKOFF``; a refused attempt
is not even checked, so the right password waits too. Success clears the account's count, not
the address's: one valid account must not reset the address it guesses others' passwords
from. Kept in the store so that every server process sees the same counts; rows whose window
and block have passed are pruned at each failure.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math

from sqlalchemy import delete, or_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cxloop.store.base import utcnow
from cxloop.workspaces.models import LoginThrottle

ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 20
WINDOW = dt.timedelta(hours=1)
BASE_BACKOFF = dt.timedelta(seconds=30)
MAX_BACKOFF = dt.timedelta(minutes=15)


def account_key(email: str) -> str:
    """The throttle key of an account: a digest, so that typed emails are not kept."""
    return "account:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


def address_key(ip: str) -> str:
    """The throttle key of a client address."""
    return "ip:" + ip[:64]


def _limit(key: str) -> int:
    return ACCOUNT_LIMIT if key.startswith("account:") else ADDRESS_LIMIT


def retry_after(session: Session, keys: list[str], *, now: dt.datetime | None = None) -> int:
    """Seconds until these keys may try again; 0 when none is blocked."""
    now = now or utcnow()
    wait = 0.0
    for key in keys:
        row = session.get(LoginThrottle, key)
        if row is not None and row.blocked_until is not None and row.blocked_until > now:
            wait = max(wait, (row.blocked_until - now).total_seconds())
    return math.ceil(wait)


def _locked_row(session: Session, key: str, now: dt.datetime) -> LoginThrottle:
    """The key's row, locked until commit (PostgreSQL), made if missing: two processes counting
    the same key at once both count, neither fails on the other's insert."""
    row = session.get(LoginThrottle, key, with_for_update=True)
    if row is not None:
        return row
    try:
        with session.begin_nested():
            row = LoginThrottle(key=key, failures=0, last_failure_at=now)
            session.add(row)
        return row
    except IntegrityError:
        row = session.get(LoginThrottle, key, with_for_update=True, populate_existing=True)
        assert row is not None  # inserted by the other process, which has committed
        return row


def failed(session: Session, keys: list[str], *, now: dt.datetime | None = None) -> None:
    """Count a failed sign-in against each key, blocking those past their limit."""
    now = now or utcnow()
    session.execute(
        delete(LoginThrottle).where(
            LoginThrottle.last_failure_at < now - WINDOW,
            or_(LoginThrottle.blocked_until.is_(None), LoginThrottle.blocked_until < now),
        )
    )
    for key in keys:
        row = _locked_row(session, key, now)
        if row.last_failure_at < now - WINDOW:
            row.failures = 0
        row.failures += 1
        row.last_failure_at = now
        over = row.failures - _limit(key)
        if over >= 0:
            row.blocked_until = now + min(BASE_BACKOFF * 2 ** min(over, 10), MAX_BACKOFF)
    session.flush()


def succeeded(session: Session, email: str) -> None:
    """Clear the account's count after a successful sign-in."""
    session.execute(delete(LoginThrottle).where(LoginThrottle.key == account_key(email)))
