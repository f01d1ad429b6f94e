"""Email: templates rendered to inlined HTML plus text, queued in the outbox, sent after commit.

The life of a message: ``render`` builds the subject and both parts in the customer's language;
``queue_email`` writes it to ``outbound_messages`` (status ``queued``) inside the caller's
transaction, after checking consent; ``deliver`` sends it once that transaction committed,
through a ``Sender``: the local outbox by default (status ``outbox``, shown in the console like
a mailbox) or an SMTP server (``CXLOOP_SMTP_URL``; status ``sent`` or ``failed``).
"""

from __future__ import annotations

import datetime as dt
import html as html_escape
import ipaddress
import re
import smtplib
import socket
import ssl
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate, parseaddr
from functools import lru_cache, partial
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import css_inline
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import and_, case, insert, or_, select, update
from sqlalchemy.orm import Session

from cxloop import i18n, profiles, workspaces
from cxloop.channels.models import OutboundMessage
from cxloop.channels.unsubscribe import unsubscribe_url
from cxloop.config import Settings
from cxloop.errors import InvalidInput
from cxloop.profiles import Customer
from cxloop.store.base import utcnow
from cxloop.store.db import Database

TEMPLATES = Path(__file__).parent / "templates"
# Each template is a folder under templates/email/ with subject.txt, body.html and body.txt.
REQUIRED: dict[str, tuple[str, ...]] = {
    "nps_invitation": ("store_name", "score_url", "unsubscribe_url"),
    "nps_reminder": ("store_name", "score_url", "unsubscribe_url"),
    "alert": ("subject",),
    "journey": ("subject", "store_name", "unsubscribe_url"),
}
MESSAGE_ID_DOMAIN = "cxloop"
__all__ = [
    "Delivery",
    "OutboxSender",
    "Rendered",
    "Sender",
    "SmtpSender",
    "Undeliverable",
    "deliver",
    "draft_email",
    "on_delivery",
    "queue_drafts",
    "queue_email",
    "render",
    "sender_for",
    "unsubscribe_url",
]
SENDING = "sending"
# A message left ``sending`` this long was taken by a sender that died: it is sent again.
STALE_SENDING = dt.timedelta(minutes=10)
_ADDRESS = re.compile(r"^[^@\s<>\"(),;:]+@[^@\s<>\"(),;:\[\]]+\.[^@\s<>\"(),;:\[\]]+$")
_LOCAL_ADDRESS = re.compile(r"^[^@\s<>\"(),;:]+@[A-Za-z0-9.-]+$")
_CHUNK = 500


@dataclass(frozen=True)
class Rendered:
    """An email ready to queue: its subject, HTML part (CSS inlined) and plain-text part."""

    subject: str
    html: str
    text: str


class Undeliverable(Exception):  # noqa: N818  (a refusal, not a failure of ours)
    """Customer email refused before queuing; ``reason``: consent_denied, bounced, complained."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


# Rendering -----------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        # .txt parts and subjects are plain text: escaping them would show "&amp;" to people.
        autoescape=select_autoescape(["html"], default_for_string=False),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    return env


@lru_cache(maxsize=1)
def _inliner() -> css_inline.CSSInliner:
    # @media rules (small screens, dark mode) cannot be inlined: they stay in a <style> block,
    # which Gmail, Apple Mail and Outlook apps read; everything else goes to style attributes.
    return css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)


def _render_now(template: str, context: Mapping[str, Any], lang: str) -> Rendered:
    env = _environment()
    with i18n.speaking(lang):
        values = {**context, "locale": lang}
        subject = " ".join(env.get_template(f"email/{template}/subject.txt").render(values).split())
        values["subject"] = subject
        html = _inliner().inline(env.get_template(f"email/{template}/body.html").render(values))
        html = html.rstrip() + "\n"
        text = env.get_template(f"email/{template}/body.txt").render(values).strip() + "\n"
    return Rendered(subject=subject[:500], html=html, text=text)


# What changes from one recipient of a survey to the next. The rest of an NPS email is the same
# for a whole survey and language, so it is rendered and CSS-inlined once, with placeholders
# that are then replaced: the cost per email drops from a render to a few string replaces.
PER_RECIPIENT = ("greeting", "score_url", "unsubscribe_url")
_SLOT = "cxloopslot{}z7q"
# The inliner's HTML serializer escapes these in text and attributes: a value put in by
# replace is escaped the same way (plus < > in attributes, harmless there).
_HTML_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\xa0": "&nbsp;"}
)


@lru_cache(maxsize=256)
def _skeleton(
    template: str, lang: str, shared: tuple[tuple[str, str | None], ...], slots: tuple[str, ...]
) -> Rendered:
    return _render_now(
        template, {**dict(shared), **dict(zip(PER_RECIPIENT, slots, strict=True))}, lang
    )


def _slot(index: int, value: str) -> str:
    if not value:
        return ""  # an empty greeting takes another branch ("Hello,"): keep it empty
    # A URL that already has a query gets "&score=N", else "?score=N": the slot says which.
    return _SLOT.format(index) + ("?" if "?" in value else "")


def render(template: str, context: Mapping[str, Any], locale: str) -> Rendered:
    """Render ``template`` (nps_invitation, nps_reminder, alert, journey) in ``locale``."""
    required = REQUIRED.get(template)
    if required is None:
        raise InvalidInput("template", f"must be one of {', '.join(REQUIRED)}")
    missing = [key for key in required if not context.get(key)]
    if missing:
        raise InvalidInput("context", f"missing {', '.join(missing)}")
    lang = i18n.supported(locale)
    personal = [context.get(key) or "" for key in PER_RECIPIENT]
    shared = tuple(sorted((k, v) for k, v in context.items() if k not in PER_RECIPIENT))
    if (
        not template.startswith("nps_")
        or not all(isinstance(v, str) for _k, v in shared if v is not None)
        or not all(isinstance(v, str) for v in personal)
    ):
        return _render_now(template, context, lang)
    slots = tuple(_slot(i, v) for i, v in enumerate(personal))
    skeleton = _skeleton(template, lang, shared, slots)
    subject, html, text = skeleton.subject, skeleton.html, skeleton.text
    for slot, value in zip(slots, personal, strict=True):
        if slot:
            subject = subject.replace(slot, value)
            html = html.replace(slot, value.translate(_HTML_ESCAPES))
            text = text.replace(slot, value)
    return Rendered(subject=subject, html=html, text=text)


# Queuing -------------------------------------------------------------------------------------


def _clean_address(value: str, field: str) -> str:
    address = value.strip()
    if len(address) > 320 or not (_ADDRESS.match(address) or _LOCAL_ADDRESS.match(address)):
        raise InvalidInput(field, "must be one email address")
    return address


def _refusal(customer: Customer) -> Undeliverable:
    record = (customer.consent or {}).get("email") or {}
    source = str(record.get("source", ""))
    reason = {"bounce": "bounced", "complaint": "complained"}.get(source, "consent_denied")
    return Undeliverable(reason, f"email consent denied ({source or 'no source'})")


def _shows(body: str, url: str) -> bool:
    return url in body or html_escape.escape(url) in body


def new_message_id(domain: str = MESSAGE_ID_DOMAIN) -> str:
    """A fresh, globally unique Message-ID such as ``<3f2a…@cxloop>``."""
    return f"<{uuid.uuid4().hex}@{domain}>"


def queue_email(
    session: Session,
    workspace_id: str,
    *,
    to: str,
    rendered: Rendered,
    purpose: str,
    related_key: str,
    customer_id: int | None,
    unsubscribe_url: str | None,
    from_address: str | None = None,
    unsubscribe_mailto: str | None = None,
    message_domain: str | None = None,
) -> OutboundMessage:
    """Write a message to the outbox (status ``queued``) in the caller's transaction.

    Customer email (``customer_id`` set) is refused with ``Undeliverable`` when the customer's
    email consent is denied (unsubscribed, hard bounce, complaint); it must carry an
    ``unsubscribe_url`` that the body shows, which also goes to the RFC 8058 headers. Mail to the
    team (``customer_id`` None) is marked ``Auto-Submitted: auto-generated``. ``from_address``
    None means the sender's default. Nothing is sent: call ``deliver`` after commit.
    """
    message = OutboundMessage(
        **draft_email(
            session,
            workspace_id,
            to=to,
            rendered=rendered,
            purpose=purpose,
            related_key=related_key,
            customer_id=customer_id,
            unsubscribe_url=unsubscribe_url,
            from_address=from_address,
            unsubscribe_mailto=unsubscribe_mailto,
            message_domain=message_domain,
        )
    )
    session.add(message)
    session.flush()
    return message


def queue_drafts(session: Session, drafts: Sequence[Mapping[str, Any]]) -> list[int]:
    """Write many checked drafts to the outbox in a few statements; their ids, in order.

    The bulk path of ``queue_email`` for senders of thousands of messages: one multi-row
    INSERT per chunk instead of one ORM object (and, on SQLite, one INSERT) per message.
    """
    ids: dict[str, int] = {}
    for start in range(0, len(drafts), _CHUNK):
        chunk = drafts[start : start + _CHUNK]
        # Matched back by Message-ID (unique), so the rows may come back in any order.
        for row_id, message_id in session.execute(
            insert(OutboundMessage).returning(OutboundMessage.id, OutboundMessage.message_id),
            list(chunk),
        ):
            ids[message_id] = row_id
    return [ids[draft["message_id"]] for draft in drafts]


def draft_email(
    session: Session,
    workspace_id: str,
    *,
    to: str,
    rendered: Rendered,
    purpose: str,
    related_key: str,
    customer_id: int | None,
    unsubscribe_url: str | None,
    from_address: str | None = None,
    unsubscribe_mailto: str | None = None,
    message_domain: str | None = None,
) -> dict[str, Any]:
    """Check a message as ``queue_email`` does and return its outbox row, not yet written."""
    address = _clean_address(to, "to")
    if not purpose.strip() or len(purpose) > 32:
        raise InvalidInput("purpose", "must be a short name such as nps_invitation")
    if from_address and any(c in from_address for c in "\r\n"):
        raise InvalidInput("from_address", "must be one line")
    sender = _clean_address(parseaddr(from_address)[1], "from_address") if from_address else ""
    if customer_id is not None:
        customer = profiles.get_customer(session, workspace_id, customer_id)
        if customer is None:
            raise InvalidInput("customer_id", f"no customer {customer_id} in this workspace")
        if not profiles.may_contact(customer, "email"):
            raise _refusal(customer)
        if not unsubscribe_url:
            raise InvalidInput("unsubscribe_url", "customer email needs an unsubscribe link")
    domain = message_domain or (sender.rsplit("@", 1)[1] if sender else MESSAGE_ID_DOMAIN)
    headers: dict[str, str] = {"Message-ID": new_message_id(domain)}
    if unsubscribe_url:
        if not unsubscribe_url.startswith(("https://", "http://")) or any(
            c in unsubscribe_url for c in "<>\r\n "
        ):
            raise InvalidInput("unsubscribe_url", "must be an http(s) URL")
        if not (_shows(rendered.html, unsubscribe_url) and _shows(rendered.text, unsubscribe_url)):
            raise InvalidInput("unsubscribe_url", "both parts must show the unsubscribe link")
        targets = [f"<{unsubscribe_url}>"]
        if unsubscribe_mailto:
            mailto = unsubscribe_mailto.removeprefix("mailto:").split("?", 1)[0]
            targets.append(
                f"<mailto:{_clean_address(mailto, 'unsubscribe_mailto')}?subject=unsubscribe>"
            )
        headers["List-Unsubscribe"] = ", ".join(targets)
        # RFC 8058: mail clients may POST "List-Unsubscribe=One-Click" to the https URL.
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    if customer_id is None:
        # RFC 3834: no vacation replies to alerts. Not on customer mail, which they may answer.
        headers["Auto-Submitted"] = "auto-generated"
    return {
        "workspace_id": workspace_id,
        "customer_id": customer_id,
        "channel": "email",
        "purpose": purpose,
        "related_key": related_key[:100],
        "to_address": address,
        "from_address": (from_address or "").strip()[:320],
        "subject": " ".join(rendered.subject.split())[:500],
        "html": rendered.html,
        "text": rendered.text,
        "headers": headers,
        "message_id": headers["Message-ID"],
        "status": "queued",
        "error": "",
        "created_at": utcnow(),
    }


# Senders -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outgoing:
    """A queued message as a sender sees it (a copy: no database session is held while sending)."""

    id: int
    message_id: str
    to: str
    from_address: str
    subject: str
    html: str
    text: str
    headers: Mapping[str, str]


@dataclass(frozen=True)
class Outcome:
    """What became of one message: ``sent``, ``outbox`` or ``failed`` with the error."""

    status: str
    error: str = ""


class SendError(Exception):
    """A transport failure that concerns every message of the batch."""


class Sender(Protocol):
    """Hands messages over to the outside world, or keeps them."""

    name: str
    default_from: str

    def send(self, messages: Sequence[Outgoing]) -> list[Outcome]:
        """One outcome per message, in order; never raises for a single message."""
        ...


class OutboxSender:
    """The offline default: messages stay in the local outbox that the console shows."""

    name = "outbox"

    def __init__(self, default_from: str = "cxloop@localhost") -> None:
        self.default_from = default_from

    def send(self, messages: Sequence[Outgoing]) -> list[Outcome]:
        """Keep every message (status ``outbox``)."""
        return [Outcome("outbox") for _ in messages]


def build_mime(message: Outgoing, default_from: str) -> EmailMessage:
    """The RFC 5322 message: text and HTML alternatives, quoted-printable, with our headers."""
    mime = EmailMessage()
    mime["From"] = message.from_address or default_from
    mime["To"] = message.to
    mime["Subject"] = message.subject
    mime["Date"] = formatdate(usegmt=True)
    mime["Message-ID"] = message.message_id
    mime["MIME-Version"] = "1.0"
    for name, value in message.headers.items():
        if name.lower() not in ("message-id", "from", "to", "subject", "date", "mime-version"):
            mime[name] = value
    # Quoted-printable keeps every line short and 7-bit: no server needs 8BITMIME for it.
    mime.set_content(message.text, cte="quoted-printable")
    mime.add_alternative(message.html, subtype="html", cte="quoted-printable")
    return mime


class SmtpSender:
    """Sends through an SMTP server named by a URL (see ``from_url`` for its options)."""

    name = "smtp"

    def __init__(
        self,
        host: str,
        port: int,
        *,
        implicit_tls: bool = False,
        starttls: str = "auto",
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
        default_from: str = "cxloop@localhost",
        cafile: str | None = None,
        helo: str | None = None,
    ) -> None:
        if starttls not in ("auto", "required"):
            raise InvalidInput("starttls", "must be auto or required")
        self.host = host
        self.port = port
        self.implicit_tls = implicit_tls
        self.starttls = starttls
        self.username = username
        self._password = password
        self.timeout = timeout
        self.default_from = default_from
        self.cafile = cafile
        self.helo = helo or socket.gethostname() or "localhost"

    def __repr__(self) -> str:
        scheme = "smtps" if self.implicit_tls else "smtp"
        return f"SmtpSender({scheme}://{self.host}:{self.port}, starttls={self.starttls})"

    @classmethod
    def from_url(cls, url: str) -> SmtpSender:
        """``smtp://user:pass@host:587`` (STARTTLS when offered) or ``smtps://…:465`` (TLS).

        Query options: ``starttls=required`` refuses a server without STARTTLS, ``timeout=``
        seconds (10), ``from=`` the default sender address, ``cafile=`` a CA bundle to trust.
        """
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise InvalidInput("CXLOOP_SMTP_URL", "must look like smtp://user:pass@host:port")
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        unknown = set(query) - {"starttls", "timeout", "from", "cafile", "helo"}
        if unknown:
            raise InvalidInput("CXLOOP_SMTP_URL", f"unknown option {sorted(unknown)[0]}")
        try:
            timeout = float(query.get("timeout", "10"))
            port = parts.port
        except ValueError:
            raise InvalidInput("CXLOOP_SMTP_URL", "port and timeout must be numbers") from None
        implicit = parts.scheme == "smtps"
        default_from = "cxloop@localhost"
        if "from" in query:
            default_from = _clean_address(parseaddr(query["from"])[1], "CXLOOP_SMTP_URL from")
        return cls(
            parts.hostname,
            port or (465 if implicit else 587),
            implicit_tls=implicit,
            starttls=query.get("starttls", "auto"),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            timeout=timeout,
            default_from=default_from,
            cafile=query.get("cafile"),
            helo=query.get("helo"),
        )

    def _tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.cafile)

    def _loopback(self) -> bool:
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return self.host == "localhost"

    def _connect(self) -> smtplib.SMTP:
        server: smtplib.SMTP
        if self.implicit_tls:
            server = smtplib.SMTP_SSL(
                self.host,
                self.port,
                local_hostname=self.helo,
                timeout=self.timeout,
                context=self._tls(),
            )
            encrypted = True
        else:
            server = smtplib.SMTP(
                self.host, self.port, local_hostname=self.helo, timeout=self.timeout
            )
            server.ehlo()
            encrypted = server.has_extn("starttls")
            if encrypted:
                server.starttls(context=self._tls())
                server.ehlo()
            elif self.starttls == "required":
                server.close()
                raise SendError("the server does not offer STARTTLS (starttls=required)")
        if self.username:
            if not encrypted and not self._loopback():
                server.close()
                raise SendError("refusing to send the SMTP password over a plain connection")
            server.login(self.username, self._password or "")
        return server

    def send(self, messages: Sequence[Outgoing]) -> list[Outcome]:
        """Send each message over one connection; per-message refusals fail that message only."""
        return self.send_each(messages, None)

    def send_each(
        self, messages: Sequence[Outgoing], on_each: Callable[[Outgoing, Outcome], None] | None
    ) -> list[Outcome]:
        """``send``, telling ``on_each`` of each message's outcome as soon as it is known (so
        that it is recorded before the next goes: a crash repeats one message at most)."""
        if not messages:
            return []
        try:
            server = self._connect()
        except (SendError, smtplib.SMTPException, OSError) as exc:
            error = _describe(exc)
            return [Outcome("failed", error) for _ in messages]
        outcomes: list[Outcome] = []
        try:
            for message in messages:
                try:
                    server.send_message(build_mime(message, self.default_from))
                    outcomes.append(Outcome("sent"))
                except (
                    smtplib.SMTPRecipientsRefused,
                    smtplib.SMTPSenderRefused,
                    smtplib.SMTPDataError,
                    smtplib.SMTPNotSupportedError,
                    ValueError,
                ) as exc:
                    outcomes.append(Outcome("failed", _describe(exc)))
                except (smtplib.SMTPException, OSError) as exc:
                    # The connection is gone: this message and the rest of the batch fail.
                    error = _describe(exc)
                    outcomes.extend(Outcome("failed", error) for _ in messages[len(outcomes) :])
                    break
                if on_each is not None:
                    on_each(message, outcomes[-1])
        finally:
            try:
                server.quit()
            except (smtplib.SMTPException, OSError):
                server.close()
        return outcomes


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        parts = [f"{rcpt}: {code} {msg!r}" for rcpt, (code, msg) in exc.recipients.items()]
        return "recipient refused: " + "; ".join(parts)
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else ""
        return f"{type(exc).__name__}: {exc.smtp_code} {text}".strip()
    return f"{type(exc).__name__}: {exc}"[:1000]


def sender_for(settings: Settings) -> Sender:
    """The SMTP sender when ``CXLOOP_SMTP_URL`` is set, else the local outbox."""
    if settings.smtp_url:
        return SmtpSender.from_url(settings.smtp_url)
    return OutboxSender()


# Delivery ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """What a delivery hook learns about one message (no body, no session-bound object)."""

    id: int
    workspace_id: str
    customer_id: int | None
    purpose: str
    related_key: str

    @classmethod
    def of(cls, message: OutboundMessage) -> Delivery:
        """The hook's view of an outbox row."""
        return cls(
            message.id,
            message.workspace_id,
            message.customer_id,
            message.purpose,
            message.related_key,
        )


# Called with (session, deliveries, kind, at) in the transaction that records what happened to
# messages: "sent", "outbox" or "failed" for a whole sent batch at once; "delivered", "opened",
# "bounced", "soft_bounced" and "complained" from provider events (cxloop.channels.events).
DeliveryHook = Callable[[Session, Sequence[Delivery], str, dt.datetime], None]
_delivery_hooks: list[DeliveryHook] = []


def on_delivery(hook: DeliveryHook) -> DeliveryHook:
    """Register ``hook(session, deliveries, kind, at)`` once, at start-up (``cxloop.wiring``)."""
    if hook not in _delivery_hooks:
        _delivery_hooks.append(hook)
    return hook


def notify(session: Session, deliveries: Sequence[Delivery], kind: str, at: dt.datetime) -> None:
    """Tell every registered hook what happened to ``deliveries`` (in the caller's transaction)."""
    if not deliveries:
        return
    for hook in _delivery_hooks:
        hook(session, deliveries, kind, at)


_CLAIMED = (
    OutboundMessage.id,
    OutboundMessage.workspace_id,
    OutboundMessage.customer_id,
    OutboundMessage.purpose,
    OutboundMessage.related_key,
    OutboundMessage.message_id,
    OutboundMessage.to_address,
    OutboundMessage.from_address,
    OutboundMessage.subject,
    OutboundMessage.html,
    OutboundMessage.text,
    OutboundMessage.headers,
)


def _claimable(stale: dt.timedelta) -> Any:
    """Rows a sender may take: queued, or left ``sending`` for longer than ``stale`` by a
    process that died between its send and its record."""
    return or_(
        OutboundMessage.status == "queued",
        and_(
            OutboundMessage.status == SENDING,
            OutboundMessage.claimed_at < utcnow() - stale,
        ),
    )


def _claim(
    db: Database, ids: list[int], default_from: str, stale: dt.timedelta = STALE_SENDING
) -> list[tuple[Outgoing, Delivery]]:
    with db.session() as session:
        # A row without a From gets the sender's address under the store's name (what the
        # customer recognises), set by the claiming UPDATE itself: rows carry their bodies, so
        # each extra UPDATE would rewrite kilobytes per message.
        unsigned = session.scalars(
            select(OutboundMessage.workspace_id)
            .where(
                OutboundMessage.id.in_(ids),
                _claimable(stale),
                OutboundMessage.from_address == "",
            )
            .distinct()
        ).all()
        names = list(workspaces.names_of(session, list(unsigned)).items())
        values: dict[str, Any] = {"status": SENDING, "claimed_at": utcnow()}
        if names:
            values["from_address"] = case(
                *(
                    (
                        and_(
                            OutboundMessage.from_address == "",
                            OutboundMessage.workspace_id == workspace_id,
                        ),
                        formataddr((name, default_from))[:320],
                    )
                    for workspace_id, name in names
                ),
                else_=OutboundMessage.from_address,
            )
        # Only this call moves these rows out of "queued": a second deliver (a retry, another
        # worker) finds nothing to claim, so no message is sent twice. One statement claims
        # and reads the batch (UPDATE ... RETURNING, on SQLite and PostgreSQL alike).
        rows = session.execute(
            update(OutboundMessage)
            .where(
                OutboundMessage.id.in_(ids),
                _claimable(stale),
                OutboundMessage.channel == "email",
            )
            .values(values)
            .returning(*_CLAIMED)
            .execution_options(synchronize_session=False)
        ).all()
        claimed: list[tuple[Outgoing, Delivery]] = []
        for row in sorted(rows, key=lambda r: r.id):
            outgoing = Outgoing(
                id=row.id,
                message_id=row.message_id,
                to=row.to_address,
                from_address=row.from_address,
                subject=row.subject,
                html=row.html,
                text=row.text,
                headers=dict(row.headers or {}),
            )
            delivery = Delivery(
                row.id, row.workspace_id, row.customer_id, row.purpose, row.related_key
            )
            claimed.append((outgoing, delivery))
        return claimed


def _record(db: Database, batch: Sequence[Delivery], results: Mapping[int, Outcome]) -> None:
    """Write every outcome of a sent batch: one UPDATE per kind of outcome, hooks per kind."""
    if not batch:
        return
    now = utcnow()
    by_outcome: dict[Outcome, list[Delivery]] = {}
    for delivery in batch:
        by_outcome.setdefault(results[delivery.id], []).append(delivery)
    with db.session() as session:
        for outcome, deliveries in by_outcome.items():
            values: dict[str, Any] = {"status": outcome.status, "error": outcome.error[:2000]}
            if outcome.status in ("sent", "outbox"):
                values["sent_at"] = now
            session.execute(
                update(OutboundMessage)
                .where(OutboundMessage.id.in_([d.id for d in deliveries]))
                .values(values)
                .execution_options(synchronize_session=False)
            )
            notify(session, deliveries, outcome.status, now)


def _record_one(
    db: Database,
    deliveries: Mapping[int, Delivery],
    recorded: set[int],
    message: Outgoing,
    outcome: Outcome,
) -> None:
    _record(db, [deliveries[message.id]], {message.id: outcome})
    recorded.add(message.id)


def deliver(
    db: Database, message_ids: Sequence[int], sender: Sender, *, stale: dt.timedelta = STALE_SENDING
) -> None:
    """Send queued messages after the caller committed; a message not ``queued`` is skipped.

    Each message ends ``sent`` or ``outbox`` (with ``sent_at``) or ``failed`` (with ``error``).
    One UPDATE claims a batch (``sending``), so that two workers never take the same message.
    A crash between claim and record leaves it ``sending``; after ``stale`` it may be taken
    again and sent with the same Message-ID (the receiver's key to drop a repeat): a message
    is never lost, and sent twice only if the crash fell between the server's acceptance and
    our record of it.
    """
    ids = sorted({int(i) for i in message_ids})
    for start in range(0, len(ids), _CHUNK):
        claimed = _claim(db, ids[start : start + _CHUNK], sender.default_from, stale)
        if not claimed:
            continue
        batch = [outgoing for outgoing, _ in claimed]
        deliveries = {delivery.id: delivery for _, delivery in claimed}
        results: dict[int, Outcome] = {}
        recorded: set[int] = set()

        record_one = partial(_record_one, db, deliveries, recorded)
        # A sender that sends one message at a time (SMTP) has each outcome recorded before
        # the next message goes; one that takes a batch at once (the outbox), the batch's.
        send_each = getattr(sender, "send_each", None)
        try:
            found = send_each(batch, record_one) if send_each is not None else sender.send(batch)
            for message, outcome in zip(batch, found, strict=True):
                results[message.id] = outcome
        finally:
            for message in batch:
                results.setdefault(message.id, Outcome("failed", "the sender stopped early"))
            _record(db, [d for i, d in deliveries.items() if i not in recorded], results)


def stranded(
    session: Session,
    older_than: dt.timedelta,
    *,
    stale: dt.timedelta = STALE_SENDING,
    limit: int = 5000,
) -> list[int]:
    """Ids of messages still ``queued`` after ``older_than`` (their delivery never ran), and of
    messages left ``sending`` for longer than ``stale`` (their sender died)."""
    cutoff = utcnow() - older_than
    return list(
        session.scalars(
            select(OutboundMessage.id)
            .where(
                or_(
                    and_(OutboundMessage.status == "queued", OutboundMessage.created_at < cutoff),
                    and_(
                        OutboundMessage.status == SENDING,
                        OutboundMessage.claimed_at < utcnow() - stale,
                    ),
                ),
                OutboundMessage.channel == "email",
            )
            .order_by(OutboundMessage.id)
            .limit(limit)
        )
    )
