"""Conversations: started by a store page's widget, answered by the dialogue engine, handed to
a person when the shopper asks or the assistant fails twice, answered by agents from the
console's inbox.

A shopper's message and the assistant's reply are written in one transaction; an agent's
reply and a closing are audited actions. A conversation is tied to the visitor's anonymous id
and joins the customer as soon as the store identifies them (``join_customer``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cxloop import cases, channels, commerce, i18n, profiles, recommend, surveys, workspaces
from cxloop.assistant import dialogue, llm, orders
from cxloop.assistant.catalog import index_of
from cxloop.assistant.faq import faq_index
from cxloop.assistant.intents import Hinted, model_for
from cxloop.assistant.models import Conversation, ConversationMessage
from cxloop.assistant.options import Options, options_of
from cxloop.assistant.scenario_store import scenarios_for
from cxloop.assistant.search import CatalogIndex
from cxloop.assistant.text import guess_lang
from cxloop.assistant.vocabulary import examples_of
from cxloop.errors import InvalidInput
from cxloop.store.base import utcnow
from cxloop.store.db import Database, after_commit

MAX_TEXT = 1000
MAX_AGENT_TEXT = 4000
HISTORY = 200  # messages a conversation shows at most
COMPLEMENTS = 3


@dataclass
class _AnswerHooks:
    tag: surveys.TagVerbatim | None = None
    on_confirmed: surveys.OnConfirmed | None = None


_ANSWERS = _AnswerHooks()


def answers_through(tag: surveys.TagVerbatim, on_confirmed: surveys.OnConfirmed) -> None:
    """How NPS answers given in conversation are tagged and heard (alerts, journeys): the
    themes and alerts domains' hooks, connected at start-up by ``cxloop.wiring``."""
    _ANSWERS.tag = tag
    _ANSWERS.on_confirmed = on_confirmed


@dataclass(frozen=True)
class Exchange:
    """A conversation after a call: its state and the messages the call added."""

    conversation: Conversation
    messages: list[ConversationMessage]

    def to_json(self) -> dict[str, Any]:
        """What the widget reads."""
        return {
            "conversation_id": self.conversation.id,
            "status": self.conversation.status,
            "locale": self.conversation.locale,
            "messages": [message_json(m) for m in self.messages],
        }


def message_json(message: ConversationMessage) -> dict[str, Any]:
    """A message as the widget and the console read it."""
    payload = dict(message.payload or {})
    return {
        "seq": message.seq,
        "author": message.author,
        "intent": message.intent,
        "text": message.text,
        "products": payload.get("products", []),
        "buttons": payload.get("buttons", []),
        "filters": payload.get("filters", {}),
        "comparison": payload.get("comparison", []),
        "source": payload.get("source", ""),
        "created_at": message.created_at.isoformat(),
    }


def _clean(text: str, field: str, limit: int) -> str:
    cleaned = " ".join(text.split()) if "\n" not in text else text.strip()
    if len(cleaned) > limit:
        raise InvalidInput(field, i18n.gettext("at most %(n)s characters") % {"n": limit})
    return cleaned


def _next_seq(session: Session, conversation_id: str) -> int:
    last = session.scalar(
        select(func.max(ConversationMessage.seq)).where(
            ConversationMessage.conversation_id == conversation_id
        )
    )
    return int(last or 0) + 1


def _add(
    session: Session,
    conversation: Conversation,
    author: str,
    text: str,
    *,
    seq: int,
    intent: str = "",
    payload: Mapping[str, Any] | None = None,
    agent: str = "",
    at: dt.datetime | None = None,
) -> ConversationMessage:
    message = ConversationMessage(
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        seq=seq,
        author=author,
        agent=agent,
        text=text,
        intent=intent[:40],
        payload=dict(payload or {}),
        created_at=at or utcnow(),
    )
    session.add(message)
    conversation.last_message_at = message.created_at
    return message


@dataclass
class _Asked:
    """What the hooks did during one reply, for the service to keep in the state."""

    nps_invitation: int | None = None


def _context(
    session: Session,
    conversation: Conversation,
    now: dt.datetime,
    asked: _Asked,
    hint: tuple[str, str] | None = None,
) -> dialogue.Context:
    workspace_id = conversation.workspace_id
    examples = examples_of(session, workspace_id)
    index = index_of(session, workspace_id)
    lang = conversation.locale
    options = options_of(session, workspace_id)
    return dialogue.Context(
        index=index,
        intents=Hinted(model_for(examples), *hint) if hint else model_for(examples),
        lang=lang,
        faq=partial(_faq_answer, session, workspace_id, lang),
        order_status=lambda number, email: orders.order_reply(
            session, conversation, number, email, lang=lang, now=now
        ),
        nps_question=lambda: _nps_question(session, conversation, options, asked, now),
        compensate=lambda reason: _compensate(session, conversation, options, reason, now),
        open_case=lambda summary: _open_case(session, conversation, summary),
        complements=lambda skus: _complements(session, workspace_id, index, lang, skus),
        scenarios=scenarios_for(session, workspace_id),
    )


def _faq_answer(
    session: Session, workspace_id: str, lang: str, text: str
) -> dialogue.Answer | None:
    match = faq_index(session, workspace_id).answer(text, lang)
    if match is None:
        return None
    return dialogue.Answer(match.answer, match.source or match.question)


SCORE_TEXT = re.compile(r"^\s*(10|[0-9])\s*(?:/\s*10)?\s*[.!]?\s*$")


def _nps_question(
    session: Session,
    conversation: Conversation,
    options: Options,
    asked: _Asked,
    now: dt.datetime,
    *,
    planned_only: bool = False,
) -> dialogue.Reply | None:
    """The 0–10 question, when this shopper may be asked now (once per conversation, under
    the survey's rules; ``planned_only``: only an invitation planned after a delivery)."""
    if not options.nps_in_chat or conversation.nps_asked_at is not None:
        return None
    invitation = surveys.chat_invitation(
        session,
        conversation.workspace_id,
        conversation.customer_id,
        subject=conversation.id,
        locale=conversation.locale,
        now=now,
        planned_only=planned_only,
    )
    if invitation is None:
        return None
    texts = surveys.question_texts(session, invitation)
    if texts is None:
        return None
    conversation.nps_asked_at = now
    asked.nps_invitation = invitation.id
    buttons: list[dict[str, Any]] = [{"label": str(n), "payload": {"nps": n}} for n in range(11)]
    buttons[0]["hint"] = texts.low_label
    buttons[-1]["hint"] = texts.high_label
    return dialogue.Reply(texts.question, intent="nps", buttons=buttons)


RECENT_DELIVERY = dt.timedelta(days=14)


def _delivered_lately(session: Session, conversation: Conversation, now: dt.datetime) -> bool:
    """Whether the conversation's customer (if known) received a parcel in the last two weeks:
    a moment to ask how it went."""
    if conversation.customer_id is None or conversation.nps_asked_at is not None:
        return False
    parcels = commerce.shipments_of(
        session, conversation.workspace_id, conversation.customer_id, limit=20
    )
    return any(
        delivered is not None and now - RECENT_DELIVERY <= delivered <= now
        for _id, _carrier, _status, _promised, delivered, _shipped in parcels
    )


def _nps_turn(
    session: Session,
    conversation: Conversation,
    state: dict[str, Any],
    text: str,
    payload: Mapping[str, Any] | None,
    now: dt.datetime,
) -> dialogue.Reply | None:
    """The reply to a score or a follow-up while the NPS question is open, else None."""
    nps = state.get("nps")
    if not isinstance(nps, dict) or not nps.get("await"):
        return None
    invitation = surveys.invitation_by_id(
        session, conversation.workspace_id, int(nps.get("invitation_id") or 0)
    )
    pressed = (payload or {}).get("nps")
    if invitation is None:
        state.pop("nps", None)
        return None
    tag = _ANSWERS.tag or (lambda _s, _w, _t: None)
    heard = _ANSWERS.on_confirmed or (lambda _s, _r, _f: None)
    texts = surveys.question_texts(session, invitation)
    if nps["await"] == "score":
        score: int | None = None
        if isinstance(pressed, int) and not isinstance(pressed, bool) and 0 <= pressed <= 10:
            score = pressed
        elif not payload:
            found = SCORE_TEXT.match(text)
            score = int(found.group(1)) if found else None
        if score is None:
            state.pop("nps", None)  # the shopper moved on: the question stays unanswered
            return None
        try:
            answer = surveys.record_answer(
                session, invitation, score, confirmed=True, now=now, tag=tag, on_confirmed=heard
            )
        except surveys.SurveyClosed:
            state.pop("nps", None)
            return dialogue.Reply(i18n.gettext("Thank you!"), intent="nps")
        category = answer.response.category
        state["nps"] = {
            "invitation_id": invitation.id,
            "await": "followup",
            "category": category,
            "score": score,
        }
        question = texts.followup.get(category, "") if texts else ""
        return dialogue.Reply(
            question or i18n.gettext("Thank you! Anything you would like to add?"),
            intent="nps",
            buttons=[{"label": i18n.gettext("No, thanks"), "payload": {"nps": "skip"}}],
        )
    # The follow-up: the shopper's words (or a skip) complete the answer.
    category = str(nps.get("category") or "")
    state.pop("nps", None)
    if pressed != "skip" and text:
        with contextlib.suppress(surveys.SurveyClosed):
            surveys.record_answer(
                session,
                invitation,
                int(nps.get("score") or 0),
                confirmed=True,
                followup=text,
                final=True,
                now=now,
                tag=tag,
                on_confirmed=heard,
            )
    thanks = texts.thanks.get(category, "") if texts else ""
    return dialogue.Reply(thanks or i18n.gettext("Thank you!"), intent="nps", ended_well=True)


def _compensate(
    session: Session,
    conversation: Conversation,
    options: Options,
    reason: str,
    now: dt.datetime,
) -> dialogue.Reply | None:
    """A coupon for a problem, within the merchant's limits: a kind and value set in the
    settings, for a known customer only, once per conversation, a daily budget."""
    if not options.compensation_kind or conversation.customer_id is None:
        return None
    state = dict(conversation.state or {})
    if state.get("compensated"):
        return None
    since = now.replace(hour=0, minute=0, second=0, microsecond=0)
    made = commerce.coupons_issued_since(session, conversation.workspace_id, "assistant", since)
    if made >= options.compensations_per_day:
        return None
    coupon = commerce.issue_coupon(
        session,
        conversation.workspace_id,
        kind=options.compensation_kind,
        value=options.compensation_value or 1.0,
        customer_id=conversation.customer_id,
        expires_at=now + dt.timedelta(days=options.compensation_days),
        source="assistant",
        key=f"assistant:{conversation.id}",
    )
    workspaces.audit(
        session,
        actor="assistant",
        action="assistant.compensated",
        workspace_id=conversation.workspace_id,
        subject=conversation.id,
        data={"coupon_id": coupon.id, "reason": reason[:200]},
    )
    conversation.state = {**state, "compensated": coupon.code}
    lang = conversation.locale
    if options.compensation_kind == "percent":
        what = i18n.gettext("%(value)s%% off your next order") % {
            "value": f"{options.compensation_value:g}"
        }
    elif options.compensation_kind == "fixed":
        what = i18n.gettext("%(amount)s off your next order") % {
            "amount": dialogue.money(round(options.compensation_value * 100), coupon.currency, lang)
        }
    else:
        what = i18n.gettext("free shipping on your next order")
    return dialogue.Reply(
        i18n.gettext("To make up for it, here is %(what)s: code %(code)s, valid %(days)s days.")
        % {"what": what, "code": coupon.code, "days": options.compensation_days},
        intent="compensation",
    )


def _open_case(session: Session, conversation: Conversation, summary: str) -> str | None:
    """A case for the team about this conversation's problem (one per conversation)."""
    title = " ".join(summary.split())[:300] or i18n.gettext("A problem told to the assistant")
    case = cases.open_case(
        session,
        conversation.workspace_id,
        title=title,
        customer_id=conversation.customer_id,
        actor="assistant",
        source="assistant",
        source_ref=conversation.id,
        key=f"assistant:{conversation.id}",
        note=i18n.gettext("From a conversation with the shopping assistant: %(id)s")
        % {"id": conversation.id},
    )
    return str(case.id)


def _complements(
    session: Session,
    workspace_id: str,
    index: CatalogIndex,
    lang: str,
    skus: Sequence[str],
) -> list[dict[str, Any]]:
    """What goes with ``skus``: the recommendations' ``assistant`` placement (bought together,
    by the same customers, unless the merchant chose otherwise), in stock, never padded."""
    picked = recommend.recommendations(
        session, workspace_id, placement="assistant", products=skus, k=COMPLEMENTS, fill=False
    )
    found: list[dict[str, Any]] = []
    for product in picked.products:
        item = index.item(str(product["id"]))
        if item is not None and item.availability == "in_stock":
            found.append(item.public(lang))
    return found


def join_customer(session: Session, conversation: Conversation) -> None:
    """Tie the conversation to the customer its visitor turned out to be, once known."""
    if conversation.customer_id is not None:
        return
    pairs: set[tuple[str, str]] = set()
    if conversation.user_id:
        pairs.add(("user_id", conversation.user_id))
    if conversation.anonymous_id:
        pairs.add(("anonymous_id", conversation.anonymous_id))
    if not pairs:
        return
    found = profiles.lookup_identities(session, conversation.workspace_id, pairs)
    customer_id = found.get(("user_id", conversation.user_id or "")) or found.get(
        ("anonymous_id", conversation.anonymous_id)
    )
    if customer_id is None and conversation.user_id:
        known = profiles.find_by_user_id(session, conversation.workspace_id, conversation.user_id)
        customer_id = known.id if known is not None else None
    if customer_id is not None:
        conversation.customer_id = customer_id


def start_conversation(
    session: Session,
    workspace_id: str,
    *,
    anonymous_id: str,
    user_id: str | None = None,
    locale: str | None = None,
    page_url: str = "",
    text: str = "",
    now: dt.datetime | None = None,
) -> Exchange:
    """A new conversation with the assistant's greeting (and its reply to ``text``, if any)."""
    anonymous_id = _clean(anonymous_id, "anonymousId", 200)
    if not anonymous_id and not user_id:
        raise InvalidInput("anonymousId", i18n.gettext("an anonymous id or a user id is needed"))
    now = now or utcnow()
    lang = i18n.supported(locale) if locale else guess_lang(text, "fr")
    conversation = Conversation(
        id=secrets.token_hex(16),
        workspace_id=workspace_id,
        anonymous_id=anonymous_id,
        user_id=_clean(user_id, "userId", 200) or None if user_id else None,
        locale=lang,
        status="open",
        page_url=page_url[:500],
        state={},
        created_at=now,
        last_message_at=now,
    )
    session.add(conversation)
    join_customer(session, conversation)
    with i18n.speaking(lang):
        greeting = _add(
            session,
            conversation,
            "assistant",
            i18n.gettext(
                "Hello! I'm the shop's assistant. What are you looking for? I can also answer "
                "your questions or pass you to the team."
            ),
            seq=1,
            intent="greet",
            at=now,
        )
    session.flush()
    if not text.strip():
        return Exchange(conversation, [greeting])
    exchange = post_message(session, workspace_id, conversation.id, text=text, now=now)
    return Exchange(conversation, [greeting, *exchange.messages])


def get_conversation(session: Session, workspace_id: str, conversation_id: str) -> Conversation:
    """The workspace's conversation with this id, else a 404."""
    conversation = (
        session.get(Conversation, conversation_id) if len(conversation_id) <= 32 else None
    )
    if conversation is None or conversation.workspace_id != workspace_id:
        raise InvalidInput(
            "conversation_id",
            i18n.gettext("no conversation of that id"),
            status=404,
            code="not_found",
        )
    return conversation


def post_message(
    session: Session,
    workspace_id: str,
    conversation_id: str,
    *,
    text: str,
    payload: Mapping[str, Any] | None = None,
    now: dt.datetime | None = None,
    intent_hint: str | None = None,
) -> Exchange:
    """The shopper's message and, unless a person has the conversation, the assistant's reply.

    ``intent_hint`` is a second opinion on the message's intent (the optional language model's,
    read before the transaction): it counts only where the intent model is unsure."""
    conversation = get_conversation(session, workspace_id, conversation_id)
    text = _clean(text, "text", MAX_TEXT)
    if not text and not payload:
        raise InvalidInput("text", i18n.gettext("a message is needed"))
    if conversation.status == "closed":
        conversation.status = "open"
    join_customer(session, conversation)
    seq = _next_seq(session, conversation.id)
    lang = guess_lang(text, conversation.locale) if not payload else conversation.locale
    conversation.locale = lang
    shopper = _add(
        session,
        conversation,
        "shopper",
        text,
        seq=seq,
        payload={"pressed": dict(payload)} if payload else None,
        at=now,
    )
    if conversation.status == "handoff":
        session.flush()
        return Exchange(conversation, [shopper])
    now = now or shopper.created_at
    asked = _Asked()
    with i18n.speaking(lang):
        state = dict(conversation.state or {})
        reply = _nps_turn(session, conversation, state, text, payload, now)
        if reply is None:
            hint = (text, intent_hint) if intent_hint and not payload else None
            context = _context(session, conversation, now, asked, hint)
            state, reply = dialogue.respond(state, dialogue.Turn(text, payload), context)
            # The state the hooks changed (a compensation) is kept.
            if (conversation.state or {}).get("compensated"):
                state["compensated"] = conversation.state["compensated"]
        question = None
        if reply.intent != "nps" and not reply.handoff and not reply.unanswered:
            options = options_of(session, workspace_id)
            # After a conversation that ended well, or for a customer whose delivery planned
            # a question in conversation.
            asks_now = reply.ended_well or _delivered_lately(session, conversation, now)
            question = _nps_question(
                session, conversation, options, asked, now, planned_only=not asks_now
            )
        if asked.nps_invitation is not None:
            state["nps"] = {"invitation_id": asked.nps_invitation, "await": "score"}
    shopper.intent = reply.intent[:40]
    conversation.state = state
    if reply.products and not conversation.outcome:
        conversation.outcome = "found"
    if reply.ended_well and conversation.outcome in ("", "found"):
        conversation.outcome = "ended_well"
    messages = [shopper]
    for seq_offset, said in enumerate(r for r in (reply, question) if r is not None):
        messages.append(
            _add(
                session,
                conversation,
                "assistant",
                said.text,
                seq=seq + 1 + seq_offset,
                intent=said.intent,
                payload=said.payload(),
                at=now,
            )
        )
    if reply.handoff:
        hand_off(session, conversation, now=now)
    session.flush()
    return Exchange(conversation, messages)


def hand_off(
    session: Session, conversation: Conversation, *, now: dt.datetime | None = None
) -> None:
    """Give the conversation to the team: it waits in the console's inbox (audited)."""
    if conversation.status == "handoff":
        return
    conversation.status = "handoff"
    conversation.handoff_at = now or utcnow()
    conversation.outcome = "handoff"
    workspaces.audit(
        session,
        actor="assistant",
        action="assistant.handoff",
        workspace_id=conversation.workspace_id,
        subject=conversation.id,
        data={"customer_id": conversation.customer_id},
    )
    ticket_url = options_of(session, conversation.workspace_id).ticket_url
    if ticket_url:
        session.flush()
        call = channels.queue_call(
            session,
            conversation.workspace_id,
            url=ticket_url,
            body=ticket(session, conversation),
            key=f"assistant-handoff:{conversation.id}:{conversation.handoff_at.isoformat()}",
            customer_id=conversation.customer_id,
        )
        after_commit(session, partial(channels.post_later, [call.id]))


TICKET_MESSAGES = 50


def ticket(session: Session, conversation: Conversation) -> dict[str, Any]:
    """The ticket a handoff posts to the merchant's helpdesk (signed like every cxloop
    webhook): who, where, and the conversation's last messages."""
    customer: dict[str, Any] | None = None
    if conversation.customer_id is not None:
        found = profiles.get_customer(session, conversation.workspace_id, conversation.customer_id)
        if found is not None:
            customer = {
                "id": found.id,
                "email": found.email,
                "first_name": found.first_name,
                "last_name": found.last_name,
            }
    messages = transcript(session, conversation)[-TICKET_MESSAGES:]
    return {
        "type": "assistant.handoff",
        "workspace_id": conversation.workspace_id,
        "conversation_id": conversation.id,
        "handoff_at": conversation.handoff_at.isoformat() if conversation.handoff_at else None,
        "locale": conversation.locale,
        "page_url": conversation.page_url,
        "anonymous_id": conversation.anonymous_id,
        "user_id": conversation.user_id,
        "customer": customer,
        "messages": [
            {
                "author": m.author,
                "text": m.text,
                "products": [p.get("id") for p in (m.payload or {}).get("products", [])],
                "at": m.created_at.isoformat(),
            }
            for m in messages
        ],
    }


MAX_CLICKS = 50


def record_click(session: Session, workspace_id: str, conversation_id: str, sku: str) -> None:
    """A product card the assistant showed was clicked (counted in the assistant's figures)."""
    conversation = get_conversation(session, workspace_id, conversation_id)
    shown = {
        str(p.get("id"))
        for message in transcript(session, conversation)
        if message.author == "assistant"
        for p in (message.payload or {}).get("products", [])
        if isinstance(p, dict)
    }
    if sku not in shown:
        raise InvalidInput("product", i18n.gettext("not a product this conversation showed"))
    state = dict(conversation.state or {})
    clicked = [str(s) for s in state.get("clicked") or []]
    if len(clicked) < MAX_CLICKS:
        state["clicked"] = [*clicked, sku]
        conversation.state = state


def messages_after(
    session: Session, workspace_id: str, conversation_id: str, after: int = 0
) -> Exchange:
    """The conversation's messages after ``after`` (the widget polls for agents' replies)."""
    conversation = get_conversation(session, workspace_id, conversation_id)
    rows = session.scalars(
        select(ConversationMessage)
        .where(
            ConversationMessage.conversation_id == conversation.id,
            ConversationMessage.seq > after,
        )
        .order_by(ConversationMessage.seq)
        .limit(HISTORY)
    )
    return Exchange(conversation, list(rows))


def agent_reply(
    session: Session,
    workspace_id: str,
    conversation_id: str,
    *,
    text: str,
    actor: str,
    now: dt.datetime | None = None,
) -> ConversationMessage:
    """A person's reply to the shopper (audited); the conversation stays with the team."""
    conversation = get_conversation(session, workspace_id, conversation_id)
    text = text.strip()
    if not text or len(text) > MAX_AGENT_TEXT:
        raise InvalidInput(
            "text", i18n.gettext("a reply of 1 to %(n)s characters") % {"n": MAX_AGENT_TEXT}
        )
    if conversation.status != "handoff":
        conversation.status = "handoff"
        conversation.handoff_at = conversation.handoff_at or utcnow()
    message = _add(
        session,
        conversation,
        "agent",
        text,
        seq=_next_seq(session, conversation.id),
        agent=actor,
        at=now,
    )
    workspaces.audit(
        session,
        actor=actor,
        action="assistant.replied",
        workspace_id=workspace_id,
        subject=conversation.id,
        data={"seq": message.seq},
    )
    session.flush()
    return message


def close_conversation(
    session: Session, workspace_id: str, conversation_id: str, *, actor: str
) -> Conversation:
    """The team is done with the conversation (audited); a new message reopens it."""
    conversation = get_conversation(session, workspace_id, conversation_id)
    conversation.status = "closed"
    conversation.state = {}
    workspaces.audit(
        session,
        actor=actor,
        action="assistant.closed",
        workspace_id=workspace_id,
        subject=conversation.id,
    )
    return conversation


def inbox(
    session: Session, workspace_id: str, *, status: str | None = None, limit: int = 100
) -> Sequence[Conversation]:
    """The workspace's conversations, those waiting for a person first, newest first."""
    query = select(Conversation).where(Conversation.workspace_id == workspace_id)
    if status:
        query = query.where(Conversation.status == status)
    order = (Conversation.status != "handoff", Conversation.last_message_at.desc())
    return list(session.scalars(query.order_by(*order).limit(limit)))


def transcript(session: Session, conversation: Conversation) -> list[ConversationMessage]:
    """Every message of a conversation, in order (up to ``HISTORY``, the latest)."""
    rows = session.scalars(
        select(ConversationMessage)
        .where(ConversationMessage.conversation_id == conversation.id)
        .order_by(ConversationMessage.seq.desc())
        .limit(HISTORY)
    )
    return list(reversed(list(rows)))


# Phrasing by a language model (optional) --------------------------------------------------------

# The replies a model may reword: never an FAQ answer (the merchant's words, sourced), an order's
# status, a coupon, or the NPS question.
PHRASED_INTENTS = frozenset({"search", "greet", "thanks", "bye", "compare"})
_TITLES: dict[str, tuple[CatalogIndex, frozenset[str]]] = {}


def _titles(workspace_id: str, index: CatalogIndex) -> frozenset[str]:
    cached = _TITLES.get(workspace_id)
    if cached is None or cached[0] is not index:
        cached = (index, llm.catalog_titles(index))
        _TITLES[workspace_id] = cached
    return cached[1]


def rephrase(
    db: Database, workspace_id: str, exchange: dict[str, Any], client: llm.LlmClient
) -> dict[str, Any]:
    """``exchange`` (``Exchange.to_json``, committed) with the assistant's replies reworded by
    the model where it stays grounded; the reworded text is stored, the engine's kept beside it.

    Call it outside any transaction: it waits for the model, then writes in a short one."""
    messages = exchange.get("messages") or []
    shopper = next((m["text"] for m in reversed(messages) if m["author"] == "shopper"), "")
    wanted = [
        m
        for m in messages
        if m["author"] == "assistant" and m.get("intent", "") in PHRASED_INTENTS and m["text"]
    ]
    if not wanted:
        return exchange
    with db.session() as session:
        titles = _titles(workspace_id, index_of(session, workspace_id))
    lang = str(exchange.get("locale") or "fr")
    changed: dict[int, str] = {}
    for message in wanted:
        phrased = client.phrase(
            lang=lang,
            shopper_text=shopper,
            reply_text=message["text"],
            products=message.get("products") or [],
            known_titles=titles,
        )
        if phrased:
            changed[int(message["seq"])] = phrased
    if not changed:
        return exchange
    with db.session() as session:
        rows = session.scalars(
            select(ConversationMessage).where(
                ConversationMessage.conversation_id == exchange["conversation_id"],
                ConversationMessage.workspace_id == workspace_id,
                ConversationMessage.seq.in_(list(changed)),
            )
        )
        for row in rows:
            row.payload = {**(row.payload or {}), "draft": row.text, "phrased": True}
            row.text = changed[row.seq]
    return {
        **exchange,
        "messages": [{**m, "text": changed.get(int(m["seq"]), m["text"])} for m in messages],
    }
