"""Personas: groups of customers who behave alike, found by a Gaussian mixture on behaviour
features, each described in words in French and English from the features that set it apart.

Per customer who bought (orders not cancelled, placed by the run's moment), from the warehouse
only (docs/personas.md):

- ``orders`` and ``basket`` (average order, less refunds), on a log scale; ``recency`` (days since
  the last order) and ``gap`` (average days between two orders; a one-order customer is given
  the median of the repeat buyers), on a log scale;
- ``discount``: the share of orders with a discount or a coupon; ``late``: the share of orders
  whose parcel came (or is still on its way) after its promised date;
- ``categories`` (distinct categories bought, log scale) and ``main_share`` (the share of spend
  in the customer's main category), and the share of spend in each of the categories most
  customers bought in (``category:NAME``);
- ``nps``: the mean NPS score when the customer answered (the population's mean otherwise, so
  that not answering is neutral) and ``answered`` (1 when they did);
- ``channel:NAME``: the share of orders per channel (``orders.source``), when there are several.

Each feature is standardised (z-score, clipped to ±``CLIP``). A Gaussian mixture
(scikit-learn, full covariance, a fixed seed) is fitted for k = 2..8 on at most ``SAMPLE``
customers; the k of the lowest BIC whose smallest persona holds at least ``MIN_SHARE`` of the
sample is kept, then every customer is assigned. Personas are coded ``p1``, ``p2``… by size,
largest first. A persona's distinguishing features are those whose mean differs most from the
population's (in standard deviations, at least ``DISTINCT``; the ``FALLBACK`` largest for a
persona close to the population everywhere), and its name and description are built from
them.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import ibis
import numpy as np
import pyarrow as pa
from threadpoolctl import threadpool_limits

from cxloop.analytics import rfm

# The features every workspace has (beside one per main category and channel: ``category:NAME``,
# ``channel:NAME``); their labels are in cxloop.web.labels ("persona_feature").
FEATURES = (
    "orders",
    "basket",
    "recency",
    "gap",
    "discount",
    "late",
    "categories",
    "main_share",
    "nps",
    "answered",
)
MIN_CUSTOMERS = 100
SAMPLE = 10_000
KS = range(2, 9)
MIN_SHARE = 0.02
CLIP = 4.0
# A feature sets a persona apart when its mean is at least this many standard deviations away
# from the population's; at most ``NAMED`` of them go into a description.
DISTINCT = 0.5
NAMED = 4
# A persona close to the population everywhere is told by its largest differences, this many.
FALLBACK = 2
# Categories and channels that get a feature of their own: those the most customers bought in
# (ordered through), at most this many, each with at least ``MIN_PART`` of the customers.
TOP_PARTS = 6
MIN_PART = 0.05
SEED = 0
_US_PER_DAY = 86_400_000_000

# Words of the descriptions: per feature and direction (+ above the population, - below), the
# head of the phrase ("head") or a clause ("clause"), in French and English. ``{}`` is a name
# from the data (a category, a channel).
HEADS: dict[tuple[str, int], dict[str, str]] = {
    ("orders", 1): {"en": "Frequent buyers", "fr": "Acheteurs fréquents"},
    ("orders", -1): {"en": "Occasional buyers", "fr": "Acheteurs occasionnels"},
}
CLAUSES: dict[tuple[str, int], dict[str, str]] = {
    ("basket", 1): {"en": "with large baskets", "fr": "aux gros paniers"},
    ("basket", -1): {"en": "with small baskets", "fr": "aux petits paniers"},
    ("recency", 1): {"en": "not seen for a long time", "fr": "absents depuis longtemps"},
    ("recency", -1): {"en": "who bought recently", "fr": "qui ont acheté récemment"},
    ("gap", 1): {"en": "with long gaps between orders", "fr": "qui espacent leurs commandes"},
    ("gap", -1): {"en": "who reorder quickly", "fr": "qui recommandent vite"},
    ("discount", 1): {"en": "who often use a discount", "fr": "qui utilisent souvent une remise"},
    ("discount", -1): {
        "en": "who rarely use a discount",
        "fr": "qui utilisent rarement une remise",
    },
    ("late", 1): {"en": "often delivered late", "fr": "souvent livrés en retard"},
    ("late", -1): {"en": "rarely delivered late", "fr": "rarement livrés en retard"},
    ("categories", 1): {"en": "buying across categories", "fr": "qui achètent de tout"},
    ("categories", -1): {"en": "buying in few categories", "fr": "qui achètent peu de catégories"},
    ("main_share", 1): {"en": "loyal to one category", "fr": "fidèles à une catégorie"},
    ("main_share", -1): {"en": "spread across categories", "fr": "répartis sur les catégories"},
    ("promoters", 1): {"en": "promoters", "fr": "promoteurs"},
    ("detractors", -1): {"en": "detractors", "fr": "détracteurs"},
    ("nps", 1): {"en": "satisfied", "fr": "satisfaits"},
    ("nps", -1): {"en": "less satisfied", "fr": "moins satisfaits"},
    ("answered", 1): {"en": "who answer surveys", "fr": "qui répondent aux enquêtes"},
    ("answered", -1): {"en": "who skip surveys", "fr": "qui ne répondent pas aux enquêtes"},
    ("channel", 1): {"en": "buying mostly via {}", "fr": "achetant surtout via {}"},
    ("channel", -1): {"en": "rarely via {}", "fr": "rarement via {}"},
}
SAME_STORY = {"main_share": "categories", "answered": "nps"}
CATEGORY_HEAD = {"en": "{} of {}", "fr": "{} de {}"}
DEFAULT_HEAD = {"en": "Customers", "fr": "Clients"}
LOCALES = ("fr", "en")


@dataclass(frozen=True)
class Features:
    """The behaviour features of each customer who bought: ``raw`` in natural units (days,
    currency, shares), ``names`` their codes, ``spent`` the money each spent."""

    customer_id: np.ndarray
    names: list[str]
    raw: np.ndarray
    spent: np.ndarray
    answered: np.ndarray


def _floats(table: pa.Table, name: str) -> np.ndarray:
    """A column as float64, nulls as NaN (PostgreSQL gives sums of integers as decimals)."""
    column = table.column(name).cast(pa.float64())
    return np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.float64)


def _lookup(keys: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of ``ids`` in the sorted ``keys`` and whether each is there."""
    at = np.clip(np.searchsorted(keys, ids), 0, max(len(keys) - 1, 0))
    found = keys[at] == ids if len(keys) else np.zeros(len(ids), bool)
    return at, found


def _micros(column: Any) -> np.ndarray:
    return np.asarray(column.cast(pa.timestamp("us", "UTC")).cast(pa.int64()), dtype=np.int64)


def _parts(
    ids: np.ndarray, rows: pa.Table, key: str, amount: str, prefix: str
) -> tuple[list[str], list[np.ndarray], np.ndarray, np.ndarray]:
    """Per customer: the share of ``amount`` in each main value of ``key`` (a feature each), the
    number of distinct values and the share of the largest one."""
    n = len(ids)
    if rows.num_rows == 0:
        return [], [], np.zeros(n), np.zeros(n)
    who = np.asarray(rows.column("customer_id").to_numpy(), dtype=np.int64)
    values = np.asarray(rows.column(key).to_pylist(), dtype=object)
    weight = np.clip(_floats(rows, amount), 0.0, None)
    at, found = _lookup(ids, who)
    at, values, weight = at[found], values[found], weight[found]
    total = np.bincount(at, weight, n)
    distinct = np.bincount(at, minlength=n).astype(np.float64)
    largest = np.zeros(n)
    np.maximum.at(largest, at, weight)
    main_share = np.divide(largest, total, out=np.zeros(n), where=total > 0)
    names, shares = [], []
    # The values most customers have, ties by name: each customer counts once per value.
    by_value: dict[str, int] = {}
    for value in values.tolist():
        by_value[value] = by_value.get(value, 0) + 1
    ranked = sorted(by_value.items(), key=lambda item: (-item[1], item[0]))
    for value, customers in ranked[:TOP_PARTS]:
        if customers < MIN_PART * n:
            break
        mask = values == value
        part = np.bincount(at[mask], weight[mask], n)
        names.append(f"{prefix}:{value}")
        shares.append(np.divide(part, total, out=np.zeros(n), where=total > 0))
    return names, shares, distinct, main_share


def features(warehouse: Any, workspace_id: str, as_of: dt.datetime) -> Features:
    """Each buyer's behaviour features, from the warehouse's orders, items, parcels and
    answers (one row per customer, by customer id)."""
    orders = warehouse.table("orders")
    live = rfm.live_orders(orders, workspace_id, as_of)
    parcels = warehouse.table("shipments")
    late = (
        parcels.filter(
            parcels.workspace_id == workspace_id,
            parcels.promised_at.notnull(),
            parcels.promised_at <= as_of,
            ibis.coalesce(parcels.delivered_at, ibis.literal(as_of)) > parcels.promised_at,
        )
        .select(late_order=parcels.order_id)
        .distinct()
    )
    flagged = live.left_join(late, live.id == late.late_order).mutate(
        discounted=ibis.ifelse(
            (live.discount_cents.fill_null(0) > 0)
            | (live.coupon_code.notnull() & (live.coupon_code != "")),
            1,
            0,
        ),
        was_late=ibis.ifelse(late.late_order.notnull(), 1, 0),
        spent=(live.total_cents - live.refunded_cents.fill_null(0)),
    )
    per = (
        flagged.group_by("customer_id")
        .aggregate(
            n=flagged.count(),
            spent=flagged.spent.sum(),
            first=flagged.placed_at.min(),
            last=flagged.placed_at.max(),
            discounted=flagged.discounted.sum(),
            late=flagged.was_late.sum(),
        )
        .order_by("customer_id")
        .to_pyarrow()
    )
    ids = np.asarray(per.column("customer_id").to_numpy(), dtype=np.int64)
    n = _floats(per, "n")
    spent = _floats(per, "spent") / 100.0
    now = int(as_of.timestamp() * 1_000_000)
    first, last = _micros(per.column("first")), _micros(per.column("last"))
    recency = np.clip((now - last) / _US_PER_DAY, 0.0, None)
    gap = np.where(n > 1, (last - first) / _US_PER_DAY / np.maximum(n - 1, 1), np.nan)
    columns: dict[str, np.ndarray] = {
        "orders": n,
        "basket": np.clip(spent, 0.0, None) / n,
        "recency": recency,
        "gap": gap,
        "discount": _floats(per, "discounted") / n,
        "late": _floats(per, "late") / n,
    }
    items = warehouse.table("order_items")
    owners = live.select(order_key=live.id, owner=live.customer_id)
    mine = items.filter(items.workspace_id == workspace_id)
    bought = mine.join(owners, mine.order_id == owners.order_key)
    bought = bought.filter(bought.category.notnull(), bought.category != "")
    by_category = (
        bought.group_by(customer_id=bought.owner, category=bought.category)
        .aggregate(cents=bought.total_cents.sum())
        .to_pyarrow()
    )
    names, shares, distinct, main_share = _parts(ids, by_category, "category", "cents", "category")
    if distinct.any():
        columns["categories"] = distinct
        columns["main_share"] = main_share
        columns.update(zip(names, shares, strict=True))
    answers = warehouse.table("answers")
    scored = answers.filter(
        answers.workspace_id == workspace_id,
        answers.customer_id.notnull(),
        answers.score.notnull(),
        answers.created_at <= as_of,
    )
    nps = (
        scored.group_by("customer_id")
        .aggregate(nps=scored.score.cast("float64").mean())
        .order_by("customer_id")
        .to_pyarrow()
    )
    at, answered = _lookup(np.asarray(nps.column("customer_id").to_numpy(), dtype=np.int64), ids)
    mean_nps = np.where(answered, _floats(nps, "nps")[at], np.nan) if nps.num_rows else at * 0.0
    if answered.any():
        columns["nps"] = mean_nps
        columns["answered"] = answered.astype(np.float64)
    sourced = live.filter(live.source.notnull(), live.source != "")
    by_channel = (
        sourced.group_by(["customer_id", "source"]).aggregate(orders=sourced.count()).to_pyarrow()
    )
    if len(set(by_channel.column("source").to_pylist())) > 1:
        names, shares, _, _ = _parts(ids, by_channel, "source", "orders", "channel")
        columns.update(zip(names, shares, strict=True))
    return Features(
        customer_id=ids,
        names=list(columns),
        raw=np.column_stack(list(columns.values())) if len(ids) else np.zeros((0, len(columns))),
        spent=spent,
        answered=answered,
    )


LOGGED = ("orders", "basket", "recency", "gap", "categories")


def standardise(found: Features) -> tuple[np.ndarray, np.ndarray]:
    """The features on a common scale: counts, money and days on a log scale, a missing NPS at
    the population's mean, then z-scores clipped to ±``CLIP``; and which columns vary (only
    those are clustered on)."""
    values = found.raw.copy()
    for i, name in enumerate(found.names):
        column = values[:, i]
        if name in LOGGED:
            values[:, i] = np.log1p(np.clip(column, 0.0, None))
        if name in ("nps", "gap"):
            known = values[np.isfinite(values[:, i]), i]
            middle = (np.median(known) if name == "gap" else known.mean()) if known.size else 0.0
            values[:, i] = np.where(np.isfinite(values[:, i]), values[:, i], middle)
    mean = values.mean(axis=0)
    std = values.std(axis=0)
    varies = std > 1e-9
    z = np.divide(values - mean, std, out=np.zeros_like(values), where=varies)
    return np.clip(z, -CLIP, CLIP), varies


def _fit(sample: np.ndarray, k: int) -> Any:
    from sklearn.mixture import GaussianMixture

    model = GaussianMixture(
        n_components=k, covariance_type="full", reg_covar=1e-3, random_state=SEED, max_iter=200
    )
    return model.fit(sample)


def choose(z: np.ndarray) -> tuple[Any, int, dict[int, float], int]:
    """The mixture kept: fitted on a sample of at most ``SAMPLE`` rows for each k, the lowest
    BIC whose smallest persona holds ``MIN_SHARE`` of the sample (None when no k does); with
    its k, the BIC per k and the sample size."""
    rows = z.shape[0]
    if rows > SAMPLE:
        picked = np.sort(np.random.default_rng(SEED).choice(rows, SAMPLE, replace=False))
        sample = z[picked]
    else:
        sample = z
    bic: dict[int, float] = {}
    kept: list[tuple[float, int, Any]] = []
    for k in KS:
        if k >= sample.shape[0]:
            break
        model = _fit(sample, k)
        bic[k] = float(model.bic(sample))
        sizes = np.bincount(model.predict(sample), minlength=k)
        if sizes.min() >= MIN_SHARE * sample.shape[0]:
            kept.append((bic[k], k, model))
    if not kept:
        return None, 0, bic, sample.shape[0]
    _, k, model = min(kept, key=lambda item: (item[0], item[1]))
    return model, k, bic, sample.shape[0]


def _direction(name: str, persona: float, population: float) -> dict[str, str] | None:
    """The words for a feature's difference, or None when it has none."""
    kind = name.split(":", 1)[0]
    sign = 1 if persona > population else -1
    if kind == "nps":
        if sign > 0 and persona >= 9:
            return CLAUSES[("promoters", 1)]
        if sign < 0 and persona <= 6:
            return CLAUSES[("detractors", -1)]
    if kind == "category":
        return None  # named in the head ("buyers of Toys"), or not at all
    words = CLAUSES.get((kind, sign))
    if words is None:
        return None
    part = name.split(":", 1)[1] if ":" in name else ""
    return {locale: text.format(part) for locale, text in words.items()}


def describe(distinct: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """A persona's short name and description in each locale, from its distinguishing features
    (largest difference first): a head ("Frequent buyers", "Customers"), the category its
    members buy most when one sets it apart ("of Toys"), then the other differences."""
    head = dict(DEFAULT_HEAD)
    category = ""
    clauses: list[dict[str, str]] = []
    told: set[str] = set()
    for feature in distinct:
        code, sign = str(feature["feature"]), 1 if feature["direction"] == "higher" else -1
        if code == "orders":
            head = dict(HEADS[("orders", sign)])
        elif code.startswith("category:"):
            if sign > 0 and not category:
                category = code.split(":", 1)[1]
        elif feature["value"] is not None and feature["population"] is not None:
            words = _direction(code, float(feature["value"]), float(feature["population"]))
            # Features that tell the same story are named once, the larger difference first.
            group = SAME_STORY.get(code, code)
            if words is not None and group not in told and len(clauses) < NAMED:
                clauses.append(words)
                told.add(group)
    out: dict[str, dict[str, str]] = {}
    for locale in LOCALES:
        name = head[locale]
        if category:
            name = CATEGORY_HEAD[locale].format(name, category)
        if not clauses and not category and head == DEFAULT_HEAD:
            out[locale] = {"name": name, "description": name}
            continue
        if category or head != DEFAULT_HEAD:
            short, text = name, ", ".join([name, *(c[locale] for c in clauses)])
        else:  # "Customers with large baskets, …": the first difference names them
            short = f"{name} {clauses[0][locale]}"
            text = ", ".join([short, *(c[locale] for c in clauses[1:])])
        out[locale] = {"name": short, "description": text}
    return out


def _mean(values: np.ndarray) -> float | None:
    finite = values[np.isfinite(values)]
    return round(float(finite.mean()), 4) if finite.size else None


def personas(
    warehouse: Any, workspace_id: str, as_of: dt.datetime, scores: pa.Table
) -> tuple[pa.Table, dict[str, Any]]:
    """Each buyer's persona code (``customer_id``, ``persona``) and the ``personas`` report:
    the personas with their size, share, revenue share, average CLV (when ``scores`` has it),
    feature means against the population's, distinguishing features and words; k, the BIC per
    k and the sample size. With fewer than ``MIN_CUSTOMERS`` buyers, no persona, and the
    report says why."""
    found = features(warehouse, workspace_id, as_of)
    customers = len(found.customer_id)
    empty = pa.table(
        {"customer_id": pa.array([], pa.int64()), "persona": pa.array([], pa.string())}
    )
    base: dict[str, Any] = {"customers": customers, "features": found.names, "personas": []}
    if customers < MIN_CUSTOMERS:
        return empty, {**base, "k": 0, "reason": "too_few_customers", "minimum": MIN_CUSTOMERS}
    z, varies = standardise(found)
    # One BLAS thread: the matrices are small, and threads fighting over the cores cost ten
    # times the work (measured on the demo: 55 s against 5 s).
    with threadpool_limits(limits=1):
        model, k, bic, sample = choose(z[:, varies])
        labels = None if model is None else model.predict(z[:, varies])
    base.update(k=k, bic={str(key): round(v, 1) for key, v in bic.items()}, sample=sample)
    if model is None or labels is None:
        return empty, {**base, "reason": "no_stable_clusters"}
    sizes = np.bincount(labels, minlength=k)
    # Largest first; equal sizes by the model's own order, so a run is stable.
    order = sorted(range(k), key=lambda c: (-int(sizes[c]), c))
    codes = np.empty(k, dtype=object)
    for rank, cluster in enumerate(order, start=1):
        codes[cluster] = f"p{rank}"
    assigned = codes[labels]
    clv = _clv_of(scores, found.customer_id)
    total_spent = float(np.clip(found.spent, 0, None).sum()) or 1.0
    population = {name: _mean(found.raw[:, i]) for i, name in enumerate(found.names)}
    z_population = z.mean(axis=0)
    described = []
    for rank, cluster in enumerate(order, start=1):
        members = labels == cluster
        means = {name: _mean(found.raw[members, i]) for i, name in enumerate(found.names)}
        gaps = (z[members].mean(axis=0) - z_population) * varies
        distinct = [
            {
                "feature": found.names[i],
                "direction": "higher" if gaps[i] > 0 else "lower",
                "value": means[found.names[i]],
                "population": population[found.names[i]],
                "difference": round(float(gaps[i]), 3),
            }
            for rank, i in enumerate(np.argsort(-np.abs(gaps), kind="stable"))
            if abs(gaps[i]) >= DISTINCT or (rank < FALLBACK and abs(gaps[i]) > 0)
        ]
        member_clv = clv[members]
        described.append(
            {
                "code": f"p{rank}",
                "customers": int(members.sum()),
                "share": round(float(members.mean()), 4),
                "revenue_share": round(float(np.clip(found.spent[members], 0, None).sum())
                                       / total_spent, 4),
                "average_clv_12m": None if np.isnan(member_clv).all()
                else round(float(np.nanmean(member_clv)), 2),
                "means": means,
                "distinct": distinct,
                "words": describe(distinct),
            }
        )  # fmt: skip
    unique_names(described)
    base["population"] = population
    base["personas"] = described
    table = pa.table(
        {
            "customer_id": pa.array(found.customer_id, pa.int64()),
            "persona": pa.array(assigned.tolist(), pa.string()),
        }
    )
    return table, base


def unique_names(described: list[dict[str, Any]]) -> None:
    """Two personas never share a name: a later one takes its description, then its code."""
    for locale in LOCALES:
        seen: set[str] = set()
        for persona in described:
            words = persona["words"][locale]
            if words["name"] in seen:
                words["name"] = words["description"]
            if words["name"] in seen:
                words["name"] = f"{words['name']} ({persona['code']})"
            seen.add(words["name"])


def _clv_of(scores: pa.Table, ids: np.ndarray) -> np.ndarray:
    """The 12-month value of each customer of ``ids`` from the earlier steps (NaN without)."""
    out = np.full(len(ids), np.nan)
    if "clv_12m" not in scores.column_names or scores.num_rows == 0:
        return out
    keys = np.asarray(scores.column("customer_id").to_numpy(), dtype=np.int64)
    values = np.asarray(
        [math.nan if v is None else float(v) for v in scores.column("clv_12m").to_pylist()]
    )
    order = np.argsort(keys)
    at, found = _lookup(keys[order], ids)
    return np.where(found, values[order][at], np.nan)


__all__ = ["Features", "choose", "describe", "features", "personas", "standardise", "unique_names"]
