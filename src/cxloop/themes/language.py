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
from functools import lru_cache

from cxloop.themes.text import Lang, fold

FRENCH_WORDS = frozenset(
    [
        "le",
        "la",
        "les",
        "un",
        "une",
        "des",
        "du",
        "de",
        "d",
        "l",
        "et",
        "est",
        "pas",
        "je",
        "j",
        "il",
        "elle",
        "nous",
        "vous",
        "ils",
        "elles",
        "on",
        "ce",
        "cette",
        "ces",
        "mon",
        "ma",
        "mes",
        "ton",
        "ta",
        "tes",
        "son",
        "sa",
        "ses",
        "leur",
        "leurs",
        "très",
        "tres",
        "avec",
        "pour",
        "dans",
        "sur",
        "mais",
        "ou",
        "où",
        "qui",
        "que",
        "qu",
        "ne",
        "n",
        "c",
        "ça",
        "ca",
        "y",
        "été",
        "etait",
        "était",
        "sont",
        "suis",
        "ai",
        "avons",
        "avez",
        "ont",
        "au",
        "aux",
        "en",
        "plus",
        "tout",
        "tous",
        "toute",
        "toutes",
        "bien",
        "rien",
        "jamais",
        "aucun",
        "aucune",
        "car",
        "donc",
        "alors",
        "encore",
        "déjà",
        "deja",
        "toujours",
        "trop",
        "peu",
        "chez",
        "comme",
        "sans",
        "sous",
        "merci",
        "bonjour",
        "avoir",
        "être",
        "fait",
        "faire",
        "été",
        "avant",
        "après",
        "commande",
        "colis",
        "reçu",
        "recu",
        "livré",
        "livre",
        "livraison",
        "produit",
        "article",
        "qualité",
        "qualite",
        "prix",
        "cher",
        "chère",
        "nickel",
        "génial",
        "genial",
        "déçu",
        "decu",
        "rapide",
        "vraiment",
        "parfait",
        "super",
        "top",
        "vite",
        "mdr",
        "jsuis",
        "chui",
        "pr",
        "ds",
        "tt",
        "bcp",
        "tjs",
        "tjrs",
        "stp",
        "svp",
        "pb",
        "koi",
        "kan",
        "ke",
        "g",
        "c'est",
        "cest",
        "aussi",
        "même",
        "meme",
        "quand",
        "quoi",
        "comment",
        "pourquoi",
        "mois",
        "semaine",
        "semaines",
        "jours",
        "jour",
        "ils",
        "elles",
        "leur",
        "dont",
        "lui",
        "eux",
        "moi",
        "toi",
        "nos",
        "vos",
        "notre",
        "votre",
        "sont",
        "fut",
        "sera",
        "serait",
        "avait",
        "avaient",
        "était",
        "étaient",
    ]
)
ENGLISH_WORDS = frozenset(
    [
        "the",
        "a",
        "an",
        "and",
        "is",
        "was",
        "were",
        "are",
        "be",
        "been",
        "it",
        "i",
        "my",
        "me",
        "we",
        "our",
        "you",
        "your",
        "he",
        "she",
        "they",
        "them",
        "this",
        "that",
        "these",
        "those",
        "of",
        "to",
        "in",
        "on",
        "at",
        "for",
        "with",
        "from",
        "by",
        "not",
        "no",
        "never",
        "very",
        "really",
        "so",
        "but",
        "or",
        "if",
        "as",
        "have",
        "has",
        "had",
        "do",
        "does",
        "did",
        "don",
        "didn",
        "doesn",
        "will",
        "would",
        "can",
        "could",
        "should",
        "just",
        "all",
        "any",
        "some",
        "what",
        "when",
        "where",
        "which",
        "who",
        "how",
        "than",
        "then",
        "there",
        "their",
        "its",
        "it's",
        "i'm",
        "im",
        "got",
        "get",
        "ordered",
        "arrived",
        "thanks",
        "thank",
        "please",
        "great",
        "good",
        "item",
        "items",
        "order",
        "delivery",
        "shipping",
        "parcel",
        "package",
        "quality",
        "price",
        "cheap",
        "expensive",
        "received",
        "fast",
        "quick",
        "lovely",
        "nice",
        "love",
        "tbh",
        "af",
        "lol",
        "omg",
        "thx",
        "pls",
        "u",
        "ur",
        "wasn",
        "isn",
        "won",
        "couldn",
        "haven",
        "hasn",
        "after",
        "before",
        "again",
        "about",
        "because",
        "only",
        "also",
        "still",
        "even",
        "much",
        "more",
        "most",
        "here",
        "well",
        "way",
        "time",
    ]
)
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
        for entries in lexicon.THEMES.values():
            e = entries[lang]
            for phrase in (*e.topic, *e.hint, *e.judged):
                found.extend(WORD.findall(fold(phrase)))
        found.extend(WORD.findall(fold(" ".join(sentiment.WORDS[lang]))))
        found.extend(WORD.findall(fold(" ".join(sentiment.PHRASES[lang]))))
        found.extend(fold(w) for w in (FRENCH_WORDS if lang == "fr" else ENGLISH_WORDS))
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
    lowered = text.lower()
    accents = sum(1 for ch in lowered if ch in ACCENTS)
    fr_hits = en_hits = 0
    trigram = 0.0
    for word in WORD.findall(lowered):
        if word in FRENCH_WORDS and word not in ENGLISH_WORDS:
            fr_hits += 1
        elif word in ENGLISH_WORDS and word not in FRENCH_WORDS:
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
