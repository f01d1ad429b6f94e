"""Commerce background work: coupons written to the merchant's store."""

from __future__ import annotations

from typing import Any

from huey import crontab

from cxloop.commerce import stores
from cxloop.config import get_settings
from cxloop.store.runtime import get_database
from cxloop.worker.queue import huey
from cxloop.worker.service import recorded


@huey.task(context=True)
@recorded("coupons.write")
def write_coupons(coupon_ids: list[int], task: Any = None) -> None:
    """Write these coupons to their store (enqueue after the transaction that made them)."""
    stores.write_coupons(get_database(), coupon_ids, get_settings().resolved_secret_key())


@huey.periodic_task(crontab(minute="*"), context=True)
@recorded("coupons.retry")
def write_pending_coupons(task: Any = None) -> None:
    """Every minute: coupons never written, left half-written by a dead process, or failed
    with attempts left (at most ``stores.ATTEMPTS`` in all)."""
    db = get_database()
    with db.session() as session:
        ids = stores.pending_coupons(session)
    if ids:
        stores.write_coupons(db, ids, get_settings().resolved_secret_key())
