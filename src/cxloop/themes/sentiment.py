"""Sentiment of a verbatim and of each theme mention: a polarity lexicon with rules.

In the spirit of VADER (Hutto & Gilbert, ICWSM 2014), written for French and English review
language: each word or phrase carries a valence in [-1, 1]; an intensifier before it scales it
("très", "really"), a negation up to three words before it flips and dampens it ("pas cher",
"no problem", "jamais déçu"), "trop"/"too" before a neutral word makes it a complaint ("trop
petit"). Emoji and emoticons carry valence, capitals and exclamation marks add weight, a
clause after "mais"/"but" weighs more than the one before. Irony: a lone "bravo", "génial"
or "great" beside a complaint, or followed by "…" and a complaint, counts as a complaint.
The NPS score is never used.

The words, phrases and their valences live in ``data/<lang>/sentiment.yaml`` and emoji in
``data/emoji.yaml``; this module holds the rules and their weights.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from cxloop.themes import wordlists
from cxloop.themes.text import LANGS, Keys, Lang


@dataclass(frozen=True)
class Words:
    """One language's sentiment words (``data/<lang>/sentiment.yaml``), as written."""

    # Polar words keyed whole, not by a stem that a common word of another tone shares.
    whole: frozenset[str]
    words: dict[str, float]  # word valences in [-1, 1]
    phrases: dict[str, float]  # phrase valences, matched before single words
    negators: tuple[str, ...]  # words that flip what follows
    short_negators: frozenset[str]  # negators that reach only the next word or two
    boosters: dict[str, float]  # intensifiers: a factor added to 1
    dual: tuple[str, ...]  # praise words that only intensify another valence word
    too: tuple[str, ...]  # "trop"/"too": a neutral word after them is a complaint
    irony: tuple[str, ...]  # praise that turns into sarcasm beside a complaint
    contrasts: tuple[str, ...]  # clause openers that contrast with what came before
    exceptions: tuple[str, ...]  # openers after which an unjudged clause takes the opposite


@dataclass(frozen=True)
class Symbols:
    """Valences of emoji (by first code point) and emoticons, in every language."""

    emoji: dict[str, float]
    emoticons: dict[str, float]


@cache
def load(lang: Lang) -> Words:
    """One language's sentiment words, read from its data file on first use."""
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {', '.join(LANGS)}, not {lang!r}")
    name = f"{lang}/sentiment.yaml"

    def listed(key: str) -> tuple[str, ...]:
        return wordlists.phrases(wordlists.section(name, key), f"{name}: {key}")

    def valued(key: str) -> dict[str, float]:
        return wordlists.valences(wordlists.section(name, key), f"{name}: {key}")

    return Words(
        whole=frozenset(listed("whole")),
        words=valued("words"),
        phrases=valued("phrases"),
        negators=listed("negators"),
        short_negators=frozenset(listed("short_negators")),
        boosters=valued("boosters"),
        dual=listed("dual"),
        too=listed("too"),
        irony=listed("irony"),
        contrasts=listed("contrasts"),
        exceptions=listed("exceptions"),
    )


@cache
def symbols() -> Symbols:
    """Emoji and emoticon valences (``data/emoji.yaml``), read on first use."""
    name = "emoji.yaml"
    return Symbols(
        emoji=wordlists.valences(wordlists.section(name, "emoji"), f"{name}: emoji"),
        emoticons=wordlists.valences(wordlists.section(name, "emoticons"), f"{name}: emoticons"),
    )


WINDOW = 3  # words a negation or an intensifier reaches
TOO_VALENCE = -0.35  # a neutral word after "trop"/"too": a complaint ("trop petit")
MIXED = 1.0  # how much a text's weaker side cancels its stronger one
NEGATION = -0.75  # VADER's damped flip
ALPHA = 0.6  # x / sqrt(x² + ALPHA) maps sums to (-1, 1)
EXCLAIM = 0.1  # each "!" (up to 3) adds this much weight in the text's direction
AFTER_CONTRAST = 1.3
BEFORE_CONTRAST = 0.7
VERDICT = 1.5  # the last sentence of a story of two sentences or more: the verdict
RESOLVED = 0.25  # a complaint followed by an "EDIT:" saying it was sorted ends near neutral


def squash(total: float) -> float:
    """A sum of valences mapped to (-1, 1)."""
    if total == 0:
        return 0.0
    return total / math.sqrt(total * total + ALPHA)


@dataclass(frozen=True)
class Polarity:
    """One language's polarity lexicon, keyed by stem."""

    words: dict[str, float]
    phrases: tuple[tuple[tuple[str, ...], float], ...]
    negators: frozenset[str]
    short_negators: frozenset[str]
    boosters: dict[str, float]
    dual: frozenset[str]
    too: frozenset[str]
    irony: frozenset[str]
    contrasts: dict[tuple[str, ...], bool]  # opener keys -> is an exception ("sauf")
    skip: frozenset[str]  # function words: "trop de plastique" judges "plastique"


def compile_polarity(keys: Keys, skip: frozenset[str]) -> Polarity:
    """The polarity lexicon of ``keys.lang``, keyed the way the tagger keys a verbatim."""
    data = load(keys.lang)
    words = {keys(word): value for word, value in data.words.items()}
    words.pop("", None)
    phrases: dict[tuple[str, ...], float] = {}
    for text, value in data.phrases.items():
        phrase = keys.phrase(text)
        if phrase:
            phrases[phrase] = value
    ordered = tuple(sorted(phrases.items(), key=lambda item: -len(item[0])))
    contrasts = {keys.phrase(opener): False for opener in data.contrasts}
    contrasts.update({keys.phrase(opener): True for opener in data.exceptions})
    return Polarity(
        words=words,
        phrases=ordered,
        negators=frozenset(keys(word) for word in data.negators),
        short_negators=frozenset(keys(word) for word in data.short_negators),
        boosters={keys(word): value for word, value in data.boosters.items()},
        dual=frozenset(keys(word) for word in data.dual),
        too=frozenset(keys(word) for word in data.too),
        irony=frozenset(keys(word) for word in data.irony),
        contrasts=contrasts,
        skip=skip,
    )


def valences(
    polarity: Polarity,
    keys: Sequence[str],
    clauses: Sequence[int],
    shouted: Sequence[bool],
    phrase_at: dict[int, tuple[int, float]],
    fallback: dict[str, float] | None = None,
) -> list[float]:
    """Each word's valence after negation, intensifiers and the "trop"/"too" rule.

    ``phrase_at`` maps the first word of each polarity phrase found to (its length, valence).
    """
    n = len(keys)
    values = [0.0] * n
    words = polarity.words
    negators = polarity.negators
    boosters = polarity.boosters
    covered_until = -1
    in_phrase = [False] * n
    for start, (length, _) in phrase_at.items():
        for j in range(start, min(n, start + length)):
            in_phrase[j] = True
    for i in range(n):
        if i <= covered_until:
            continue
        phrase = phrase_at.get(i)
        if phrase is not None:
            length, value = phrase
            covered_until = i + length - 1
            negatable = not any(keys[j] in negators for j in range(i, i + length))
        else:
            value = words.get(keys[i], 0.0)
            if not value and fallback:
                value = fallback.get(keys[i], 0.0)
            negatable = True
            if value and keys[i] in polarity.dual and _next_has_valence(polarity, keys, clauses, i):
                continue  # "super rapide": "super" only intensifies
            if not value:
                if _after_too(polarity, keys, clauses, i):
                    values[i] = TOO_VALENCE
                continue
        scale = 1.0
        negated = False
        for j in range(i - 1, max(-1, i - 1 - WINDOW), -1):
            if clauses[j] != clauses[i]:
                break
            key = keys[j]
            if in_phrase[j] and phrase is None:
                continue
            if key in negators:
                if key not in polarity.short_negators or j >= i - 2:
                    negated = True
            elif key in boosters and j >= i - 2:
                scale *= 1.0 + boosters[key]
        if shouted[i]:
            scale *= 1.25
        value *= scale
        if negated and negatable:
            value *= NEGATION
        values[i if phrase is None else covered_until] = max(-1.5, min(1.5, value))
    return values


def _after_too(polarity: Polarity, keys: Sequence[str], clauses: Sequence[int], i: int) -> bool:
    """Whether a neutral content word follows "trop"/"too" (function words may stand between)."""
    key = keys[i]
    if key in polarity.skip or key in polarity.negators or key in polarity.boosters:
        return False
    for j in range(i - 1, max(-1, i - 3), -1):
        if clauses[j] != clauses[i]:
            return False
        if keys[j] in polarity.too:
            return True
        if keys[j] not in polarity.skip:
            return False
    return False


def _next_has_valence(
    polarity: Polarity, keys: Sequence[str], clauses: Sequence[int], i: int
) -> bool:
    nxt = i + 1
    return (
        nxt < len(keys)
        and clauses[nxt] == clauses[i]
        and (keys[nxt] in polarity.words or keys[nxt] in polarity.boosters)
    )


# The former module constants and the Words field each stands for, by language.
_FORMER = {
    "WHOLE": "whole",
    "WORDS": "words",
    "PHRASES": "phrases",
    "NEGATORS": "negators",
    "BOOSTERS": "boosters",
    "DUAL": "dual",
    "TOO": "too",
    "IRONY": "irony",
    "CONTRASTS": "contrasts",
    "EXCEPTIONS": "exceptions",
}


def __getattr__(name: str) -> object:
    """The former tables (``WORDS["fr"]``, ``EMOJI``…), read from the data files on first use."""
    if name in _FORMER:
        return {lang: getattr(load(lang), _FORMER[name]) for lang in LANGS}
    if name == "EMOJI":
        return symbols().emoji
    if name == "EMOTICONS":
        return symbols().emoticons
    if name == "SHORT_NEGATORS":
        return frozenset().union(*(load(lang).short_negators for lang in LANGS))
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
