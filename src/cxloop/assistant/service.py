"""Conversations: started by a store page's widget, answered by the dialogue engine, handed to
a person when the shopper asks or the assistant fails twice, answered by agents from the
console's inbox.

A shopper's message and the assistant's reply are written in one transaction; an agent's
reply and a closing are audited actions. A conversation is tied to the visitor's anonymous id
and joins the customer as soon as the store identifies them (``join_customer``).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cxloop import i18n, profiles, workspaces
from cxloop.assistant import dialogue
from cxloop.assistant.catalog import index_of
from cxloop.assistant.intents import model_for
from cxloop.assistant.models import Conversation, ConversationMessage, IntentExample
from cxloop.assistant.text import guess_lang
from cxloop.errors import InvalidInput
from cxloop.store.base import utcnow

MAX_TEXT = 1000
MAX_AGENT_TEXT = 4000
HISTORY = 200  # messages a conversation shows at most


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


def _context(session: Session, conversation: Conversation) -> dialogue.Context:
    workspace_id = conversation.workspace_id
    examples = [
        (intent, text)
        for intent, text in session.execute(
            select(IntentExample.intent, IntentExample.text)
            .where(IntentExample.workspace_id == workspace_id)
            .order_by(IntentExample.id)
        )
    ]
    return dialogue.Context(
        index=index_of(session, workspace_id),
        intents=model_for(examples),
        lang=conversation.locale,
    )


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
) -> Exchange:
    """A new conversation with the assistant's greeting (and its reply to ``text``, if any)."""
    anonymous_id = _clean(anonymous_id, "anonymousId", 200)
    if not anonymous_id and not user_id:
        raise InvalidInput("anonymousId", i18n.gettext("an anonymous id or a user id is needed"))
    now = utcnow()
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
    exchange = post_message(session, workspace_id, conversation.id, text=text)
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
) -> Exchange:
    """The shopper's message and, unless a person has the conversation, the assistant's reply."""
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
    )
    if conversation.status == "handoff":
        session.flush()
        return Exchange(conversation, [shopper])
    with i18n.speaking(lang):
        context = _context(session, conversation)
        state, reply = dialogue.respond(
            dict(conversation.state or {}), dialogue.Turn(text, payload), context
        )
    shopper.intent = reply.intent[:40]
    conversation.state = state
    if reply.products and not conversation.outcome:
        conversation.outcome = "found"
    if reply.ended_well and conversation.outcome in ("", "found"):
        conversation.outcome = "ended_well"
    message = _add(
        session,
        conversation,
        "assistant",
        reply.text,
        seq=seq + 1,
        intent=reply.intent,
        payload=reply.payload(),
    )
    if reply.handoff:
        hand_off(session, conversation)
    session.flush()
    return Exchange(conversation, [shopper, message])


def hand_off(session: Session, conversation: Conversation) -> None:
    """Give the conversation to the team: it waits in the console's inbox (audited)."""
    if conversation.status == "handoff":
        return
    conversation.status = "handoff"
    conversation.handoff_at = utcnow()
    conversation.outcome = "handoff"
    workspaces.audit(
        session,
        actor="assistant",
        action="assistant.handoff",
        workspace_id=conversation.workspace_id,
        subject=conversation.id,
        data={"customer_id": conversation.customer_id},
    )


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
    session: Session, workspace_id: str, conversation_id: str, *, text: str, actor: str
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
