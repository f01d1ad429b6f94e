"""Order status in conversation: by order number and email, or directly for an identified
customer; items, parcels, carrier, promised and actual dates, and a late parcel acknowledged.

It never tells whether an order number exists: a wrong email and an unknown number get the same
answer, in the same way. A visitor gets ``MAX_FAILED`` failed lookups an hour (across all their
conversations, counted in ``assistant_lookups``); after that the assistant offers a person
instead of looking, so order numbers cannot be walked through.
"""

from __future__ import annotations

import datetime as dt
import hmac
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_date
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cxloop import commerce, profiles, workspaces
from cxloop.assistant.dialogue import Reply, money
from cxloop.assistant.models import Conversation, OrderLookup
from cxloop.i18n import gettext as _

MAX_FAILED = 5  # failed lookups per visitor and hour
WINDOW = dt.timedelta(hours=1)

_EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
# An order number as shoppers type it: "#1042", "n° 1042", "CMD-2026-1042", "1042".
_NUMBER = re.compile(r"#?\s?([A-Za-z]{0,6}[-_]?\d[\w-]{1,29})")


def find_email(text: str) -> str:
    """The first email address in a message ("" if none)."""
    match = _EMAIL.search(text)
    return match.group().strip(".") if match else ""


def find_number(text: str) -> str:
    """The first thing that looks like an order number in a message ("" if none)."""
    for match in _NUMBER.finditer(_EMAIL.sub(" ", text)):
        found = match.group(1).strip("-_")
        if sum(c.isdigit() for c in found) >= 3:
            return found
    return ""


def spellings(number: str) -> list[str]:
    """The ways a store may have written the number the shopper gave."""
    bare = number.strip().lstrip("#").strip()
    found = [bare, f"#{bare}", bare.upper(), f"#{bare.upper()}"]
    return list(dict.fromkeys(s for s in found if s))


def _same_email(given: str, known: str | None) -> bool:
    if not known or not given:
        return False
    return hmac.compare_digest(given.strip().casefold().encode(), known.strip().casefold().encode())


def _visitor(conversation: Conversation) -> str:
    return conversation.anonymous_id or f"user:{conversation.user_id or conversation.id}"


def failed_lately(session: Session, conversation: Conversation, now: dt.datetime) -> int:
    """Failed lookups by this conversation's visitor within the last hour."""
    count = session.scalar(
        select(func.count())
        .select_from(OrderLookup)
        .where(
            OrderLookup.workspace_id == conversation.workspace_id,
            OrderLookup.visitor == _visitor(conversation),
            OrderLookup.found.is_(False),
            OrderLookup.at >= now - WINDOW,
        )
    )
    return int(count or 0)


def human_button() -> dict[str, object]:
    """The button that hands the conversation to a person."""
    return {"label": _("Talk to a person"), "payload": {"intent": "human"}}


def order_reply(
    session: Session,
    conversation: Conversation,
    number: str,
    email: str,
    *,
    lang: str,
    now: dt.datetime,
) -> Reply:
    """What the assistant says about the order ``number`` for ``email`` (both empty: the
    identified customer's latest order). Each lookup is recorded for the rate limit."""
    workspace_id = conversation.workspace_id
    number, email = number.strip()[:60], email.strip()[:320]
    if not number and not email:
        if conversation.customer_id is None:
            return Reply(
                _(
                    "I can look up your order: give me its number (it is in your confirmation "
                    "email) and the email address you ordered with."
                ),
                intent="order_status",
                outcome="failed",
            )
        status = commerce.order_status(session, workspace_id, customer_id=conversation.customer_id)
        if status is None:
            return Reply(
                _("I can't see any order on your account. Was it placed with another email?"),
                intent="order_status",
                buttons=[human_button()],
                outcome="failed",
            )
        return _described(session, workspace_id, status, lang, now)
    if failed_lately(session, conversation, now) >= MAX_FAILED:
        return Reply(
            _(
                "I can't look up more orders for now. Please try again in an hour, or talk to "
                "someone from the team."
            ),
            intent="order_status",
            buttons=[human_button()],
            unanswered=True,
            outcome="failed",
        )
    if not number or (not email and conversation.customer_id is None):
        return Reply(
            _("To find your order I need both its number and the email address you ordered with."),
            intent="order_status",
            outcome="failed",
        )
    status = commerce.order_status(session, workspace_id, external_ids=spellings(number))
    matched = status is not None and (
        (conversation.customer_id is not None and status.customer_id == conversation.customer_id)
        or _same_email(email, _email_of(session, workspace_id, status.customer_id))
    )
    session.add(
        OrderLookup(
            workspace_id=workspace_id,
            visitor=_visitor(conversation)[:200],
            conversation_id=conversation.id,
            found=matched,
            at=now,
        )
    )
    if status is None or not matched:
        # The same words whether the number exists or the email is wrong.
        return Reply(
            _(
                "I couldn't find an order with that number and that email address. Please check "
                "both (the number is in your confirmation email), or talk to someone from the "
                "team."
            ),
            intent="order_status",
            buttons=[human_button()],
            outcome="failed",
        )
    return _described(session, workspace_id, status, lang, now)


def _email_of(session: Session, workspace_id: str, customer_id: int | None) -> str | None:
    if customer_id is None:
        return None
    customer = profiles.get_customer(session, workspace_id, customer_id)
    return customer.email if customer is not None else None


def _zone(session: Session, workspace_id: str) -> ZoneInfo:
    workspace = workspaces.get_workspace(session, workspace_id)
    try:
        return ZoneInfo(workspace.timezone if workspace else "Europe/Paris")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Europe/Paris")


def order_status_label(status: str) -> str:
    """An order's status in words."""
    return {
        "placed": _("placed, being prepared"),
        "paid": _("paid, being prepared"),
        "fulfilled": _("shipped"),
        "cancelled": _("cancelled"),
        "refunded": _("refunded"),
    }.get(status, status)


def parcel_status_label(status: str) -> str:
    """A parcel's status in words."""
    return {
        "pending": _("being prepared"),
        "in_transit": _("on its way"),
        "delivered": _("delivered"),
        "lost": _("lost by the carrier"),
        "returned": _("returned to us"),
    }.get(status, status)


def is_late(parcel: commerce.ParcelStatus, now: dt.datetime) -> bool:
    """Delivered after its promised date, or not delivered and past it."""
    if parcel.promised_at is None:
        return False
    if parcel.delivered_at is not None:
        return parcel.delivered_at > parcel.promised_at
    return parcel.status not in ("returned",) and now > parcel.promised_at


def _described(
    session: Session,
    workspace_id: str,
    status: commerce.OrderStatus,
    lang: str,
    now: dt.datetime,
) -> Reply:
    zone = _zone(session, workspace_id)
    place = "fr_FR" if lang == "fr" else "en_GB"

    def day(moment: dt.datetime) -> str:
        return format_date(moment.astimezone(zone).date(), format="long", locale=place)

    items = ", ".join(f"{title} × {quantity}" for title, quantity in status.items[:10])
    lines = [
        _("Order %(number)s, placed on %(date)s (%(total)s): %(status)s.")
        % {
            "number": status.external_id,
            "date": day(status.placed_at),
            "total": money(status.total_cents, status.currency, lang),
            "status": order_status_label(status.status),
        }
    ]
    if items:
        lines.append(_("Items: %(items)s.") % {"items": items})
    late = False
    for parcel in status.parcels:
        parts = [
            _("Parcel with %(carrier)s: %(status)s")
            % {
                "carrier": parcel.carrier or _("the carrier"),
                "status": parcel_status_label(parcel.status),
            }
        ]
        if parcel.tracking_number:
            parts.append(_("tracking number %(number)s") % {"number": parcel.tracking_number})
        if parcel.shipped_at is not None:
            parts.append(_("shipped on %(date)s") % {"date": day(parcel.shipped_at)})
        if parcel.delivered_at is not None:
            parts.append(_("delivered on %(date)s") % {"date": day(parcel.delivered_at)})
        elif parcel.promised_at is not None:
            parts.append(_("expected on %(date)s") % {"date": day(parcel.promised_at)})
        lines.append(", ".join(parts) + ".")
        if is_late(parcel, now) and parcel.promised_at is not None:
            late = True
            lines.append(
                _(
                    "It is late: it was promised for %(date)s. I'm sorry for the wait; if you "
                    "wish, someone from the team can look into it with you."
                )
                % {"date": day(parcel.promised_at)}
            )
    if not status.parcels and status.status in ("placed", "paid"):
        lines.append(_("It has not left our warehouse yet."))
    return Reply(
        " ".join(lines),
        intent="order_status",
        buttons=[human_button()] if late else [],
        ended_well=not late,
        outcome="ok",
    )
