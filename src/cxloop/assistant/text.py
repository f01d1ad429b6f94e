"""Shoppers' words as the catalog search reads them: folded, split, stemmed in French and English.

A word is lowercased and stripped of accents ("Écrue" -> "ecrue"); hyphens inside a word are
dropped ("t-shirt" -> "tshirt") and elisions split off ("d'alpaga" -> "alpaga"). Each word has
two stems, one per language, both taken by Snowball from the accented word and then folded: a
French title and an English query meet on whichever stem they share.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass

import snowballstemmer

from cxloop.folding import FOLD_TABLE, fold

LANGS = ("fr", "en")

_WORD = re.compile(r"[^\W_]+(?:[-'][^\W_]+)*")
_ELIDED = frozenset({"l", "d", "j", "qu", "n", "s", "c", "m", "t", "jusqu", "lorsqu", "puisqu"})


def word_set(text: str) -> frozenset[str]:
    """The words of a blank-separated list."""
    return frozenset(text.split())


# Words that carry no product meaning in a shopper's request (folded).
STOPWORDS = word_set(
    """
    a au aux avec ce ces cet cette chez de des du en et est il je la le les leur leurs ma me
    mes moi mon ne nous on ou par pas pour qui que quoi sa se ses son sur ta te tes toi ton tu
    un une vos votre vous y ai as avez avoir suis etre cherche cherchais recherche voudrais
    voudrait veux veut aimerais besoin trouver montrer montrez montre auriez svp stp merci
    bonjour salut hello bonsoir quelque chose chose truc genre peu tres trop plus bien
    the an and or of for with to in on at by from my me i im i'm we you your our is are am be
    looking look want wanted would like need some something any anything please thanks thank
    hi hey do does have has show find get buy can could me it its this that these those
    """
)


def _fold_char(char: str) -> str:
    if char.isascii():
        return char
    base = [c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)]
    return base[0] if len(base) == 1 else " " if not base else char


def scan_text(text: str) -> str:
    """``text`` lowercased and folded character by character: offsets in it are offsets in
    the lowercased text, so what a pattern finds in it can be cut out of the words."""
    lowered = text.lower().translate(FOLD_TABLE)
    return lowered if lowered.isascii() else "".join(_fold_char(c) for c in lowered)


@dataclass(frozen=True)
class Word:
    """A word of a text: its folded form, its position and where it stands in the text."""

    text: str
    index: int
    start: int
    end: int


def words(text: str) -> list[Word]:
    """The words of ``text`` in order, folded; elisions split off, inner hyphens dropped.
    Offsets are those of ``scan_text(text)``."""
    scanned = scan_text(text)
    found: list[Word] = []
    for match in _WORD.finditer(scanned):
        raw, start = match.group(), match.start()
        if "'" in raw:
            head, _, rest = raw.partition("'")
            if fold(head) in _ELIDED:
                raw, start = rest, start + len(head) + 1
        folded = fold(raw).replace("-", "").replace("'", "")
        if folded:
            found.append(Word(folded, len(found), start, match.end()))
    return found


class Stems:
    """A word's French and English stems, cached (the vocabulary of a catalog is small)."""

    def __init__(self) -> None:
        self._stemmers = {
            "fr": snowballstemmer.stemmer("french"),
            "en": snowballstemmer.stemmer("english"),
        }
        self._cache: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def stem(self, word: str, lang: str) -> str:
        """The folded stem of a folded word in one language."""
        key = (word, lang)
        found = self._cache.get(key)
        if found is None:
            if word.isdigit() or len(word) <= 2:
                found = word
            else:
                with self._lock:
                    found = fold(self._stemmers[lang].stemWord(word))
            self._cache[key] = found
        return found

    def both(self, word: str) -> tuple[str, ...]:
        """The word's distinct stems in both languages, French first."""
        fr, en = self.stem(word, "fr"), self.stem(word, "en")
        return (fr,) if fr == en else (fr, en)


STEMS = Stems()


def distance(a: str, b: str, limit: int) -> int:
    """The Damerau-Levenshtein distance (adjacent transpositions) of two words, or ``limit + 1``
    when it is above ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def deletes(word: str) -> set[str]:
    """The word with one letter left out, each way."""
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


_FRENCH = word_set(
    """je tu il elle nous vous des une un le la les pour avec sans moins plus est sont et ou
    bonjour merci cherche voudrais avez quel quelle quels mon ma mes ce cette taille pas
    entre combien commande colis livraison oui non svp aussi"""
)
_ENGLISH = word_set(
    """i you he she we the a an for with without under less more is are and or hello hi
    thanks thank looking want would have which what my this these size not between how much
    order parcel delivery yes no please also do does"""
)


def guess_lang(text: str, default: str) -> str:
    """``fr`` or ``en`` when a message's little words clearly say so, else ``default``."""
    found = [w.text for w in words(text)]
    french = sum(w in _FRENCH for w in found)
    english = sum(w in _ENGLISH for w in found)
    if french >= english + 2 or (french >= 1 and english == 0 and len(found) >= 2):
        return "fr"
    if english >= french + 2 or (english >= 1 and french == 0 and len(found) >= 2):
        return "en"
    return default
