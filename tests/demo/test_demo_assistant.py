"""The demo store's assistant: its FAQ, and a month of conversations held through the real
assistant (answers with sources, NPS answers in conversation, handoffs answered by an agent)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import select

from cxloop.assistant.models import Conversation, ConversationMessage
from cxloop.demo import assistant as demo_assistant
from cxloop.demo import nps as demo_nps
from cxloop.demo.generator import history_end
from cxloop.demo.service import build_demo
from cxloop.store.db import Database
from cxloop.surveys.models import Response
from cxloop.wiring import wire

AS_OF = dt.date(2026, 11, 20)


def test_the_demo_holds_a_month_of_conversations(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'demo.db'}")
    ws = build_demo(db, customers=300, seed=3, as_of=AS_OF).workspace_id
    end = history_end(AS_OF)
    demo_nps.run_history(db, ws, seed=3, end=end)
    wire()
    told = demo_assistant.run_history(db, ws, seed=3, end=end, conversations=40)
    with db.session() as session:
        conversations = session.scalars(select(Conversation)).all()
        messages = session.scalars(select(ConversationMessage)).all()
        chat_answers = session.scalars(select(Response).where(Response.channel == "chat")).all()
    assert told["conversations"] == len(conversations) == 40
    assert told["faq_entries"] == 12
    # within the last month, in French and English
    assert all(end - dt.timedelta(days=31) <= c.created_at <= end for c in conversations)
    assert {c.locale for c in conversations} == {"fr", "en"}
    # products shown and clicked, FAQ answers with their source, agents' answers
    assert any(m.payload.get("products") for m in messages)
    assert any(c.state.get("clicked") for c in conversations)
    assert any(m.payload.get("source") for m in messages if m.author == "assistant")
    agents = [m for m in messages if m.author == "agent"]
    assert len(agents) == told["handoffs"] >= 1
    # NPS answers in conversation, with the follow-up, as responses of the chat channel
    assert len(chat_answers) == told["nps_answers"] >= 3
    assert all(a.status == "confirmed" and a.followup for a in chat_answers)
