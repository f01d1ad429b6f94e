"""A workspace's learned corrections: a linear model per theme, blended with the lexicon.

The merchant corrects a few verbatims ("this one is about loyalty_program", "the tagger missed
'colis resté au dépôt'"). ``train_model`` fits, for each theme the corrections touch, a
logistic regression (scikit-learn, balanced classes) on the tagger's own features: stemmed
content words and their bigrams. The model is exported as plain JSON (vocabulary,
coefficients, intercepts) and scored with a sparse dot product, so tagging stays fast and no
pickle is ever loaded.

Blending, per theme: ``(1 - a) * lexicon + a * p >= 0.5`` where ``p`` is the model's
probability and ``a = n / (n + 2) * gate``: ``n`` is the number of corrections for the theme
(the more, the more the model is trusted) and ``gate`` how much of the model's vocabulary the
verbatim shares with the corrections (0 for an unrelated verbatim, which stays as the lexicon
tagged it). Five corrections let the model add a theme at p >= 0.7 or remove one at p <= 0.3.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from cxloop.errors import InvalidInput
from cxloop.themes.text import LANGS

if TYPE_CHECKING:
    from cxloop.themes.taxonomy import Taxonomy

FORMAT = 1
PRIOR = 2.0  # corrections at which the model weighs as much as the lexicon
C = 10.0  # inverse regularisation: few examples, so let them speak
MIN_WEIGHT = 1e-4

Example = tuple[str, str | None, Sequence[str]]


def features(content_keys: Sequence[str]) -> list[str]:
    """Stemmed content words and bigrams of a verbatim (the model's features)."""
    bigrams = [f"{a} {b}" for a, b in pairwise(content_keys)]
    return [*content_keys, *bigrams]


@dataclass(frozen=True)
class ThemeWeights:
    """One theme's linear model: sparse coefficients over the shared vocabulary."""

    coefficients: dict[int, float]
    intercept: float
    corrections: int
    evidence: float  # typical sum of |coefficients| over a corrected verbatim's features


@dataclass(frozen=True)
class LearnedModel:
    """Per-theme linear models learned from a workspace's corrections."""

    vocabulary: dict[str, int]
    themes: dict[str, ThemeWeights]

    def probabilities(self, feats: Iterable[str]) -> dict[str, tuple[float, float]]:
        """For each learned theme: (probability, gate in [0, 1]) for these features."""
        present = {self.vocabulary[f] for f in feats if f in self.vocabulary}
        result: dict[str, tuple[float, float]] = {}
        for key, weights in self.themes.items():
            z = weights.intercept
            evidence = 0.0
            for index in present:
                w = weights.coefficients.get(index)
                if w is not None:
                    z += w
                    evidence += abs(w)
            gate = min(1.0, evidence / (0.5 * weights.evidence)) if weights.evidence else 0.0
            result[key] = (1.0 / (1.0 + math.exp(-z)), gate)
        return result

    def corrections(self, feats: Iterable[str], found: set[str]) -> tuple[set[str], set[str]]:
        """The themes to add and to remove, given what the lexicon found."""
        added: set[str] = set()
        removed: set[str] = set()
        for key, (p, gate) in self.probabilities(feats).items():
            n = self.themes[key].corrections
            a = n / (n + PRIOR) * gate
            lexicon = 1.0 if key in found else 0.0
            keep = (1 - a) * lexicon + a * p >= 0.5
            if keep and key not in found:
                added.add(key)
            elif not keep and key in found:
                removed.add(key)
        return added, removed

    def to_json(self) -> dict[str, Any]:
        """The model as plain JSON: vocabulary, then per theme its coefficients."""
        ordered = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        return {
            "format": FORMAT,
            "vocabulary": ordered,
            "themes": {
                key: {
                    "features": sorted(w.coefficients),
                    "coefficients": [round(w.coefficients[i], 6) for i in sorted(w.coefficients)],
                    "intercept": round(w.intercept, 6),
                    "corrections": w.corrections,
                    "evidence": round(w.evidence, 6),
                }
                for key, w in self.themes.items()
            },
        }

    @classmethod
    def from_json(cls, document: Any) -> LearnedModel:
        """A model from ``to_json``'s output; a malformed one names its field."""
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise InvalidInput("model", f"not a learned theme model (format {FORMAT})")
        vocabulary = document.get("vocabulary")
        if not isinstance(vocabulary, list) or not all(isinstance(v, str) for v in vocabulary):
            raise InvalidInput("model.vocabulary", "must be a list of strings")
        themes = document.get("themes")
        if not isinstance(themes, dict):
            raise InvalidInput("model.themes", "must be a mapping")
        parsed: dict[str, ThemeWeights] = {}
        for key, body in themes.items():
            where = f"model.themes.{key}"
            try:
                indices = [int(i) for i in body["features"]]
                values = [float(v) for v in body["coefficients"]]
                weights = ThemeWeights(
                    coefficients=dict(zip(indices, values, strict=True)),
                    intercept=float(body["intercept"]),
                    corrections=int(body["corrections"]),
                    evidence=float(body["evidence"]),
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise InvalidInput(where, f"malformed ({exc})") from None
            if any(not 0 <= i < len(vocabulary) for i in indices):
                raise InvalidInput(f"{where}.features", "index outside the vocabulary")
            parsed[str(key)] = weights
        return cls({word: i for i, word in enumerate(vocabulary)}, parsed)


def train_model(taxonomy: Taxonomy, examples: Sequence[Example]) -> LearnedModel:
    """Learn a workspace's corrections: (text, lang or None, the right themes) per verbatim."""
    import numpy as np
    from scipy.sparse import csr_matrix
    from sklearn.linear_model import LogisticRegression

    from cxloop.themes.tagger import Tagger

    tagger = Tagger(taxonomy, embeddings=False)
    rows: list[list[str]] = []
    labels: list[set[str]] = []
    found: list[set[str]] = []
    for i, (text, lang, themes) in enumerate(examples):
        right: set[str] = set()
        for j, key in enumerate(themes):
            resolved = taxonomy.resolve(key)
            if resolved is None:
                raise InvalidInput(f"examples.{i}.themes.{j}", f"unknown theme {key!r}")
            right.add(resolved)
        tagging, feats = tagger.analyse(text, lang)
        if not tagging.tagged:
            continue  # another language: nothing the model could read
        rows.append(feats)
        labels.append(right)
        found.append(set(tagging.themes))
    # Seed phrases stand in for the themes nobody corrected: negatives for the others.
    seeds: list[tuple[list[str], str]] = []
    for theme in taxonomy.themes:
        for lang_key, phrases in theme.seeds.items():
            if lang_key not in LANGS:
                continue  # a third language's seeds: kept in the taxonomy, not read yet
            for phrase in phrases:
                seeds.append((tagger.analyse(phrase, lang_key)[1], theme.key))

    vocabulary: dict[str, int] = {}
    for feats in [*rows, *(f for f, _ in seeds)]:
        for f in feats:
            vocabulary.setdefault(f, len(vocabulary))

    def matrix(feature_rows: Sequence[Sequence[str]]) -> Any:
        data, cols, ptr = [], [], [0]
        for feats in feature_rows:
            unique = sorted({vocabulary[f] for f in feats})
            cols.extend(unique)
            data.extend([1.0] * len(unique))
            ptr.append(len(cols))
        return csr_matrix((data, cols, ptr), shape=(len(feature_rows), len(vocabulary)))

    learned: dict[str, ThemeWeights] = {}
    for key in taxonomy.keys:
        corrected = [i for i in range(len(rows)) if (key in labels[i]) != (key in found[i])]
        if not corrected:
            continue
        x_rows = rows + [f for f, _ in seeds]
        y = [key in labels[i] for i in range(len(rows))] + [owner == key for _, owner in seeds]
        if len(set(y)) < 2:
            continue
        model = LogisticRegression(class_weight="balanced", C=C, max_iter=1000)
        model.fit(matrix(x_rows), np.asarray(y, dtype=int))
        coef = model.coef_[0]
        coefficients = {int(i): float(coef[i]) for i in np.flatnonzero(np.abs(coef) > MIN_WEIGHT)}
        evidence = [
            sum(abs(coefficients.get(vocabulary[f], 0.0)) for f in set(rows[i])) for i in corrected
        ]
        learned[key] = ThemeWeights(
            coefficients=coefficients,
            intercept=float(model.intercept_[0]),
            corrections=len(corrected),
            evidence=float(np.median(evidence)) if evidence else 0.0,
        )
    used = sorted({i for w in learned.values() for i in w.coefficients})
    remap = {old: new for new, old in enumerate(used)}
    words = {i: word for word, i in vocabulary.items()}
    return LearnedModel(
        vocabulary={words[old]: new for old, new in remap.items()},
        themes={
            key: ThemeWeights(
                coefficients={remap[i]: v for i, v in w.coefficients.items()},
                intercept=w.intercept,
                corrections=w.corrections,
                evidence=w.evidence,
            )
            for key, w in learned.items()
        },
    )
