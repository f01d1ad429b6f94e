"""Alerts: tell the team at once about answers that need them, when invitations stop, or when
a theme spikes.

Each alert is claimed (rule × subject) in one transaction before it is sent, so it is sent once;
a webhook is posted after that commit, outside any transaction, and its outcome recorded in
another. A failed send is retried by the next check of the same subject, a few times. Webhook
bodies are signed: the header ``X-Cxloop-Signature: sha256=<hex>`` is the HMAC-SHA256 of the raw
body with the rule's secret.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

import httpx
import orjson
from babel.dates import format_date
from babel.numbers import format_percent
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from cxloop import cases, commerce, i18n, inputs, profiles, signing, surveys
from cxloop import themes as theme_domain
from cxloop.alerts.models import AlertDelivery, AlertRule
from cxloop.errors import InvalidInput
from cxloop.i18n import _
from cxloop.store.base import utcnow
from cxloop.store.db import Database, after_commit
from cxloop.surveys import Response
from cxloop.workspaces import audit, get_workspace

MAX_ATTEMPTS = 5
SENDING = "sending"
# A delivery's life: claimed (``sending``), then ``sent`` or ``failed`` (retried a few times).
DELIVERY_STATUSES = ("pending", SENDING, "sent", "failed")
# A score the survey page's script confirmed waits this long for the comment that usually follows.
ANSWER_GRACE_SECONDS = 120
KINDS = ("response", "silence", "theme_spike")
# A spike check alerts on the current week (partial) and the one before: a spike that only
# shows once a week has closed still alerts, the Monday after.
SPIKE_RECENT_WEEKS = 2
# Queues an email alert: (session, rule, subject line, lines of text, console link) -> the
# queued message's id, delivered once the transaction has committed.
EmailAlert = Callable[[Session, AlertRule, str, list[str], str], int]
Deliver = Callable[[list[int]], None]


RULE_FIELDS = ("name", "kind", "target", "address", "filters", "secret", "slack_format", "active")
TARGETS = ("email", "webhook", "case")
# When a case an alert opens is due.
CASE_DUE = dt.timedelta(days=1)
CHANNELS = surveys.CHANNELS
CATEGORIES = ("detractor", "passive", "promoter")
SCORE_FILTERS = ("min_score", "max_score")
DEFAULT_SILENCE_HOURS = 6
# A silence longer than a year is no alarm; the bound also keeps the window arithmetic finite.
MAX_SILENCE_HOURS = 24 * 366
MAX_MIN_MENTIONS = 1_000_000
_MAX_ROW_ID = 2**63 - 1


def create_rule(
    session: Session,
    workspace_id: str,
    *,
    name: str,
    kind: str,
    target: str,
    address: str,
    filters: dict[str, Any] | None = None,
    secret: str | None = None,
    slack_format: bool = False,
    active: bool = True,
    actor: str = "api",
) -> AlertRule:
    """Add an alert rule (``response``, ``silence`` or ``theme_spike``; to email or webhook)."""
    fields = _checked(
        {
            "name": name,
            "kind": kind,
            "target": target,
            "address": address,
            "filters": filters or {},
            "secret": secret,
            "slack_format": slack_format,
            "active": active,
        }
    )
    rule = AlertRule(workspace_id=workspace_id, **fields)
    session.add(rule)
    return _audited(
        session, rule, "alert_rule.create", actor, {"kind": rule.kind, "target": rule.target}
    )


def update_rule(
    session: Session, workspace_id: str, rule_id: int, *, actor: str, **changes: Any
) -> AlertRule:
    """Change a rule's fields (those given; ``secret=None`` removes the secret), checked as a
    new rule is; the audit entry names the fields changed, never a secret's value."""
    unknown = sorted(set(changes) - set(RULE_FIELDS))
    if unknown:
        raise TypeError(f"not fields of an alert rule: {unknown}")
    rule = rule_of(session, workspace_id, rule_id)
    fields = _checked({name: getattr(rule, name) for name in RULE_FIELDS} | changes)
    changed = [name for name in RULE_FIELDS if getattr(rule, name) != fields[name]]
    for name in changed:
        setattr(rule, name, fields[name])
    return _audited(session, rule, "alert_rule.update", actor, {"changed": changed})


def set_rule_active(
    session: Session, workspace_id: str, rule_id: int, active: bool, *, actor: str
) -> AlertRule:
    """Switch a rule on or off: off, it sends nothing and keeps its deliveries."""
    rule = rule_of(session, workspace_id, rule_id)
    rule.active = active
    return _audited(
        session, rule, "alert_rule.switch_on" if active else "alert_rule.switch_off", actor, {}
    )


def delete_rule(session: Session, workspace_id: str, rule_id: int, *, actor: str) -> AlertRule:
    """Delete a rule and its deliveries; returns the rule as it was."""
    rule = rule_of(session, workspace_id, rule_id)
    session.execute(delete(AlertDelivery).where(AlertDelivery.rule_id == rule.id))
    session.delete(rule)
    return _audited(
        session, rule, "alert_rule.delete", actor, {"kind": rule.kind, "target": rule.target}
    )


def _audited(
    session: Session, rule: AlertRule, action: str, actor: str, data: dict[str, Any]
) -> AlertRule:
    """``rule``, once written and its change recorded in the audit log."""
    session.flush()
    audit(
        session,
        actor=actor,
        action=action,
        workspace_id=rule.workspace_id,
        subject=rule.name,
        data={"rule_id": rule.id, **data},
    )
    return rule


def rule_of(session: Session, workspace_id: str, rule_id: int) -> AlertRule:
    """One of the workspace's rules; refused as not found (404) for any other id."""
    rule = session.get(AlertRule, rule_id) if 1 <= rule_id <= _MAX_ROW_ID else None
    if rule is None or rule.workspace_id != workspace_id:
        raise InvalidInput("id", _("No such alert rule."), status=404, code="not_found")
    return rule


def recent_deliveries(
    session: Session, workspace_id: str, per_rule: int = 3
) -> dict[int, list[AlertDelivery]]:
    """Each rule's last ``per_rule`` deliveries (sent, failed or under way), newest first."""
    rank = (
        func.row_number()
        .over(
            partition_by=AlertDelivery.rule_id,
            order_by=(AlertDelivery.created_at.desc(), AlertDelivery.id.desc()),
        )
        .label("rank")
    )
    ranked = (
        select(AlertDelivery, rank).where(AlertDelivery.workspace_id == workspace_id).subquery()
    )
    latest = aliased(AlertDelivery, ranked)
    found: dict[int, list[AlertDelivery]] = {}
    for delivery in session.scalars(
        select(latest).where(ranked.c.rank <= per_rule).order_by(ranked.c.rule_id, ranked.c.rank)
    ):
        found.setdefault(delivery.rule_id, []).append(delivery)
    return found


def _checked(fields: dict[str, Any]) -> dict[str, Any]:
    """A rule's fields as they are stored, or the refusal naming the first one at fault.

    One check for a new rule and a changed one; its messages speak the caller's language.
    """
    name = fields["name"].strip() if isinstance(fields["name"], str) else ""
    if not 1 <= len(name) <= 200:
        raise InvalidInput("name", _("Give the alert a name, up to 200 characters."))
    kind, target = fields["kind"], fields["target"]
    if kind not in KINDS:
        raise InvalidInput("kind", _("Choose what the alert watches: answers, silence or spikes."))
    if target not in TARGETS:
        raise InvalidInput("target", _("Send the alert by email, to a webhook, or open a case."))
    address = fields["address"].strip() if isinstance(fields["address"], str) else ""
    if not 3 <= len(address) <= 500:
        raise InvalidInput("address", _("An address has 3 to 500 characters."))
    if target == "webhook" and not address.startswith(("https://", "http://")):
        raise InvalidInput("address", _("A webhook address is an http(s) URL."))
    if target in ("email", "case") and "@" not in address:
        raise InvalidInput("address", _("Not an email address."))
    secret = fields["secret"]
    if secret is not None and not (isinstance(secret, str) and 16 <= len(secret) <= 128):
        raise InvalidInput("secret", _("A signing secret has 16 to 128 characters."))
    return {
        "name": name,
        "kind": kind,
        "target": target,
        "address": address,
        "filters": _checked_filters(kind, fields["filters"]),
        "secret": secret,
        "slack_format": bool(fields["slack_format"]),
        "active": bool(fields["active"]),
    }


def _checked_filters(kind: str, given: object) -> dict[str, Any]:
    """The filters a rule of ``kind`` keeps: scores 0-10 (lowest not above highest), a known
    channel and category, hours of silence above 0, themes as keys, mentions 1 or more."""
    if not isinstance(given, dict):
        raise InvalidInput("filters", _("Filters are named values."))
    filters = dict(inputs.json_value(given, "filters"))
    for key in SCORE_FILTERS:
        value = filters.get(key)
        if value is None:
            filters.pop(key, None)
        elif isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10:
            raise InvalidInput(f"filters.{key}", _("A score is a whole number from 0 to 10."))
    if filters.get("min_score", 0) > filters.get("max_score", 10):
        raise InvalidInput("filters.min_score", _("The lowest score is above the highest."))
    for key, known, message in (
        ("channel", CHANNELS, _("Not a channel surveys ask through.")),
        ("category", CATEGORIES, _("Not an NPS category.")),
    ):
        if filters.get(key) in (None, ""):
            filters.pop(key, None)
        elif filters[key] not in known:
            raise InvalidInput(f"filters.{key}", message)
    survey_id = filters.get("survey_id")
    if survey_id is None:
        filters.pop("survey_id", None)
    elif isinstance(survey_id, bool) or not isinstance(survey_id, int) or survey_id < 1:
        raise InvalidInput("filters.survey_id", _("Not a survey's id."))
    themes = filters.get("themes")
    if themes is not None and not (
        isinstance(themes, list) and all(isinstance(t, str) and 0 < len(t) <= 100 for t in themes)
    ):
        raise InvalidInput("filters.themes", _("Themes are a list of theme keys."))
    if not themes:
        filters.pop("themes", None)
    if kind == "silence":
        filters.setdefault("silence_hours", DEFAULT_SILENCE_HOURS)
    hours = filters.get("silence_hours")
    if hours is not None and (
        isinstance(hours, bool)
        or not isinstance(hours, int | float)
        or not 0 < hours <= MAX_SILENCE_HOURS
    ):
        raise InvalidInput(
            "filters.silence_hours", _("Hours of silence: more than 0, at most a year's.")
        )
    if kind == "theme_spike":
        least = filters.setdefault("min_mentions", theme_domain.SPIKE_MIN_MENTIONS)
        if (
            isinstance(least, bool)
            or not isinstance(least, int)
            or not 1 <= least <= MAX_MIN_MENTIONS
        ):
            raise InvalidInput(
                "filters.min_mentions", _("The fewest mentions is a whole number, 1 or more.")
            )
    return filters


# Told the id of an answer once it is settled (the moment its alerts go: at once for the
# person's last word, after ``ANSWER_GRACE_SECONDS`` otherwise), outside any transaction: the
# journeys listening to NPS answers hear it. Connected by ``cxloop.wiring``.
SettledHook = Callable[[int], object]
_settled_hooks: list[SettledHook] = []


def on_settled_answer(hook: SettledHook) -> SettledHook:
    """Register ``hook(response_id)`` once, at start-up (``cxloop.wiring``)."""
    if hook not in _settled_hooks:
        _settled_hooks.append(hook)
    return hook


def answer_settled(response_id: int) -> None:
    """Tell every registered hook that this answer is settled."""
    for hook in _settled_hooks:
        hook(response_id)


def alert_after_commit(session: Session, response_id: int, final: bool) -> None:
    """Once ``session`` commits, have a worker send a confirmed answer's alerts: at once for the
    person's last word (``final``: the submitted form), after ``ANSWER_GRACE_SECONDS`` otherwise.
    Either way each alert is sent once."""
    after_commit(session, partial(_queue_answer_alerts, response_id, final))


def _queue_answer_alerts(response_id: int, final: bool) -> None:
    from cxloop.alerts.tasks import nps_answer  # here: the tasks module imports this one

    if final:
        nps_answer(response_id)
    else:
        nps_answer.schedule(args=(response_id,), delay=ANSWER_GRACE_SECONDS)


def rules_of(session: Session, workspace_id: str) -> list[AlertRule]:
    """A workspace's alert rules, oldest first."""
    return list(
        session.scalars(
            select(AlertRule).where(AlertRule.workspace_id == workspace_id).order_by(AlertRule.id)
        )
    )


def matches(rule: AlertRule, response: Response) -> bool:
    """Whether a new answer is one this rule watches for."""
    filters = rule.filters or {}
    if "max_score" in filters and response.score > int(filters["max_score"]):
        return False
    if "min_score" in filters and response.score < int(filters["min_score"]):
        return False
    if filters.get("channel") and response.channel != filters["channel"]:
        return False
    if filters.get("survey_id") and response.survey_id != int(filters["survey_id"]):
        return False
    # Routing by reason: e.g. detractors who blame the delivery cost, to a free-shipping flow.
    wanted = filters.get("themes")
    if wanted and not set(wanted) & set(response.themes or []):
        return False
    return not (filters.get("category") and response.category != filters["category"])


def _response_document(session: Session, response: Response, base_url: str) -> dict[str, Any]:
    ws = response.workspace_id
    customer = (
        profiles.get_customer(session, ws, response.customer_id) if response.customer_id else None
    )
    survey = surveys.survey_by_id(session, ws, response.survey_id) if response.survey_id else None
    invitation = (
        surveys.invitation_by_id(session, ws, response.invitation_id)
        if response.invitation_id
        else None
    )
    order = (
        commerce.get_order(session, ws, invitation.order_id)
        if invitation and invitation.order_id
        else None
    )
    link = (
        f"{base_url}/w/{response.workspace_id}/customers/{customer.id}"
        if customer
        else f"{base_url}/w/{response.workspace_id}/"
    )
    return {
        "type": "nps.response",
        "workspace_id": response.workspace_id,
        "response": {
            "id": response.id,
            "score": response.score,
            "category": response.category,
            "comment": response.comment,
            "themes": list(response.themes or []),
            "sentiment": response.sentiment,
            "channel": response.channel,
            "touchpoint": response.touchpoint,
            "locale": response.locale,
            "survey": survey.key if survey else None,
            "at": (response.confirmed_at or response.created_at).isoformat(),
        },
        "customer": {
            "user_id": customer.user_id if customer else None,
            "email": customer.email if customer else None,
            "name": " ".join(p for p in (customer.first_name, customer.last_name) if p)
            if customer
            else "",
        },
        "order": order.external_id if order else None,
        "link": link,
    }


def _response_message(
    session: Session, response: Response, base_url: str
) -> tuple[dict[str, Any], str, list[str]]:
    """The signed document (with a one-line ``text``), the email subject and its lines."""
    document = _response_document(session, response, base_url)
    customer = document["customer"]
    with _speaking(session, response.workspace_id) as lang:
        values: dict[str, Any] = {
            "score": response.score,
            "category": {
                "detractor": _("detractor"),
                "passive": _("passive"),
                "promoter": _("promoter"),
            }.get(response.category, response.category),
            "who": customer["name"] or customer["email"] or customer["user_id"] or "?",
            "order": document["order"],
            "comment": response.comment or "—",
            "themes": ", ".join(
                _theme_name(session, response.workspace_id, key, lang)
                for key in response.themes or []
            ),
        }
        text = _("NPS %(score)d/10 (%(category)s) from %(who)s") % values
        if document["order"]:
            text += _(", order %(order)s") % values
        if response.comment:
            text += f":\n> {response.comment[:500]}"
        subject = _("NPS %(score)d/10 from %(who)s") % values
        lines = [
            _("Score: %(score)d/10 (%(category)s)") % values,
            _("Comment: %(comment)s") % values,
        ]
        if values["themes"]:
            lines.append(_("Themes: %(themes)s") % values)
        document["text"] = text
        document["open_label"] = _("Open in cxloop")
    return document, subject, lines


def _claim(session: Session, rule: AlertRule, subject_key: str) -> AlertDelivery | None:
    """The rule's alert about ``subject_key``, claimed for this run (``sending``, one more
    attempt); None when it was sent, is being sent, or failed too often."""
    existing = session.scalar(
        select(AlertDelivery).where(
            AlertDelivery.rule_id == rule.id, AlertDelivery.subject_key == subject_key
        )
    )
    if existing is not None:
        if existing.status != "failed" or existing.attempts >= MAX_ATTEMPTS:
            return None
        # One statement takes it out of "failed": a concurrent run finds nothing to claim.
        claimed: Any = session.execute(
            update(AlertDelivery)
            .where(AlertDelivery.id == existing.id, AlertDelivery.status == "failed")
            .values(status=SENDING, attempts=AlertDelivery.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:
            return None
        session.refresh(existing)
        return existing
    delivery = AlertDelivery(
        workspace_id=rule.workspace_id,
        rule_id=rule.id,
        subject_key=subject_key,
        status=SENDING,
        attempts=1,
    )
    try:
        with session.begin_nested():
            session.add(delivery)
    except IntegrityError:
        return None  # another worker claimed it first
    return delivery


@dataclass(frozen=True)
class _Webhook:
    """A claimed webhook alert, copied out of the session to be posted once it has committed."""

    delivery_id: int
    address: str
    secret: str | None
    slack_format: bool
    document: dict[str, Any]


def _post(client: httpx.Client, webhook: _Webhook) -> None:
    document = webhook.document
    # The link's words, in the team's language, go to Slack only: not a field of the document.
    label = document.get("open_label") or "Open in cxloop"
    if webhook.slack_format:
        body = orjson.dumps({"text": f"{document['text']}\n<{document['link']}|{label}>"})
    else:
        body = orjson.dumps({k: v for k, v in document.items() if k != "open_label"})
    headers = {"Content-Type": "application/json", "User-Agent": "cxloop-alerts"}
    if webhook.secret:
        headers[signing.HEADER] = signing.header_value(webhook.secret, body)
    answer = client.post(webhook.address, content=body, headers=headers, timeout=10)
    answer.raise_for_status()


def _record(delivery: AlertDelivery, error: str | None) -> None:
    """The outcome of one attempt: sent (``error`` None) or failed."""
    if error is None:
        delivery.status, delivery.sent_at, delivery.last_error = "sent", utcnow(), ""
    else:
        delivery.status, delivery.last_error = "failed", error


class _Run:
    """One pass of alert checks in one transaction, and what follows its commit.

    Each alert is claimed in the checking transaction, and an email alert queued in the outbox
    there. Once it has committed, the webhooks are posted (outside any transaction: a slow
    endpoint holds no lock), their outcomes recorded in a transaction of their own, and the
    emails delivered. A crash between claim and record leaves an alert ``sending``: never sent
    twice.
    """

    def __init__(
        self,
        db: Database,
        client: httpx.Client | None,
        email: EmailAlert | None,
        deliver: Deliver | None,
    ) -> None:
        self.db = db
        self.own = client is None
        self.client = client or httpx.Client()
        self.email, self.deliver = email, deliver
        self.webhooks: list[_Webhook] = []
        self.mails: list[int] = []
        self.sent = 0
        self._armed = False

    def __enter__(self) -> _Run:
        return self

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        if self.own:
            self.client.close()

    def send(
        self,
        session: Session,
        rule: AlertRule,
        delivery: AlertDelivery,
        document: dict[str, Any],
        subject: str,
        lines: list[str],
        customer_id: int | None = None,
    ) -> None:
        """Send one claimed alert to its rule's target: an email now, a case now (about
        ``customer_id``), a webhook after commit."""
        if not self._armed:
            after_commit(session, self._after_commit)
            self._armed = True
        if rule.target == "webhook":
            self.webhooks.append(
                _Webhook(delivery.id, rule.address, rule.secret, rule.slack_format, document)
            )
            return
        if rule.target == "case":
            # A case for the rule's owner, once per alert (the delivery's key).
            cases.open_case(
                session,
                rule.workspace_id,
                title=subject,
                customer_id=customer_id,
                actor=f"alert:{rule.id}",
                owner=rule.address,
                due_at=utcnow() + CASE_DUE,
                source="alert",
                source_ref=f"alert:{rule.id}",
                key=f"alert:{delivery.id}",
                note="\n".join(lines),
            )
            _record(delivery, None)
            self.sent += 1
            return
        try:
            if self.email is None:
                raise RuntimeError("no email channel configured")
            self.mails.append(
                self.email(session, rule, subject, lines, str(document.get("link", "")))
            )
        except (RuntimeError, OSError) as exc:
            _record(delivery, repr(exc)[:1000])
            return
        _record(delivery, None)
        self.sent += 1

    def _after_commit(self) -> None:
        errors = [self._post(webhook) for webhook in self.webhooks]
        if self.webhooks:
            with self.db.session() as session:
                for webhook, error in zip(self.webhooks, errors, strict=True):
                    delivery = session.get(AlertDelivery, webhook.delivery_id)
                    if delivery is not None:  # else its rule was deleted meanwhile
                        _record(delivery, error)
        self.sent += errors.count(None)
        if self.mails and self.deliver is not None:
            self.deliver(self.mails)

    def _post(self, webhook: _Webhook) -> str | None:
        """Post one webhook; None once received, else what went wrong."""
        try:
            _post(self.client, webhook)
        except (httpx.HTTPError, RuntimeError, OSError) as exc:
            return repr(exc)[:1000]
        return None


@contextmanager
def _speaking(session: Session, workspace_id: str) -> Iterator[str]:
    """Write the alert in the workspace's language (its team reads it)."""
    workspace = get_workspace(session, workspace_id)
    with i18n.speaking(workspace.locale if workspace else None) as lang:
        yield lang


def _theme_name(session: Session, workspace_id: str, key: str, lang: str) -> str:
    try:
        return theme_domain.taxonomy_of(session, workspace_id).theme(key).label(lang)
    except KeyError:
        return key


def alert_on_response(
    db: Database,
    response_id: int,
    *,
    base_url: str,
    client: httpx.Client | None = None,
    email: EmailAlert | None = None,
    deliver: Deliver | None = None,
) -> int:
    """Send the alerts a confirmed answer calls for; returns how many were sent."""
    with _Run(db, client, email, deliver) as run, db.session() as session:
        response = surveys.answer_by_id(session, response_id)
        if response is None or response.status != "confirmed":
            return 0
        rules = session.scalars(
            select(AlertRule).where(
                AlertRule.workspace_id == response.workspace_id,
                AlertRule.kind == "response",
                AlertRule.active.is_(True),
            )
        ).all()
        document, subject, lines = _response_message(session, response, base_url)
        for rule in rules:
            if not matches(rule, response):
                continue
            delivery = _claim(session, rule, f"response:{response.id}")
            if delivery is not None:
                run.send(session, rule, delivery, document, subject, lines, response.customer_id)
    return run.sent


def check_silence(
    db: Database,
    now: dt.datetime | None = None,
    *,
    base_url: str,
    client: httpx.Client | None = None,
    email: EmailAlert | None = None,
    deliver: Deliver | None = None,
) -> int:
    """Alert when orders came in for N hours but no invitation went out (a broken hook)."""
    now = now or utcnow()
    with _Run(db, client, email, deliver) as run, db.session() as session:
        for rule in session.scalars(
            select(AlertRule).where(AlertRule.kind == "silence", AlertRule.active.is_(True))
        ).all():
            hours = float((rule.filters or {}).get("silence_hours", 6))
            since = now - dt.timedelta(hours=hours)
            orders = commerce.orders_placed_since(session, rule.workspace_id, since)
            invited = surveys.invitations_sent_since(session, rule.workspace_id, since)
            if orders == 0 or invited > 0:
                continue
            # One alert per silent window, not one per check.
            window = int(now.timestamp() // max(hours * 3600, 1))
            delivery = _claim(session, rule, f"silence:{window}")
            if delivery is None:
                continue
            workspace = get_workspace(session, rule.workspace_id)
            with _speaking(session, rule.workspace_id):
                values = {
                    "store": workspace.name if workspace else "",
                    "orders": int(orders),
                    "hours": f"{hours:g}",
                }
                text = (
                    _(
                        "%(store)s: %(orders)d orders in the last %(hours)s h and no NPS "
                        "invitation sent. Check the store hooks."
                    )
                    % values
                )
                subject = _("cxloop: no NPS invitation sent")
                label = _("Open in cxloop")
            document = {
                "type": "nps.silence",
                "workspace_id": rule.workspace_id,
                "hours": hours,
                "orders": int(orders),
                "invitations": 0,
                "link": f"{base_url}/w/{rule.workspace_id}/",
                "text": text,
                "open_label": label,
            }
            run.send(session, rule, delivery, document, subject, [text])
    return run.sent


def _spike_message(
    session: Session, rule: AlertRule, spike: theme_domain.Spike, base_url: str
) -> tuple[dict[str, Any], str, list[str]]:
    """The signed document, the email subject and lines, in the workspace's language."""
    workspace = get_workspace(session, rule.workspace_id)
    with _speaking(session, rule.workspace_id) as lang:
        values = {
            "theme": _theme_name(session, rule.workspace_id, spike.theme, lang),
            "week": format_date(spike.period_start, format="long", locale=lang),
            "share": format_percent(spike.share, "#,##0.0%", locale=lang),
            "baseline": format_percent(spike.baseline_share, "#,##0.0%", locale=lang),
            "mentions": spike.mentions,
            "responses": spike.responses,
            "weeks": spike.baseline_periods,
        }
        subject = _("Spike in the theme “%(theme)s”") % values
        text = (
            _(
                "The theme “%(theme)s” is in %(share)s of the answers of the week of %(week)s "
                "(%(mentions)d of %(responses)d), against %(baseline)s over the %(weeks)d weeks "
                "before."
            )
            % values
        )
        hint = _("Read the comments of that week in the console to see what changed.")
        label = _("Open in cxloop")
    document = {
        "type": "nps.theme_spike",
        "kind": "theme_spike",
        "workspace": rule.workspace_id,
        # as in every other alert document, to route them all on one field
        "workspace_id": rule.workspace_id,
        "workspace_name": workspace.name if workspace else "",
        "theme": spike.theme,
        "week": spike.period_start.isoformat(),
        "share": spike.share,
        "baseline_share": spike.baseline_share,
        "mentions": spike.mentions,
        "responses": spike.responses,
        "baseline_weeks": spike.baseline_periods,
        "baseline_mentions": spike.baseline_mentions,
        "baseline_responses": spike.baseline_responses,
        "z": spike.z,
        "p_value": spike.p_value,
        "link": f"{base_url}/w/{rule.workspace_id}/nps?granularity=week",
        "text": text,
        "open_label": label,
    }
    return document, subject, [text, hint]


def check_theme_spikes(
    db: Database,
    now: dt.datetime | None = None,
    *,
    base_url: str,
    client: httpx.Client | None = None,
    email: EmailAlert | None = None,
    deliver: Deliver | None = None,
) -> int:
    """Alert when a theme's share of a week's answers spikes (``themes.spikes``), once each."""
    now = now or utcnow()
    with _Run(db, client, email, deliver) as run, db.session() as session:
        trends: dict[tuple[str, int | None, str | None], theme_domain.ThemeTrend] = {}
        for rule in session.scalars(
            select(AlertRule)
            .where(AlertRule.kind == "theme_spike", AlertRule.active.is_(True))
            .order_by(AlertRule.id)
        ).all():
            filters = rule.filters or {}
            survey_id = int(filters["survey_id"]) if filters.get("survey_id") else None
            channel = str(filters["channel"]) if filters.get("channel") else None
            key = (rule.workspace_id, survey_id, channel)
            if key not in trends:  # one trend per workspace and slice, whatever the rules
                trends[key] = theme_domain.trend_for(
                    session,
                    rule.workspace_id,
                    weeks=theme_domain.BASELINE_PERIODS + SPIKE_RECENT_WEEKS,
                    until=now,
                    survey_id=survey_id,
                    channel=channel,
                )
            trend = trends[key]
            recent = set(trend.periods[-SPIKE_RECENT_WEEKS:])
            found = theme_domain.spikes(
                trend,
                themes=filters.get("themes") or None,
                min_mentions=int(filters.get("min_mentions", theme_domain.SPIKE_MIN_MENTIONS)),
            )
            for spike in found:
                if spike.period_start not in recent:
                    continue
                # One alert per theme and week, however often the check runs.
                week = spike.period_start.isoformat()
                delivery = _claim(session, rule, f"spike:{spike.theme[:80]}:{week}")
                if delivery is None:
                    continue
                document, subject, lines = _spike_message(session, rule, spike, base_url)
                run.send(session, rule, delivery, document, subject, lines)
    return run.sent
