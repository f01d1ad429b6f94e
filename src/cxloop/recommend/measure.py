"""Each placement's model picked by measure on the workspace's own orders (``evaluation.py``'s
time split: the orders before the last fifth of the period train, the rest tell).

- ``for_you`` (home, email): blend, buy-again, ALS, item-kNN and popularity each recommend 10
  products to every customer who bought again after the cut; Recall@10 over all their next
  purchases picks the model.
- ``goes_with`` (product page, cart): the products of each such customer's last basket before
  the cut stand for the page or cart they look at; bought together, similar (by words) and the
  category's best sellers each give the 10 products the store would show next to them (filled
  and ruled as served, ``lists.py``), and Recall@10 over the products they then bought for the
  first time picks the strategy.

- the share of repeats: of the products those customers bought after the cut, how many they had
  bought before. Under ``lists.REPEAT_FLOOR`` the store's catalog is not bought again
  (furniture, not coffee), and no list shows a customer what they bought, even where a
  placement allows it (``for_you`` fills its slots with products new to them).

With fewer than ``MIN_SCORED`` customers to score, nothing is measured and the defaults hold
(the blend; bought together; buying again allowed where the placement allows it).
"""

from __future__ import annotations

import numpy as np

from cxloop.recommend.data import Interactions
from cxloop.recommend.evaluation import Split, evaluate, score, time_split
from cxloop.recommend.lists import Trained, assemble
from cxloop.recommend.recommenders import (
    Als,
    Blend,
    BoughtTogether,
    BuyAgain,
    ItemKNN,
    Popularity,
    Recommender,
)

MIN_SCORED = 20  # customers with a next purchase needed to pick a model by measure
MAX_SCORED = 2000  # customers scored for ``goes_with`` (a stable sample beyond)
GOES_WITH = ("bought_together", "similar", "popularity")
K = 10

Figures = dict[str, dict[str, float]]


def candidates(factors: int, *, confidence: bool = False) -> dict[str, Recommender]:
    """The models ``for_you`` may use, by name."""
    return {
        "blend": Blend(discover=Als(factors=factors, confidence=confidence)),
        "buy-again": BuyAgain(),
        "als": Als(factors=factors, confidence=confidence),
        "item-knn": ItemKNN(),
        "popularity": Popularity(days=90),
    }


def repeat_share(split: Split) -> float | None:
    """Of the products the scored customers bought after the cut, the share they had bought
    before it (None: too few customers to tell)."""
    if len(split.users) < MIN_SCORED:
        return None
    repeats = sum(
        int(np.isin(truth, split.seen[user].indices).sum())
        for user, truth in zip(split.users, split.truth, strict=True)
    )
    return repeats / max(1, sum(len(truth) for truth in split.truth))


def measure_for_you(data: Interactions, factors: int, split: Split | None = None) -> Figures:
    """Recall@10 and NDCG@10 of each ``for_you`` candidate (empty: too few to tell)."""
    split = split or time_split(data)
    if len(split.users) < MIN_SCORED:
        return {}
    found = {}
    for name, model in candidates(factors).items():
        figures = evaluate(model, split, k=K).all
        found[name] = {"recall": figures.recall, "ndcg": figures.ndcg, "users": figures.users}
    return found


def measure_goes_with(
    data: Interactions, trained: Trained, limit: int = MAX_SCORED, split: Split | None = None
) -> Figures:
    """Recall@10 and NDCG@10 of each ``goes_with`` candidate, next to each scored customer's
    last basket before the cut, on the products they bought next for the first time (a
    stable sample of ``limit`` customers); the catalog's facts (words, categories) come from
    ``trained`` (empty: too few to tell)."""
    split = split or time_split(data)
    past = split.train
    latest = np.full(len(past.users), -np.inf)
    np.maximum.at(latest, past.user, past.time)
    last = past.time == latest[past.user]
    baskets: dict[int, list[str]] = {}
    for user, item in zip(past.user[last], past.item[last], strict=True):
        baskets.setdefault(int(user), []).append(str(past.items[item]))
    scored: list[tuple[int, np.ndarray]] = []
    for user, truth in zip(split.users, split.truth, strict=True):
        new = np.setdiff1d(truth, split.seen[user].indices)
        if len(new) and int(user) in baskets:
            scored.append((int(user), new))
    if len(scored) < MIN_SCORED:
        return {}
    if len(scored) > limit:
        chosen = np.random.default_rng(0).choice(len(scored), limit, replace=False)
        scored = [scored[i] for i in sorted(chosen)]
    then = Trained(stamp=(), built=0.0, data=past)
    then.together = BoughtTogether().fit(past)
    then.popularity = Popularity(days=90).fit(past)
    then.similar, then.category = trained.similar, trained.category
    then.in_stock = {str(sku) for sku in data.items} | set(trained.category)
    index = {str(sku): i for i, sku in enumerate(data.items)}
    popularity = np.asarray(split.seen.sum(axis=0)).ravel()
    found: Figures = {}
    for name in GOES_WITH:
        lists = np.full((len(scored), K), -1, dtype=np.int64)
        for row, (user, _new) in enumerate(scored):
            shown = baskets[user]
            had = {str(past.items[i]) for i in split.seen[user].indices}
            _served, picked = assemble(then, name, customer_id=None, shown=shown, exclude=had, k=K)
            known = [index[sku] for sku in picked if sku in index]
            lists[row, : len(known)] = known
        figures = score(
            lists,
            [new for _user, new in scored],
            k=K,
            items=len(data.items),
            popularity=popularity,
            population=split.seen.shape[0],
            model=name,
            view="new",
        )
        found[name] = {"recall": figures.recall, "ndcg": figures.ndcg, "users": figures.users}
    return found


def best(measured: Figures, default: str) -> str:
    """The measured candidate with the highest Recall@10 (the default on a tie or unmeasured)."""
    if not measured:
        return default
    return max(measured, key=lambda name: (measured[name]["recall"], name == default))
