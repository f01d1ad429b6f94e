"""Lists for many customers at once from a file of interactions (``cxloop recommend batch``):
the default model (``Blend``) trained on the file, popularity for customers it does not know."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cxloop.recommend.data import Interactions, positions
from cxloop.recommend.recommenders import Blend, Popularity, Recommender


def recommend_batch(
    data: Interactions, users: Sequence[str], *, k: int, model: Recommender | None = None
) -> dict[str, list[str]]:
    """``{user_id: [item_id, ...]}`` for ``users``, ``k`` items each, best first."""
    chosen = (model or Blend()).fit(data)
    known = positions(data.users, users)
    found: dict[str, list[str]] = {}
    if known:
        rows = np.fromiter(known.values(), dtype=np.int64)
        lists = chosen.recommend(rows, k)
        for user, row in zip(known, lists, strict=True):
            found[user] = [str(data.items[i]) for i in row if i >= 0]
    strangers = [u for u in users if u not in known]
    if strangers:
        popular = Popularity().fit(data).recommend(np.zeros(1, dtype=np.int64), k)[0]
        cold = [str(data.items[i]) for i in popular if i >= 0]
        found.update({user: list(cold) for user in strangers})
    return {user: found[user] for user in users}
