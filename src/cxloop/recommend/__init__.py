"""Recommendations: recommenders trained on who bought what, and their offline evaluation.

This package's facade: what other domains may use. They import the package
(``from cxloop import recommend``), never one of its modules (checked by import-linter).
"""

from cxloop.recommend.batch import recommend_batch
from cxloop.recommend.data import Interactions, from_columns, read_csv, read_users
from cxloop.recommend.evaluation import Evaluation, Scores, evaluate, last_basket, time_split
from cxloop.recommend.recommenders import (
    MODELS,
    Als,
    Blend,
    BoughtTogether,
    BuyAgain,
    ItemKNN,
    Popularity,
    Recommender,
)
from cxloop.recommend.serving import Picked, recommendations

__all__ = [
    "MODELS",
    "Als",
    "Blend",
    "BoughtTogether",
    "BuyAgain",
    "Evaluation",
    "Interactions",
    "ItemKNN",
    "Picked",
    "Popularity",
    "Recommender",
    "Scores",
    "evaluate",
    "from_columns",
    "last_basket",
    "read_csv",
    "read_users",
    "recommend_batch",
    "recommendations",
    "time_split",
]
