"""What a shopper's message asks for: a linear model on character n-grams, French and English.

Character n-grams (2 to 5 letters, within words) survive typos, missing accents and both
languages at once; a logistic regression on them learns from a few example phrases per intent
(``data/intents.yaml``, plus the workspace's own examples). It trains in well under a second
and needs no model download. A message the model is unsure of (below ``THRESHOLD``) has no
intent: the dialogue then tries the catalog.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Protocol

import yaml

from cxloop.folding import fold

THRESHOLD = 0.4
INTENTS = (
    "greet",
    "search",
    "human",
    "order_status",
    "delivery_problem",
    "faq",
    "thanks",
    "bye",
    "compare",
    "complements",
    "coupon",
)


@cache
def builtin_examples() -> tuple[tuple[str, str], ...]:
    """The built-in (intent, phrase) examples."""
    text = resources.files("cxloop.assistant").joinpath("data/intents.yaml").read_text("utf-8")
    data = yaml.safe_load(text)["intents"]
    return tuple((intent, str(phrase)) for intent, phrases in data.items() for phrase in phrases)


@dataclass(frozen=True)
class Reading:
    """The intent read in a message, with the model's confidence (``""`` when unsure)."""

    intent: str
    confidence: float


class IntentModel:
    """The classifier, trained on the built-in examples and ``extra`` ones."""

    def __init__(self, extra: Iterable[tuple[str, str]] = ()) -> None:
        # scikit-learn is read here, not at import: a process that never classifies (the
        # command line, a worker) starts without it.
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import Pipeline

        examples = [*builtin_examples(), *extra]
        self.pipeline = Pipeline(
            [
                (
                    "grams",
                    TfidfVectorizer(
                        analyzer="char_wb",
                        ngram_range=(2, 5),
                        sublinear_tf=True,
                        preprocessor=fold,
                    ),
                ),
                ("model", LogisticRegression(C=20.0, max_iter=2000)),
            ]
        )
        self.pipeline.fit([text for _, text in examples], [intent for intent, _ in examples])
        self.labels: Sequence[str] = list(self.pipeline.classes_)

    def read(self, text: str) -> Reading:
        """The most likely intent, or ``""`` when no intent reaches ``THRESHOLD``."""
        probabilities = self.pipeline.predict_proba([text])[0]
        best = int(probabilities.argmax())
        confidence = float(probabilities[best])
        intent = self.labels[best] if confidence >= THRESHOLD else ""
        return Reading(intent, confidence)


_MODELS: dict[tuple[tuple[str, str], ...], IntentModel] = {}
_LOCK = threading.Lock()


def model_for(extra: Sequence[tuple[str, str]] = ()) -> IntentModel:
    """The model for these extra examples (trained once per distinct set, then kept)."""
    key = tuple(extra)
    found = _MODELS.get(key)
    if found is None:
        with _LOCK:
            found = _MODELS.get(key)
            if found is None:
                if len(_MODELS) > 64:
                    _MODELS.clear()
                found = _MODELS[key] = IntentModel(extra)
    return found


class Reader(Protocol):
    """What reads a message's intent (the model, or the model with a second opinion)."""

    def read(self, text: str) -> Reading:
        """The intent read in ``text``."""
        ...


@dataclass(frozen=True)
class Hinted:
    """The model, with a second opinion on one message (the optional language model's): the
    opinion counts only where the model itself is unsure, and only for an intent it knows."""

    model: Reader
    text: str
    hint: str

    def read(self, text: str) -> Reading:
        """The model's reading, or the hint when the model is unsure of this message."""
        reading = self.model.read(text)
        if reading.intent or text != self.text or self.hint not in INTENTS:
            return reading
        return Reading(self.hint, reading.confidence)
