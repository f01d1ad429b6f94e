"""Which language? French or English from stopwords, accents and trigrams; others from lingua.

French or English: three kinds of evidence, summed as log-odds for French: words that only one
language uses ("le", "est", "pas" / "the", "is", "not", SMS forms included), accented letters,
and a character-trigram profile of each language built once from the cxloop lexicons (the words
of reviews, so short answers like "livraison rapide" or "fast delivery" score well). A text with
no evidence at all gets the caller's default.

Other languages: a German, Italian, Spanish, Dutch or Portuguese comment would otherwise be
read as English or French and tagged with nothing. When a text has at least ``MIN_WORDS`` words
and fewer than ``KNOWN_SHARE`` of them are French or English words cxloop knows (its lexicons,
sentiment and word lists, compared as written and as stems), lingua (``lingua-language-
detector``, offline n-gram models shipped in the package) is asked, limited to ``ASKED``. Its
answer replaces French or English only when it names another language with a confidence of
at least ``MIN_CONFIDENCE``: short, mixed or misspelt French and English stay French and
English. Lingua's detector is built on first need, once per process (see ``_lingua``).
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Final

from cxloop.folding import fold
from cxloop.themes import wordlists
from cxloop.themes.text import LANGS, Lang, stemmer

if TYPE_CHECKING:
    from lingua import LanguageDetector

# Languages recognised but not tagged (ISO 639-1): those of the stores' neighbours.
OTHER_LANGS: Final[tuple[str, ...]] = ("de", "it", "es", "nl", "pt")
# The languages lingua chooses among: French and English stay candidates, so that a French
# text with few known words is not forced into another language.
ASKED: Final[tuple[str, ...]] = (*LANGS, *OTHER_LANGS)
MIN_WORDS: Final = 3  # below, lingua is not asked: "Alles gut" stays as the fast check says
KNOWN_SHARE: Final = 0.75  # lingua is asked when fewer of the words are known FR/EN words
MIN_CONFIDENCE: Final = 0.6  # lingua's confidence needed to name another language
# High accuracy (1- to 5-grams): on the 125 short comments of tests/data/feedback/languages.csv
# it names all 125, low accuracy (trigrams only) 120, taking Spanish for Portuguese or
# Italian. It costs more to build (1.4 s and 230 MB against 0.1 s and 23 MB): docs/themes.md.
LINGUA_HIGH_ACCURACY: Final = True


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
    """The language found, how sure (log-odds for French), and whether both languages show.

    ``lang`` is one of ``ASKED``; for another language than French and English, ``log_odds``
    is the French/English check's and ``confidence`` lingua's.
    """

    lang: Lang
    log_odds: float
    mixed: bool
    confidence: float | None = None


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
    """The language of a verbatim, with the evidence behind it: French or English, or one of
    ``OTHER_LANGS`` when lingua is asked and sure enough (see the module)."""
    found = detect_fr_en(text, default)
    words = WORD.findall(text.lower())
    if len(words) < MIN_WORDS or sum(map(is_known, words)) >= KNOWN_SHARE * len(words):
        return found
    other = _other_language(text)
    if other is None:
        return found
    return Detection(other[0], found.log_odds, False, other[1])


def detect_fr_en(text: str, default: Lang = "fr") -> Detection:
    """French or English, whatever the text: the fast check alone (no lingua)."""
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
    """``fr`` or ``en`` for a verbatim (``default`` when nothing tells), or another language's
    ISO 639-1 code (``OTHER_LANGS``)."""
    return detect(text, default).lang


def is_tagged(lang: str) -> bool:
    """Whether the tagger reads this language (French and English); others are kept untagged."""
    return lang in LANGS


# --- known French and English words ------------------------------------------------------

_stemmers = threading.local()


@lru_cache(maxsize=1)
def _vocabulary() -> tuple[frozenset[str], dict[Lang, frozenset[str]]]:
    """The French and English words cxloop's data holds (folded), and their stems per language."""
    from cxloop.themes import lexicon, sentiment

    folded: set[str] = set()
    stems: dict[Lang, frozenset[str]] = {}
    for lang in LANGS:
        found: set[str] = set()
        for entry in lexicon.load(lang).themes.values():
            for phrase in (*entry.topic, *entry.hint, *entry.judged):
                found.update(WORD.findall(fold(phrase)))
        polar = sentiment.load(lang)
        for phrase in (*polar.words, *polar.phrases):
            found.update(WORD.findall(fold(phrase)))
        name = f"{lang}/words.yaml"
        for key in ("function", "skip", "known"):
            listed = wordlists.phrases(wordlists.section(name, key), f"{name}: {key}")
            found.update(word for phrase in listed for word in WORD.findall(fold(phrase)))
        variants = wordlists.table(wordlists.section(name, "misspellings"), f"{name}: misspellings")
        found.update(word for pair in variants.items() for w in pair for word in WORD.findall(w))
        stem = stemmer(lang).stemWord
        stems[lang] = frozenset(fold(stem(word)) for word in found)
        folded |= found
    return frozenset(folded), stems


@lru_cache(maxsize=100_000)
def is_known(word: str) -> bool:
    """Whether a lowercased word is a French or English word cxloop knows, as written or by its
    stem ("livrées", "delivered")."""
    folded, stems = _vocabulary()
    if fold(word) in folded:
        return True
    # Stemmers are not thread-safe: one pair per thread.
    stem: dict[Lang, Callable[[str], str]] = _stemmers.__dict__.setdefault(
        "stem", {lang: stemmer(lang).stemWord for lang in LANGS}
    )
    return any(fold(stem[lang](word)) in stems[lang] for lang in LANGS)


# --- lingua, for the other languages -----------------------------------------------------

_lingua_lock = threading.Lock()
_lingua_detector: list[LanguageDetector] = []


def _lingua() -> LanguageDetector:
    """Lingua's detector for ``ASKED``, built on first need and then kept for the process.

    Building it loads the n-gram models of seven languages: measured in docs/themes.md (time
    and memory). A lock keeps two threads from building it twice.
    """
    if _lingua_detector:
        return _lingua_detector[0]
    with _lingua_lock:
        if not _lingua_detector:
            from lingua import IsoCode639_1, LanguageDetectorBuilder

            codes = [getattr(IsoCode639_1, code.upper()) for code in ASKED]
            builder = LanguageDetectorBuilder.from_iso_codes_639_1(*codes)
            if not LINGUA_HIGH_ACCURACY:
                builder = builder.with_low_accuracy_mode()
            _lingua_detector.append(builder.with_preloaded_language_models().build())
    return _lingua_detector[0]


def _other_language(text: str) -> tuple[str, float] | None:
    """(ISO 639-1 code, confidence) of the other language lingua finds most likely, when it is
    sure enough that the text is in neither French nor English; else None.

    The confidence weighed is that of all the other languages together: on a short text lingua
    spreads it among close languages ("A cor é diferente da foto": Portuguese 0.47, Spanish
    0.35, Italian 0.12), all of which mean "not French or English", and names the right one
    first far more often than it gives it 0.6 alone.
    """
    values = _lingua().compute_language_confidence_values(text)
    others = [v for v in values if v.language.iso_code_639_1.name.lower() not in LANGS]
    confidence = sum(v.value for v in others)
    if not others or confidence < MIN_CONFIDENCE:
        return None
    best = max(others, key=lambda v: v.value)
    return best.language.iso_code_639_1.name.lower(), round(confidence, 3)


def __getattr__(name: str) -> object:
    """``FRENCH_WORDS`` and ``ENGLISH_WORDS``, the former constants, read on first use."""
    if name == "FRENCH_WORDS":
        return function_words("fr")
    if name == "ENGLISH_WORDS":
        return function_words("en")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
