"""Ingest throughput and latency of a real `cxloop serve` on SQLite, each beside a baseline.

1. Sustained `/v1/batch` throughput: client processes post batches of 100 `track` calls as fast
   as the server acknowledges them, for a fixed time; every acknowledged call is then counted
   in the store. Baseline: the same rows inserted straight through SQLAlchemy Core, in one
   process, into the same schema (the ceiling the server cannot pass).
2. Single `track` calls at saturation: 50 keep-alive connections sending back to back (closed
   loop); only the calls per second mean something here.
3. Single `track` calls, open loop (``bench/http_load.py``): Poisson arrivals at several fixed
   rates, each call sent at its scheduled time whatever the replies, its latency measured from
   that time; p50, p99 and max per rate. Every answered call is counted in the store.

Baseline for 2 and 3: the same client and the very same requests against an ASGI app that
reads the request and answers without doing anything (``bench/null_server.py``), under uvicorn
with cxloop's settings, run right after cxloop at each rate. Both servers run on 127.0.0.1,
with the load generated on the same machine; the client prints how late it sent (send lag)
and how much CPU it used, to show that it was not the bottleneck.

    .venv/bin/python bench/ingest.py [--seconds 10] [--rates 250,500,1000,1500]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime as dt
import json
import multiprocessing as mp
import os
import platform
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar

import httpx
import uvloop

from http_load import (
    OpenLoopRun,
    closed_loop,
    free_port,
    open_loop,
    quantile,
    settle,
    track_request,
    wait_for,
)

ROOT = Path(__file__).resolve().parents[1]
CXLOOP = str(Path(sys.executable).with_name("cxloop"))
HOST = "127.0.0.1"
T = TypeVar("T")


def start(command: Sequence[str], port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start a server process and wait until it listens."""
    server = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wait_for(port, server, seconds=30)
    return server


def stop(server: subprocess.Popen[bytes]) -> None:
    """Interrupt a server and wait for it."""
    server.send_signal(signal.SIGINT)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on uvloop, the loop uvicorn itself uses: the cheaper client."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coroutine)


def call(n: int, prefix: str) -> dict[str, Any]:
    """The ``n``-th ``track`` call of a run, its message id made unique by ``prefix``."""
    return {
        "type": "track",
        "userId": f"user-{n % 2000}",
        "event": "Product Viewed",
        "messageId": f"{prefix}-{n}",
        "timestamp": "2026-11-01T10:00:00Z",
        "properties": {"sku": f"SKU-{n % 500}", "price": 39.9, "currency": "EUR"},
        "context": {
            "page": {"path": "/p/pull", "url": "https://shop.example/p/pull"},
            "userAgent": "Mozilla/5.0 (bench)",
        },
    }


def batch_client(
    url: str, key: str, seconds: float, size: int, index: int, out: mp.Queue[int]
) -> None:
    """Post batches back to back for ``seconds``; put the number of calls acknowledged."""
    auth = {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}
    sent, n = 0, 0
    deadline = time.monotonic() + seconds
    with httpx.Client(timeout=60) as client:
        while time.monotonic() < deadline:
            body = {"batch": [call(n + k, f"c{index}") for k in range(size)]}
            response = client.post(f"{url}/v1/batch", content=json.dumps(body), headers=auth)
            response.raise_for_status()
            sent += size
            n += size
    out.put(sent)


def track_requests(key: str, prefix: str, count: int) -> list[bytes]:
    """``count`` single ``track`` calls, as bytes, each with its own message id."""
    authorization = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    return [
        track_request(HOST, authorization, json.dumps(call(n, prefix)).encode())
        for n in range(count)
    ]


def stored(path: Path, prefix: str) -> int:
    """Events in the store whose message id starts with ``prefix``."""
    with sqlite3.connect(path) as conn:
        return int(
            conn.execute(
                "SELECT count(*) FROM events WHERE message_id LIKE ?", (prefix + "%",)
            ).fetchone()[0]
        )


def missing(path: Path, prefix: str, message_ids: Sequence[str]) -> int:
    """How many of ``message_ids`` (all starting with ``prefix``) are not in the store."""
    with sqlite3.connect(path) as conn:
        present = {
            row[0]
            for row in conn.execute(
                "SELECT message_id FROM events WHERE message_id LIKE ?", (prefix + "%",)
            )
        }
    return sum(1 for message_id in message_ids if message_id not in present)


def ms(seconds: float) -> str:
    """Seconds as milliseconds, for the tables."""
    return f"{seconds * 1000:,.1f}"


def latency_cells(result: OpenLoopRun) -> str:
    """answered/s | p50 | p99 | max for one run; "≥" when calls were left unanswered."""
    at_least = "≥ " if result.unanswered else ""
    return (
        f"{result.answered / result.seconds:,.0f} | {ms(result.percentile(0.5))} | "
        f"{at_least}{ms(result.percentile(0.99))} | {at_least}{ms(result.percentile(1.0))}"
    )


def client_cells(result: OpenLoopRun) -> str:
    """send lag p99 / max | client CPU | connections (sends that waited for one)."""
    return (
        f"{ms(quantile(result.send_lags, 0.99))} / {ms(quantile(result.send_lags, 1.0))} | "
        f"{result.client_cpu:.0%} | {result.connections} ({result.waited_for_connection:,})"
    )


def baseline(rows: int) -> float:
    """Insert ``rows`` events straight through SQLAlchemy Core: the ceiling."""
    from sqlalchemy import insert

    from cxloop.store.db import Database
    from cxloop.store.registry import load_models
    from cxloop.workspaces import service
    from cxloop.workspaces.schemas import WorkspaceCreate

    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/base.db")
        with db.session() as session:
            ws = service.create_workspace(session, WorkspaceCreate(name="b")).workspace_id
        events = load_models().metadata.tables["events"]
        now = dt.datetime.now(dt.UTC)
        payload = [call(n, "base") for n in range(rows)]
        started = time.perf_counter()
        for start in range(0, rows, 5000):
            with db.session() as session:
                session.execute(
                    insert(events),
                    [
                        {
                            "workspace_id": ws,
                            "message_id": c["messageId"],
                            "type": "track",
                            "event": c["event"],
                            "customer_id": None,
                            "user_id": c["userId"],
                            "anonymous_id": None,
                            "properties": c["properties"],
                            "context": c["context"],
                            "timestamp": now,
                            "sent_at": None,
                            "received_at": now,
                        }
                        for c in payload[start : start + 5000]
                    ],
                )
        return rows / (time.perf_counter() - started)


def main() -> None:
    """Run the three measures and print them beside their baselines."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of every run")
    parser.add_argument("--clients", type=int, default=3, help="batch client processes")
    parser.add_argument("--batch", type=int, default=100, help="calls per batch")
    parser.add_argument(
        "--connections", type=int, default=50, help="connections of the saturation run"
    )
    parser.add_argument(
        "--rates",
        type=lambda text: [float(r) for r in text.split(",")],
        default=[250.0, 500.0, 1000.0, 1500.0],
        help="calls per second of the open-loop runs (Poisson arrivals)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cxloop-bench-") as folder:
        measure(args, Path(folder))


def measure(args: argparse.Namespace, tmp: Path) -> None:
    """Start the servers with a store in ``tmp``, run the measures, print the tables."""
    store = tmp / "store.db"
    env = dict(
        os.environ,
        CXLOOP_HOME=str(tmp / "home"),
        CXLOOP_DATABASE_URL=f"sqlite:///{store}",
    )
    keys = json.loads(
        subprocess.run(
            [CXLOOP, "workspace", "create", "Bench", "--json"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    key = keys["write_key"]
    port, null_port = free_port(), free_port()
    print(
        f"machine: {os.cpu_count()} cores, {platform.machine()}, Python "
        f"{platform.python_version()}; load average "
        + ", ".join(f"{x:.1f}" for x in os.getloadavg()),
        flush=True,
    )
    server = start([CXLOOP, "serve", "--port", str(port), "--no-worker"], port, env)
    null = start(
        [sys.executable, str(Path(__file__).with_name("null_server.py")), "--port", str(null_port)],
        null_port,
        env,
    )
    url = f"http://{HOST}:{port}"
    paced: list[tuple[OpenLoopRun, OpenLoopRun]] = []
    answered_ids: list[str] = []
    try:
        out: mp.Queue[int] = mp.Queue()
        procs = [
            mp.Process(target=batch_client, args=(url, key, args.seconds, args.batch, i, out))
            for i in range(args.clients)
        ]
        started = time.perf_counter()
        for proc in procs:
            proc.start()
        acked = sum(out.get() for _ in procs)
        for proc in procs:
            proc.join()
        elapsed = time.perf_counter() - started

        saturation_requests = track_requests(key, "s", 200_000)
        saturated = run(
            closed_loop(HOST, port, saturation_requests, args.connections, args.seconds)
        )
        null_saturated = run(
            closed_loop(HOST, null_port, saturation_requests, args.connections, args.seconds)
        )
        # Warm both servers up (first calls, identity cache, connections), unrecorded.
        warm = track_requests(key, "w", int(2 * args.rates[0]))
        for target in (port, null_port):
            run(open_loop(HOST, target, warm, args.rates[0], 2.0))
        probe = track_requests(key, "p", 1)
        for rate in args.rates:
            prefix = f"o{rate:.0f}"
            requests = track_requests(key, prefix, int(rate * args.seconds * 1.2) + 100)
            ours = run(open_loop(HOST, port, requests, rate, args.seconds))
            waited = run(settle(HOST, port, probe[0], under=0.05, within=60))
            theirs = run(open_loop(HOST, null_port, requests, rate, args.seconds))
            run(settle(HOST, null_port, probe[0], under=0.05, within=60))
            paced.append((ours, theirs))
            answered_ids += [f"{prefix}-{i}" for i in ours.answered_indices]
            print(
                f"rate {rate:,.0f}/s done; cxloop settled in {waited:.1f} s",
                file=sys.stderr,
                flush=True,
            )
    finally:
        stop(server)
        stop(null)
    stored_batch = stored(store, "c")
    lost = missing(store, "o", answered_ids)
    throughput = acked / elapsed
    ceiling = baseline(max(acked, 20_000))

    print()
    print("| measure | cxloop serve | baseline | ratio |")
    print("|---|---:|---:|---:|")
    print(
        f"| `/v1/batch` events/s ({args.clients} client processes x {args.batch} calls/batch, "
        f"{args.seconds:.0f} s); baseline: SQLAlchemy Core, one process | {throughput:,.0f} | "
        f"{ceiling:,.0f} | {throughput / ceiling:.2f} |"
    )
    print(f"| batch calls acknowledged = stored | {acked:,} acked, {stored_batch:,} stored | | |")
    print(
        f"| single `track` calls/s at saturation ({args.connections} connections, closed loop, "
        f"{args.seconds:.0f} s); baseline: null ASGI app | {saturated:,.0f} | "
        f"{null_saturated:,.0f} | {saturated / null_saturated:.2f} |"
    )
    print()
    print(
        f"Open loop: single `track` calls, Poisson arrivals, {args.seconds:.0f} s per rate; "
        "latency from the scheduled send time to the last byte of the answer, ms"
    )
    print()
    print(
        "| rate/s | cxloop answered/s | p50 | p99 | max | baseline answered/s | p50 | p99 | max |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for ours, theirs in paced:
        print(f"| {ours.rate:,.0f} | {latency_cells(ours)} | {latency_cells(theirs)} |")
    print()
    print(
        "The client, per run, against cxloop then the baseline: how late it sent (send lag), "
        "its CPU per second of run, connections opened (sends that found all of them busy "
        "and waited)"
    )
    print()
    print(
        "| rate/s | send lag p99 / max, ms | client CPU | connections | "
        "send lag p99 / max, ms | client CPU | connections | errors | unanswered |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for ours, theirs in paced:
        print(
            f"| {ours.rate:,.0f} | {client_cells(ours)} | {client_cells(theirs)} | "
            f"{ours.errors + theirs.errors} | {len(ours.unanswered) + len(theirs.unanswered)} |"
        )
    print()
    print(
        f"open-loop calls answered 2xx by cxloop: {len(answered_ids):,}, of which missing from "
        f"the store: {lost:,}"
    )
    worst = max((ours.percentile(0.99) for ours, _ in paced), default=0.0)
    print(
        f"target: p99 under 50 ms at every rate: {'met' if worst < 0.050 else '**not met**'} "
        f"(worst p99 {ms(worst)} ms)"
    )
    print(
        f"target: at least 5,000 batch events/s, aiming for 10,000: "
        f"{'met' if throughput >= 5000 else '**not met**'} ({throughput:,.0f}/s)"
    )
    print("load average at the end: " + ", ".join(f"{x:.1f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
