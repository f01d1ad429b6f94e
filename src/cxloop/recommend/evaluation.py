"""Measuring recommendations offline: split the history, recommend from the past, count what
the future holds.

Protocols:

- ``time_split``: interactions before a cut-off (``fraction`` of the time span) train, the rest
  test; a user is scored when they have training data and a test item seen in training.
- ``last_basket``: each user's last basket (their latest timestamp) is the test, the rest trains.

The truth is the set of distinct items a user has in the test. Two views of the same lists:
**all** next purchases, and **new** only: the items the user never had in training (a list is
then scored on its new items only, as a shop showing it would be).

Metrics at ``k``: Recall (hits / |truth|), NDCG (binary relevance, ideal over min(|truth|, k)),
MAP (average precision over min(|truth|, k)), HR (a hit at all), coverage (the share of items
some list holds) and novelty (mean self-information, −log2 of an item's share of training
buyers, of the items recommended).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from cxloop.recommend.data import Interactions
from cxloop.recommend.recommenders import Recommender


@dataclass(frozen=True)
class Split:
    """A training set, and per scored user the items of their test period."""

    train: Interactions
    users: np.ndarray  # positions of the scored users
    truth: list[np.ndarray]  # per scored user, the distinct test items seen in training
    seen: sparse.csr_matrix  # users × items had in training (binary)


def time_split(data: Interactions, fraction: float = 0.8) -> Split:
    """Train on what happened before ``min + fraction × (max − min)``, test on the rest."""
    cut = data.time.min() + fraction * (data.time.max() - data.time.min())
    return _split(data, data.time < cut)


def last_basket(data: Interactions) -> Split:
    """Each user's last basket (their latest timestamp) is their test."""
    latest = np.full(len(data.users), -np.inf)
    np.maximum.at(latest, data.user, data.time)
    return _split(data, data.time < latest[data.user])


def _split(data: Interactions, training: np.ndarray) -> Split:
    train = data.where(training)
    test = data.where(~training)
    seen = train.matrix(binary=True)
    known_items = np.asarray(seen.sum(axis=0)).ravel() > 0
    known_users = np.asarray(seen.sum(axis=1)).ravel() > 0
    future = test.matrix(binary=True).tolil()
    users: list[int] = []
    truth: list[np.ndarray] = []
    for user, row in enumerate(future.rows):
        items = np.asarray([i for i in row if known_items[i]], dtype=np.int64)
        if known_users[user] and len(items):
            users.append(user)
            truth.append(items)
    return Split(train, np.asarray(users, dtype=np.int64), truth, seen)


@dataclass(frozen=True)
class Scores:
    """A model's figures at ``k`` on one view (all or new)."""

    model: str
    view: str
    users: int
    recall: float
    ndcg: float
    map: float
    hit_rate: float
    coverage: float
    novelty: float


def score(
    lists: np.ndarray,
    truth: Sequence[np.ndarray],
    *,
    k: int,
    items: int,
    popularity: np.ndarray,
    population: int,
    model: str,
    view: str,
) -> Scores:
    """The figures of ``lists`` (rows of item positions, -1 for none) against ``truth``;
    ``popularity`` is each item's training buyers, out of ``population`` users."""
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    recalls, ndcgs, aps, hits = [], [], [], []
    shown: set[int] = set()
    info: list[float] = []
    users = float(max(population, 1))
    for row, wanted in zip(lists, truth, strict=True):
        if len(wanted) == 0:
            continue
        listed = [int(i) for i in row[:k] if i >= 0]
        shown.update(listed)
        info.extend(-np.log2(max(popularity[i], 1.0) / users) for i in listed)
        relevant = np.isin(np.asarray(listed, dtype=np.int64), wanted)
        found = int(relevant.sum())
        ideal = min(len(wanted), k)
        recalls.append(found / len(wanted))
        hits.append(found > 0)
        gains = discounts[: len(listed)][relevant]
        ndcgs.append(float(gains.sum() / discounts[:ideal].sum()))
        precision: np.ndarray = np.cumsum(relevant) / np.arange(1, len(relevant) + 1)
        aps.append(float(np.sum(precision[relevant]) / ideal) if listed else 0.0)
    return Scores(
        model=model,
        view=view,
        users=len(recalls),
        recall=float(np.mean(recalls)) if recalls else 0.0,
        ndcg=float(np.mean(ndcgs)) if ndcgs else 0.0,
        map=float(np.mean(aps)) if aps else 0.0,
        hit_rate=float(np.mean(hits)) if hits else 0.0,
        coverage=len(shown) / max(items, 1),
        novelty=float(np.mean(info)) if info else 0.0,
    )


@dataclass(frozen=True)
class Evaluation:
    """A model's figures: all next purchases, new items in its lists as they are, and new items
    in its lists made of new items only (``exclude_seen``)."""

    all: Scores
    new: Scores
    new_only: Scores


def evaluate(model: Recommender, split: Split, *, k: int = 10) -> Evaluation:
    """``model`` fitted on the split's training data and scored three ways (``Evaluation``)."""
    model.fit(split.train)
    popularity = np.asarray(split.seen.sum(axis=0)).ravel()
    items = split.seen.shape[1]

    def scored(lists: np.ndarray, truth: Sequence[np.ndarray], view: str) -> Scores:
        return score(
            lists,
            truth,
            k=k,
            items=items,
            popularity=popularity,
            population=split.seen.shape[0],
            model=model.name,
            view=view,
        )

    lists = model.recommend(split.users, k)
    new_truth = [
        np.setdiff1d(t, split.seen[u].indices)
        for u, t in zip(split.users, split.truth, strict=True)
    ]
    same = np.where(_had(lists, split.seen, split.users), -1, lists)
    only = model.recommend(split.users, k, exclude_seen=True)
    return Evaluation(
        scored(lists, split.truth, "all"),
        scored(same, new_truth, "new"),
        scored(only, new_truth, "new only"),
    )


def _had(lists: np.ndarray, seen: sparse.csr_matrix, users: np.ndarray) -> np.ndarray:
    had = np.zeros(lists.shape, dtype=bool)
    for row, user in enumerate(users):
        had[row] = np.isin(lists[row], seen[user].indices)
    return had
