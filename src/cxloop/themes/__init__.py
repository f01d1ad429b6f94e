"""Themes and sentiment of NPS verbatims, in French and English (issue 5).

The facade other packages use: a taxonomy of themes, the tagger, language detection and the
learned per-workspace corrections.

    tagger = Tagger(default_taxonomy())
    tagger.tag("Livraison rapide mais colis abîmé").themes
    # ('delivery_delay', 'packaging')
"""

from cxloop.themes.language import detect_language
from cxloop.themes.learned import LearnedModel, train_model
from cxloop.themes.tagger import Mention, Tagger, Tagging
from cxloop.themes.taxonomy import Taxonomy, Theme, default_taxonomy

__all__ = [
    "LearnedModel",
    "Mention",
    "Tagger",
    "Tagging",
    "Taxonomy",
    "Theme",
    "default_taxonomy",
    "detect_language",
    "train_model",
]
