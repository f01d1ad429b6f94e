"""NPS program benchmarks. Part ``dashboard``: the dashboard queries over a million answers.

Dashboard: a migrated SQLite store gets one workspace, two surveys (after order, after
delivery), customers, a catalog in 8 categories, one order per invitation (1–3 lines each), the
invitations with their funnel timestamps and ``--answers`` responses over two years, written
with plain ``sqlite3.executemany`` (generation is not what is measured). Then each function of
``cxloop.surveys.dashboard`` runs 5 times on the store's SQLAlchemy session; the median is
printed beside a baseline: the same aggregation written by hand in DuckDB (in memory, one
thread per core) over the same rows, handed to DuckDB as Arrow tables. DuckDB is the columnar
engine cxloop's analytics layer uses; the baseline is what the query costs when it does not run
on the operational store. Loading DuckDB is timed apart.

    .venv/bin/python bench/nps.py                      # 1,000,000 answers
    .venv/bin/python bench/nps.py --answers 100000 --db /tmp/nps.db   # keep the store to rerun
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import os
import platform
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from cxloop.store.db import Database
from cxloop.surveys import dashboard, rollups
from cxloop.surveys.schemas import DashboardFilters, VerbatimFilters
from cxloop.themes import drivers

WORKSPACE = "ws_bench_nps"
SCHEDULE_TARGET = 2_000  # invitations per second
DASHBOARD_TARGET_MS = 300.0
END = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
DAYS = 730
CATEGORIES = ("robes", "chaussures", "sacs", "bijoux", "maison", "beaute", "enfants", "sport")
CHANNELS = ("email", "link", "widget")
CHANNEL_P = (0.75, 0.15, 0.10)
COUNTRIES = ("FR", "BE", "CH", "CA", "GB", "US", "DE", "LU")
COUNTRY_P = (0.55, 0.1, 0.06, 0.06, 0.09, 0.06, 0.05, 0.03)
# Scores 0..10: about 50% promoters, 25% passives, 25% detractors (NPS about +25).
SCORE_P = (0.03, 0.01, 0.02, 0.02, 0.03, 0.06, 0.08, 0.10, 0.15, 0.22, 0.28)
THEMES = (
    "delivery_delay",
    "delivery_cost",
    "product_quality",
    "price",
    "customer_service",
    "website_ux",
    "returns_refunds",
    "stock_availability",
    "packaging",
    "product_choice",
)
COMMENTS = {
    "fr": {
        "detractor": (
            "Livraison avec une semaine de retard, aucune nouvelle du transporteur.",
            "Frais de port trop élevés pour un si petit colis.",
            "La robe a bouloché après deux lavages, très déçue.",
            "Service client injoignable, remboursement toujours en attente.",
        ),
        "passive": (
            "Produit correct mais la taille taille petit.",
            "Bien dans l'ensemble, le site est un peu lent sur mobile.",
            "Emballage abîmé mais contenu intact.",
        ),
        "promoter": (
            "Livraison rapide et produit conforme, je recommande !",
            "Très belle qualité, emballage soigné.",
            "Service client réactif et très aimable.",
        ),
    },
    "en": {
        "detractor": (
            "Parcel arrived a week late and nobody answered my emails.",
            "Shipping costs are far too high.",
            "Poor quality, the seams came apart after a week.",
        ),
        "passive": (
            "Nice product, but delivery took a while.",
            "Fine overall, the checkout was a bit confusing.",
        ),
        "promoter": (
            "Fast delivery and lovely packaging, thank you!",
            "Great quality for the price, will order again.",
        ),
    },
}


@dataclass
class Store:
    """The generated rows, column by column (numpy arrays), as both engines receive them."""

    answers: int
    invitations: int
    orders: int
    order_items: int
    customers: int
    columns: dict[str, dict[str, Any]]


def _stamp(values: npt.NDArray[np.datetime64]) -> list[str | None]:
    """Timestamps as SQLite stores UTCDateTime values ("YYYY-MM-DD HH:MM:SS.ffffff", UTC)."""
    text = np.datetime_as_string(values.astype("datetime64[us]"), unit="us")
    return [None if t == "NaT" else t.replace("T", " ") for t in text.tolist()]


def _maybe(mask: npt.NDArray[np.bool_], values: npt.NDArray[np.datetime64]) -> Any:
    return np.where(mask, values, np.datetime64("NaT"))


def generate(answers: int, invitations_per_answer: float, seed: int) -> Store:
    """Customers, catalog, orders, invitations and answers, as numpy columns."""
    rng = np.random.default_rng(seed)
    n_inv = int(answers * invitations_per_answer)
    n_customers = max(1, n_inv // 3)
    end = np.datetime64(END.replace(tzinfo=None), "us")
    us_per_day = 86_400_000_000

    # Catalog: 30 products per category.
    n_products = 30 * len(CATEGORIES)
    product_category = np.repeat(np.arange(len(CATEGORIES)), 30)

    # Customers: locale and country.
    cust_country = rng.choice(len(COUNTRIES), n_customers, p=COUNTRY_P)
    cust_locale = np.where(
        np.isin(cust_country, [0, 1, 2, 7]) | (rng.random(n_customers) < 0.2), 0, 1
    )

    # Orders, one per invitation, in time order; customers drawn with a long tail.
    placed = end - (rng.random(n_inv) * DAYS * us_per_day).astype("timedelta64[us]")
    placed.sort()
    order_customer = (rng.pareto(1.2, n_inv) * n_customers / 8).astype(np.int64) % n_customers
    items_per_order = rng.choice([1, 2, 3], n_inv, p=[0.6, 0.3, 0.1])
    item_order = np.repeat(np.arange(n_inv), items_per_order)
    item_product = rng.integers(0, n_products, item_order.size)

    # Invitations: sent 1–4 days after the order; the funnel.
    survey = rng.integers(0, 2, n_inv)  # 0 after order, 1 after delivery
    channel = rng.choice(len(CHANNELS), n_inv, p=CHANNEL_P)
    locale = cust_locale[order_customer]
    sent = placed + (rng.uniform(1, 4, n_inv) * us_per_day).astype("timedelta64[us]")
    answered = np.zeros(n_inv, dtype=bool)
    answered[rng.choice(n_inv, answers, replace=False)] = True
    email = channel == 0
    delivered = np.where(email, answered | (rng.random(n_inv) < 0.97), True)
    opened = delivered & (answered | (rng.random(n_inv) < 0.3))
    clicked = opened & (answered | (rng.random(n_inv) < 0.04))
    confirmed = answered & (rng.random(n_inv) < 0.95)
    comment_p = 0.3 / 0.95
    commented = confirmed & (rng.random(n_inv) < comment_p)
    hour = (np.timedelta64(1, "h")).astype("timedelta64[us]")
    delivered_at = _maybe(delivered & email, sent + hour // 60)
    opened_at = _maybe(opened & email, sent + hour * 3)
    clicked_at = _maybe(clicked, sent + hour * 3 + hour // 30)
    responded_at = _maybe(confirmed, sent + hour * 3 + hour // 20)
    commented_at = _maybe(commented, sent + hour * 3 + hour // 10)

    # Answers: scores lean lower for late-delivery-prone countries and drift up over time.
    inv_ids = np.flatnonzero(answered)
    r_days = ((sent[inv_ids] - (end - DAYS * us_per_day)) / us_per_day).astype(float)
    p = np.array(SCORE_P)
    score = rng.choice(11, inv_ids.size, p=p)
    lift = (rng.random(inv_ids.size) < r_days / DAYS * 0.15) & (score < 9)
    score = np.where(lift, np.minimum(score + 2, 10), score)
    created = clicked_at[inv_ids]
    status = np.where(confirmed[inv_ids], "confirmed", "provisional")
    has_comment = commented[inv_ids]
    category = np.where(score >= 9, "promoter", np.where(score >= 7, "passive", "detractor"))
    r_locale = np.array(["fr", "en"])[locale[inv_ids]]
    comments: list[str] = []
    themes: list[str] = []
    pick = rng.integers(0, 1000, inv_ids.size)
    theme_pick = rng.integers(0, len(THEMES), (inv_ids.size, 2))
    for k in range(inv_ids.size):
        if not has_comment[k]:
            comments.append("")
            themes.append("[]")
            continue
        pool = COMMENTS[r_locale[k]][category[k]]
        comments.append(pool[pick[k] % len(pool)])
        themes.append(json.dumps(sorted({THEMES[t] for t in theme_pick[k]})))

    # What recording an answer copies from its order (commerce.service.order_facets): the
    # segment (an earlier live order of the customer makes it "returning") and the categories.
    order_status = np.where(rng.random(n_inv) < 0.02, "cancelled", "fulfilled")
    first_live = np.full(n_customers, n_inv, dtype=np.int64)
    live = np.flatnonzero(order_status != "cancelled")
    np.minimum.at(first_live, order_customer[live], live)
    returning = first_live[order_customer] < np.arange(n_inv)
    segments = np.where(returning[inv_ids], "returning", "new")
    starts = np.concatenate(([0], np.cumsum(items_per_order)[:-1]))
    item_category = np.array(CATEGORIES)[product_category[item_product]]
    facets = [
        "|" + "|".join(sorted(set(item_category[starts[o] : starts[o] + items_per_order[o]]))) + "|"
        for o in inv_ids.tolist()
    ]

    columns: dict[str, dict[str, Any]] = {
        "products": {
            "id": np.arange(1, n_products + 1),
            "category": np.array(CATEGORIES)[product_category],
        },
        "customers": {
            "id": np.arange(1, n_customers + 1),
            "country": np.array(COUNTRIES)[cust_country],
            "locale": np.array(["fr", "en"])[cust_locale],
        },
        "orders": {
            "id": np.arange(1, n_inv + 1),
            "customer_id": order_customer + 1,
            "placed_at": placed,
            "status": order_status,
            "shipping_country": np.array(COUNTRIES)[cust_country[order_customer]],
        },
        "order_items": {
            "id": np.arange(1, item_order.size + 1),
            "order_id": item_order + 1,
            "product_id": item_product + 1,
        },
        "invitations": {
            "id": np.arange(1, n_inv + 1),
            "survey_id": survey + 1,
            "customer_id": order_customer + 1,
            "order_id": np.arange(1, n_inv + 1),
            "touchpoint": np.array(["after_order", "after_delivery"])[survey],
            "channel": np.array(CHANNELS)[channel],
            "locale": np.array(["fr", "en"])[locale],
            "sent_at": sent,
            "delivered_at": delivered_at,
            "opened_at": opened_at,
            "clicked_at": clicked_at,
            "responded_at": responded_at,
            "commented_at": commented_at,
        },
        "responses": {
            "id": np.arange(1, inv_ids.size + 1),
            "survey_id": survey[inv_ids] + 1,
            "invitation_id": inv_ids + 1,
            "customer_id": order_customer[inv_ids] + 1,
            "score": score,
            "category": category,
            "comment": np.array(comments, dtype=object),
            "status": status,
            "channel": np.array(CHANNELS)[channel[inv_ids]],
            "touchpoint": np.array(["after_order", "after_delivery"])[survey[inv_ids]],
            "locale": r_locale,
            "country": np.array(COUNTRIES)[cust_country[order_customer[inv_ids]]],
            "themes": np.array(themes, dtype=object),
            "segment": segments,
            "categories": np.array(facets, dtype=object),
            "created_at": created,
            "confirmed_at": _maybe(confirmed[inv_ids], responded_at[inv_ids]),
        },
    }
    return Store(
        answers=int(inv_ids.size),
        invitations=n_inv,
        orders=n_inv,
        order_items=int(item_order.size),
        customers=n_customers,
        columns=columns,
    )


def write_sqlite(path: Path, store: Store) -> None:
    """Insert the generated rows into a migrated SQLite store with plain sqlite3."""
    now = _stamp(np.array([np.datetime64(END.replace(tzinfo=None), "us")]))[0]
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-1000000")
    conn.execute("BEGIN")
    conn.execute(
        "INSERT INTO workspaces (id, name, locale, currency, timezone, created_at) "
        "VALUES (?, 'Bench NPS', 'fr', 'EUR', 'Europe/Paris', ?)",
        (WORKSPACE, now),
    )
    for sid, (key, touchpoint, trigger) in enumerate(
        (
            ("after-order", "after_order", "order_completed"),
            ("after-delivery", "after_delivery", "shipment_delivered"),
        ),
        start=1,
    ):
        conn.execute(
            "INSERT INTO surveys (id, workspace_id, key, name, active, trigger, touchpoint, "
            "delay_minutes, definition, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, 1, ?, ?, 4320, '{}', ?, ?)",
            (sid, WORKSPACE, key, key, trigger, touchpoint, now, now),
        )
    cols = store.columns
    p = cols["products"]
    conn.executemany(
        "INSERT INTO products (id, workspace_id, sku, title, description, translations, "
        "category, brand, sizes, price_cents, currency, availability, attributes, created_at, "
        "updated_at) VALUES (?, ?, ?, ?, '', '{}', ?, '', '[]', 4990, 'EUR', 'in_stock', '{}', "
        "?, ?)",
        (
            (int(i), WORKSPACE, f"SKU-{i}", f"Produit {i}", c, now, now)
            for i, c in zip(p["id"].tolist(), p["category"].tolist(), strict=True)
        ),
    )
    c = cols["customers"]
    conn.executemany(
        "INSERT INTO customers (id, workspace_id, user_id, email, locale, country, traits, "
        "consent, created_at) VALUES (?, ?, ?, ?, ?, ?, '{}', '{}', ?)",
        (
            (i, WORKSPACE, f"u{i}", f"u{i}@example.com", loc, country, now)
            for i, loc, country in zip(
                c["id"].tolist(), c["locale"].tolist(), c["country"].tolist(), strict=True
            )
        ),
    )
    o = cols["orders"]
    conn.executemany(
        "INSERT INTO orders (id, workspace_id, external_id, customer_id, status, currency, "
        "subtotal_cents, shipping_cents, discount_cents, total_cents, refunded_cents, source, "
        "shipping_country, placed_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, 'EUR', 4990, 0, 0, 4990, 0, 'web', ?, ?, ?)",
        (
            (i, WORKSPACE, f"o{i}", cust, status, country, placed, placed)
            for i, cust, status, country, placed in zip(
                o["id"].tolist(),
                o["customer_id"].tolist(),
                o["status"].tolist(),
                o["shipping_country"].tolist(),
                _stamp(o["placed_at"]),
                strict=True,
            )
        ),
    )
    it = cols["order_items"]
    conn.executemany(
        "INSERT INTO order_items (id, workspace_id, order_id, product_id, sku, title, quantity, "
        "unit_price_cents, total_cents) VALUES (?, ?, ?, ?, '', '', 1, 4990, 4990)",
        (
            (i, WORKSPACE, oid, pid)
            for i, oid, pid in zip(
                it["id"].tolist(), it["order_id"].tolist(), it["product_id"].tolist(), strict=True
            )
        ),
    )
    inv = cols["invitations"]
    stamps = {
        k: _stamp(inv[k])
        for k in (
            "sent_at",
            "delivered_at",
            "opened_at",
            "clicked_at",
            "responded_at",
            "commented_at",
        )
    }
    conn.executemany(
        "INSERT INTO invitations (id, workspace_id, survey_id, customer_id, subject_key, "
        "order_id, touchpoint, channel, locale, status, token, scheduled_at, sent_at, "
        "delivered_at, opened_at, clicked_at, responded_at, commented_at, expires_at, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'sent', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            (
                i,
                WORKSPACE,
                sid,
                cust,
                f"order:{oid}",
                oid,
                tp,
                ch,
                loc,
                f"tok{i:012d}",
                sent,
                sent,
                de,
                op,
                cl,
                rs,
                cm,
                sent,
                sent,
            )
            for i, sid, cust, oid, tp, ch, loc, sent, de, op, cl, rs, cm in zip(
                inv["id"].tolist(),
                inv["survey_id"].tolist(),
                inv["customer_id"].tolist(),
                inv["order_id"].tolist(),
                inv["touchpoint"].tolist(),
                inv["channel"].tolist(),
                inv["locale"].tolist(),
                stamps["sent_at"],
                stamps["delivered_at"],
                stamps["opened_at"],
                stamps["clicked_at"],
                stamps["responded_at"],
                stamps["commented_at"],
                strict=True,
            )
        ),
    )
    r = cols["responses"]
    conn.executemany(
        "INSERT INTO responses (id, workspace_id, survey_id, invitation_id, customer_id, score, "
        "category, comment, followup, status, channel, touchpoint, locale, country, themes, "
        "segment, categories, created_at, confirmed_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, '', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            (
                i,
                WORKSPACE,
                sid,
                iid,
                cust,
                sc,
                cat,
                com,
                st,
                ch,
                tp,
                loc,
                co,
                th,
                sg,
                ca,
                cr,
                cf,
                cr,
            )
            for i, sid, iid, cust, sc, cat, com, st, ch, tp, loc, co, th, sg, ca, cr, cf in zip(
                r["id"].tolist(),
                r["survey_id"].tolist(),
                r["invitation_id"].tolist(),
                r["customer_id"].tolist(),
                r["score"].tolist(),
                r["category"].tolist(),
                r["comment"].tolist(),
                r["status"].tolist(),
                r["channel"].tolist(),
                r["touchpoint"].tolist(),
                r["locale"].tolist(),
                r["country"].tolist(),
                r["themes"].tolist(),
                r["segment"].tolist(),
                r["categories"].tolist(),
                _stamp(r["created_at"]),
                _stamp(r["confirmed_at"]),
                strict=True,
            )
        ),
    )
    conn.execute("COMMIT")
    conn.close()


def to_duckdb(store: Store) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB holding the same rows, handed over as Arrow tables."""
    con = duckdb.connect()
    for name, columns in store.columns.items():
        arrays = {}
        for column, values in columns.items():
            if np.issubdtype(values.dtype, np.datetime64):
                arrays[column] = pa.array(values.astype("datetime64[us]"), from_pandas=True)
            else:
                arrays[column] = pa.array(values.tolist() if values.dtype == object else values)
        arrays["workspace_id"] = pa.array(np.full(len(next(iter(columns.values()))), WORKSPACE))
        table = pa.table(arrays)
        con.register(f"arrow_{name}", table)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM arrow_{name}")
        con.unregister(f"arrow_{name}")
    return con


CUTOFF_90 = END - dt.timedelta(days=90)
CUTOFF_365 = END - dt.timedelta(days=365)
_LIVE = f"workspace_id = '{WORKSPACE}' AND status = 'confirmed'"
_COUNTS = "count(*) FILTER (WHERE score >= 9), count(*) FILTER (WHERE score >= 7), count(*)"
# Key drivers: answers grouped by their set of themes, with counts per category and score sums.
_DRIVERS = (
    "SELECT themes, count(*) FILTER (WHERE score < 7), "
    "count(*) FILTER (WHERE score BETWEEN 7 AND 8), count(*) FILTER (WHERE score >= 9), "
    f"sum(score), sum(score * score) FROM responses WHERE {_LIVE} GROUP BY themes"
)

# (label, dashboard call, the same aggregation in DuckDB SQL)
Case = tuple[str, Callable[[Any], Any], str]


def cases() -> list[Case]:
    """Each dashboard query and its DuckDB twin."""
    recent = DashboardFilters(start=CUTOFF_90)
    email = DashboardFilters(channel="email")
    year = DashboardFilters(start=CUTOFF_365)
    day90 = f"TIMESTAMP '{CUTOFF_90.replace(tzinfo=None).isoformat()}'"
    day365 = f"TIMESTAMP '{CUTOFF_365.replace(tzinfo=None).isoformat()}'"
    monday = dashboard.period_start(END, "week") - dt.timedelta(weeks=11)
    week12 = f"TIMESTAMP '{monday.replace(tzinfo=None).isoformat()}'"
    day365 = f"TIMESTAMP '{CUTOFF_365.replace(tzinfo=None).isoformat()}'"
    by = "SELECT {key}, " + _COUNTS + " FROM responses WHERE " + _LIVE + " GROUP BY 1"
    return [
        (
            "overview: NPS + 0–10 distribution, all time",
            lambda s: dashboard.overview(s, WORKSPACE),
            f"SELECT score, count(*) FROM responses WHERE {_LIVE} GROUP BY score",
        ),
        (
            "overview, last 90 days",
            lambda s: dashboard.overview(s, WORKSPACE, recent),
            f"SELECT score, count(*) FROM responses WHERE {_LIVE} AND created_at >= {day90} "
            "GROUP BY score",
        ),
        (
            "overview, channel = email",
            lambda s: dashboard.overview(s, WORKSPACE, email),
            f"SELECT score, count(*) FROM responses WHERE {_LIVE} AND channel = 'email' "
            "GROUP BY score",
        ),
        (
            "trend by week (105 weeks, with tests)",
            lambda s: dashboard.trend(s, WORKSPACE, granularity="week"),
            f"SELECT date_trunc('week', created_at) AS w, {_COUNTS} FROM responses "
            f"WHERE {_LIVE} GROUP BY w ORDER BY w",
        ),
        (
            "trend by month",
            lambda s: dashboard.trend(s, WORKSPACE, granularity="month"),
            f"SELECT date_trunc('month', created_at) AS m, {_COUNTS} FROM responses "
            f"WHERE {_LIVE} GROUP BY m ORDER BY m",
        ),
        *(
            (
                f"breakdown by {dim}",
                (lambda d: lambda s: dashboard.breakdown(s, WORKSPACE, d))(dim),
                by.format(key=f"nullif({dim}, '')"),
            )
            for dim in ("touchpoint", "channel", "locale", "country")
        ),
        (
            "breakdown by product category",
            lambda s: dashboard.breakdown(s, WORKSPACE, "product_category"),
            "SELECT key, count(*) FILTER (WHERE score >= 9), count(*) FILTER (WHERE score >= 7), "
            "count(*) FROM (SELECT DISTINCT r.id, r.score, nullif(p.category, '') AS key "
            "FROM responses r JOIN invitations i ON i.id = r.invitation_id "
            "JOIN order_items oi ON oi.order_id = i.order_id "
            "JOIN products p ON p.id = oi.product_id "
            f"WHERE r.workspace_id = '{WORKSPACE}' AND r.status = 'confirmed') GROUP BY key",
        ),
        (
            "breakdown by segment, new/returning",
            lambda s: dashboard.breakdown(s, WORKSPACE, "segment"),
            "WITH firsts AS (SELECT o.id, o.customer_id, EXISTS (SELECT 1 FROM orders e "
            "WHERE e.customer_id = o.customer_id AND e.placed_at < o.placed_at "
            "AND e.status <> 'cancelled') AS returning FROM orders o) "
            "SELECT CASE WHEN f.customer_id IS NULL THEN NULL WHEN f.returning THEN 'returning' "
            "ELSE 'new' END AS key, count(*) FILTER (WHERE r.score >= 9), "
            "count(*) FILTER (WHERE r.score >= 7), count(*) FROM responses r "
            "LEFT JOIN invitations i ON i.id = r.invitation_id "
            "LEFT JOIN firsts f ON f.id = i.order_id "
            f"WHERE r.workspace_id = '{WORKSPACE}' AND r.status = 'confirmed' GROUP BY key",
        ),
        (
            "breakdown by country, last 12 months",
            lambda s: dashboard.breakdown(s, WORKSPACE, "country", year),
            by.format(key="nullif(country, '')").replace(
                "GROUP BY", f"AND created_at >= {day365} GROUP BY"
            ),
        ),
        (
            "breakdown by product category, last 90 days",
            lambda s: dashboard.breakdown(s, WORKSPACE, "product_category", recent),
            "SELECT key, count(*) FILTER (WHERE score >= 9), count(*) FILTER (WHERE score >= 7), "
            "count(*) FROM (SELECT DISTINCT r.id, r.score, nullif(p.category, '') AS key "
            "FROM responses r JOIN invitations i ON i.id = r.invitation_id "
            "JOIN order_items oi ON oi.order_id = i.order_id "
            "JOIN products p ON p.id = oi.product_id "
            f"WHERE r.workspace_id = '{WORKSPACE}' AND r.status = 'confirmed' "
            f"AND r.created_at >= {day90}) GROUP BY key",
        ),
        (
            "verbatims, first page of 20",
            lambda s: dashboard.verbatims(s, WORKSPACE),
            f"SELECT * FROM responses WHERE {_LIVE} AND trim(comment) <> '' "
            "ORDER BY created_at DESC, id DESC LIMIT 21",
        ),
        (
            "verbatims, detractors, text 'rembours'",
            lambda s: dashboard.verbatims(
                s, WORKSPACE, which=VerbatimFilters(category="detractor", text="rembours")
            ),
            f"SELECT * FROM responses WHERE {_LIVE} AND trim(comment) <> '' AND score <= 6 "
            "AND comment ILIKE '%rembours%' ORDER BY created_at DESC, id DESC LIMIT 21",
        ),
        (
            "verbatims, theme packaging, page 5",
            lambda s: dashboard.verbatims(
                s, WORKSPACE, which=VerbatimFilters(theme="packaging"), offset=80
            ),
            f"SELECT * FROM responses WHERE {_LIVE} AND trim(comment) <> '' "
            "AND list_contains(CAST(themes AS VARCHAR[]), 'packaging') "
            "ORDER BY created_at DESC, id DESC LIMIT 21 OFFSET 80",
        ),
        (
            "key drivers (themes × categories, regression), all time",
            lambda s: drivers.drivers_for(s, WORKSPACE),
            _DRIVERS,
        ),
        (
            "key drivers, last 12 months",
            lambda s: drivers.drivers_for(s, WORKSPACE, since=CUTOFF_365),
            _DRIVERS.replace("GROUP BY", f"AND created_at >= {day365} GROUP BY"),
        ),
        (
            "theme trend, 12 weeks (with spikes)",
            lambda s: drivers.spikes(drivers.trend_for(s, WORKSPACE, weeks=12, until=END)),
            f"SELECT date_trunc('week', created_at) AS w, themes, count(*) FROM responses "
            f"WHERE {_LIVE} AND created_at >= {week12} GROUP BY w, themes",
        ),
        (
            "funnel per channel, all time",
            lambda s: dashboard.funnel(s, WORKSPACE),
            "SELECT channel, count(*), count(delivered_at), count(opened_at), count(clicked_at), "
            "count(responded_at), count(commented_at) FROM invitations "
            f"WHERE workspace_id = '{WORKSPACE}' AND sent_at IS NOT NULL GROUP BY channel",
        ),
        (
            "funnel per channel, last 90 days",
            lambda s: dashboard.funnel(s, WORKSPACE, recent),
            "SELECT channel, count(*), count(delivered_at), count(opened_at), count(clicked_at), "
            "count(responded_at), count(commented_at) FROM invitations "
            f"WHERE workspace_id = '{WORKSPACE}' AND sent_at >= {day90} GROUP BY channel",
        ),
    ]


def _duckdb_rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[Any]:
    return con.execute(sql).fetchall()


def _median_ms(run: Callable[[], Any], repeat: int) -> float:
    run()  # warm the caches: the dashboard is read again and again
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def dashboard_part(
    answers: int, invitations_per_answer: float, seed: int, db_path: Path | None, repeat: int
) -> None:
    """Generate (or reuse) the store, then time every dashboard query beside DuckDB."""
    store = generate(answers, invitations_per_answer, seed)
    with tempfile.TemporaryDirectory(prefix="cxloop-bench-nps-") as tmp:
        path = db_path or Path(tmp) / "nps.db"
        fresh = not path.exists()
        if fresh:
            Database(f"sqlite:///{path}").dispose()
            started = time.perf_counter()
            write_sqlite(path, store)
            print(f"store written in {time.perf_counter() - started:.0f} s: {path}")
        db = Database(f"sqlite:///{path}")  # migrates a reused store too (new indexes)
        started = time.perf_counter()
        with db.session() as session:
            days = rollups.fill_funnel(session, WORKSPACE, END)
        print(
            f"daily funnel pre-aggregate: {days:,} final days counted in "
            f"{time.perf_counter() - started:.1f} s (once; then one day a day)"
        )
        started = time.perf_counter()
        con = to_duckdb(store)
        loading = time.perf_counter() - started
        confirmed = int((store.columns["responses"]["status"] == "confirmed").sum())
        print(
            f"\n{store.answers:,} answers ({confirmed:,} confirmed), {store.invitations:,} "
            f"invitations and orders, {store.order_items:,} order lines, {store.customers:,} "
            f"customers; DuckDB loaded through Arrow in {loading:.1f} s (not counted below)\n"
        )
        print(f"median of {repeat} runs after one warm-up run, per query\n")
        print("| dashboard query | cxloop on SQLite, ms | DuckDB baseline, ms | under 300 ms |")
        print("|---|---:|---:|:---:|")
        slowest: list[float] = []
        for label, call, sql in cases():
            with db.session() as session:
                ours = _median_ms(functools.partial(call, session), repeat)
            theirs = _median_ms(functools.partial(_duckdb_rows, con, sql), repeat)
            slowest.append(ours)
            mark = "yes" if ours < DASHBOARD_TARGET_MS else "**no**"
            print(f"| {label} | {ours:,.1f} | {theirs:,.1f} | {mark} |", flush=True)
        under = sum(1 for ms in slowest if ms < DASHBOARD_TARGET_MS)
        verdict = "met" if under == len(slowest) else "**not met**"
        print(
            f"\ntarget: every query under {DASHBOARD_TARGET_MS:.0f} ms: {verdict} ({under} of "
            f"{len(slowest)}; slowest {max(slowest):,.1f} ms)"
        )
        db.dispose()
        con.close()
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"\nload average at the end (1, 5, 15 min): {load} on {os.cpu_count()} cores")


def main() -> None:
    """Run the parts asked for and print markdown tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=1_000_000, help="answers to generate")
    parser.add_argument(
        "--invitations-per-answer",
        type=float,
        default=2.0,
        help="invitations (and orders) per answer; the rest did not answer",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=5, help="runs per query (median)")
    parser.add_argument(
        "--db", type=Path, default=None, help="keep the generated SQLite store here and reuse it"
    )
    parser.add_argument(
        "--part",
        choices=("dashboard", "schedule", "all"),
        default="all",
        help="which benchmark to run",
    )
    parser.add_argument(
        "--deliveries", type=int, default=100_000, help="delivered orders for the scheduling part"
    )
    args = parser.parse_args()
    print(
        f"machine: {os.cpu_count()} cores, {platform.machine()}, Python "
        f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}, DuckDB {duckdb.__version__}"
    )
    print(
        "load average at the start (1, 5, 15 min): "
        + ", ".join(f"{x:.1f}" for x in os.getloadavg())
    )
    if args.part in ("schedule", "all"):
        schedule_part(args.deliveries)
    if args.part in ("dashboard", "all"):
        dashboard_part(args.answers, args.invitations_per_answer, args.seed, args.db, args.repeat)


def schedule_part(deliveries: int) -> None:
    """Plan, render, queue and deliver invitations for ``deliveries`` fresh deliveries."""
    from nps_schedule import run_schedule

    result = run_schedule(deliveries)
    print(f"\n### Scheduling: {deliveries:,} delivered orders\n")
    print("| step | invitations/s | baseline (raw inserts of the same rows)/s |")
    print("|---|---:|---:|")
    print(f"| planning (every rule checked, decisions recorded) | {result['plan_per_s']:,.0f} | |")
    print(
        f"| planning + rechecks + rendering ({result['html_bytes'] / 1000:.1f} KB of HTML each) "
        f"+ written to the outbox | {result['queued_per_s']:,.0f} | |"
    )
    print(
        "| the same + delivery (claimed, handed to the sender, outcome recorded) "
        f"| {result['total_per_s']:,.0f} | "
        f"{result['baseline_per_s']:,.0f} |"
    )
    delivery_share = 1 - result["total_per_s"] / result["queued_per_s"]
    verdict = "met" if result["queued_per_s"] > SCHEDULE_TARGET else "**not met**"
    print(
        f"\ndelivery's share of the whole pass: {delivery_share:.0%}; ratio to the baseline: "
        f"{result['total_per_s'] / result['baseline_per_s']:.2f}"
    )
    print(
        f"target: over {SCHEDULE_TARGET:,} invitations/s planned, rendered and written to the "
        f"outbox: {verdict} ({result['queued_per_s']:,.0f}/s)"
    )


if __name__ == "__main__":
    main()
