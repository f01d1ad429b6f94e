"""The assistant's figures for the console: conversations, intents, questions it could not
answer, products shown and clicked, orders after a conversation, handoffs, NPS by channel.

Every figure is about the conversations *started* in the period, so that they add up: an
intent, a product shown or a handoff counts when its conversation started in [since, until).
Counting is done by the database (JSON arrays of products and clicks are expanded by
``json_each`` on SQLite and ``jsonb_array_elements`` on PostgreSQL); Python receives counts,
the questions left unanswered and, for conversions, one row per conversation.
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import ColumnElement, Date, cast, func, select, true
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.expression import type_coerce

from cxloop import commerce, profiles, surveys, workspaces
from cxloop.assistant.models import Conversation, ConversationMessage
from cxloop.folding import fold

# An order counts for a conversation when its customer placed it within this time after the
# conversation started.
CONVERSION_WINDOW: Final = dt.timedelta(days=7)
TOP_QUESTIONS: Final = 20
TOP_PRODUCTS: Final = 20
# The channels the NPS table always lists, answered or not (``chat``: asked by the assistant).
NPS_CHANNELS: Final = surveys.CHANNELS
WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class DayCount:
    """Conversations started on one UTC day."""

    day: dt.date
    conversations: int


@dataclass(frozen=True)
class IntentCount:
    """How many shopper messages were read as one intent."""

    intent: str
    messages: int


@dataclass(frozen=True)
class Question:
    """A question the assistant could not answer, as shoppers asked it (the latest wording),
    how often, and when last."""

    text: str
    asked: int
    last_seen: dt.datetime


@dataclass(frozen=True)
class ProductFigures:
    """A product the assistant showed: how often and in how many conversations, how often its
    card was clicked and in how many of them."""

    sku: str
    title: str
    shown: int
    conversations: int
    clicks: int
    clicked_in: int

    @property
    def click_rate(self) -> float | None:
        """The share of the conversations that showed it in which its card was clicked."""
        return self.clicked_in / self.conversations if self.conversations else None


@dataclass(frozen=True)
class Conversions:
    """Conversations followed by an order of their customer within ``CONVERSION_WINDOW``."""

    converting: int
    rate: float | None
    orders: int
    revenue_cents: int
    currency: str
    # Conversations tied to a known customer (only those can be followed to an order).
    identified: int


@dataclass(frozen=True)
class Handoffs:
    """Conversations handed to the team, and how long the team took to answer."""

    count: int
    share: float | None
    answered: int
    median_minutes_to_reply: float | None


@dataclass(frozen=True)
class ChannelNps:
    """The NPS of the answers given through one channel in the period."""

    channel: str
    summary: surveys.NpsSummary


@dataclass(frozen=True)
class AssistantFigures:
    """Everything the assistant's console page shows for one period."""

    since: dt.datetime
    until: dt.datetime
    conversations: int
    per_day: tuple[DayCount, ...]
    intents: tuple[IntentCount, ...]
    unanswered: tuple[Question, ...]
    unanswered_total: int
    products: tuple[ProductFigures, ...]
    conversions: Conversions
    handoffs: Handoffs
    nps: tuple[ChannelNps, ...]


def assistant_figures(
    session: Session, workspace_id: str, *, since: dt.datetime, until: dt.datetime
) -> AssistantFigures:
    """The assistant's figures for the conversations started in [since, until)."""
    scope = (
        Conversation.workspace_id == workspace_id,
        Conversation.created_at >= since,
        Conversation.created_at < until,
    )
    per_day = _per_day(session, scope, since, until)
    total = sum(d.conversations for d in per_day)
    questions, asked = _unanswered(session, scope)
    handoffs = _handoffs(session, scope, total)
    return AssistantFigures(
        since=since,
        until=until,
        conversations=total,
        per_day=per_day,
        intents=_intents(session, scope),
        unanswered=questions,
        unanswered_total=asked,
        products=_products(session, scope),
        conversions=_conversions(session, workspace_id, scope, since, until, total),
        handoffs=handoffs,
        nps=_nps(session, workspace_id, since, until),
    )


def _as_utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _per_day(
    session: Session, scope: Sequence[ColumnElement[bool]], since: dt.datetime, until: dt.datetime
) -> tuple[DayCount, ...]:
    if _postgres(session):
        day: Any = cast(func.timezone("UTC", Conversation.created_at), Date)
    else:
        day = func.date(Conversation.created_at)  # stored as naive UTC text
    counted = {
        dt.date.fromisoformat(str(d)): int(n)
        for d, n in session.execute(select(day, func.count()).where(*scope).group_by(day))
    }
    first = since.astimezone(dt.UTC).date()
    last = (until.astimezone(dt.UTC) - dt.timedelta(microseconds=1)).date()
    days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    return tuple(DayCount(d, counted.get(d, 0)) for d in days)


def _intents(session: Session, scope: Sequence[ColumnElement[bool]]) -> tuple[IntentCount, ...]:
    message = ConversationMessage
    rows = session.execute(
        select(message.intent, func.count())
        .join(Conversation, Conversation.id == message.conversation_id)
        .where(*scope, message.author == "shopper", message.intent != "")
        .group_by(message.intent)
    ).all()
    found = [IntentCount(str(intent), int(n)) for intent, n in rows]
    return tuple(sorted(found, key=lambda i: (-i.messages, i.intent)))


def _unanswered(
    session: Session, scope: Sequence[ColumnElement[bool]]
) -> tuple[tuple[Question, ...], int]:
    """The shopper messages just before a reply marked unanswered, grouped by their words
    (case, accents, spacing and punctuation aside); the most asked first, then the latest."""
    reply = aliased(ConversationMessage)
    asked = aliased(ConversationMessage)
    if _postgres(session):
        marked: ColumnElement[bool] = type_coerce(reply.payload, JSONB).op("@>")(
            type_coerce({"unanswered": True}, JSONB)
        )
    else:
        marked = func.json_extract(reply.payload, "$.unanswered") == 1
    rows = session.execute(
        select(asked.text, reply.created_at)
        .join(Conversation, Conversation.id == reply.conversation_id)
        .join(
            asked,
            (asked.conversation_id == reply.conversation_id) & (asked.seq == reply.seq - 1),
        )
        .where(*scope, reply.author == "assistant", marked, asked.author == "shopper")
    ).all()
    groups: dict[str, list[tuple[dt.datetime, str]]] = defaultdict(list)
    for text, at in rows:
        key = " ".join(WORD.findall(fold(text)))
        if key:
            groups[key].append((_as_utc(at), text))
    questions = []
    for said in groups.values():
        latest, wording = max(said)
        questions.append(Question(text=wording, asked=len(said), last_seen=latest))
    questions.sort(key=lambda q: (-q.asked, -q.last_seen.timestamp(), q.text))
    return tuple(questions[:TOP_QUESTIONS]), sum(q.asked for q in questions)


def _products(session: Session, scope: Sequence[ColumnElement[bool]]) -> tuple[ProductFigures, ...]:
    message = ConversationMessage
    if _postgres(session):
        shown: Any = func.jsonb_array_elements(
            type_coerce(message.payload, JSONB)["products"]
        ).table_valued("value")
        sku: Any = shown.c.value.op("->>")("id")
        title: Any = shown.c.value.op("->>")("title")
        clicks: Any = func.jsonb_array_elements_text(
            type_coerce(Conversation.state, JSONB)["clicked"]
        ).table_valued("value")
    else:
        shown = func.json_each(message.payload, "$.products").table_valued("value")
        sku = func.json_extract(shown.c.value, "$.id")
        title = func.json_extract(shown.c.value, "$.title")
        clicks = func.json_each(Conversation.state, "$.clicked").table_valued("value")
    top = session.execute(
        select(sku, func.max(title), func.count(), func.count(message.conversation_id.distinct()))
        .select_from(message)
        .join(Conversation, Conversation.id == message.conversation_id)
        .join(shown, true())
        .where(*scope, message.author == "assistant", sku.is_not(None))
        .group_by(sku)
        .order_by(func.count().desc(), sku)
        .limit(TOP_PRODUCTS)
    ).all()
    if not top:
        return ()
    skus = [str(row[0]) for row in top]
    clicked = {
        str(s): (int(n), int(k))
        for s, n, k in session.execute(
            select(clicks.c.value, func.count(), func.count(Conversation.id.distinct()))
            .select_from(Conversation)
            .join(clicks, true())
            .where(*scope, clicks.c.value.in_(skus))
            .group_by(clicks.c.value)
        )
    }
    return tuple(
        ProductFigures(str(s), str(t or s), int(n), int(k), *clicked.get(str(s), (0, 0)))
        for s, t, n, k in top
    )


def _handoffs(session: Session, scope: Sequence[ColumnElement[bool]], total: int) -> Handoffs:
    agent = aliased(ConversationMessage)
    # The first agent message of each conversation, found through its (conversation, seq) key.
    first_reply = (
        select(func.min(agent.created_at))
        .where(agent.conversation_id == Conversation.id, agent.author == "agent")
        .correlate(Conversation)
        .scalar_subquery()
    )
    rows = session.execute(
        select(Conversation.handoff_at, first_reply).where(
            *scope, Conversation.handoff_at.is_not(None)
        )
    ).all()
    waits = [
        max((_as_utc(replied) - _as_utc(handed)).total_seconds() / 60, 0.0)
        for handed, replied in rows
        if handed is not None and replied is not None
    ]
    return Handoffs(
        count=len(rows),
        share=len(rows) / total if total else None,
        answered=len(waits),
        median_minutes_to_reply=statistics.median(waits) if waits else None,
    )


def _conversions(
    session: Session,
    workspace_id: str,
    scope: Sequence[ColumnElement[bool]],
    since: dt.datetime,
    until: dt.datetime,
    total: int,
) -> Conversions:
    """Each order of a conversation's customer placed within ``CONVERSION_WINDOW`` after the
    conversation started counts once, for the latest such conversation.

    A conversation not yet tied to its customer is tied here when its visitor has since been
    identified (the anonymous id or user id is now a customer's).
    """
    workspace = workspaces.get_workspace(session, workspace_id)
    currency = workspace.currency if workspace is not None else "EUR"
    by_user = profiles.identities_of(workspace_id, "user_id")
    by_visitor = profiles.identities_of(workspace_id, "anonymous_id")
    customer = func.coalesce(
        Conversation.customer_id, by_user.c.customer_id, by_visitor.c.customer_id
    )
    rows = session.execute(
        select(customer, Conversation.id, Conversation.created_at)
        .select_from(Conversation)
        .outerjoin(by_user, by_user.c.value == Conversation.user_id)
        .outerjoin(by_visitor, by_visitor.c.value == Conversation.anonymous_id)
        .where(*scope, customer.is_not(None))
    ).all()
    started: dict[int, list[tuple[dt.datetime, str]]] = defaultdict(list)
    for customer_id, conversation_id, at in rows:
        started[int(customer_id)].append((_as_utc(at), str(conversation_id)))
    for moments in started.values():
        moments.sort()
    orders = commerce.orders_in_windows(
        session, workspace_id, list(started), since, until + CONVERSION_WINDOW
    )
    converting: set[str] = set()
    counted = revenue = 0
    for buyer, placed, cents in orders:
        moments = started[buyer]
        # The latest conversation started at or before the order.
        i = bisect.bisect_right(moments, (placed, "\uffff")) - 1
        if i >= 0 and placed - moments[i][0] < CONVERSION_WINDOW:
            converting.add(moments[i][1])
            counted += 1
            revenue += cents
    return Conversions(
        converting=len(converting),
        rate=len(converting) / total if total else None,
        orders=counted,
        revenue_cents=revenue,
        currency=currency,
        identified=sum(len(m) for m in started.values()),
    )


def _nps(
    session: Session, workspace_id: str, since: dt.datetime, until: dt.datetime
) -> tuple[ChannelNps, ...]:
    filters = surveys.DashboardFilters(start=since, end=until)
    rows = surveys.nps_breakdown(session, workspace_id, "channel", filters).rows
    by_channel = {row.key: row.summary for row in rows if row.key}
    empty = surveys.summarize(promoters=0, passives=0, detractors=0)
    channels = [*NPS_CHANNELS, *sorted(set(by_channel) - set(NPS_CHANNELS))]
    return tuple(ChannelNps(c, by_channel.get(c, empty)) for c in channels)
