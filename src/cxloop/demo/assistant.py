"""The demo store's assistant: its FAQ, and a month of conversations, held through the real
assistant (the same service the widget calls) at past times.

Shoppers ask for products in French and English, press the buttons they are offered, click
products, compare, ask the FAQ, ask about their order, say thank you (and answer the NPS
question when it comes), or ask for a person, whom an agent of the shop answers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from cxloop import assistant
from cxloop.store.db import Database

Progress = Callable[[str, int, int], None]
DATA = Path(__file__).with_name("data")
DAYS = 30
AGENT = "demo@cxloop.example"

# What shoppers say, in order; "@button" presses the reply's first button, "@click" clicks the
# first product shown, "@score" answers the NPS question if it came.
SCRIPTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("fr", ("des baskets blanches pour femme à moins de 80 euros", "@button", "@click", "merci")),
    ("fr", ("un cadeau pour un enfant de 5 ans", "@button", "@click", "merci beaucoup")),
    ("fr", ("une robe rouge", "@button", "compare", "merci")),
    ("fr", ("quels sont vos délais de livraison ?", "merci")),
    ("fr", ("comment retourner un article ?", "super, merci")),
    ("fr", ("un pull en laine pour homme à moins de 60 €", "@click")),
    ("fr", ("vous faites des cartes cadeaux ?", "et la gravure personnalisée ?")),
    ("fr", ("je veux parler à un conseiller",)),
    ("fr", ("des chaussures pour bébé", "@button", "@click", "merci")),
    ("fr", ("un livre pour un enfant de 8 ans", "@click", "merci !")),
    ("en", ("white trainers for women under 80 euros", "@button", "@click", "thanks")),
    ("en", ("a gift for a 5 year old", "@button", "thank you")),
    ("en", ("how long does delivery take?", "thanks")),
    ("en", ("can I talk to a human please",)),
    ("en", ("a blue dress size 38", "@click", "thanks")),
)
FOLLOW_UPS = {
    "promoter": ("Très bon conseil, j'ai trouvé vite.", "Super service, merci !"),
    "passive": ("Bien, mais le choix de tailles est limité.", "Correct, livraison un peu chère."),
    "detractor": ("Les délais de livraison sont trop longs.", "Je n'ai pas trouvé ma taille."),
}


def import_faq(db: Database, workspace_id: str) -> int:
    """The demo store's FAQ, in French and English; returns how many entries."""
    count = 0
    with db.session() as session:
        for name in ("faq.md", "faq_en.md"):
            rows = assistant.read_file(name, (DATA / name).read_text(encoding="utf-8"))
            count += assistant.import_faq(session, workspace_id, rows, actor="demo", source=name)
    return count


def run_history(
    db: Database,
    workspace_id: str,
    *,
    seed: int,
    end: dt.datetime,
    conversations: int = 60,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Hold ``conversations`` conversations over the last ``DAYS`` days; returns what came of
    them (conversations, FAQ entries, handoffs, NPS answers)."""
    told = {"conversations": conversations, "faq_entries": import_faq(db, workspace_id)}
    rng = np.random.default_rng(seed + 13)
    starts = sorted(
        end - dt.timedelta(minutes=float(m)) for m in rng.uniform(60, DAYS * 24 * 60, conversations)
    )
    outcomes: dict[str, int] = {"handoffs": 0, "nps_answers": 0}
    for number, start in enumerate(starts):
        lang, script = SCRIPTS[int(rng.integers(len(SCRIPTS)))]
        for outcome in _converse(db, workspace_id, rng, number, lang, script, start):
            outcomes[outcome] += 1
        if progress is not None and number % 10 == 9:
            progress("assistant", number + 1, conversations)
    return {**told, **outcomes}


def _converse(
    db: Database,
    workspace_id: str,
    rng: np.random.Generator,
    number: int,
    lang: str,
    script: tuple[str, ...],
    start: dt.datetime,
) -> list[str]:
    """One conversation; what came of it (``handoffs``, ``nps_answers``)."""
    outcomes: list[str] = []
    now = start
    with db.session() as session:
        exchange = assistant.start_conversation(
            session,
            workspace_id,
            anonymous_id=f"demo-visitor-{number}",
            locale=lang,
            page_url="https://maison-colibri.example/",
            now=now,
        )
        cid = exchange.conversation.id
    last: dict[str, Any] = exchange.to_json()["messages"][-1]
    for said in script:
        now += dt.timedelta(seconds=float(rng.uniform(8, 60)))
        with db.session() as session:
            if said == "@click":
                shown = last.get("products") or []
                if shown:
                    assistant.record_click(session, workspace_id, cid, shown[0]["id"])
                continue
            if said == "@button":
                buttons = [b for b in last.get("buttons") or [] if "set" in b.get("payload", {})]
                if not buttons:
                    continue
                chosen = buttons[int(rng.integers(len(buttons)))]
                reply = assistant.post_message(
                    session,
                    workspace_id,
                    cid,
                    text=chosen["label"],
                    payload=chosen["payload"],
                    now=now,
                )
            else:
                reply = assistant.post_message(session, workspace_id, cid, text=said, now=now)
        messages = reply.to_json()["messages"]
        if messages:
            last = messages[-1]
        if last.get("intent") == "nps":
            now = _answer_nps(db, workspace_id, rng, cid, now)
            outcomes.append("nps_answers")
        if reply.conversation.status == "handoff":
            _agent_answers(db, workspace_id, cid, lang, now)
            outcomes.append("handoffs")
            break
    return outcomes


def _answer_nps(
    db: Database, workspace_id: str, rng: np.random.Generator, cid: str, now: dt.datetime
) -> dt.datetime:
    score = int(rng.choice(11, p=_SCORES))
    category = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
    now += dt.timedelta(seconds=float(rng.uniform(5, 30)))
    with db.session() as session:
        assistant.post_message(
            session, workspace_id, cid, text=str(score), payload={"nps": score}, now=now
        )
    now += dt.timedelta(seconds=float(rng.uniform(10, 60)))
    texts = FOLLOW_UPS[category]
    with db.session() as session:
        assistant.post_message(
            session, workspace_id, cid, text=texts[int(rng.integers(len(texts)))], now=now
        )
    return now


# Scores given in conversation: mostly promoters, as shoppers helped tend to be.
_SCORES = np.array([1, 1, 1, 2, 2, 3, 5, 8, 14, 25, 38], dtype=float)
_SCORES /= _SCORES.sum()


def _agent_answers(db: Database, workspace_id: str, cid: str, lang: str, now: dt.datetime) -> None:
    text = (
        "Bonjour, ici Camille de l'équipe. Je regarde cela avec vous."
        if lang == "fr"
        else "Hello, Camille from the team here. Let me look into it with you."
    )
    with db.session() as session:
        assistant.agent_reply(
            session, workspace_id, cid, text=text, actor=AGENT, now=now + dt.timedelta(minutes=4)
        )
        assistant.close_conversation(session, workspace_id, cid, actor=AGENT)
