"""A workspace's choices for its assistant: where handoffs go as tickets, whether it asks NPS in
conversation, and what it may give for a delivery problem (kind, value, validity, a daily
budget). Defaults: no ticket, NPS on, no compensation."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from cxloop import i18n, workspaces
from cxloop.assistant.models import COMPENSATION_KINDS, AssistantSettings
from cxloop.errors import InvalidInput
from cxloop.store.base import utcnow

MAX_PERCENT = 50.0
MAX_FIXED = 500.0


@dataclass(frozen=True)
class Options:
    """What the assistant reads of its settings."""

    ticket_url: str = ""
    nps_in_chat: bool = True
    compensation_kind: str = ""
    compensation_value: float = 0.0
    compensation_days: int = 30
    compensations_per_day: int = 20

    def to_json(self) -> dict[str, object]:
        """The settings as the admin API shows them."""
        return {
            "ticket_url": self.ticket_url,
            "nps_in_chat": self.nps_in_chat,
            "compensation_kind": self.compensation_kind,
            "compensation_value": self.compensation_value,
            "compensation_days": self.compensation_days,
            "compensations_per_day": self.compensations_per_day,
        }


def options_of(session: Session, workspace_id: str) -> Options:
    """The workspace's assistant settings (the defaults if it never changed them)."""
    row = session.get(AssistantSettings, workspace_id)
    if row is None:
        return Options()
    return Options(
        ticket_url=row.ticket_url,
        nps_in_chat=row.nps_in_chat,
        compensation_kind=row.compensation_kind,
        compensation_value=row.compensation_value,
        compensation_days=row.compensation_days,
        compensations_per_day=row.compensations_per_day,
    )


def checked(options: Options) -> Options:
    """``options`` if they make sense, else an ``InvalidInput`` naming the field."""
    gettext = i18n.gettext
    url = options.ticket_url.strip()
    if url:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 500:
            raise InvalidInput("ticket_url", gettext("an http(s) address of 500 characters"))
    kind = options.compensation_kind
    if kind not in COMPENSATION_KINDS:
        raise InvalidInput(
            "compensation_kind",
            gettext("one of %(names)s") % {"names": ", ".join(k for k in COMPENSATION_KINDS if k)},
        )
    value = options.compensation_value
    if kind == "percent" and not 0 < value <= MAX_PERCENT:
        raise InvalidInput(
            "compensation_value",
            gettext("a percentage above 0, at most %(n)s") % {"n": int(MAX_PERCENT)},
        )
    if kind == "fixed" and not 0 < value <= MAX_FIXED:
        raise InvalidInput(
            "compensation_value",
            gettext("an amount above 0, at most %(n)s") % {"n": int(MAX_FIXED)},
        )
    if not 1 <= options.compensation_days <= 365:
        raise InvalidInput("compensation_days", gettext("from 1 to 365 days"))
    if not 0 <= options.compensations_per_day <= 10_000:
        raise InvalidInput("compensations_per_day", gettext("from 0 to 10,000"))
    return Options(
        ticket_url=url,
        nps_in_chat=options.nps_in_chat,
        compensation_kind=kind,
        compensation_value=0.0 if kind in ("", "free_shipping") else float(value),
        compensation_days=options.compensation_days,
        compensations_per_day=options.compensations_per_day,
    )


def save_options(session: Session, workspace_id: str, options: Options, *, actor: str) -> Options:
    """Change the workspace's assistant settings (checked, audited)."""
    options = checked(options)
    row = session.get(AssistantSettings, workspace_id)
    if row is None:
        row = AssistantSettings(workspace_id=workspace_id)
        session.add(row)
    row.ticket_url = options.ticket_url
    row.nps_in_chat = options.nps_in_chat
    row.compensation_kind = options.compensation_kind
    row.compensation_value = options.compensation_value
    row.compensation_days = options.compensation_days
    row.compensations_per_day = options.compensations_per_day
    row.updated_at = utcnow()
    workspaces.audit(
        session,
        actor=actor,
        action="assistant.settings",
        workspace_id=workspace_id,
        subject=workspace_id,
        data=options.to_json(),
    )
    session.flush()
    return options
