"""Themes and sentiment of NPS verbatims, in French and English (issue 5).

The facade other packages use: a taxonomy of themes, the tagger, language detection and the
learned per-workspace corrections.

    tagger = Tagger(default_taxonomy())
    tagger.tag("Livraison rapide mais colis abîmé").themes
    # ('delivery_delay', 'packaging')

This package's facade: what other domains may use. They import the package
(``from cxloop import themes``), never one of its modules (checked by import-linter).
"""

from cxloop.themes.drivers import (
    BASELINE_PERIODS,
    SPIKE_MIN_MENTIONS,
    drivers_for,
    spikes,
    trend_for,
)
from cxloop.themes.language import detect_language
from cxloop.themes.learned import LearnedModel, train_model
from cxloop.themes.schemas import Spike, Taxonomy, Theme, ThemeTrend
from cxloop.themes.service import tags_for, taxonomy_of
from cxloop.themes.tagger import Mention, Tagger, Tagging
from cxloop.themes.taxonomy import default_taxonomy

__all__ = [
    "BASELINE_PERIODS",
    "SPIKE_MIN_MENTIONS",
    "LearnedModel",
    "Mention",
    "Spike",
    "Tagger",
    "Tagging",
    "Taxonomy",
    "Theme",
    "ThemeTrend",
    "default_taxonomy",
    "detect_language",
    "drivers_for",
    "spikes",
    "tags_for",
    "taxonomy_of",
    "train_model",
    "trend_for",
]
