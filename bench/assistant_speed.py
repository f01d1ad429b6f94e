"""The shopping assistant's reply latency on a 50,000-product catalog, without an LLM.

The catalog: the demo catalog drawn with ``--catalogs`` seeds (500 products each, French with
English translations; each seed draws other colours, sizes, prices and stock), SKUs made
distinct: 100 seeds give 50,000 products. The messages: the 381 shopper queries of
``tests/data/assistant/queries.jsonl``, each opening a conversation, then the first button of
the reply pressed (a clarifying answer or a size), as a shopper would.

1. **Engine**: the dialogue's reply (intent, filters, catalog search, clarifying question,
   product cards) on the built index: the part of a reply that grows with the catalog.
2. **Service**: the reply as the API gives it, in a SQLite store holding the 50,000 products:
   the conversation and its messages written and committed, the workspace's index taken from
   its cache (the first reply builds it: timed apart, with the memory it takes).
3. **Baselines** on the same products in the same SQLite file, search only (no dialogue, no
   filters): SQLite FTS5 ranked by its BM25 over title and description (the words of the query
   joined by OR), and a store's naive search (``title LIKE '%word%'`` for every word).

Target: p95 under 100 ms for the service's reply.

    .venv/bin/python bench/assistant_speed.py --catalogs 100
"""

from __future__ import annotations

import argparse
import gc
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy import insert

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cxloop import commerce  # noqa: E402
from cxloop.assistant import CatalogIndex, dialogue, forget_index  # noqa: E402
from cxloop.assistant import service as assistant  # noqa: E402
from cxloop.assistant.intents import model_for  # noqa: E402
from cxloop.assistant.text import words  # noqa: E402
from cxloop.demo.catalog import CatalogProduct  # noqa: E402
from cxloop.demo.generator import demo_catalog  # noqa: E402
from cxloop.folding import fold  # noqa: E402
from cxloop.store.db import Database  # noqa: E402
from cxloop.workspaces import service as workspaces  # noqa: E402
from cxloop.workspaces.schemas import WorkspaceCreate  # noqa: E402

QUERIES = ROOT / "tests" / "data" / "assistant" / "queries.jsonl"
TARGET_MS = 100.0


def big_catalog(catalogs: int) -> list[CatalogProduct]:
    """``catalogs`` demo catalogs, each product's SKU suffixed with its seed."""
    products = []
    for seed in range(1, catalogs + 1):
        products += [replace(p, sku=f"{p.sku}-{seed:03d}") for p in demo_catalog(seed)]
    return products


def queries() -> list[str]:
    return [json.loads(line)["query"] for line in QUERIES.read_text("utf-8").splitlines()]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def summary(name: str, millis: list[float]) -> str:
    cuts = statistics.quantiles(millis, n=100, method="inclusive")
    return (
        f"| {name} | {len(millis)} | {statistics.median(millis):.1f} | {cuts[94]:.1f} | "
        f"{cuts[98]:.1f} | {max(millis):.1f} |"
    )


def timed(calls: Iterable[Callable[[], Any]]) -> list[float]:
    millis = []
    for call in calls:
        start = time.perf_counter()
        call()
        millis.append((time.perf_counter() - start) * 1000)
    return millis


def engine(index: CatalogIndex, texts: list[str]) -> tuple[list[float], list[float]]:
    """Each query's reply, then the reply to its first button, from the dialogue alone."""
    intents = model_for(())
    firsts, presses = [], []
    for text in texts:
        ctx = dialogue.Context(index=index, intents=intents, lang="fr")
        start = time.perf_counter()
        state, reply = dialogue.respond({}, dialogue.Turn(text), ctx)
        firsts.append((time.perf_counter() - start) * 1000)
        if reply.buttons:
            button = reply.buttons[0]
            start = time.perf_counter()
            dialogue.respond(state, dialogue.Turn(button["label"], button.get("payload")), ctx)
            presses.append((time.perf_counter() - start) * 1000)
    return firsts, presses


def store(db: Database, products: list[CatalogProduct]) -> str:
    with db.session() as session:
        ws = workspaces.create_workspace(session, WorkspaceCreate(name="Bench")).workspace_id
    rows = [p.row(ws, "EUR") for p in products]
    for start in range(0, len(rows), 10_000):
        with db.session() as session:
            session.execute(insert(commerce.Product), rows[start : start + 10_000])
    return ws


def service(db: Database, ws: str, texts: list[str]) -> tuple[list[float], list[float]]:
    """Each query opening a conversation, then its first button pressed, committed each time."""
    firsts, presses = [], []
    for n, text in enumerate(texts):
        start = time.perf_counter()
        with db.session() as session:
            exchange = assistant.start_conversation(session, ws, anonymous_id=f"a{n}", text=text)
            reply = exchange.to_json()
        firsts.append((time.perf_counter() - start) * 1000)
        buttons = reply["messages"][-1].get("buttons") or []
        if buttons:
            start = time.perf_counter()
            with db.session() as session:
                assistant.post_message(
                    session,
                    ws,
                    reply["conversation_id"],
                    text=buttons[0]["label"],
                    payload=buttons[0].get("payload"),
                )
            presses.append((time.perf_counter() - start) * 1000)
    return firsts, presses


def baselines(path: str, texts: list[str]) -> dict[str, list[float]]:
    con = sqlite3.connect(path)
    con.execute(
        "CREATE VIRTUAL TABLE search USING fts5(sku UNINDEXED, title, description,"
        " tokenize='unicode61 remove_diacritics 2')"
    )
    con.execute("INSERT INTO search SELECT sku, title, description FROM products")
    con.commit()
    folded = [[w.text for w in words(fold(text))] for text in texts]

    def fts(terms: list[str]) -> Callable[[], Any]:
        match = " OR ".join(f'"{t}"' for t in terms) or '""'
        sql = "SELECT sku FROM search WHERE search MATCH ? ORDER BY bm25(search) LIMIT 5"
        return lambda: con.execute(sql, (match,)).fetchall()

    def like(terms: list[str]) -> Callable[[], Any]:
        where = " AND ".join("title LIKE ?" for _ in terms) or "1"
        sql = f"SELECT sku FROM products WHERE {where} LIMIT 5"
        return lambda: con.execute(sql, [f"%{t}%" for t in terms]).fetchall()

    found = {
        "SQLite FTS5 BM25 (search only)": timed(fts(t) for t in folded),
        "title LIKE every word (search only)": timed(like(t) for t in folded),
    }
    con.close()
    return found


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalogs", type=int, default=100, help="demo catalogs of 500")
    args = parser.parse_args(argv)
    texts = queries()
    products = big_catalog(args.catalogs)
    print(f"# Assistant reply latency: {len(products):,} products, {len(texts)} queries\n")

    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/assistant.db"
        db = Database(f"sqlite:///{path}")
        ws = store(db, products)
        gc.collect()
        before = rss_mb()
        start = time.perf_counter()
        with db.session() as session:
            assistant.start_conversation(session, ws, anonymous_id="warm", text="bonjour")
        cold = time.perf_counter() - start
        grown = rss_mb() - before
        serviced, service_presses = service(db, ws, texts)
        forget_index(ws)
        db.dispose()
        index = CatalogIndex([p.search_item() for p in products])
        first, presses = engine(index, texts)
        rows = baselines(path, texts)

    print(f"First reply, index built from the store: {cold:.1f} s, memory +{grown:.0f} MB\n")
    print("| reply | messages | median ms | p95 ms | p99 ms | max ms |")
    print("|---|---:|---:|---:|---:|---:|")
    print(summary("service: a query opening a conversation", serviced))
    print(summary("service: its first button pressed", service_presses))
    print(summary("engine: a query", first))
    print(summary("engine: its first button pressed", presses))
    for name, millis in rows.items():
        print(summary(name, millis))
    p95 = statistics.quantiles(serviced + service_presses, n=100, method="inclusive")[94]
    verdict = "met" if p95 < TARGET_MS else "missed"
    print(f"\nService reply p95, all messages: {p95:.1f} ms (target {TARGET_MS:.0f} ms: {verdict})")


if __name__ == "__main__":
    main()
