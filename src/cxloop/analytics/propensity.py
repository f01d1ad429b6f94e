"""The propensity of a new customer to become a high-value one, from the first order and the first
weeks (a gradient-boosting classifier, scikit-learn's ``HistGradientBoostingClassifier``).

- **Label.** A customer's *first-year value* is what she spent on the orders placed in the
  ``LABEL_DAYS`` days from her first order, that first order included (orders not cancelled, less
  refunds). Customers whose first order is at least ``LABEL_DAYS`` before the run are
  *labelled*; a labelled customer is *high-value* when her first-year value is above the 80th
  percentile of the labelled customers' (the top CLV quintile of the cohorts that have a full
  year of history).
- **Features**, all known ``FIRST_WEEKS_DAYS`` days after the first order (see ``FEATURES``):
  the first basket (total, lines, quantity, main category, discount, coupon, shipping paid),
  the channel (``orders.source``), the first parcel's delivery as it stood then (on time, late,
  not known yet; days late), the orders placed since and their spend, and the first NPS answer
  given in those weeks. The warehouse holds no NPS themes: they are not features.
- **Split.** Training on the older first-order cohorts; test on the latest ``TEST_DAYS`` of
  first orders that have a full year of outcome. The test gives the AUC, the Brier score, a
  calibration table by deciles of prediction, the permutation importance of each feature and,
  for comparison, the AUC and Brier score of a logistic regression on the first order's value
  alone (the baseline).
- **Scores.** The model is then fitted again on every labelled customer and scores the
  customers whose first order is less than ``LABEL_DAYS`` old: ``propensity`` is the chance of
  ending the first year in the top quintile. A customer younger than ``FIRST_WEEKS_DAYS`` is
  scored on what is known so far.

With fewer than ``MIN_LABELLED`` labelled customers, ``MIN_POSITIVES`` high-value ones, or a
training or test set with a single class, nothing is scored and the report says why.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from threadpoolctl import threadpool_limits

from cxloop.analytics import rfm

FIRST_WEEKS_DAYS = 30
LABEL_DAYS = 365
TOP_SHARE = 0.2
TEST_DAYS = 91
MIN_LABELLED = 200
MIN_POSITIVES = 20
# Above this many labelled customers, training uses a random sample of them (same seed).
MAX_TRAIN = 50_000
# Permutation importance on at most this many test customers.
MAX_IMPORTANCE = 5_000
REPEATS = 3
# Categories and channels kept by name, the most frequent first; the others are "other".
TOP_LEVELS = 12
SEED = 0
DECILES = 10
FIRST_ORDERS = "propensity_first_orders"  # a temporary table while the features are built
# The model's inputs, in the order of the matrix; CATEGORICAL ones are integer codes.
FEATURES = (
    "first_order_value",
    "first_order_items",
    "first_order_quantity",
    "first_order_category",
    "discount_share",
    "coupon_used",
    "shipping_paid",
    "channel",
    "delivery",
    "days_late",
    "early_orders",
    "early_spend",
    "nps_score",
)
CATEGORICAL = ("first_order_category", "channel", "delivery")
DELIVERY = ("unknown", "on_time", "late")
FloatArray = npt.NDArray[np.float64]


def _cents(column: Any) -> FloatArray:
    return np.asarray(column.fill_null(0).to_numpy(zero_copy_only=False), dtype=np.float64)


def _micros(column: Any) -> npt.NDArray[np.int64]:
    """Timestamps as microseconds since the epoch (NULL as the smallest int64)."""
    cast = column.cast(pa.timestamp("us", "UTC")).cast(pa.int64())
    return np.asarray(cast.fill_null(np.iinfo(np.int64).min).to_numpy(), dtype=np.int64)


def _codes(values: Any, levels: int) -> tuple[npt.NDArray[np.int64], list[str]]:
    """Integer codes of the ``levels`` most frequent values (ties by name), then "other"."""
    column = pa.chunked_array([values]) if isinstance(values, pa.Array) else values
    encoded = pc.dictionary_encode(pc.fill_null(column, "")).combine_chunks()
    names = [str(n) for n in encoded.dictionary.to_pylist()]
    indices = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    counts = np.bincount(indices, minlength=len(names))
    ranked = sorted(range(len(names)), key=lambda i: (-counts[i], names[i]))
    kept = [i for i in ranked if names[i] != ""][:levels]
    mapping = np.full(len(names), len(kept), dtype=np.int64)
    mapping[kept] = np.arange(len(kept))
    return mapping[indices], [names[i] for i in kept] + ["other"]


def customer_features(
    warehouse: Any, workspace_id: str, as_of: dt.datetime
) -> tuple[pa.Table, dict[str, list[str]]]:
    """One row per customer who bought by ``as_of``: customer_id, first_at, the ``FEATURES``
    (categorical ones as codes) and ``first_year_value``; and the names behind the codes."""
    orders = warehouse.table("orders")
    live = rfm.live_orders(orders, workspace_id, as_of)
    # Seconds since the epoch: adding an interval to a time zone-aware time costs DuckDB a
    # calendar computation per row.
    live = live.mutate(
        cents=live.total_cents - live.refunded_cents.fill_null(0),
        second=live.placed_at.epoch_seconds(),
    )
    # Group-bys and joins, not windows: a window sorts all the orders, a hash aggregate does not.
    starts = live.group_by("customer_id").aggregate(
        first_at=live.placed_at.min(), first_second=live.second.min()
    )
    joined = live.join(starts, "customer_id")
    since = joined.second - joined.first_second
    later = since > 0
    early = later & (since <= FIRST_WEEKS_DAYS * 86_400)
    in_year = since < LABEL_DAYS * 86_400
    per_customer = joined.group_by("customer_id").aggregate(
        first_at=joined.first_at.min(),
        # the first order: the earliest, the lowest id among those placed at the same moment
        order_id=ibis.ifelse(later, ibis.null("int64"), joined.id).min(),
        early_orders=ibis.ifelse(early, 1, 0).sum(),
        early_cents=ibis.ifelse(early, joined.cents, 0).sum(),
        year_cents=ibis.ifelse(in_year, joined.cents, 0).sum(),
    )
    found = per_customer.join(live, per_customer.order_id == live.id).select(
        per_customer,
        total=live.total_cents,
        subtotal=live.subtotal_cents,
        shipping=live.shipping_cents,
        discount=live.discount_cents,
        coupon=live.coupon_code,
        source=live.source,
    )
    # Kept as a temporary table: the baskets, parcels and answers below join onto it.
    con = warehouse.ibis
    con.drop_table(FIRST_ORDERS, force=True)
    first = con.create_table(FIRST_ORDERS, found, temp=True)
    try:
        return _features(warehouse, workspace_id, as_of, first)
    finally:
        con.drop_table(FIRST_ORDERS, force=True)


def _features(
    warehouse: Any, workspace_id: str, as_of: dt.datetime, first: Any
) -> tuple[pa.Table, dict[str, list[str]]]:
    """The features from the first orders (a table) and the facts joined onto them."""
    rows = first.order_by("customer_id").to_pyarrow()
    ids = np.asarray(rows.column("customer_id").to_numpy(), dtype=np.int64)
    order_ids = np.asarray(rows.column("order_id").to_numpy(), dtype=np.int64)
    first_at = _micros(rows.column("first_at"))
    cutoff = np.minimum(
        first_at + FIRST_WEEKS_DAYS * 86_400_000_000, int(as_of.timestamp() * 1_000_000)
    )
    lines, quantity, category = _first_baskets(warehouse, workspace_id, first, order_ids)
    delivery, days_late = _first_parcels(warehouse, workspace_id, first, order_ids, cutoff)
    nps = _early_answers(warehouse, workspace_id, first, ids, as_of)
    category_codes, categories = _codes(category, TOP_LEVELS)
    channel_codes, channels = _codes(rows.column("source"), TOP_LEVELS)
    subtotal = _cents(rows.column("subtotal"))
    discount = _cents(rows.column("discount"))
    coupons = pc.fill_null(pc.not_equal(rows.column("coupon"), ""), False)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(subtotal > 0, discount / subtotal, 0.0)
    table = pa.table(
        {
            "customer_id": pa.array(ids),
            "first_at": rows.column("first_at"),
            "first_order_value": _cents(rows.column("total")) / 100,
            "first_order_items": lines,
            "first_order_quantity": quantity,
            "first_order_category": category_codes,
            "discount_share": np.clip(share, 0.0, 1.0),
            "coupon_used": np.asarray(coupons.to_numpy(zero_copy_only=False), dtype=np.float64),
            "shipping_paid": _cents(rows.column("shipping")) / 100,
            "channel": channel_codes,
            "delivery": delivery,
            "days_late": days_late,
            "early_orders": _cents(rows.column("early_orders")),
            "early_spend": _cents(rows.column("early_cents")) / 100,
            "nps_score": nps,
            "first_year_value": _cents(rows.column("year_cents")) / 100,
        }
    )
    return table, {
        "first_order_category": categories,
        "channel": channels,
        "delivery": list(DELIVERY),
    }


def _positions(keys: npt.NDArray[np.int64], found: Any) -> npt.NDArray[np.int64]:
    """Where each of ``found`` (all among ``keys``, which need not be sorted) is in ``keys``."""
    sorter = np.argsort(keys, kind="stable")
    at = np.searchsorted(keys, np.asarray(found.to_numpy(), dtype=np.int64), sorter=sorter)
    return np.asarray(sorter[at], dtype=np.int64)


def _first_baskets(
    warehouse: Any, workspace_id: str, first: Any, order_ids: npt.NDArray[np.int64]
) -> tuple[FloatArray, FloatArray, pa.Array]:
    """Lines, quantity and main category (the one most spent on) of each first order."""
    items = warehouse.table("order_items")
    items = items.filter(items.workspace_id == workspace_id)
    keys = first.select(first_order=first.order_id)
    mine = items.join(keys, items.order_id == keys.first_order)
    grouped = (
        mine.group_by([mine.order_id, mine.category])
        .aggregate(
            lines=mine.id.count(), quantity=mine.quantity.sum(), cents=mine.total_cents.sum()
        )
        .to_pyarrow()
    )
    lines = np.zeros(order_ids.size)
    quantity = np.zeros(order_ids.size)
    category = np.full(order_ids.size, None, dtype=object)
    if grouped.num_rows == 0:
        return lines, quantity, pa.array(category, pa.string())
    where = _positions(order_ids, grouped.column("order_id"))
    np.add.at(lines, where, _cents(grouped.column("lines")))
    np.add.at(quantity, where, _cents(grouped.column("quantity")))
    cents = _cents(grouped.column("cents"))
    names = np.asarray(grouped.column("category").to_pylist(), dtype=object)
    # Each order's category with the most spent (ties by name): the last of its order's rows
    # sorted by order, cents, then name descending.
    key = np.asarray(["" if n is None else n for n in names], dtype=object)
    rank = np.unique(key, return_inverse=True)[1]
    order = np.lexsort((-rank, cents, where))
    last = order[np.r_[where[order][1:] != where[order][:-1], True]]
    category[where[last]] = names[last]
    return lines, quantity, pa.array(category, pa.string())


def _first_parcels(
    warehouse: Any,
    workspace_id: str,
    first: Any,
    order_ids: npt.NDArray[np.int64],
    cutoff: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.int64], FloatArray]:
    """Each first order's first parcel as it stood at ``cutoff``: ``DELIVERY`` code (delivered
    after its promised date, or not delivered once it passed: late) and days late."""
    shipments = warehouse.table("shipments")
    shipments = shipments.filter(shipments.workspace_id == workspace_id)
    keys = first.select(first_order=first.order_id)
    mine = shipments.join(keys, shipments.order_id == keys.first_order)
    parcels = mine.select("order_id", "id", "promised_at", "delivered_at").to_pyarrow()
    code = np.zeros(order_ids.size, dtype=np.int64)
    late_days = np.zeros(order_ids.size)
    if parcels.num_rows == 0:
        return code, late_days
    where = _positions(order_ids, parcels.column("order_id"))
    parcel_id = np.asarray(parcels.column("id").to_numpy(), dtype=np.int64)
    order = np.lexsort((parcel_id, where))
    firsts = order[np.r_[True, where[order][1:] != where[order][:-1]]]
    at = where[firsts]
    promised = _micros(parcels.column("promised_at"))[firsts]
    delivered = _micros(parcels.column("delivered_at"))[firsts]
    seen = cutoff[at]
    missing = np.iinfo(np.int64).min
    arrived = (delivered != missing) & (delivered <= seen)
    known = promised != missing
    ends = np.where(arrived, delivered, seen)
    late = known & (ends > promised)
    on_time = known & arrived & ~late
    code[at] = np.where(
        late, DELIVERY.index("late"), np.where(on_time, DELIVERY.index("on_time"), 0)
    )
    late_days[at] = np.where(late, (ends - promised) / 86_400_000_000, 0.0)
    return code, late_days


def _early_answers(
    warehouse: Any, workspace_id: str, first: Any, ids: npt.NDArray[np.int64], as_of: dt.datetime
) -> FloatArray:
    """The score of each customer's first NPS answer in her first weeks (NaN: none)."""
    answers = warehouse.table("answers")
    answers = answers.filter(
        answers.workspace_id == workspace_id,
        answers.score.notnull(),
        answers.customer_id.notnull(),
        answers.created_at <= as_of,
    )
    starts = first.select(buyer=first.customer_id, start=first.first_at)
    mine = answers.join(starts, answers.customer_id == starts.buyer)
    mine = mine.filter(
        mine.created_at >= mine.start,
        mine.created_at <= mine.start + ibis.interval(days=FIRST_WEEKS_DAYS),
    )
    rows = mine.select("customer_id", "created_at", "id", "score").to_pyarrow()
    score = np.full(ids.size, np.nan)
    if rows.num_rows == 0:
        return score
    where = np.searchsorted(ids, np.asarray(rows.column("customer_id").to_numpy()))
    created = _micros(rows.column("created_at"))
    answer_id = np.asarray(rows.column("id").to_numpy(), dtype=np.int64)
    order = np.lexsort((answer_id, created, where))
    firsts = order[np.r_[True, where[order][1:] != where[order][:-1]]]
    score[where[firsts]] = _cents(rows.column("score"))[firsts]
    return score


def _matrix(features: pa.Table, rows: npt.NDArray[np.int64] | None = None) -> FloatArray:
    """The ``FEATURES`` as a float matrix (rows: all, or those given)."""
    columns = [np.asarray(features.column(name).to_numpy(), dtype=np.float64) for name in FEATURES]
    matrix = np.column_stack(columns)
    return matrix if rows is None else matrix[rows]


def _classifier() -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(
        learning_rate=0.05,
        max_iter=300,
        max_leaf_nodes=15,
        min_samples_leaf=40,
        l2_regularization=1.0,
        categorical_features=[FEATURES.index(name) for name in CATEGORICAL],
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=20,
        random_state=SEED,
    )


def _sample(rows: npt.NDArray[np.int64], limit: int) -> npt.NDArray[np.int64]:
    if rows.size <= limit:
        return rows
    rng = np.random.default_rng(SEED)
    return np.sort(rng.choice(rows, size=limit, replace=False))


def calibration_table(predicted: FloatArray, observed: FloatArray) -> list[dict[str, float]]:
    """Deciles of prediction (equal counts, the lowest first): customers, mean predicted chance,
    observed rate of high-value customers."""
    order = np.argsort(predicted, kind="stable")
    table = []
    for k, part in enumerate(np.array_split(order, DECILES), start=1):
        if part.size:
            table.append(
                {
                    "decile": k,
                    "customers": int(part.size),
                    "predicted": round(float(predicted[part].mean()), 4),
                    "observed": round(float(observed[part].mean()), 4),
                }
            )
    return table


def _too_little(reason: str, **figures: Any) -> dict[str, Any]:
    return {"status": "too_little_data", "reason": reason, **figures}


def _day(micros: int) -> str:
    return dt.datetime.fromtimestamp(micros / 1_000_000, dt.UTC).date().isoformat()


def _cohort(
    rows: npt.NDArray[np.int64], label: FloatArray, first_at: npt.NDArray[np.int64]
) -> dict[str, Any]:
    """Customers, high-value ones and the span of their first orders."""
    return {
        "customers": int(rows.size),
        "positives": int(label[rows].sum()),
        "first_from": _day(int(first_at[rows].min())),
        "first_to": _day(int(first_at[rows].max())),
    }


def _evaluate(
    x: FloatArray, label: FloatArray, train: npt.NDArray[np.int64], test: npt.NDArray[np.int64]
) -> dict[str, Any]:
    """Fit on ``train``, measure on ``test``: AUC, Brier score, calibration, permutation
    importance, and the first-order-value baseline's AUC and Brier score."""
    from sklearn.inspection import permutation_importance
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import brier_score_loss, roc_auc_score

    model = _classifier().fit(x[train], label[train])
    predicted = model.predict_proba(x[test])[:, 1]
    # The baseline: a logistic regression on the log of the first order's value (its AUC is
    # that of ranking customers by that value).
    first_value = np.log1p(x[:, FEATURES.index("first_order_value")].clip(0))[:, None]
    baseline = LogisticRegression().fit(first_value[train], label[train])
    base_predicted = baseline.predict_proba(first_value[test])[:, 1]
    probe = _sample(test, MAX_IMPORTANCE)
    importance = permutation_importance(
        model, x[probe], label[probe], scoring="roc_auc", n_repeats=REPEATS, random_state=SEED
    )
    ranked = sorted(
        zip(FEATURES, importance.importances_mean, strict=True), key=lambda kv: -float(kv[1])
    )
    return {
        "auc": round(float(roc_auc_score(label[test], predicted)), 4),
        "brier": round(float(brier_score_loss(label[test], predicted)), 4),
        "baseline_auc": round(float(roc_auc_score(label[test], base_predicted)), 4),
        "baseline_brier": round(float(brier_score_loss(label[test], base_predicted)), 4),
        "calibration": calibration_table(predicted, label[test]),
        "importance": [
            {"feature": name, "auc_drop": round(float(drop), 4)} for name, drop in ranked
        ],
    }


def fit_and_score(
    features: pa.Table, levels: dict[str, list[str]], as_of: dt.datetime
) -> tuple[pa.Table, dict[str, Any]]:
    """Train and test on the labelled customers, then score the newer ones: (customer_id,
    propensity) and the report (see the module's docstring)."""
    empty = pa.table(
        {"customer_id": pa.array([], pa.int64()), "propensity": pa.array([], pa.float64())}
    )
    first_at = _micros(features.column("first_at"))
    now = int(as_of.timestamp() * 1_000_000)
    day = 86_400_000_000
    labelled = np.flatnonzero(first_at <= now - LABEL_DAYS * day)
    fresh = np.flatnonzero(first_at > now - LABEL_DAYS * day)
    value = np.asarray(features.column("first_year_value").to_numpy(), dtype=np.float64)
    figures: dict[str, Any] = {"labelled": int(labelled.size), "new_customers": int(fresh.size)}
    if labelled.size < MIN_LABELLED:
        return empty, _too_little("few_labelled", **figures)
    threshold = float(np.quantile(value[labelled], 1.0 - TOP_SHARE))
    label = (value > threshold).astype(np.float64)
    figures["positives"] = int(label[labelled].sum())
    figures["threshold"] = round(threshold, 2)
    if figures["positives"] < MIN_POSITIVES:
        return empty, _too_little("few_positives", **figures)
    test_from = now - (LABEL_DAYS + TEST_DAYS) * day
    test = labelled[first_at[labelled] > test_from]
    train = _sample(labelled[first_at[labelled] <= test_from], MAX_TRAIN)
    if np.unique(label[train]).size < 2 or np.unique(label[test]).size < 2:
        return empty, _too_little("one_class", **figures)
    x_all = _matrix(features)
    # A feature never known in training (no NPS answers at all) says nothing: a constant.
    x_all[:, np.all(np.isnan(x_all[train]), axis=0)] = 0.0
    import sklearn.ensemble  # noqa: F401  (loads OpenMP, so that the limit below reaches it)

    with threadpool_limits(limits=1, user_api="openmp"):
        # One thread: on a busy machine the OpenMP pool's waking cost more than it saved (a
        # permutation importance of 600 rows took 10 s with two threads, 1 s with one).
        report = _evaluate(x_all, label, train, test)
        every = _sample(labelled, MAX_TRAIN)
        final = _classifier().fit(x_all[every], label[every])
        scores = final.predict_proba(x_all[fresh])[:, 1] if fresh.size else np.zeros(0)
    report = {
        "status": "ok",
        **figures,
        "label_days": LABEL_DAYS,
        "first_weeks_days": FIRST_WEEKS_DAYS,
        "top_share": TOP_SHARE,
        "train": _cohort(train, label, first_at),
        "test": _cohort(test, label, first_at),
        **report,
        "levels": levels,
        "scored": int(fresh.size),
    }
    ids = np.asarray(features.column("customer_id").to_numpy(), dtype=np.int64)
    return pa.table({"customer_id": pa.array(ids[fresh]), "propensity": pa.array(scores)}), report


def propensity_scores(
    warehouse: Any, workspace_id: str, as_of: dt.datetime
) -> tuple[pa.Table, dict[str, Any]]:
    """The ``propensity`` of each customer whose first order is less than a year old, and the
    model's report (or, with too little history, no scores and a report saying why)."""
    features, levels = customer_features(warehouse, workspace_id, as_of)
    return fit_and_score(features, levels, as_of)


__all__ = [
    "FEATURES",
    "calibration_table",
    "customer_features",
    "fit_and_score",
    "propensity_scores",
]
