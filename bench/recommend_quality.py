"""Recommendation quality on real shop data, every model beside popularity, in one run.

Data: UCI Online Retail (``../shared/data/online_retail/``, CC BY 4.0, Daqing Chen, UCI Machine
Learning Repository; read from there, never copied), the "Online Retail" view (2010-12-01 …
2011-12-09), the benchmark subset of its README: lines with a customer, quantity and price above
0, not a cancellation (``C``) or adjustment (``A``), of a real product. The user is the customer,
the item the stock code, the weight the line (a purchase).

Protocol: the README's time split (train before ``min + 0.8 × span``, test after; scored users
have training lines and a test item seen in training), K = 10. Three views of each model's
lists:

- **all**: every distinct item the customer buys next (34% of them are repeats here);
- **new**: only the items the customer never bought before, counted in the *same* lists (the
  repeats a list holds take slots but cannot hit);
- **new only**: the lists the model makes of new items alone (``exclude_seen``).

The default lists (``Blend``: repeats first, then ALS discovery) must serve both from the same
lists: at least 3× popularity's Recall@10 on all next purchases, and at least 1.5× on new items
against popularity's best lists for new items (popularity with the customer's items left out).

    .venv/bin/python bench/recommend_quality.py
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from cxloop import recommend  # noqa: E402
from cxloop.recommend.content import Similar, describe  # noqa: E402
from cxloop.recommend.lists import Trained  # noqa: E402
from cxloop.recommend.measure import measure_goes_with  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "online_retail"


def load(start: str, end: str) -> recommend.Interactions:
    """The benchmark subset of the transactions between ``start`` and ``end`` (dates)."""
    text = {"invoice": pa.string(), "stock_code": pa.string(), "customer_id": pa.string()}
    lines = pacsv.read_csv(
        DATA / "transactions.csv.gz",
        convert_options=pacsv.ConvertOptions(column_types=text, strings_can_be_null=True),
    )
    items = pacsv.read_csv(
        DATA / "items.csv.gz",
        convert_options=pacsv.ConvertOptions(column_types={"stock_code": pa.string()}),
    )
    products = items.filter(pc.equal(items["is_product"], True))["stock_code"]
    when = pc.cast(lines["invoice_date"], pa.timestamp("s"))  # read as a timestamp already
    keep = pc.and_(
        pc.and_(pc.is_valid(lines["customer_id"]), pc.greater(lines["quantity"], 0)),
        pc.and_(pc.greater(lines["price"], 0), pc.is_in(lines["stock_code"], products)),
    )
    keep = pc.and_(keep, pc.invert(pc.starts_with(lines["invoice"], "C")))
    keep = pc.and_(keep, pc.invert(pc.starts_with(lines["invoice"], "A")))
    low = pa.scalar(dt.datetime.fromisoformat(start), pa.timestamp("s"))
    high = pa.scalar(dt.datetime.fromisoformat(end), pa.timestamp("s"))
    keep = pc.and_(keep, pc.and_(pc.greater_equal(when, low), pc.less(when, high)))
    chosen = lines.filter(keep)
    seconds = pc.cast(pc.cast(when.filter(keep), pa.timestamp("s")), pa.int64())
    return recommend.from_columns(
        chosen["customer_id"].to_numpy(zero_copy_only=False),
        chosen["stock_code"].to_numpy(zero_copy_only=False),
        seconds.to_numpy(zero_copy_only=False).astype(np.float64),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--start", default="2010-12-01")
    parser.add_argument("--end", default="2011-12-10")
    parser.add_argument("--k", type=int, default=10)
    args = parser.parse_args()
    data = load(args.start, args.end)
    split = recommend.time_split(data, 0.8)
    print(f"# Recommendation quality: UCI Online Retail, {args.start} to {args.end}")
    print()
    print(
        f"{len(data.user):,} purchase lines, {len(data.users):,} customers, "
        f"{len(data.items):,} items; time split at 80%: {len(split.train.user):,} training "
        f"lines, {len(split.users):,} customers scored, K = {args.k}"
    )
    print()
    models: list[recommend.Recommender] = [
        recommend.Popularity(),
        recommend.Popularity(days=30, name="popularity 30 days"),
        recommend.BuyAgain(),
        recommend.ItemKNN(),
        recommend.BoughtTogether(),
        recommend.Als(),
        recommend.Blend(),
    ]
    found: dict[str, recommend.Evaluation] = {}
    print("| model | view | Recall@10 | NDCG@10 | MAP@10 | HR@10 | coverage | novelty | fit s |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for model in models:
        started = time.perf_counter()
        result = recommend.evaluate(model, split, k=args.k)
        seconds = time.perf_counter() - started
        found[model.name] = result
        for scores in (result.all, result.new, result.new_only):
            print(
                f"| {model.name} | {scores.view} | {scores.recall:.4f} | {scores.ndcg:.4f} | "
                f"{scores.map:.4f} | {scores.hit_rate:.3f} | {scores.coverage:.3f} | "
                f"{scores.novelty:.2f} | {seconds:.1f} |"
            )
    default, popular = found["blend"], found["popularity"]
    on_all = default.all.recall / popular.all.recall
    on_new = default.new.recall / popular.new_only.recall
    print()
    print(
        f"Default lists (blend) against popularity, Recall@10: all next purchases "
        f"{default.all.recall:.4f} / {popular.all.recall:.4f} = {on_all:.2f}× (target 3×: "
        f"{'met' if on_all >= 3 else 'missed'}); new items, same lists, "
        f"{default.new.recall:.4f} / {popular.new_only.recall:.4f} (popularity without the "
        f"customer's items) = {on_new:.2f}× (target 1.5×: {'met' if on_new >= 1.5 else 'missed'})"
    )

    goes_with(data)


def descriptions() -> dict[str, str]:
    """Each item's description (stock code → text)."""
    items = pacsv.read_csv(
        DATA / "items.csv.gz",
        convert_options=pacsv.ConvertOptions(column_types={"stock_code": pa.string()}),
    ).to_pydict()
    return dict(zip(items["stock_code"], items["description"], strict=True))


def goes_with(data: recommend.Interactions) -> None:
    """The product page's and cart's candidates, measured as each workspace measures them to
    pick one (``measure.py``): next to each scored customer's last basket before the cut, the
    10 products each strategy shows (filled and ruled as served), on the products they then
    bought for the first time. Product words: the items' descriptions (no categories here)."""
    words = descriptions()
    skus = [str(sku) for sku in data.items]
    trained = Trained(stamp=(), built=0.0, data=data)
    trained.similar = Similar().fit(skus, [describe(title=words.get(s) or "") for s in skus])
    started = time.perf_counter()
    measured = measure_goes_with(data, trained, limit=len(data.users))
    seconds = time.perf_counter() - started
    users = next(iter(measured.values()))["users"] if measured else 0
    print()
    print(
        f"Next to a basket (product page, cart): {users:,.0f} customers' last basket before the "
        f"cut, products bought next for the first time, K = 10 ({seconds:.1f} s for the three)"
    )
    print()
    print("| strategy | Recall@10 | NDCG@10 |")
    print("|---|---:|---:|")
    for name, figures in sorted(measured.items(), key=lambda kv: -kv[1]["recall"]):
        print(f"| {name} | {figures['recall']:.4f} | {figures['ndcg']:.4f} |")
    best = max(measured, key=lambda name: measured[name]["recall"])
    popular = measured["popularity"]["recall"]
    print()
    print(
        f"Picked for `goes_with`: {best}, {measured[best]['recall'] / popular:.2f}× the "
        f"best sellers"
    )


if __name__ == "__main__":
    main()
