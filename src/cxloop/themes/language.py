"""French or English? Stopwords, accents and character trigrams, with no model to download.

Three kinds of evidence, summed as log-odds for French: words that only one language uses
("le", "est", "pas" / "the", "is", "not", SMS forms included), accented letters, and a
character-trigram profile of each language built once from the cxloop lexicons (the words of
reviews, so short answers like "livraison rapide" or "fast delivery" score well). A text with
no evidence at all gets the caller's default.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import cache, lru_cache

from cxloop.themes import wordlists
from cxloop.themes.text import Lang, fold


@cache
def function_words(lang: Lang) -> frozenset[str]:
    """Words that only one language uses ("le", "est" / "the", "is"), SMS forms included.

    Read from ``data/<lang>/words.yaml`` on first use.
    """
    name = f"{lang}/words.yaml"
    return frozenset(wordlists.phrases(wordlists.section(name, "function"), f"{name}: function"))


ACCENTS = frozenset("éèêëàâçùûîïôœ")
WORD = re.compile(r"[^\W\d_]+")

WORD_WEIGHT = 1.0
ACCENT_WEIGHT = 1.2
TRIGRAM_WEIGHT = 0.15


@dataclass(frozen=True)
class Detection:
    """The language found, how sure (log-odds for French), and whether both languages show."""

    lang: Lang
    log_odds: float
    mixed: bool


@lru_cache(maxsize=1)
def _profiles() -> tuple[dict[str, float], dict[str, float], float, float]:
    """Log-probability of each character trigram in French and English lexicon words, and
    the log-probability given to an unseen trigram in each."""
    from cxloop.themes import lexicon, sentiment

    def words_of(lang: Lang) -> list[str]:
        found: list[str] = []
        for e in lexicon.load(lang).themes.values():
            for phrase in (*e.topic, *e.hint, *e.judged):
                found.extend(WORD.findall(fold(phrase)))
        polar = sentiment.load(lang)
        found.extend(WORD.findall(fold(" ".join(polar.words))))
        found.extend(WORD.findall(fold(" ".join(polar.phrases))))
        found.extend(fold(w) for w in function_words(lang))
        return found

    def profile(words: list[str]) -> dict[str, float]:
        counts: Counter[str] = Counter()
        for word in words:
            padded = f" {word} "
            counts.update(padded[i : i + 3] for i in range(len(padded) - 2))
        total = sum(counts.values()) + len(counts) + 1
        return {gram: math.log((count + 1) / total) for gram, count in counts.items()}

    french, english = profile(words_of("fr")), profile(words_of("en"))
    return french, english, min(french.values()) - 1.0, min(english.values()) - 1.0


def detect(text: str, default: Lang = "fr") -> Detection:
    """The language of a verbatim, with the evidence behind it."""
    french, english, fr_floor, en_floor = _profiles()
    french_words, english_words = function_words("fr"), function_words("en")
    lowered = text.lower()
    accents = sum(1 for ch in lowered if ch in ACCENTS)
    fr_hits = en_hits = 0
    trigram = 0.0
    for word in WORD.findall(lowered):
        if word in french_words and word not in english_words:
            fr_hits += 1
        elif word in english_words and word not in french_words:
            en_hits += 1
        padded = f" {fold(word)} "
        for i in range(len(padded) - 2):
            gram = padded[i : i + 3]
            trigram += french.get(gram, fr_floor) - english.get(gram, en_floor)
    # English contractions: "don't", "it's", "I'm"
    en_hits += len(re.findall(r"\b\w+n['’]t\b|\b(?:it|that|i)['’](?:s|m|ll|ve|d)\b", lowered))
    log_odds = (
        WORD_WEIGHT * (fr_hits - en_hits)
        + ACCENT_WEIGHT * min(accents, 4)
        + TRIGRAM_WEIGHT * trigram
    )
    if fr_hits == en_hits == accents == 0 and abs(trigram) < 1.0:
        return Detection(default, 0.0, False)
    lang: Lang = "fr" if log_odds > 0 else "en"
    mixed = min(fr_hits + (1 if accents else 0), en_hits) >= 2
    return Detection(lang, log_odds, mixed)


def detect_language(text: str, default: Lang = "fr") -> Lang:
    """``fr`` or ``en`` for a verbatim (``default`` when nothing tells)."""
    return detect(text, default).lang


def __getattr__(name: str) -> object:
    """``FRENCH_WORDS`` and ``ENGLISH_WORDS``, the former constants, read on first use."""
    if name == "FRENCH_WORDS":
        return function_words("fr")
    if name == "ENGLISH_WORDS":
        return function_words("en")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
