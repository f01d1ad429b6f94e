"""Text as the tagger reads it: tokens with their offsets, folded, corrected and stemmed.

A word's *key* is what every lexicon entry and every verbatim word are compared on: the
lowercased word, corrected through a small table of misspellings and SMS forms, stemmed with
the language's Snowball stemmer, then stripped of accents ("Livrée" and "livre" both give
``livr``). Numbers become ``#`` and currency signs ``€`` so that "en 48h" or "4,90 €" can be
written in a lexicon. Keys are cached per language: a verbatim costs dictionary look-ups.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

import snowballstemmer

from cxloop.folding import fold
from cxloop.themes import wordlists

Lang = str  # "fr" or "en"
LANGS: tuple[Lang, ...] = ("fr", "en")
NUMBER = "#"
CURRENCY = "€"

# Words, numbers, currency signs, emoticons, emoji, and the punctuation that ends a clause.
# Order matters: an emoticon starts with punctuation, so it is tried before clause marks.
SCAN = re.compile(
    r"(?P<w>[^\W\d_]+)"
    r"|(?P<n>\d+)"
    r"|(?P<c>[€£$])"
    r"|(?P<e>[:;=8][-'’^o]?[()\[\]DPpOo3*/\\|@]+(?![\w])|<3+|\^\^|\(:|\):)"
    r"|(?P<j>[\U0001F300-\U0001FAFF\u2600-\u27BF\u2B50\u2764])"
    r"|(?P<x>\.{2,}|…)"
    r"|(?P<p>[.!?;,()\[\]\n\r]+|\s[-–—/]\s|:\s)"
)


@cache
def misspellings(lang: Lang) -> dict[str, str]:
    """Misspellings, phonetic spellings and SMS forms seen in reviews, as folded word -> word.

    Read from ``data/<lang>/words.yaml`` on first use; a word may also stand for ``#`` (any
    number) or ``€`` (any currency). Longer words also get an edit-distance-1 look-up against
    the lexicon (see ``Corrector``).
    """
    name = f"{lang}/words.yaml"
    return wordlists.table(wordlists.section(name, "misspellings"), f"{name}: misspellings")


@cache
def protected() -> frozenset[str]:
    """Names and acronyms the stemmer would confuse with words ("UPS" is not "up")."""
    name = "protected.yaml"
    return frozenset(wordlists.phrases(wordlists.section(name, "protected"), name))


def stemmer(lang: Lang) -> snowballstemmer.stemmer:
    """A new Snowball stemmer for a language (an instance is not thread-safe: one per Keys)."""
    return snowballstemmer.stemmer("french" if lang == "fr" else "english")


class Keys:
    """A language's word -> key function with its cache (grows with the vocabulary seen)."""

    def __init__(
        self,
        lang: Lang,
        aliases: dict[str, str] | None = None,
        corrector: Corrector | None = None,
        max_cache: int = 200_000,
        whole: Iterable[str] = (),
    ) -> None:
        self.lang = lang
        self.aliases = aliases or {}
        # Words keyed whole, not stemmed, because their stem is another, common word's:
        # "helpful" is not "help", "abordable" not "d'abord", "qualitatif" not "qualité".
        self._whole = frozenset(fold(w) for w in whole)
        self._variants = misspellings(lang)
        self._protected = protected()
        self._stem = stemmer(lang).stemWord
        self._corrector = corrector
        self._max_cache = max_cache
        self._cache: dict[str, str] = {NUMBER: NUMBER, CURRENCY: CURRENCY}

    def __call__(self, word: str) -> str:
        """The key of a lowercased word."""
        key = self._cache.get(word)
        if key is None:
            key = self._compute(word)
            if len(self._cache) >= self._max_cache:
                self._cache.clear()
            self._cache[word] = key
        return key

    def _compute(self, word: str) -> str:
        if word in self._protected:
            return word
        folded = fold(word)
        corrected = self._variants.get(folded)
        if corrected is not None:
            if corrected in (NUMBER, CURRENCY):
                return corrected
            word = corrected
        elif self._corrector is not None:
            word = self._corrector(folded, folded != word) or word
        if self._whole:
            bare = fold(word)
            for form in (bare, bare[:-1], bare[:-2]):
                if form in self._whole and (form == bare or bare[len(form) :] in ("s", "e", "es")):
                    return "=" + form
        if self.lang == "fr" and word.isascii() and word.endswith(("ee", "ees")):
            word = word[: word.rindex("ee")] + "ée" + word[word.rindex("ee") + 2 :]
        key = fold(self._stem(word))
        return self.aliases.get(key, key)

    def phrase(self, text: str) -> tuple[str, ...]:
        """The keys of a lexicon phrase (its words, numbers and currency signs)."""
        return tuple(self(token) for token in words(text))


def words(text: str) -> list[str]:
    """The lowercased words, numbers (as ``#``) and currency signs (as ``€``) of a text.

    In a lexicon phrase, ``#`` stands for any number ("en # jours").
    """
    found: list[str] = []
    for match in SCAN.finditer(text.lower().replace("#", " 0 ")):
        kind = match.lastgroup
        if kind == "w":
            found.append(match.group())
        elif kind == "n":
            found.append(NUMBER)
        elif kind == "c":
            found.append(CURRENCY)
    return found


@dataclass(frozen=True, slots=True)
class Token:
    """One scanned piece of a verbatim: a word, a number, a sign, an emoticon or punctuation."""

    kind: str  # w (word), n (number), c (currency), e (emoticon), j (emoji), x (…), p (clause end)
    text: str
    start: int
    end: int


def scan(text: str) -> list[Token]:
    """Every token of a verbatim, with offsets into the original text."""
    return [Token(m.lastgroup or "p", m.group(), m.start(), m.end()) for m in SCAN.finditer(text)]


class Corrector:
    """Misspelt words of a lexicon found at edit distance 1 ("livraision", "recieved").

    A word the lexicon or the common-word lists know is left alone; a longer unknown word is
    matched to the one lexicon word it is a letter away from (an extra, a missing, a swapped
    or, for words of 8 letters or more, a different letter). Ambiguous corrections are not made.
    Typists rarely get a word's first letter wrong, so a correction keeps it ("orange" is not
    "range", "reorder" not "preorder"); and a word typed with its accents was spelt on purpose,
    so only its ending may change ("livrée" -> "livre", not "planète" -> "plante").
    """

    def __init__(self, vocabulary: Iterable[str], known: Iterable[str] = ()) -> None:
        self._words = {w for w in vocabulary if len(w) >= 5 and w.isalpha()}
        self._known = self._words | set(known)
        self._deleted: dict[tuple[str, int], set[str]] = {}
        for word in self._words:
            for i in range(len(word)):
                self._deleted.setdefault((word[:i] + word[i + 1 :], i), set()).add(word)

    def __call__(self, word: str, accented: bool = False) -> str | None:
        """The lexicon word ``word`` misspells, or None (``accented``: typed with accents)."""
        if len(word) < 6 or word in self._known or not word.isalpha():
            return None
        found: set[str] = set()
        for i in range(len(word)):
            shorter = word[:i] + word[i + 1 :]
            if shorter in self._words:  # one letter too many
                found.add(shorter)
            if len(word) >= 8:  # one letter wrong
                found.update(self._deleted.get((shorter, i), ()))
            if i + 1 < len(word):  # two letters swapped
                swapped = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
                if swapped in self._words:
                    found.add(swapped)
        for i in range(len(word) + 1):  # one letter missing
            found.update(self._deleted.get((word, i), ()))
        found.discard(word)
        if len(found) != 1:
            return None
        fixed = found.pop()
        if fixed[0] != word[0]:
            return None
        if accented and _common_prefix(word, fixed) < max(len(word), len(fixed)) - 2:
            return None
        return fixed


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def __getattr__(name: str) -> object:
    """``VARIANTS`` and ``PROTECTED``, the former constants, read from the data on first use."""
    if name == "VARIANTS":
        return {lang: misspellings(lang) for lang in LANGS}
    if name == "PROTECTED":
        return protected()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
