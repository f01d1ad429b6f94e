"""Journeys: how soon a trigger's first message is sent, and how fast a segment's customers enter.

1. Event to send, with the worker running. A SQLite store and queue, a journey triggered by an
   event whose first step sends an email (a service message: no quiet hours), mail to the
   outbox. Events are stored one at a time as the ingest writer stores them (one transaction
   each, the hooks wired), ``--rate`` a second; the latency of each is the message's ``sent_at``
   minus the moment before the event's commit. cxloop's worker (Huey consumer threads polling at
   most every 0.5 s) against the baseline: the same worker with Huey's default polling (an idle
   consumer backs off to 10 s). Target: p95 under 2 s.
2. Entry. ``--customers`` customers put in a static segment at once; the segment triggers a
   journey whose first steps set a field and wait. Timed: the list set (segment members, the
   history of entries, the journey's runs: one transaction), then the runs' first steps. Baseline:
   the same entries made one customer at a time, one transaction each (a naive engine), over
   ``--sample`` customers. Target: over 1,000 journeys entered per second.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import tempfile
import time
from typing import Any

from huey.storage import SqliteStorage
from sqlalchemy import func, insert, select

from cxloop.channels.models import OutboundMessage
from cxloop.config import get_settings
from cxloop.ingest import service as ingest
from cxloop.journeys import engine, guardrails, service
from cxloop.journeys.models import JourneyRun
from cxloop.segments import service as segments
from cxloop.segments.schemas import SegmentCreate
from cxloop.store.db import Database
from cxloop.store.registry import load_models
from cxloop.store.runtime import get_database
from cxloop.wiring import wire
from cxloop.worker.queue import MAX_DELAY, EmbeddedConsumer, huey
from cxloop.worker.registry import load_tasks
from cxloop.workspaces import service as workspaces
from cxloop.workspaces.schemas import WorkspaceCreate

LATENCY_TARGET = 2.0
ENTRY_TARGET = 1000.0
HUEY_DEFAULT_MAX_DELAY = 10.0
TRIGGERED = """
key: apology
trigger: {event: Parcel Late}
reentry: always
steps:
  - send: {subject: "Votre colis a du retard", body: "Toutes nos excuses.", marketing: false}
"""
ENTERED = """
key: welcome
trigger: {segment: everyone}
steps:
  - set: {field: welcomed, value: true}
  - wait: 7d
"""


def _customers(db: Database, ws: str, n: int) -> None:
    table = load_models().metadata.tables["customers"]
    for start in range(0, n, 20_000):
        with db.session() as session:
            session.execute(
                insert(table),
                [
                    {
                        "workspace_id": ws,
                        "user_id": f"u{i}",
                        "email": f"c{i}@example.com",
                        "first_name": "Lou",
                        "locale": "fr",
                        "timezone": "Europe/Paris",
                        "traits": {},
                        "consent": {},
                    }
                    for i in range(start, min(start + 20_000, n))
                ],
            )


def _workspace(db: Database) -> str:
    with db.session() as session:
        return workspaces.create_workspace(session, WorkspaceCreate(name="Bench")).workspace_id


def latencies(events: int, rate: float, max_delay: float) -> list[float]:
    """Seconds from each event's commit to its message's send, with a worker polling at most
    every ``max_delay`` seconds."""
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["CXLOOP_DATABASE_URL"] = f"sqlite:///{tmp}/store.db"
        os.environ["CXLOOP_HOME"] = tmp
        os.environ.pop("CXLOOP_SMTP_URL", None)
        get_settings.cache_clear()
        get_database.cache_clear()
        db = get_database()
        storage = SqliteStorage("cxloop", filename=f"{tmp}/queue.db")
        huey.storage = storage
        wire()
        load_tasks()
        ws = _workspace(db)
        _customers(db, ws, events)
        with db.session() as session:
            service.create_journey(session, ws, TRIGGERED, actor="bench", status="active")
        consumer = EmbeddedConsumer(
            huey, workers=2, worker_type="thread", periodic=False, check_worker_health=False,
            max_delay=max_delay,
        )  # fmt: skip
        consumer.start()
        started: dict[int, float] = {}
        try:
            time.sleep(max_delay + 1)  # an idle consumer, backed off as far as it goes
            for customer_id in range(1, events + 1):
                moment = time.time()
                with db.session() as session:
                    ingest.record_event(
                        session,
                        ws,
                        message_id=f"bench-{customer_id}",
                        event_type="track",
                        event="Parcel Late",
                        timestamp=dt.datetime.now(dt.UTC),
                        customer_id=customer_id,
                    )
                started[customer_id] = moment
                time.sleep(1 / rate)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                with db.session() as session:
                    sent = session.scalar(
                        select(func.count()).where(OutboundMessage.sent_at.is_not(None))
                    )
                if sent == events:
                    break
                time.sleep(0.2)
            with db.session() as session:
                rows = session.execute(
                    select(OutboundMessage.customer_id, OutboundMessage.sent_at)
                ).all()
        finally:
            consumer.stop(graceful=True)
            storage.close()
            db.dispose()
            get_database.cache_clear()
    assert len(rows) == events, f"{len(rows)} of {events} messages sent"
    return sorted(sent_at.timestamp() - started[cid] for cid, sent_at in rows if cid)


def _percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def entries(n: int, sample: int) -> dict[str, float]:
    """Journeys entered per second when ``n`` customers enter a segment at once, their first
    steps taken per second, and the one-at-a-time baseline over ``sample`` customers."""
    wire()
    with tempfile.TemporaryDirectory() as tmp:
        # The entries' first steps are handed to the queue once committed, as in production.
        huey.storage = SqliteStorage("cxloop", filename=f"{tmp}/queue.db")
        db = Database(f"sqlite:///{tmp}/entry.db")
        settings = get_settings()
        ws = _workspace(db)
        _customers(db, ws, n)
        with db.session() as session:
            segments.create_segment(
                session,
                ws,
                SegmentCreate(key="everyone", name="Everyone", kind="static"),
                actor="b",
            )
            service.create_journey(session, ws, ENTERED, actor="bench", status="active")
            guardrails.limits_of(session, ws)
        ids = list(range(1, n + 1))
        started = time.perf_counter()
        with db.session() as session:
            segments.set_members(session, ws, "everyone", ids, actor="bench")
        entering = time.perf_counter() - started
        with db.session() as session:
            runs = list(session.scalars(select(JourneyRun.id).order_by(JourneyRun.id)))
        started = time.perf_counter()
        engine.advance(db, runs, settings)
        stepping = time.perf_counter() - started
        with db.session() as session:
            waiting = session.scalar(
                select(func.count()).where(JourneyRun.status == "active", JourneyRun.step == 2)
            )
        assert len(runs) == n and waiting == n, (len(runs), waiting)
        # The baseline: one customer, one transaction, into a second journey.
        with db.session() as session:
            second = service.create_journey(
                session, ws, ENTERED.replace("key: welcome", "key: again"), actor="b"
            )
        started = time.perf_counter()
        now = dt.datetime.now(dt.UTC)
        for cid in ids[:sample]:
            with db.session() as session:
                journey = session.merge(second)
                engine.enter(session, journey, [cid], now)
        one_by_one = time.perf_counter() - started
        db.dispose()
        huey.storage.close()
    return {
        "entered_per_s": n / entering,
        "first_steps_per_s": n / stepping,
        "baseline_per_s": sample / one_by_one,
        "entering_s": entering,
        "stepping_s": stepping,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=2_000)
    parser.add_argument("--events", type=int, default=30)
    parser.add_argument("--rate", type=float, default=0.2)
    args = parser.parse_args()
    print(f"## Journeys (load average {', '.join(f'{x:.1f}' for x in os.getloadavg())})\n")
    ours = latencies(args.events, args.rate, MAX_DELAY)
    base = latencies(args.events, args.rate, HUEY_DEFAULT_MAX_DELAY)
    print(f"### Event to send: {args.events} events, {args.rate:g} a second, SQLite\n")
    print("| worker | p50 | p95 | max |")
    print("|---|---:|---:|---:|")
    for name, values in (
        (f"cxloop (polls at most every {MAX_DELAY:g} s)", ours),
        (f"baseline: Huey's default polling (up to {HUEY_DEFAULT_MAX_DELAY:g} s)", base),
    ):
        print(
            f"| {name} | {_percentile(values, 50):.2f} s | {_percentile(values, 95):.2f} s "
            f"| {max(values):.2f} s |"
        )
    p95 = _percentile(ours, 95)
    verdict = "met" if p95 < LATENCY_TARGET else "**not met**"
    print(f"\ntarget: p95 under {LATENCY_TARGET:g} s: {verdict} ({p95:.2f} s)\n")
    found: dict[str, Any] = entries(args.customers, args.sample)
    print(f"### Entry: {args.customers:,} customers enter a segment at once, SQLite\n")
    print("| | per second | seconds |")
    print("|---|---:|---:|")
    print(
        "| entered (members, entry history and runs, one transaction) "
        f"| {found['entered_per_s']:,.0f} | {found['entering_s']:.1f} |"
    )
    print(
        "| first steps taken (a field set, then a wait) "
        f"| {found['first_steps_per_s']:,.0f} | {found['stepping_s']:.1f} |"
    )
    print(
        f"| baseline: entered one at a time, one transaction each ({args.sample:,}) "
        f"| {found['baseline_per_s']:,.0f} | |"
    )
    verdict = "met" if found["entered_per_s"] > ENTRY_TARGET else "**not met**"
    print(
        f"\ntarget: over {ENTRY_TARGET:,.0f} journeys entered per second: {verdict} "
        f"({found['entered_per_s']:,.0f}/s)"
    )


if __name__ == "__main__":
    main()
