"""Ingest throughput and latency of a real `cxloop serve` on SQLite, beside its ceiling.

1. Sustained `/v1/batch` throughput: client processes post batches of 100 `track` calls as fast
   as the server acknowledges them, for a fixed time; every acknowledged call is then counted
   in the store. Baseline: the same rows inserted straight through SQLAlchemy Core, in one
   process, into the same schema (the ceiling the server cannot pass).
2. Latency: 50 concurrent clients each sending single `track` calls back to back; p50/p99.

Usage: .venv/bin/python bench/ingest.py [--seconds 10] [--clients 4] [--batch 100]
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
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
CXLOOP = str(Path(sys.executable).with_name("cxloop"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(port: int) -> None:
    for _ in range(300):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("server did not start")


def call(n: int, prefix: str) -> dict[str, object]:
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


def batch_client(url: str, key: str, seconds: float, size: int, index: int, out: mp.Queue) -> None:
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


async def latency(
    url: str, key: str, seconds: float, clients: int, interval: float = 0.0
) -> list[float]:
    """Closed-loop single `track` calls from ``clients`` keep-alive connections.

    With ``interval`` > 0 each client sends calls at random times, ``interval`` apart on average
    (Poisson arrivals: a paced load); with 0 it sends the next call as soon as the last is
    answered (saturation, where latency is only Little's law at work). A bare asyncio HTTP/1.1
    client: a general-purpose client library spends more CPU per call
    than the server does, and on 2 cores it would measure itself.
    """
    host, port = url.removeprefix("http://").split(":")
    auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    samples: list[float] = []
    deadline = time.monotonic() + seconds

    async def one(index: int) -> None:
        rng = random.Random(index)
        reader, writer = await asyncio.open_connection(host, int(port))
        if interval:
            await asyncio.sleep(rng.uniform(0, interval))
        n = 0
        while time.monotonic() < deadline:
            body = json.dumps(call(n, f"l{index}-{uuid.uuid4().hex[:6]}")).encode()
            head = (
                f"POST /v1/track HTTP/1.1\r\nHost: {host}\r\nAuthorization: {auth}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            )
            started = time.perf_counter()
            writer.write(head.encode() + body)
            status = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            samples.append(time.perf_counter() - started)
            if b" 200 " not in status:
                raise SystemExit(f"unexpected answer: {status!r}")
            n += 1
            if interval:
                # Poisson arrivals: independent visitors, not clients ticking in step.
                await asyncio.sleep(max(0.0, rng.expovariate(1 / interval) - samples[-1]))
        writer.close()

    await asyncio.gather(*(one(i) for i in range(clients)))
    return samples


def baseline(rows: int) -> float:
    """Insert ``rows`` events straight through SQLAlchemy Core: the ceiling."""
    from sqlalchemy import insert

    from cxloop.store.db import Database
    from cxloop.store.registry import Base
    from cxloop.workspaces import service
    from cxloop.workspaces.schemas import WorkspaceCreate

    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/base.db")
        with db.session() as session:
            ws = service.create_workspace(session, WorkspaceCreate(name="b")).workspace_id
        events = Base.metadata.tables["events"]
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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=3)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--latency-clients", type=int, default=50)
    parser.add_argument(
        "--rates",
        type=lambda text: [float(r) for r in text.split(",")],
        default=[250.0, 500.0, 1000.0],
        help="calls per second, all clients together, for the paced runs",
    )
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="cxloop-bench-"))
    env = dict(
        os.environ,
        CXLOOP_HOME=str(tmp / "home"),
        CXLOOP_DATABASE_URL=f"sqlite:///{tmp / 'store.db'}",
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
    port = free_port()
    server = subprocess.Popen(
        [CXLOOP, "serve", "--port", str(port), "--no-worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(port)
        out: mp.Queue = mp.Queue()
        procs = [
            mp.Process(
                target=batch_client, args=(url, keys["write_key"], args.seconds, args.batch, i, out)
            )
            for i in range(args.clients)
        ]
        started = time.perf_counter()
        for proc in procs:
            proc.start()
        acked = sum(out.get() for _ in procs)
        for proc in procs:
            proc.join()
        elapsed = time.perf_counter() - started
        samples = asyncio.run(latency(url, keys["write_key"], args.seconds, args.latency_clients))
        paced = {
            rate: asyncio.run(
                latency(
                    url,
                    keys["write_key"],
                    args.seconds,
                    args.latency_clients,
                    interval=args.latency_clients / rate,
                )
            )
            for rate in args.rates
        }
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
    import sqlite3

    with sqlite3.connect(tmp / "store.db") as conn:
        stored = conn.execute("SELECT count(*) FROM events WHERE message_id LIKE 'c%'").fetchone()[
            0
        ]
    throughput = acked / elapsed
    ceiling = baseline(max(acked, 20_000))
    print(
        f"machine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}"
    )
    print("| measure | cxloop serve | baseline (SQLAlchemy Core, one process) | ratio |")
    print("|---|---:|---:|---:|")
    print(
        f"| /v1/batch events/s ({args.clients} clients x {args.batch}/batch, "
        f"{args.seconds:.0f} s) | {throughput:,.0f} | {ceiling:,.0f} | {throughput / ceiling:.2f} |"
    )
    print(f"| acknowledged = stored | {acked:,} acked, {stored:,} stored | | |")
    runs = [("as fast as answered", samples)]
    runs += [(f"paced at {rate:,.0f}/s", run) for rate, run in paced.items()]
    for label, run in runs:
        run.sort()
        p50, p99 = run[len(run) // 2] * 1000, run[int(len(run) * 0.99)] * 1000
        print(
            f"| single track, {args.latency_clients} clients, {label}: p50 / p99 ms "
            f"({len(run) / args.seconds:,.0f} calls/s) | {p50:.1f} / {p99:.1f} | | |"
        )


if __name__ == "__main__":
    main()
