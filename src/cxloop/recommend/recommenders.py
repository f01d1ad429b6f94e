"""Recommenders over a users × items matrix: each is fitted on interactions, then gives, for
some users, their top ``k`` items (positions), best first.

- ``Popularity``: distinct buyers per item, over all the history or its last days.
- ``BuyAgain``: the user's own items, by how often they bought them, then popularity.
- ``ItemKNN``: cosine similarity between items' buyer sets, summed over the user's items.
- ``BoughtTogether``: items of the same baskets, scored by Dunning's log-likelihood ratio (how
  much more often than chance two items share a user), not by raw counts, so that best-sellers
  do not crowd every list.
- ``Als``: implicit-feedback matrix factorisation (``implicit``'s ALS, Hu, Koren and Volinsky
  2008) on BM25-weighted confidences.
- ``Blend``, the default: the user's likely repeats first (buy-again), then discovery from ALS
  among items they never had. On the UCI Online Retail data a third of next purchases are
  repeats, so a list serves both what the customer will buy again and what they will find.

``exclude_seen`` leaves out the items a user already had (the "new items" lists).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from scipy import sparse
from threadpoolctl import threadpool_limits

from cxloop.recommend.data import Interactions


class Recommender(Protocol):
    """What every recommender does."""

    name: str

    def fit(self, data: Interactions) -> Recommender:
        """Learn from ``data``; returns itself."""
        ...

    def recommend(self, users: np.ndarray, k: int, *, exclude_seen: bool = False) -> np.ndarray:
        """Per user (positions), ``k`` item positions best first (-1 where none is left)."""
        ...


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    """Per row, the positions of the ``k`` highest scores, best first (-inf rows give -1)."""
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.take_along_axis(scores, part, axis=1)
    ranked = np.take_along_axis(part, np.argsort(-order, axis=1, kind="stable"), axis=1)
    chosen = np.take_along_axis(scores, ranked, axis=1)
    return np.where(np.isfinite(chosen), ranked, -1)


def _mask_seen(scores: np.ndarray, seen: sparse.csr_matrix, users: np.ndarray) -> None:
    rows = seen[users]
    scores[rows.nonzero()] = -np.inf


@dataclass
class Popularity:
    """Distinct buyers per item (over the last ``days`` of the history when given)."""

    days: float | None = None
    name: str = "popularity"
    scores: np.ndarray = field(default_factory=lambda: np.zeros(0))
    seen: sparse.csr_matrix | None = None

    def fit(self, data: Interactions) -> Popularity:
        recent = data
        if self.days is not None and len(data.time):
            recent = data.where(data.time >= data.time.max() - self.days * 86400)
        counts = np.asarray(recent.matrix(binary=True).sum(axis=0)).ravel()
        # Ties broken by all-time buyers, so that the order is stable.
        overall = np.asarray(data.matrix(binary=True).sum(axis=0)).ravel()
        self.scores = counts + overall / (overall.max() + 1.0)
        self.seen = data.matrix(binary=True)
        return self

    def recommend(self, users: np.ndarray, k: int, *, exclude_seen: bool = False) -> np.ndarray:
        scores = np.tile(self.scores.astype(np.float64), (len(users), 1))
        if exclude_seen and self.seen is not None:
            _mask_seen(scores, self.seen, users)
        return _top(scores, k)


@dataclass
class BuyAgain:
    """The user's own items, most often bought first, then the most popular items."""

    name: str = "buy-again"
    counts: sparse.csr_matrix | None = None
    popularity: Popularity = field(default_factory=Popularity)

    def fit(self, data: Interactions) -> BuyAgain:
        self.counts = data.lines()
        self.popularity.fit(data)
        return self

    def recommend(self, users: np.ndarray, k: int, *, exclude_seen: bool = False) -> np.ndarray:
        assert self.counts is not None
        # Own items score above any popularity (scaled under 1).
        base = self.popularity.scores / (self.popularity.scores.max() + 1.0)
        scores = np.tile(base, (len(users), 1))
        if not exclude_seen:
            scores += self.counts[users].toarray() * 10.0
        else:
            _mask_seen(scores, self.counts, users)
        return _top(scores, k)


@dataclass
class ItemKNN:
    """Cosine similarity of items' buyer sets, summed over the user's items."""

    name: str = "item-kNN"
    neighbours: int = 100
    similarity: sparse.csr_matrix | None = None
    seen: sparse.csr_matrix | None = None

    def fit(self, data: Interactions) -> ItemKNN:
        binary = data.matrix(binary=True).tocsc()
        norms = np.sqrt(np.asarray(binary.multiply(binary).sum(axis=0)).ravel())
        norms[norms == 0] = 1.0
        scaled = binary @ sparse.diags(1.0 / norms)
        similarity = (scaled.T @ scaled).tocsr()
        similarity.setdiag(0)
        similarity.eliminate_zeros()
        self.similarity = _keep_best(similarity, self.neighbours)
        self.seen = data.matrix(binary=True)
        return self

    def recommend(self, users: np.ndarray, k: int, *, exclude_seen: bool = False) -> np.ndarray:
        assert self.similarity is not None and self.seen is not None
        scores = (self.seen[users] @ self.similarity).toarray().astype(np.float64)
        scores[scores == 0] = -np.inf
        if exclude_seen:
            _mask_seen(scores, self.seen, users)
        return _top(scores, k)


def _keep_best(matrix: sparse.csr_matrix, keep: int) -> sparse.csr_matrix:
    """Each row's ``keep`` largest values (the others dropped)."""
    matrix = matrix.tocsr()
    for row in range(matrix.shape[0]):
        start, end = matrix.indptr[row], matrix.indptr[row + 1]
        if end - start > keep:
            values = matrix.data[start:end]
            cut = np.partition(values, -keep)[-keep]
            values[values < cut] = 0.0
    matrix.eliminate_zeros()
    return matrix


@dataclass
class BoughtTogether:
    """Items bought by the same users, scored by the log-likelihood ratio of their overlap."""

    name: str = "bought-together"
    neighbours: int = 50
    scores: sparse.csr_matrix | None = None
    seen: sparse.csr_matrix | None = None

    def fit(self, data: Interactions) -> BoughtTogether:
        binary = data.matrix(binary=True)
        users = float(binary.shape[0])
        both = (binary.T @ binary).tocoo()
        keep = both.row != both.col
        a, b, k11 = both.row[keep], both.col[keep], both.data[keep].astype(np.float64)
        counts = np.asarray(binary.sum(axis=0)).ravel().astype(np.float64)
        k12 = counts[a] - k11
        k21 = counts[b] - k11
        k22 = users - k11 - k12 - k21
        llr = _llr(k11, k12, k21, np.maximum(k22, 0.0))
        # Only pairs that share more users than chance would give.
        llr[k11 * users <= counts[a] * counts[b]] = 0.0
        found = sparse.csr_matrix((llr, (a, b)), shape=both.shape)
        found.eliminate_zeros()
        self.scores = _keep_best(found, self.neighbours)
        self.seen = binary
        return self

    def similar(self, item: int, k: int) -> np.ndarray:
        """The ``k`` items most bought with ``item``, best first."""
        assert self.scores is not None
        row = self.scores[item]
        order = np.argsort(-row.data, kind="stable")[:k]
        found: np.ndarray = np.asarray(row.indices[order])
        return found

    def recommend(self, users: np.ndarray, k: int, *, exclude_seen: bool = False) -> np.ndarray:
        assert self.scores is not None and self.seen is not None
        scores = (self.seen[users] @ self.scores).toarray().astype(np.float64)
        scores[scores == 0] = -np.inf
        if exclude_seen:
            _mask_seen(scores, self.seen, users)
        return _top(scores, k)


def _xlogx(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x * np.log(np.where(x > 0, x, 1.0)), 0.0)


def _llr(k11: np.ndarray, k12: np.ndarray, k21: np.ndarray, k22: np.ndarray) -> np.ndarray:
    """Dunning's G² of 2×2 contingency tables (Dunning 1993), elementwise."""
    total = k11 + k12 + k21 + k22
    rows = _xlogx(k11 + k12) + _xlogx(k21 + k22)
    cols = _xlogx(k11 + k21) + _xlogx(k12 + k22)
    cells = _xlogx(k11) + _xlogx(k12) + _xlogx(k21) + _xlogx(k22)
    found: np.ndarray = np.maximum(2.0 * (cells - rows - cols + _xlogx(total)), 0.0)
    return found


@dataclass
class Als:
    """``implicit``'s ALS on BM25-weighted interaction counts; with ``confidence``, on the
    interactions' summed weights instead (a purchase 1, a cart or a view less: ``SIGNALS``),
    and what the user "had" is what they bought (weight 1 and more)."""

    factors: int = 64
    iterations: int = 15
    regularization: float = 0.05
    seed: int = 0
    confidence: bool = False
    name: str = "ALS"
    model: object | None = None
    seen: sparse.csr_matrix | None = None

    def fit(self, data: Interactions) -> Als:
        from implicit.cpu.als import AlternatingLeastSquares
        from implicit.nearest_neighbours import bm25_weight

        lines = data.matrix() if self.confidence else data.lines()
        weighted = bm25_weight(lines, K1=100, B=0.8).tocsr().astype(np.float32)
        # One BLAS thread: implicit runs its own threads, and says so.
        with threadpool_limits(1, "blas"):
            model = AlternatingLeastSquares(
                factors=self.factors,
                iterations=self.iterations,
                regularization=self.regularization,
                random_state=self.seed,
            )
            model.fit(weighted, show_progress=False)
        self.model = model
        self.seen = (data.where(data.weight >= 1.0).lines() if self.confidence else lines).tocsr()
        return self

    def recommend(self, users: np.ndarray, k: int, *, exclude_seen: bool = False) -> np.ndarray:
        assert self.model is not None and self.seen is not None
        user_factors = self.model.user_factors[users]  # type: ignore[attr-defined]
        scores = (user_factors @ self.model.item_factors.T).astype(np.float64)  # type: ignore[attr-defined]
        if exclude_seen:
            _mask_seen(scores, self.seen, users)
        return _top(scores, k)


# Confidence of a signal beside a purchase (1): a product put in the cart, one viewed.
SIGNALS = {"Product Added": 0.3, "Product Viewed": 0.1}


@dataclass
class Blend:
    """The default: up to ``repeats`` of the user's own items (buy-again), then discovery
    (ALS among items the user never had), in one list."""

    repeats: int = 5
    name: str = "blend"
    again: BuyAgain = field(default_factory=BuyAgain)
    discover: Als = field(default_factory=Als)
    counts: sparse.csr_matrix | None = None

    def fit(self, data: Interactions) -> Blend:
        self.again.fit(data.where(data.weight >= 1.0))  # repeats: what was bought
        self.discover.fit(data)
        self.counts = self.again.counts
        return self

    def recommend(self, users: np.ndarray, k: int, *, exclude_seen: bool = False) -> np.ndarray:
        assert self.counts is not None
        new = self.discover.recommend(users, k, exclude_seen=True)
        if exclude_seen:
            return new
        own = self.again.recommend(users, self.repeats)
        found = np.full((len(users), k), -1, dtype=np.int64)
        for row in range(len(users)):
            had = set(self.counts[users[row]].indices.tolist())
            mine = [int(i) for i in own[row] if i >= 0 and int(i) in had]
            rest = [int(i) for i in new[row] if i >= 0 and int(i) not in mine]
            chosen = (mine + rest)[:k]
            found[row, : len(chosen)] = chosen
        return found


MODELS = {
    "popularity": Popularity,
    "buy-again": BuyAgain,
    "item-knn": ItemKNN,
    "bought-together": BoughtTogether,
    "als": Als,
    "blend": Blend,
}
