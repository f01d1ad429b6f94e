"""Scheduling half of the NPS benchmark: plan, render and queue invitations for N deliveries.

Builds a store with N customers, each with one order delivered in the last two days, and the
proposed after-delivery survey (no delay, any hour). Then times one pass of the NPS loop
(`cxloop.surveys.flows.tick`): planning (with every rule checked), claiming, rendering each
email (HTML with inlined CSS and a text part) and writing it to the outbox, then delivering to
the outbox. Baseline: the same number of invitation rows and outbox rows, of the same sizes,
inserted straight through SQLAlchemy Core, with no rules and no rendering.
"""

from __future__ import annotations

import datetime as dt
import secrets
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from cxloop import channels
from cxloop.channels import email
from cxloop.config import Settings
from cxloop.store.db import Database
from cxloop.store.registry import load_models
from cxloop.surveys import flows, service
from cxloop.surveys.definitions import default_definition
from cxloop.wiring import wire
from cxloop.workspaces import service as workspaces
from cxloop.workspaces.schemas import WorkspaceCreate


def _store(db: Database, n: int, now: dt.datetime) -> str:
    tables = load_models().metadata.tables
    with db.session() as session:
        ws = workspaces.create_workspace(session, WorkspaceCreate(name="Bench")).workspace_id
        definition = default_definition("shipment_delivered").model_copy(
            update={"delay_hours": 0, "send_hours": (0, 24)}
        )
        survey = service.save_survey(session, ws, definition, actor="bench")
        survey.created_at = now - dt.timedelta(days=30)
    for start in range(0, n, 20_000):
        ids = range(start + 1, min(start + 20_000, n) + 1)
        with db.session() as session:
            session.execute(
                insert(tables["customers"]),
                [
                    {
                        "id": i,
                        "workspace_id": ws,
                        "user_id": f"u{i}",
                        "email": f"c{i}@example.com",
                        "first_name": "Lou",
                        "locale": "fr" if i % 3 else "en",
                        "timezone": "Europe/Paris",
                        "traits": {},
                        "consent": {},
                    }
                    for i in ids
                ],
            )
            session.execute(
                insert(tables["orders"]),
                [
                    {
                        "id": i,
                        "workspace_id": ws,
                        "external_id": f"#{i}",
                        "customer_id": i,
                        "status": "paid",
                        "total_cents": 4990,
                        "placed_at": now - dt.timedelta(days=3, minutes=i % 1000),
                    }
                    for i in ids
                ],
            )
            session.execute(
                insert(tables["shipments"]),
                [
                    {
                        "id": i,
                        "workspace_id": ws,
                        "order_id": i,
                        "external_id": f"S{i}",
                        "carrier": "Colissimo",
                        "status": "delivered",
                        "promised_at": now - dt.timedelta(days=1),
                        "delivered_at": now - dt.timedelta(days=1, minutes=i % 1000),
                    }
                    for i in ids
                ],
            )
    return ws


def _baseline(n: int, html_size: int, text_size: int, now: dt.datetime) -> float:
    tables = load_models().metadata.tables
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/base.db")
        ws = _store(db, 1, now)
        html, text = "x" * html_size, "y" * text_size
        started = time.perf_counter()
        for start in range(0, n, 5_000):
            ids = range(start + 1, min(start + 5_000, n) + 1)
            rows: list[dict[str, Any]] = [
                {
                    "id": i,
                    "workspace_id": ws,
                    "survey_id": 1,
                    "customer_id": 1,
                    "subject_key": f"shipment:{i}",
                    "touchpoint": "after_delivery",
                    "channel": "email",
                    "locale": "fr",
                    "status": "sent",
                    "token": secrets.token_urlsafe(24),
                    "scheduled_at": now,
                    "sent_at": now,
                    "expires_at": now,
                }
                for i in ids
            ]
            with db.session() as session:
                session.execute(insert(tables["invitations"]), rows)
                session.execute(
                    insert(tables["outbound_messages"]),
                    [
                        {
                            "workspace_id": ws,
                            "customer_id": 1,
                            "purpose": "nps_invitation",
                            "related_key": f"invitation:{i}",
                            "to_address": f"c{i}@example.com",
                            "from_address": "shop@example.com",
                            "subject": "Votre avis",
                            "html": html,
                            "text": text,
                            "headers": {},
                            "message_id": f"<{i}@bench>",
                            "status": "outbox",
                        }
                        for i in ids
                    ],
                )
        elapsed = time.perf_counter() - started
        db.dispose()
        return n / elapsed


@dataclass
class _Timer:
    original: Any
    seconds: float = 0.0


def _timed_delivery() -> _Timer:
    """Wrap the email channel's ``deliver`` to time the hand-over apart from the rest."""
    timer = _Timer(email.deliver)

    def deliver(*args: Any, **kwargs: Any) -> None:
        started = time.perf_counter()
        try:
            timer.original(*args, **kwargs)
        finally:
            timer.seconds += time.perf_counter() - started

    # Callers reach it through the channels facade, which holds its own reference.
    email.deliver = channels.deliver = deliver
    return timer


def run_schedule(n: int) -> dict[str, float]:
    """Time one NPS loop pass over ``n`` fresh deliveries; returns rates and the baseline."""
    wire()  # the hooks a server or worker has: sent mail moves its invitation along the funnel
    now = dt.datetime.now(dt.UTC)
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/nps.db")
        settings = Settings(home=Path(tmp), secret_key="b" * 40)
        ws = _store(db, n, now)
        started = time.perf_counter()
        with db.session() as session:
            planned = service.plan(session, ws, now)
        planning = time.perf_counter() - started
        delivering = _timed_delivery()
        try:
            flows.tick(db, settings, now + dt.timedelta(seconds=1), budget_seconds=3600)
        finally:
            email.deliver = channels.deliver = delivering.original
        total = time.perf_counter() - started
        with db.engine.connect() as conn:
            sizes = conn.exec_driver_sql(
                "select count(*), avg(length(html)), avg(length(text)) from outbound_messages"
            ).one()
        db.dispose()
    assert planned.scheduled == n and sizes[0] == n, (planned, sizes)
    return {
        "invitations": float(n),
        "plan_per_s": n / planning,
        "queued_per_s": n / (total - delivering.seconds),
        "total_per_s": n / total,
        "html_bytes": float(sizes[1]),
        "baseline_per_s": _baseline(n, int(sizes[1]), int(sizes[2]), now),
    }


if __name__ == "__main__":
    import sys

    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    print(run_schedule(count))
