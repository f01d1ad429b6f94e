"""The store's calls to cxloop, timed over HTTP against a real server: ``POST /p/v1/decide`` (a
page's banners and messages) and ``GET /p/v1/recommendations`` (a placement's list), beside the
cheapest call the same server answers with the same key (``GET /p/v1/push/key``: the HTTP,
key and session floor), in one run.

The store: ``cxloop demo --customers N`` (its catalog, orders, segments, the three site
campaigns and two weeks of visits) in a fresh SQLite file, served by ``cxloop serve
--no-worker`` on 127.0.0.1 (one process, as the quick start runs it); the recommendation
models are trained by the first call, before the clock starts. One client, keep-alive, one
call after the other (latency, not throughput), ``--requests`` calls per kind after
``--warmup`` unmeasured ones:

- ``decide``, a visitor: an anonymous id the demo's visits used (their last 30 minutes read
  from the events), on the home page with its banner place;
- ``decide``, a customer: a known customer's ``userId`` with its ``userHash`` (their facts and
  segments read), on a children's books category page;
- ``recommendations``: ``home`` for that customer (``for_you``), ``product`` next to a product.

Median, p95 and p99 in milliseconds. Our target: decide p99 under 50 ms (a page waits for it).

    .venv/bin/python bench/personalize_speed.py --customers 2000 --requests 1000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from http_load import free_port, quantile, wait_for

ROOT = Path(__file__).resolve().parents[1]
CXLOOP = ROOT / ".venv" / "bin" / "cxloop"


def quantiles(samples: list[float]) -> tuple[float, float, float]:
    """Median, p95 and p99 (nearest rank), in milliseconds."""
    return (
        quantile(samples, 0.5) * 1000,
        quantile(samples, 0.95) * 1000,
        quantile(samples, 0.99) * 1000,
    )


def timed(call: Callable[[int], httpx.Response], requests: int, warmup: int) -> list[float]:
    """Each call's wall time, after ``warmup`` unmeasured ones; every answer must be a 200."""
    found = []
    for n in range(warmup + requests):
        started = time.perf_counter()
        answer = call(n)
        took = time.perf_counter() - started
        if answer.status_code != 200:
            raise SystemExit(f"{answer.request.url}: {answer.status_code} {answer.text[:200]}")
        if n >= warmup:
            found.append(took)
    return found


def browse(client: httpx.Client, key: str, books: list[str], count: int) -> list[str]:
    """``count`` visitors who just viewed 1 to 5 children's books (some with one in their
    cart), through the ingest API: their visits are live when they ask what to show."""
    rng = random.Random(7)
    visitors = []
    for n in range(count):
        visitor = f"bench-visitor-{n}"
        calls = [{"type": "page", "anonymousId": visitor, "properties": {"path": "/"}}]
        for sku in rng.sample(books, rng.randint(1, 5)):
            calls.append(
                {
                    "type": "track",
                    "event": "Product Viewed",
                    "anonymousId": visitor,
                    "properties": {"product_id": sku, "category": "Livres jeunesse"},
                }
            )
        if rng.random() < 0.3:
            calls.append(
                {
                    "type": "track",
                    "event": "Product Added",
                    "anonymousId": visitor,
                    "properties": {"product_id": books[0], "price": 12.5, "quantity": 1},
                }
            )
        answer = client.post("/v1/batch", json={"batch": calls}, auth=(key, ""))
        if answer.status_code != 200:
            raise SystemExit(f"/v1/batch: {answer.status_code} {answer.text[:200]}")
        visitors.append(visitor)
    return visitors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=50)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="cxloop-bench-personalize-"))
    env = {
        **os.environ,
        "CXLOOP_HOME": str(home),
        "CXLOOP_DATABASE_URL": f"sqlite:///{home / 'cxloop.db'}",
        "CXLOOP_SECRET_KEY": "bench-secret-key-" + "x" * 32,
    }
    started = time.perf_counter()
    built = subprocess.run(
        [str(CXLOOP), "demo", "--customers", str(args.customers), "--no-serve", "--json"],
        env=env,
        capture_output=True,
        check=True,
    )
    summary = json.loads(built.stdout.splitlines()[0])
    built_in = time.perf_counter() - started
    os.environ.update(env)
    sys.path.insert(0, str(ROOT / "src"))
    from sqlalchemy import select

    from cxloop import channels, workspaces
    from cxloop.commerce.models import Product
    from cxloop.config import get_settings
    from cxloop.profiles.models import Customer
    from cxloop.store.db import Database

    ws = summary["workspace_id"]
    db = Database(env["CXLOOP_DATABASE_URL"])
    with db.session() as session:
        key = workspaces.write_key_of(session, ws) or ""
        customers = list(
            session.scalars(
                select(Customer.user_id)
                .where(Customer.workspace_id == ws, Customer.user_id.is_not(None))
                .order_by(Customer.id)
                .limit(500)
            )
        )
        books = list(
            session.scalars(
                select(Product.sku).where(
                    Product.workspace_id == ws, Product.category == "Livres jeunesse"
                )
            )
        )
    db.dispose()
    settings = get_settings()
    hashes = {u: channels.user_hash(settings, ws, u) for u in customers}
    port = free_port()
    server = subprocess.Popen(
        [str(CXLOOP), "serve", "--no-worker", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(port, server)
        base = f"http://127.0.0.1:{port}"
        rng = random.Random(1)
        with httpx.Client(base_url=base, timeout=60) as client:
            visitors = browse(client, key, books, 200)
            floor = "/p/v1/push/key"
            recommended = "/p/v1/recommendations"
            first = client.get(recommended, params={"writeKey": key, "placement": "home"})
            products = [p["id"] for p in first.json()["products"]] or ["none"]
            calls: dict[str, Callable[[int], httpx.Response]] = {
                "GET /p/v1/push/key (the floor: HTTP, key, session)": lambda n: client.get(
                    floor, params={"writeKey": key}
                ),
                "POST /p/v1/decide, a visitor": lambda n: client.post(
                    "/p/v1/decide",
                    json={
                        "writeKey": key,
                        "anonymousId": rng.choice(visitors),
                        "page": {"type": "home"},
                        "slots": ["home_hero"],
                        "locale": "fr",
                    },
                ),
                "POST /p/v1/decide, a customer": lambda n: client.post(
                    "/p/v1/decide",
                    json={
                        "writeKey": key,
                        "anonymousId": f"bench-{n}",
                        "userId": (user := rng.choice(customers)),
                        "userHash": hashes[user],
                        "page": {"type": "category", "category": "Livres jeunesse"},
                        "slots": ["home_hero"],
                        "locale": "fr",
                    },
                ),
                "GET /p/v1/recommendations, home for a customer": lambda n: client.get(
                    recommended,
                    params={"writeKey": key, "placement": "home", "user_id": rng.choice(customers)},
                ),
                "GET /p/v1/recommendations, next to a product": lambda n: client.get(
                    recommended,
                    params={
                        "writeKey": key,
                        "placement": "product",
                        "product_id": rng.choice(products),
                    },
                ),
            }
            print(f"# The store's calls over HTTP: demo store of {args.customers:,} customers")
            print()
            print(
                f"{summary['orders']:,} orders, {summary['products']:,} products, "
                f"{summary['web_events']:,} web events, built in {built_in:.0f} s; `cxloop serve "
                f"--no-worker` on SQLite, one client, {args.requests:,} calls each after "
                f"{args.warmup} unmeasured"
            )
            print()
            print("| call | median ms | p95 ms | p99 ms |")
            print("|---|---:|---:|---:|")
            found = {}
            for name, call in calls.items():
                median, p95, p99 = quantiles(timed(call, args.requests, args.warmup))
                found[name] = p99
                print(f"| {name} | {median:.1f} | {p95:.1f} | {p99:.1f} |")
    finally:
        server.terminate()
        server.wait(timeout=30)
    decide = max(v for k, v in found.items() if "decide" in k)
    print()
    print(f"Decide p99 {decide:.1f} ms (target 50 ms: {'met' if decide < 50 else 'missed'})")


if __name__ == "__main__":
    main()
