"""The NPS program: surveys, who is asked and when (with a reason for every decision), and the
answers.

Planning and sending are separate steps. Planning turns what happened (an order placed, a parcel
delivered) into one invitation per survey and subject, scheduled or suppressed, and records why.
Sending takes the invitations that are due, checks again what may have changed since (a
cancellation, a late parcel, a withdrawn consent, another survey sent meanwhile), and sends them.
Both are idempotent: an invitation is unique per survey and subject.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pyarrow as pa
from sqlalchemy import and_, exists, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql import Subquery

from cxloop import commerce, profiles
from cxloop.errors import InvalidInput
from cxloop.profiles import Customer
from cxloop.store.arrow import TIMESTAMP, Field, arrow_table
from cxloop.store.base import utcnow
from cxloop.surveys import stats
from cxloop.surveys.definitions import SurveyDefinition, parse_definition
from cxloop.surveys.models import Invitation, Response, Survey, SurveyDecision
from cxloop.surveys.schemas import AnswerTags
from cxloop.workspaces import Workspace, audit, get_workspace


class SurveyClosed(Exception):  # noqa: N818
    """The invitation expired, or its answer can no longer be changed."""


def category_of(score: int) -> str:
    """Detractor (0–6), passive (7–8) or promoter (9–10)."""
    return stats.category_of(score)


# ---------------------------------------------------------------- surveys


def save_survey(
    session: Session, workspace_id: str, definition: SurveyDefinition, *, actor: str
) -> Survey:
    """Create or replace the survey with this key."""
    survey = session.scalar(
        select(Survey).where(Survey.workspace_id == workspace_id, Survey.key == definition.key)
    )
    if survey is None:
        survey = Survey(workspace_id=workspace_id, key=definition.key)
        session.add(survey)
    survey.name = definition.name
    survey.active = definition.active
    survey.trigger = definition.trigger
    survey.touchpoint = definition.touchpoint
    survey.delay_minutes = round(definition.delay_hours * 60)
    survey.definition = definition.model_dump(mode="json")
    survey.updated_at = utcnow()
    session.flush()
    audit(
        session,
        actor=actor,
        action="survey.save",
        workspace_id=workspace_id,
        subject=definition.key,
        data={"active": definition.active},
    )
    return survey


_definitions: dict[tuple[str, int, dt.datetime], SurveyDefinition] = {}


def definition_of(survey: Survey) -> SurveyDefinition:
    """The survey's stored definition (parsed once per version)."""
    key = (survey.workspace_id, survey.id, survey.updated_at)
    cached = _definitions.get(key)
    if cached is None:
        if len(_definitions) > 1000:
            _definitions.clear()
        cached = _definitions[key] = parse_definition(survey.definition)
    return cached


def surveys_of(session: Session, workspace_id: str) -> list[Survey]:
    """A workspace's surveys, by name."""
    return list(
        session.scalars(
            select(Survey).where(Survey.workspace_id == workspace_id).order_by(Survey.name)
        )
    )


def get_survey(session: Session, workspace_id: str, key: str) -> Survey | None:
    """The survey with this key, if any."""
    return session.scalar(
        select(Survey).where(Survey.workspace_id == workspace_id, Survey.key == key)
    )


# ---------------------------------------------------------------- planning


@dataclass(frozen=True)
class Subject:
    """Something that happened and may deserve a question."""

    key: str
    customer_id: int
    order_id: int
    shipment_id: int | None
    at: dt.datetime


@dataclass
class PlanReport:
    """What a planning pass decided."""

    scheduled: int = 0
    suppressed: dict[str, int] = field(default_factory=dict)


def _subjects(
    session: Session, survey: Survey, definition: SurveyDefinition, now: dt.datetime
) -> list[Subject]:
    since = max(survey.created_at, now - dt.timedelta(days=definition.lookback_days))
    planned = Invitation.__table__.c
    key, query = commerce.touchpoint_query(
        survey.workspace_id, definition.trigger, since=since, until=now
    )
    query = query.where(
        ~exists().where(
            planned.workspace_id == survey.workspace_id,
            planned.survey_id == survey.id,
            planned.subject_key == key,
        ),
    )
    return [
        Subject(key, customer_id, order_id, shipment_id, at)
        for key, customer_id, order_id, shipment_id, at in session.execute(query)
        if customer_id is not None and at is not None
    ]


def _zone(name: str | None, fallback: str) -> ZoneInfo:
    for candidate in (name, fallback, "UTC"):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def within_send_hours(moment: dt.datetime, zone: ZoneInfo, hours: tuple[int, int]) -> dt.datetime:
    """``moment``, or the next time the customer's clock shows an allowed sending hour."""
    local = moment.astimezone(zone)
    start, end = hours
    if start <= local.hour < end:
        return moment
    day = local.date() if local.hour < start else local.date() + dt.timedelta(days=1)
    opening = dt.datetime.combine(day, dt.time(start), tzinfo=zone)
    return opening.astimezone(dt.UTC)


def _sampled_in(subject_key: str, survey_key: str, rate: float) -> bool:
    # Deterministic: the same subject is in or out of the sample every time it is considered.
    digest = hashlib.sha256(f"{survey_key}|{subject_key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < rate


def _contactable(customer: Customer, channel: str) -> bool:
    consent = (customer.consent or {}).get(channel)
    return not (isinstance(consent, dict) and consent.get("status") in ("denied", "bounced"))


def _channel_for(customer: Customer, definition: SurveyDefinition) -> tuple[str | None, str]:
    reason = "no_channel"
    for channel in definition.channels:
        if channel == "email":
            if not customer.email:
                reason = "no_email_address"
                continue
            if not _contactable(customer, "email"):
                reason = "no_consent"
                continue
            return "email", "eligible"
        return channel, "eligible"
    return None, reason


def _chunks(values: list[int], size: int = 500) -> list[list[int]]:
    return [values[i : i + size] for i in range(0, len(values), size)]


@dataclass(frozen=True)
class _Sent:
    survey_id: int
    status: str
    sent_at: dt.datetime | None


def _history(
    session: Session, customer_ids: list[int], since: dt.datetime, exclude: set[int]
) -> dict[int, list[_Sent]]:
    """Each customer's invitations sent since ``since`` or still waiting."""
    history: dict[int, list[_Sent]] = {}
    for chunk in _chunks(sorted(set(customer_ids))):
        for iid, cid, survey_id, status, sent_at in session.execute(
            select(
                Invitation.id,
                Invitation.customer_id,
                Invitation.survey_id,
                Invitation.status,
                Invitation.sent_at,
            ).where(
                Invitation.customer_id.in_(chunk),
                or_(
                    Invitation.status == "scheduled",
                    and_(Invitation.status == "sent", Invitation.sent_at >= since),
                ),
            )
        ):
            if iid not in exclude and cid is not None:
                history.setdefault(cid, []).append(_Sent(survey_id, status, sent_at))
    return history


def _asked_reason(
    past: list[_Sent],
    survey: Survey,
    definition: SurveyDefinition,
    now: dt.datetime,
    *,
    count_waiting: bool,
) -> tuple[str, str] | None:
    global_days = definition.limits.global_cooldown_days
    if global_days:
        for other in past:
            if other.status == "scheduled" and count_waiting:
                return "throttled", (
                    f"already asked within {global_days} days (another is scheduled)"
                )
            if (
                other.status == "sent"
                and other.sent_at is not None
                and other.sent_at >= now - dt.timedelta(days=global_days)
            ):
                return "throttled", (
                    f"already asked within {global_days} days (sent on {other.sent_at:%Y-%m-%d})"
                )
    survey_days = definition.limits.survey_cooldown_days
    if survey_days:
        for other in past:
            if (
                other.survey_id == survey.id
                and other.status == "sent"
                and other.sent_at is not None
                and other.sent_at >= now - dt.timedelta(days=survey_days)
            ):
                return "survey_limit", f"this survey already asked within {survey_days} days"
    return None


def _cooldown_start(definition: SurveyDefinition, now: dt.datetime) -> dt.datetime:
    days = max(definition.limits.global_cooldown_days, definition.limits.survey_cooldown_days)
    return now - dt.timedelta(days=days)


def new_token() -> str:
    """An unguessable invitation token."""
    return secrets.token_urlsafe(24)


def _insert_ignoring_duplicates(session: Session, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Insert invitation rows; a subject another planner already took is skipped."""
    table = Invitation.metadata.tables["invitations"]
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    taken: dict[str, int] = {}
    for start in range(0, len(rows), 500):
        statement = (
            dialect.insert(table)
            .on_conflict_do_nothing(index_elements=["workspace_id", "survey_id", "subject_key"])
            .returning(table.c.id, table.c.subject_key)
        )
        for iid, key in session.execute(statement, rows[start : start + 500]):
            taken[key] = iid
    return taken


def plan(session: Session, workspace_id: str, now: dt.datetime | None = None) -> PlanReport:
    """Turn new orders and deliveries into invitations, scheduled or suppressed with a reason."""
    now = now or utcnow()
    report = PlanReport()
    workspace = get_workspace(session, workspace_id)
    if workspace is None:
        return report
    for survey in session.scalars(
        select(Survey)
        .where(Survey.workspace_id == workspace_id, Survey.active.is_(True))
        .order_by(Survey.id)
    ).all():
        definition = definition_of(survey)
        subjects = _subjects(session, survey, definition, now)
        if not subjects:
            continue
        customer_ids = sorted({s.customer_id for s in subjects})
        customers = profiles.customers_by_id(session, customer_ids)
        problems = commerce.order_problems(session, [s.order_id for s in subjects], now)
        history = _history(session, customer_ids, _cooldown_start(definition, now), set())
        rows: list[dict[str, Any]] = []
        reasons: dict[str, tuple[str, str, str]] = {}
        for subject in subjects:
            customer = customers.get(subject.customer_id)
            if customer is None:
                continue
            status, reason, detail, channel = _decide(
                survey,
                definition,
                subject,
                customer,
                problems.get(subject.order_id),
                history.get(customer.id, []),
                now,
            )
            if status == "scheduled":
                # A second subject of the same customer in this pass waits its turn.
                history.setdefault(customer.id, []).append(_Sent(survey.id, "scheduled", None))
            due = within_send_hours(
                subject.at + dt.timedelta(minutes=survey.delay_minutes),
                _zone(customer.timezone, workspace.timezone),
                definition.send_hours,
            )
            due = max(due, now) if status == "scheduled" else due
            rows.append(
                {
                    "workspace_id": workspace_id,
                    "survey_id": survey.id,
                    "customer_id": customer.id,
                    "subject_key": subject.key,
                    "order_id": subject.order_id,
                    "shipment_id": subject.shipment_id,
                    "touchpoint": definition.touchpoint,
                    "channel": channel or definition.channels[0],
                    "locale": _locale(customer, workspace),
                    "status": status,
                    "token": new_token(),
                    "scheduled_at": due,
                    "expires_at": due + dt.timedelta(days=definition.expires_after_days),
                    "created_at": now,
                }
            )
            reasons[subject.key] = (status, reason, detail)
        taken = _insert_ignoring_duplicates(session, rows)
        decisions = []
        for row in rows:
            iid = taken.get(row["subject_key"])
            if iid is None:
                continue  # another planner got there first
            status, reason, detail = reasons[row["subject_key"]]
            decisions.append(
                {
                    "workspace_id": workspace_id,
                    "survey_id": survey.id,
                    "customer_id": row["customer_id"],
                    "invitation_id": iid,
                    "subject_key": row["subject_key"],
                    "decision": status,
                    "reason": reason,
                    "detail": detail,
                    "at": now,
                }
            )
            if status == "scheduled":
                report.scheduled += 1
            else:
                report.suppressed[reason] = report.suppressed.get(reason, 0) + 1
        if decisions:
            session.execute(insert(SurveyDecision.metadata.tables["survey_decisions"]), decisions)
    return report


def _locale(customer: Customer, workspace: Workspace) -> str:
    locale = (customer.locale or workspace.locale or "fr")[:2].lower()
    return locale if locale in ("fr", "en") else "en"


def _decide(
    survey: Survey,
    definition: SurveyDefinition,
    subject: Subject,
    customer: Customer,
    problem: tuple[str, str] | None,
    past: list[_Sent],
    now: dt.datetime,
) -> tuple[str, str, str, str | None]:
    if problem is not None and problem[0] != "shipment_late":
        return "suppressed", problem[0], problem[1], None
    if not _sampled_in(subject.key, survey.key, definition.sample_rate):
        return "suppressed", "sampled_out", f"outside the {definition.sample_rate:.0%} sample", None
    channel, why = _channel_for(customer, definition)
    if channel is None:
        detail = {
            "no_consent": "the customer withdrew consent for email",
            "no_email_address": "no email address known",
        }.get(why, why)
        return "suppressed", why, detail, None
    asked = _asked_reason(past, survey, definition, now, count_waiting=True)
    if asked is not None:
        return "suppressed", asked[0], asked[1], channel
    return "scheduled", "eligible", "", channel


# ---------------------------------------------------------------- sending


def claim(
    session: Session, now: dt.datetime, *, invitation_id: int | None = None, limit: int = 500
) -> list[int]:
    """Take due invitations for sending (status ``sending``), so no other worker sends them too.

    Run it first in its own transaction: a single UPDATE that only takes invitations still
    ``scheduled`` is atomic on SQLite and PostgreSQL alike.
    """
    due = select(Invitation.id).where(
        Invitation.status == "scheduled", Invitation.scheduled_at <= now
    )
    if invitation_id is not None:
        due = due.where(Invitation.id == invitation_id)
    due = due.order_by(Invitation.scheduled_at, Invitation.id).limit(limit)
    taken = session.execute(
        update(Invitation)
        .where(Invitation.id.in_(due.scalar_subquery()), Invitation.status == "scheduled")
        .values(status="sending")
        .returning(Invitation.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(taken.scalars())


def due_invitations(session: Session, now: dt.datetime, limit: int = 500) -> list[Invitation]:
    """Scheduled invitations whose time has come, oldest first."""
    query = (
        select(Invitation)
        .where(Invitation.status == "scheduled", Invitation.scheduled_at <= now)
        .order_by(Invitation.scheduled_at, Invitation.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query))


def recheck_many(
    session: Session, invitations: list[Invitation], now: dt.datetime
) -> dict[int, tuple[str, str]]:
    """For each invitation about to be sent, a reason not to after all (what changed since
    planning: a cancellation, a late parcel, withdrawn consent, another survey sent meanwhile)."""
    reasons: dict[int, tuple[str, str]] = {}
    problems = commerce.order_problems(
        session, [i.order_id for i in invitations if i.order_id], now
    )
    customer_ids = sorted({i.customer_id for i in invitations if i.customer_id})
    customers = profiles.customers_by_id(session, customer_ids)
    surveys = {i.survey_id: session.get(Survey, i.survey_id) for i in invitations}
    starts = [_cooldown_start(definition_of(s), now) for s in surveys.values() if s]
    history = _history(session, customer_ids, min(starts, default=now), {i.id for i in invitations})
    for invitation in invitations:
        if invitation.order_id is not None and invitation.order_id in problems:
            reasons[invitation.id] = problems[invitation.order_id]
            continue
        customer = customers.get(invitation.customer_id or -1)
        if customer is None:
            reasons[invitation.id] = ("customer_missing", "the customer is gone")
            continue
        if invitation.channel == "email" and not _contactable(customer, "email"):
            reasons[invitation.id] = ("no_consent", "the customer withdrew consent for email")
            continue
        survey = surveys.get(invitation.survey_id)
        if survey is None or not survey.active:
            reasons[invitation.id] = ("survey_inactive", "the survey was switched off")
            continue
        asked = _asked_reason(
            history.get(customer.id, []), survey, definition_of(survey), now, count_waiting=False
        )
        if asked is not None:
            reasons[invitation.id] = asked
    return reasons


def recheck(session: Session, invitation: Invitation, now: dt.datetime) -> tuple[str, str] | None:
    """A reason not to send this invitation after all, or None."""
    return recheck_many(session, [invitation], now).get(invitation.id)


def suppress(
    session: Session, invitation: Invitation, reason: str, detail: str, now: dt.datetime
) -> None:
    """Give up an invitation, recording why."""
    invitation.status = "suppressed"
    session.add(
        SurveyDecision(
            workspace_id=invitation.workspace_id,
            survey_id=invitation.survey_id,
            customer_id=invitation.customer_id,
            invitation_id=invitation.id,
            subject_key=invitation.subject_key,
            decision="suppressed",
            reason=reason,
            detail=detail,
            at=now,
        )
    )


def mark_sent(
    session: Session,
    invitation: Invitation,
    now: dt.datetime,
    pending: list[dict[str, Any]] | None = None,
) -> None:
    """Record that an invitation went out (and when its reminder is due).

    With ``pending``, the decision row is appended there for the caller to write with
    ``record_decisions`` (one INSERT for a batch) instead of being added to the session.
    """
    invitation.status = "sent"
    invitation.sent_at = now
    survey = session.get(Survey, invitation.survey_id)
    if survey is not None:
        days = definition_of(survey).reminder_after_days
        if days:
            invitation.reminder_at = now + dt.timedelta(days=days)
    decision = {
        "workspace_id": invitation.workspace_id,
        "survey_id": invitation.survey_id,
        "customer_id": invitation.customer_id,
        "invitation_id": invitation.id,
        "subject_key": invitation.subject_key,
        "decision": "sent",
        "reason": "eligible",
        "detail": invitation.channel,
        "at": now,
    }
    if pending is None:
        session.add(SurveyDecision(**decision))
    else:
        pending.append(decision)


def record_decisions(session: Session, decisions: Sequence[dict[str, Any]]) -> None:
    """Write decision rows gathered by ``mark_sent(..., pending=...)`` in one statement."""
    if decisions:
        session.execute(insert(SurveyDecision.metadata.tables["survey_decisions"]), list(decisions))


def decisions_for(session: Session, workspace_id: str, customer_id: int) -> list[SurveyDecision]:
    """Every survey decision about a customer, newest first: "why wasn't she surveyed?"."""
    return list(
        session.scalars(
            select(SurveyDecision)
            .where(
                SurveyDecision.workspace_id == workspace_id,
                SurveyDecision.customer_id == customer_id,
            )
            .order_by(SurveyDecision.at.desc(), SurveyDecision.id.desc())
        )
    )


def widget_invitation(
    session: Session, workspace_id: str, user_id: str, now: dt.datetime
) -> Invitation | None:
    """The open on-site invitation of the customer with this user id, if any."""
    customer_id = profiles.customer_id_of(session, workspace_id, user_id)
    if customer_id is None:
        return None
    return _open_invitation(session, workspace_id, customer_id, "widget", now)


def _open_invitation(
    session: Session,
    workspace_id: str,
    customer_id: int,
    channel: str,
    now: dt.datetime,
    survey_id: int | None = None,
) -> Invitation | None:
    """The customer's newest invitation through ``channel`` that is sent, unanswered, unexpired."""
    query = select(Invitation).where(
        Invitation.workspace_id == workspace_id,
        Invitation.customer_id == customer_id,
        Invitation.channel == channel,
        Invitation.status == "sent",
        Invitation.responded_at.is_(None),
        Invitation.expires_at > now,
    )
    if survey_id is not None:
        query = query.where(Invitation.survey_id == survey_id)
    return session.scalar(query.order_by(Invitation.sent_at.desc()).limit(1))


def chat_invitation(
    session: Session,
    workspace_id: str,
    customer_id: int | None,
    *,
    subject: str,
    locale: str,
    now: dt.datetime,
    planned_only: bool = False,
) -> Invitation | None:
    """An invitation to ask the NPS question in a conversation with the shop's assistant.

    An identified customer's open chat invitation (planned after a delivery) comes first.
    Otherwise a new one is made for ``subject`` (the conversation) from the first active survey
    with the chat channel, under the survey's rules: consent, and the cooldowns for a known
    customer (``planned_only``: the open one or nothing). None when the shopper may not be asked
    now."""
    if customer_id is not None:
        found = _open_invitation(session, workspace_id, customer_id, "chat", now)
        if found is not None:
            return found
    if planned_only:
        return None
    survey = next(
        (
            s
            for s in surveys_of(session, workspace_id)
            if s.active and "chat" in definition_of(s).channels
        ),
        None,
    )
    if survey is None:
        return None
    definition = definition_of(survey)
    if customer_id is not None:
        customer = profiles.get_customer(session, workspace_id, customer_id)
        if customer is None or not _contactable(customer, "chat"):
            return None
        past = _history(session, [customer_id], _cooldown_start(definition, now), set())
        if _asked_reason(past.get(customer_id, []), survey, definition, now, count_waiting=False):
            return None
    return _sent_now(
        session,
        survey,
        customer_id,
        subject_key=f"chat:{subject}"[:100],
        touchpoint="conversation",
        channel="chat",
        locale="en" if locale == "en" else "fr",
        now=now,
    )


def _sent_now(
    session: Session,
    survey: Survey,
    customer_id: int | None,
    *,
    subject_key: str,
    touchpoint: str,
    channel: str,
    locale: str,
    now: dt.datetime,
) -> Invitation:
    """An invitation the customer gets at once (a link, a question in conversation), sent."""
    invitation = Invitation(
        workspace_id=survey.workspace_id,
        survey_id=survey.id,
        customer_id=customer_id,
        subject_key=subject_key,
        touchpoint=touchpoint,
        channel=channel,
        locale=locale,
        status="scheduled",
        token=new_token(),
        scheduled_at=now,
        expires_at=now + dt.timedelta(days=definition_of(survey).expires_after_days),
        created_at=now,
    )
    session.add(invitation)
    session.flush()
    mark_sent(session, invitation, now)
    return invitation


@dataclass(frozen=True)
class QuestionTexts:
    """What an invitation's survey says, in the invitation's language, the store named."""

    question: str
    low_label: str
    high_label: str
    followup: dict[str, str]  # per category
    thanks: dict[str, str]  # per category


def question_texts(session: Session, invitation: Invitation) -> QuestionTexts | None:
    """The texts of the survey an invitation asks, None if the survey is gone."""
    survey = session.get(Survey, invitation.survey_id)
    workspace = get_workspace(session, invitation.workspace_id)
    if survey is None or workspace is None:
        return None
    texts = definition_of(survey).texts["fr" if invitation.locale == "fr" else "en"]
    store = workspace.name
    return QuestionTexts(
        question=texts.question.replace("{store}", store),
        low_label=texts.low_label,
        high_label=texts.high_label,
        followup={k: v.replace("{store}", store) for k, v in texts.followup.items()},
        thanks={k: v.replace("{store}", store) for k, v in texts.thanks.items()},
    )


@dataclass(frozen=True)
class PersonalLink:
    """A customer's own link to a survey: new, or the open one they already have."""

    invitation: Invitation
    created: bool


def personal_link(
    session: Session,
    workspace_id: str,
    key: str,
    user_id: str,
    *,
    actor: str,
    now: dt.datetime | None = None,
) -> PersonalLink:
    """The customer's link to answer a survey, for the store to send itself (the link channel).

    The survey's rules hold as for planned invitations: it must be on, with its link channel;
    the customer must be known, not have refused the channel, and not have been asked within the
    cooldowns. An open link of this survey is given again rather than a second one made.
    """
    now = now or utcnow()
    survey = get_survey(session, workspace_id, key)
    if survey is None:
        raise InvalidInput("key", f"no survey {key!r}", status=404, code="not_found")
    definition = definition_of(survey)
    if not survey.active:
        raise InvalidInput("key", "the survey is off", status=409, code="survey_inactive")
    if "link" not in definition.channels:
        raise InvalidInput("key", "the survey's link channel is off", status=409, code="no_channel")
    customer = profiles.find_by_user_id(session, workspace_id, user_id)
    workspace = get_workspace(session, workspace_id)
    if customer is None or workspace is None:
        raise InvalidInput(
            "user_id", f"no customer with user id {user_id!r}", status=404, code="not_found"
        )
    open_link = _open_invitation(session, workspace_id, customer.id, "link", now, survey.id)
    if open_link is not None:
        return PersonalLink(open_link, created=False)
    if not _contactable(customer, "link"):
        raise InvalidInput(
            "user_id", "the customer refused to be asked", status=409, code="no_consent"
        )
    past = _history(session, [customer.id], _cooldown_start(definition, now), set())
    asked = _asked_reason(past.get(customer.id, []), survey, definition, now, count_waiting=False)
    if asked is not None:
        raise InvalidInput("user_id", asked[1], status=409, code=asked[0])
    invitation = _sent_now(
        session,
        survey,
        customer.id,
        subject_key=f"link:{secrets.token_hex(8)}",
        touchpoint=definition.touchpoint,
        channel="link",
        locale=_locale(customer, workspace),
        now=now,
    )
    audit(
        session,
        actor=actor,
        action="survey.link",
        workspace_id=workspace_id,
        subject=key,
        data={"invitation_id": invitation.id, "customer_id": customer.id},
    )
    return PersonalLink(invitation, created=True)


# ---------------------------------------------------------------- answers


def invitation_by_token(session: Session, token: str) -> Invitation | None:
    """The invitation a survey link points at."""
    if not token or len(token) > 64:
        return None
    return session.scalar(select(Invitation).where(Invitation.token == token))


@dataclass(frozen=True)
class Answer:
    """The result of recording an answer."""

    response: Response
    newly_confirmed: bool


def record_answer(
    session: Session,
    invitation: Invitation,
    score: int,
    *,
    confirmed: bool,
    comment: str | None = None,
    followup: str | None = None,
    final: bool = False,
    now: dt.datetime | None = None,
    tag: TagVerbatim,
    on_confirmed: OnConfirmed,
) -> Answer:
    """Record a score for an invitation: provisional (a bare page load) or confirmed (a person).

    ``tag`` reads the verbatim's themes (the themes domain's ``tags_for``, handed in by the
    caller: surveys sit below themes).

    A provisional score never overwrites a confirmed one: a mail scanner opening the links after
    the customer answered changes nothing. A confirmed answer can be changed within the survey's
    answer window, then it is closed. ``on_confirmed(session, response_id, final)`` hears of a
    newly confirmed answer, or of a ``final`` one (the person's submitted form): the alerts
    domain's ``alert_after_commit``, handed in by the caller (alerts sit above surveys).
    """
    now = now or utcnow()
    if not 0 <= score <= 10:
        raise InvalidInput("score", "must be an integer from 0 to 10")
    if now > invitation.expires_at:
        raise SurveyClosed("this survey link has expired")
    response = session.scalar(select(Response).where(Response.invitation_id == invitation.id))
    survey = session.get(Survey, invitation.survey_id)
    window = dt.timedelta(days=definition_of(survey).answer_window_days if survey else 7)
    if response is not None and response.status == "confirmed":
        if not confirmed:
            return Answer(response, False)
        if response.confirmed_at is not None and now > response.confirmed_at + window:
            raise SurveyClosed("this answer can no longer be changed")
    customer = (
        profiles.get_customer(session, invitation.workspace_id, invitation.customer_id)
        if invitation.customer_id
        else None
    )
    if response is None:
        segment, categories = commerce.order_facets(session, [invitation.order_id]).get(
            invitation.order_id or 0, (None, "")
        )
        response = Response(
            segment=segment,
            categories=categories,
            workspace_id=invitation.workspace_id,
            survey_id=invitation.survey_id,
            invitation_id=invitation.id,
            customer_id=invitation.customer_id,
            channel=invitation.channel,
            touchpoint=invitation.touchpoint,
            locale=invitation.locale,
            country=customer.country if customer else None,
            created_at=now,
            score=score,
            category=category_of(score),
        )
        session.add(response)
    newly = confirmed and response.status != "confirmed"
    response.score, response.category = score, category_of(score)
    response.updated_at = now
    if confirmed:
        response.status = "confirmed"
        response.confirmed_at = response.confirmed_at or now
        invitation.clicked_at = invitation.clicked_at or now
        invitation.responded_at = invitation.responded_at or now
    if comment is not None and comment.strip():
        response.comment = comment.strip()[:5000]
        invitation.commented_at = invitation.commented_at or now
    if followup is not None and followup.strip():
        response.followup = followup.strip()[:5000]
    has_text = bool((comment and comment.strip()) or (followup and followup.strip()))
    if has_text and not response.themes_corrected:
        # Themes and sentiment of the verbatim, with the workspace's taxonomy and corrections.
        # Nothing is written before: the tagger reads the taxonomy, and a flush there would hold
        # the store's write lock (on SQLite, every writer's) while it builds, a second or so.
        with session.no_autoflush:
            tags = tag(session, response.workspace_id, answer_text(response))
        set_answer_tags(response, tags)
    session.flush()
    if confirmed and (newly or final):
        on_confirmed(session, response.id, final)
    return Answer(response, newly)


# Themes of answers -------------------------------------------------------------------------
#
# The themes domain tags verbatims and keeps corrections; answers are this domain's rows, so it
# reads and writes them through these functions.

# (session, workspace_id, verbatim) -> its tags.
TagVerbatim = Callable[[Session, str, str], AnswerTags | None]
# (session, response_id, final): a confirmed answer to alert on, once committed.
OnConfirmed = Callable[[Session, int, bool], None]


def answer_text(response: Response) -> str:
    """The text an answer's themes come from: the comment and the follow-up answer."""
    parts = (response.comment or "", response.followup or "")
    return "\n".join(part for part in parts if part.strip())


def set_answer_tags(response: Response, tags: AnswerTags | None) -> None:
    """Store a verbatim's tags on its answer (None: no text, no themes)."""
    if tags is None:
        response.themes, response.sentiment, response.mentions = [], None, []
        response.lang = None
        return
    response.lang = tags.lang
    response.themes = list(tags.themes)
    response.sentiment = tags.sentiment
    response.mentions = list(tags.mentions)


def set_corrected_themes(response: Response, themes: Sequence[str]) -> None:
    """A person's themes for an answer: kept when the history is re-tagged."""
    response.themes, response.themes_corrected = list(themes), True


def get_answer(session: Session, workspace_id: str, response_id: int) -> Response | None:
    """The answer with this id in this workspace (None if it belongs to another)."""
    response = session.get(Response, response_id)
    if response is None or response.workspace_id != workspace_id:
        return None
    return response


def answers_with_text(
    session: Session, workspace_id: str, *, after_id: int, limit: int
) -> list[Response]:
    """The workspace's answers with a verbatim, by id from ``after_id`` on (re-tagging)."""
    return list(
        session.scalars(
            select(Response)
            .where(
                Response.workspace_id == workspace_id,
                Response.id > after_id,
                (func.length(Response.comment) + func.length(Response.followup)) > 0,
            )
            .order_by(Response.id)
            .limit(limit)
        )
    )


def answer_by_id(session: Session, response_id: int) -> Response | None:
    """The answer with this id, whatever its workspace (for work queued with its id)."""
    return session.get(Response, response_id)


def survey_by_id(session: Session, workspace_id: str, survey_id: int) -> Survey | None:
    """The survey with this id in this workspace."""
    survey = session.get(Survey, survey_id)
    return survey if survey is not None and survey.workspace_id == workspace_id else None


def invitation_by_id(session: Session, workspace_id: str, invitation_id: int) -> Invitation | None:
    """The invitation with this id in this workspace."""
    invitation = session.get(Invitation, invitation_id)
    if invitation is None or invitation.workspace_id != workspace_id:
        return None
    return invitation


def invitations_sent_since(session: Session, workspace_id: str, since: dt.datetime) -> int:
    """How many invitations the workspace sent since ``since``."""
    count = session.scalar(
        select(func.count())
        .select_from(Invitation)
        .where(Invitation.workspace_id == workspace_id, Invitation.sent_at >= since)
    )
    return int(count or 0)


def customer_answers(
    session: Session, customer_id: int
) -> tuple[int, tuple[int, str, list[str], float | None] | None]:
    """A customer's confirmed answers: how many, and the latest one's (score, category,
    themes, sentiment)."""
    confirmed = (Response.customer_id == customer_id) & (Response.status == "confirmed")
    count = session.scalar(select(func.count()).select_from(Response).where(confirmed)) or 0
    last = session.execute(
        select(Response.score, Response.category, Response.themes, Response.sentiment)
        .where(confirmed)
        .order_by(Response.created_at.desc(), Response.id.desc())
        .limit(1)
    ).first()
    if last is None:
        return int(count), None
    return int(count), (int(last[0]), str(last[1]), list(last[2] or []), last[3])


def last_answers(workspace_id: str, customer_ids: Sequence[int] | None = None) -> Subquery:
    """Each customer's latest confirmed answer (``customer_id``, ``score``, ``category``, its
    ``id``), as a subquery the customer list joins to filter or export in one statement;
    narrowed to ``customer_ids`` for a page's customers."""
    rank = (
        func.row_number()
        .over(
            partition_by=Response.customer_id,
            order_by=(Response.created_at.desc(), Response.id.desc()),
        )
        .label("rank")
    )
    ranked = (
        select(Response.id, Response.customer_id, Response.score, Response.category, rank)
        .where(
            Response.workspace_id == workspace_id,
            Response.status == "confirmed",
            Response.customer_id.is_not(None)
            if customer_ids is None
            else Response.customer_id.in_(list(customer_ids)),
        )
        .subquery("ranked_answers")
    )
    return (
        select(ranked.c.customer_id, ranked.c.score, ranked.c.category, ranked.c.id)
        .where(ranked.c.rank == 1)
        .subquery("last_answers")
    )


def answer_facts(
    session: Session, workspace_id: str, customer_ids: Sequence[int] | None = None
) -> pa.Table:
    """Each customer's latest confirmed answer (or only those of ``customer_ids``), as Arrow:
    customer_id, score, category, created_at, and its themes: all, praised (a positive
    sentiment) and blamed (a negative one). The segments' NPS facts."""
    latest = last_answers(workspace_id, customer_ids)
    query = (
        select(
            Response.customer_id,
            Response.score,
            Response.category,
            Response.created_at,
            Response.themes,
            Response.mentions,
        )
        .join(latest, latest.c.id == Response.id)
        .order_by(Response.customer_id)
    )
    rows = session.execute(query).all()
    praised, blamed = [], []
    for row in rows:
        mentions = row.mentions or []
        praised.append([m["theme"] for m in mentions if (m.get("sentiment") or 0) > 0])
        blamed.append([m["theme"] for m in mentions if (m.get("sentiment") or 0) < 0])
    words = pa.list_(pa.string())
    return pa.table(
        {
            "customer_id": pa.array([r.customer_id for r in rows], pa.int64()),
            "score": pa.array([r.score for r in rows], pa.int64()),
            "category": pa.array([r.category for r in rows], pa.string()),
            "created_at": pa.array([r.created_at for r in rows], TIMESTAMP),
            "themes": pa.array([list(r.themes or []) for r in rows], words),
            "praised": pa.array(praised, words),
            "blamed": pa.array(blamed, words),
        }
    )


def export_answers(
    session: Session, workspace_id: str, *, after_id: int = 0, changed_since: dt.datetime | None
) -> pa.Table:
    """Answers with an id above ``after_id`` or updated since ``changed_since`` (a confirmation,
    new themes), as Arrow: the NPS facts of the analytics warehouse."""
    fresh = Response.id > after_id
    changed = fresh if changed_since is None else or_(fresh, Response.updated_at >= changed_since)
    fields: list[Field] = [
        ("id", Response.id, pa.int64()),
        ("customer_id", Response.customer_id, pa.int64()),
        ("survey_id", Response.survey_id, pa.int64()),
        ("score", Response.score, pa.int64()),
        ("category", Response.category, pa.string()),
        ("status", Response.status, pa.string()),
        ("sentiment", Response.sentiment, pa.float64()),
        ("created_at", Response.created_at, TIMESTAMP),
        ("updated_at", Response.updated_at, TIMESTAMP),
    ]
    query = select(Response.id).where(Response.workspace_id == workspace_id, changed)
    return arrow_table(session, query, fields)


def confirmed_between(
    session: Session, workspace_id: str, start: dt.datetime, end: dt.datetime
) -> list[Response]:
    """Answers confirmed in [start, end), of known customers, oldest first (a replay's input)."""
    return list(
        session.scalars(
            select(Response)
            .where(
                Response.workspace_id == workspace_id,
                Response.status == "confirmed",
                Response.customer_id.is_not(None),
                Response.confirmed_at >= start,
                Response.confirmed_at < end,
            )
            .order_by(Response.confirmed_at, Response.id)
        )
    )


def scores_in_windows(
    session: Session,
    workspace_id: str,
    customer_ids: Sequence[int],
    start: dt.datetime,
    end: dt.datetime,
) -> list[tuple[int, int, dt.datetime]]:
    """Confirmed answers of these customers confirmed in [start, end): (customer id, score,
    confirmed at). A comparison's input."""
    found: list[tuple[int, int, dt.datetime]] = []
    ids = sorted({int(c) for c in customer_ids})
    for begin in range(0, len(ids), 5000):
        for cid, score, at in session.execute(
            select(Response.customer_id, Response.score, Response.confirmed_at).where(
                Response.workspace_id == workspace_id,
                Response.customer_id.in_(ids[begin : begin + 5000]),
                Response.status == "confirmed",
                Response.confirmed_at >= start,
                Response.confirmed_at < end,
            )
        ):
            if cid is not None and at is not None:
                found.append((int(cid), int(score), at if at.tzinfo else at.replace(tzinfo=dt.UTC)))
    return found
