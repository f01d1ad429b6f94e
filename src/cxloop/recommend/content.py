"""Similar products by what they are, not by who bought them: the words of their title,
description, category, brand, colour, material and universe, in French and English, compared
by TF-IDF cosine. It serves the "similar" and "upsell" placements, and a product nobody bought
yet (cold start: new products have words before they have buyers).

Words are folded (case, accents) and stemmed with Snowball's French and English stemmers, so
that « robes », « robe » and "dresses", "dress" meet; the category counts three times and the
brand twice, as what a product is matters more than how it is described.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import snowballstemmer
from scipy import sparse

_WORD = re.compile(r"[a-z0-9]{2,}")
# Words that say nothing of what a product is (French and English).
_STOP = frozenset(
    """au aux avec ce ces dans de des du en et la le les leur pour par sa ses son sur un une
    an and at by for from in is it of on or our the to with your""".split()  # noqa: SIM905
)
_FRENCH = snowballstemmer.stemmer("french")
_ENGLISH = snowballstemmer.stemmer("english")


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    """The stems of a text's words, French and English."""
    found = [w for w in _WORD.findall(_fold(text)) if w not in _STOP]
    return sorted({*_FRENCH.stemWords(found), *_ENGLISH.stemWords(found)}) if found else []


def describe(
    *,
    title: str,
    description: str = "",
    category: str = "",
    brand: str = "",
    extra: Sequence[str] = (),
) -> str:
    """One product's text for the model (category thrice, brand twice)."""
    return " ".join([title, description, *([category] * 3), *([brand] * 2), *extra])


@dataclass
class Similar:
    """TF-IDF vectors of the products' texts, and who is whom."""

    skus: list[str] = field(default_factory=list)
    position: dict[str, int] = field(default_factory=dict)
    vectors: sparse.csr_matrix | None = None

    def fit(self, skus: Sequence[str], texts: Sequence[str]) -> Similar:
        """Learn the vocabulary and the vectors (one text per product)."""
        self.skus = list(skus)
        self.position = {sku: i for i, sku in enumerate(self.skus)}
        if not self.skus:
            return self
        from sklearn.feature_extraction.text import TfidfVectorizer  # read when first used

        vectorizer = TfidfVectorizer(analyzer=words, sublinear_tf=True, min_df=1)
        self.vectors = sparse.csr_matrix(vectorizer.fit_transform(texts))
        return self

    def scores(self, skus: Sequence[str]) -> np.ndarray | None:
        """Every product's cosine similarity with the given ones (summed); None if none is
        known."""
        rows = [self.position[s] for s in skus if s in self.position]
        if not rows or self.vectors is None:
            return None
        query = sparse.csr_matrix(self.vectors[rows].sum(axis=0))
        found = np.asarray((self.vectors @ query.T).todense()).ravel()
        found[rows] = -np.inf
        return found

    def similar(self, skus: Sequence[str], k: int) -> list[str]:
        """The ``k`` products most like the given ones, most alike first (none of them)."""
        found = self.scores(skus)
        if found is None:
            return []
        order = np.argsort(-found, kind="stable")[:k]
        return [self.skus[i] for i in order if np.isfinite(found[i]) and found[i] > 0]
