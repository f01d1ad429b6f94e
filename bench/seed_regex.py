"""The naive theme tagger both theme benchmarks compare against: one regex per seed phrase.

Every seed phrase of the taxonomy, in every language, becomes one case-insensitive regular
expression bounded by word edges, searched in the lowercased text; a theme is tagged when any
of its phrases is found. No language detection, stemming, misspellings, negation or sentiment:
what a first tagger does. ``bench/feedback_speed.py`` times it, ``bench/feedback_quality.py``
scores it on the labelled sets.
"""

from __future__ import annotations

import re

from cxloop.themes import Taxonomy


class SeedRegexTagger:
    """Tags a text with every theme one of whose seed phrases it contains."""

    def __init__(self, taxonomy: Taxonomy) -> None:
        """Compile one expression per seed phrase of ``taxonomy``."""
        self.patterns: list[tuple[str, re.Pattern[str]]] = [
            (theme.key, re.compile(r"\b" + re.escape(seed.lower()) + r"\b"))
            for theme in taxonomy.themes
            for seeds in theme.seeds.values()
            for seed in seeds
        ]

    def tag(self, text: str) -> tuple[str, ...]:
        """The themes found in ``text``, in taxonomy order, each once."""
        lowered = text.lower()
        return tuple(
            dict.fromkeys(key for key, pattern in self.patterns if pattern.search(lowered))
        )
