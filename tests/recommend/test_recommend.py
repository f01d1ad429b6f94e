"""Recommenders and their evaluation: metrics computed by hand, models that learn a synthetic
shop's structure (tastes, staples bought again, complements), the CSV reader, and
``cxloop recommend batch``."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cxloop import recommend
from cxloop.errors import InvalidInput
from cxloop.recommend.evaluation import score

DAY = 86400.0


def test_metrics_match_a_hand_computation() -> None:
    found = score(
        np.array([[1, 2, 3]]),
        [np.array([2, 5])],
        k=3,
        items=10,
        popularity=np.array([0, 4, 2, 1, 0, 0, 0, 0, 0, 0], dtype=float),
        population=8,
        model="m",
        view="all",
    )
    assert found.recall == pytest.approx(0.5)
    assert found.ndcg == pytest.approx((1 / math.log2(3)) / (1 + 1 / math.log2(3)))
    assert found.map == pytest.approx(0.5 / 2)  # precision 1/2 at the hit, over min(2, 3)
    assert found.hit_rate == 1.0 and found.coverage == pytest.approx(0.3)
    assert found.novelty == pytest.approx(np.mean([1.0, 2.0, 3.0]))  # -log2(4/8, 2/8, 1/8)


def _shop(seed: int = 0) -> recommend.Interactions:
    """200 customers of two tastes over 60 days: each buys their staple again and again, and,
    over time, the other items of their taste (a bag with its matching purse)."""
    rng = np.random.default_rng(seed)
    users, items, times = [], [], []
    for customer in range(200):
        taste = customer % 2
        staple = f"staple-{customer % 25}"  # ten customers share each staple
        catalog = [f"{'ab'[taste]}{n}" for n in range(12)]
        order = rng.permutation(len(catalog))
        for day in range(0, 60, 6):
            users.append(f"c{customer}")
            items.append(staple)
            times.append(day * DAY + rng.uniform(0, DAY))
        for step, position in enumerate(order[:8]):
            moment = (step * 7 + rng.uniform(0, 5)) * DAY
            for item in (catalog[position], f"purse-{catalog[position]}"):
                users.append(f"c{customer}")
                items.append(item)
                times.append(moment)
    # a best-seller everybody has once, early
    for customer in range(200):
        users.append(f"c{customer}")
        items.append("best-seller")
        times.append(rng.uniform(0, 5) * DAY)
    return recommend.from_columns(users, items, times)


def test_models_learn_the_shop_and_the_default_serves_repeats_and_discovery() -> None:
    split = recommend.time_split(_shop(), 0.7)
    results = {
        model.name: recommend.evaluate(model, split, k=5)
        for model in (
            recommend.Popularity(),
            recommend.BuyAgain(),
            recommend.ItemKNN(),
            recommend.BoughtTogether(),
            recommend.Als(factors=8, iterations=10),
            recommend.Blend(repeats=1, discover=recommend.Als(factors=8, iterations=10)),
        )
    }
    popular = results["popularity"]
    # the staple comes back: buying again beats popularity on all next purchases
    assert results["buy-again"].all.recall > 2 * popular.all.recall
    # tastes and complements: the personal models find new items popularity cannot
    for name in ("item-kNN", "bought-together", "ALS"):
        assert results[name].new_only.recall > 2 * popular.new_only.recall, name
    blend = results["blend"]
    assert blend.all.recall > popular.all.recall and blend.new.recall > popular.new_only.recall


def test_bought_together_is_not_fooled_by_a_best_seller() -> None:
    data = _shop()
    model = recommend.BoughtTogether().fit(data)
    item = int(np.searchsorted(data.items, "a3"))
    together = [str(data.items[i]) for i in model.similar(item, 3)]
    assert together[0] == "purse-a3" and "best-seller" not in together


def test_lists_leave_out_what_was_had_when_asked() -> None:
    data = _shop()
    model = recommend.Als(factors=8, iterations=5).fit(data)
    users = np.arange(5)
    lists = model.recommend(users, 10, exclude_seen=True)
    seen = data.matrix(binary=True)
    for row, user in zip(lists, users, strict=True):
        assert not set(row.tolist()) & set(seen[user].indices.tolist())


def test_the_last_basket_is_the_test() -> None:
    data = recommend.from_columns(
        ["u", "u", "u", "v", "v"], ["a", "b", "c", "c", "a"], [1.0, 1.0, 2.0, 1.0, 3.0]
    )
    split = recommend.last_basket(data)
    assert len(split.train.user) == 3
    assert [data.items[t].tolist() for t in split.truth] == [["c"], ["a"]]


def test_a_csv_without_its_columns_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("customer,product\n1,2\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as refused:
        recommend.read_csv(bad)
    assert refused.value.field == str(bad) and "user_id" in refused.value.message


def test_cxloop_recommend_batch(tmp_path: Path) -> None:
    data = _shop()
    lines = ["user_id,item_id,timestamp,quantity"]
    for user, item, moment in zip(data.user, data.item, data.time, strict=True):
        lines.append(f"{data.users[user]},{data.items[item]},{int(moment)},1")
    (tmp_path / "interactions.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "users.txt").write_text("c0\nc1\nnobody\n", encoding="utf-8")
    cxloop = str(Path(sys.executable).with_name("cxloop"))
    environ = {**os.environ, "CXLOOP_HOME": str(tmp_path / "home")}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [cxloop, "recommend", "batch", *args], env=environ, capture_output=True, text=True,
            timeout=120,
        )  # fmt: skip

    done = run(
        "--interactions", str(tmp_path / "interactions.csv"),
        "--users", str(tmp_path / "users.txt"), "--k", "5", "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lists = json.loads(done.stdout)
    assert list(lists) == ["c0", "c1", "nobody"] and all(len(v) == 5 for v in lists.values())
    assert lists["c0"][0] == "staple-0" and lists["c1"][0] == "staple-1"  # bought again
    assert lists["nobody"][0] in {"best-seller", "staple-0", "staple-1"}  # popular
    refused = run(
        "--interactions", str(tmp_path / "interactions.csv"),
        "--users", str(tmp_path / "users.txt"), "--k", "0",
    )  # fmt: skip
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1 and "--k" in refused.stderr
