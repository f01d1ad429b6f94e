"""Filters read from a shopper's words: price, colour, size, gender, age, brand, kind, stock.

A request such as « des baskets blanches pour femme à moins de 80 euros » holds one search
word (baskets) and three filters (white, women, at most 80). The filters are found by patterns
(prices, sizes, ages) and by the catalog's own values (its colours, in French with their
agreements and in English, its brands, its categories, its sizes), then cut out of the words:
a price is a filter, never a word to match. Only category words stay words too, so that a title
naming the kind still ranks first.

Gender and age group use Google Merchant's vocabulary: ``male``, ``female``, ``unisex``;
``newborn`` (0–3 months), ``infant`` (3–12 months), ``toddler`` (1–5 years), ``kids``
(5–13 years), ``adult``. A product for ``unisex`` fits a request for either gender.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cxloop.assistant.text import STEMS, Word, scan_text, word_set, words
from cxloop.folding import fold

AGE_GROUPS = ("newborn", "infant", "toddler", "kids", "adult")


@dataclass(frozen=True)
class Filters:
    """What a request restricts the products to; prices in minor units (cents)."""

    min_price: int | None = None
    max_price: int | None = None
    colors: frozenset[str] = frozenset()
    sizes: frozenset[str] = frozenset()
    gender: str | None = None
    age_groups: frozenset[str] = frozenset()
    brands: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    in_stock: bool = False

    def merged(self, other: Filters) -> Filters:
        """These filters with ``other``'s where it states one (a later answer wins)."""
        return Filters(
            min_price=other.min_price if other.min_price is not None else self.min_price,
            max_price=other.max_price if other.max_price is not None else self.max_price,
            colors=other.colors or self.colors,
            sizes=other.sizes or self.sizes,
            gender=other.gender or self.gender,
            age_groups=other.age_groups or self.age_groups,
            brands=other.brands or self.brands,
            categories=other.categories or self.categories,
            in_stock=other.in_stock or self.in_stock,
        )

    def understood(self) -> dict[str, Any]:
        """The filters as JSON: prices in major units, sets as sorted lists, unset ones left out."""
        found: dict[str, Any] = {}
        if self.min_price is not None:
            found["min_price"] = self.min_price / 100
        if self.max_price is not None:
            found["max_price"] = self.max_price / 100
        for name, values in (
            ("color", self.colors),
            ("size", self.sizes),
            ("age_group", self.age_groups),
            ("brand", self.brands),
            ("category", self.categories),
        ):
            if values:
                found[name] = sorted(values, key=_age_order if name == "age_group" else fold)
        if self.gender is not None:
            found["gender"] = self.gender
        if self.in_stock:
            found["in_stock"] = True
        return found

    def __bool__(self) -> bool:
        return bool(self.understood())


def _age_order(group: str) -> int:
    return AGE_GROUPS.index(group) if group in AGE_GROUPS else len(AGE_GROUPS)


@dataclass
class Parsed:
    """A request read: its filters, the words left to search, and the category words."""

    filters: Filters
    words: list[Word] = field(default_factory=list)


# Prices --------------------------------------------------------------------------------------

_NUM = r"(\d{1,6}(?:[.,]\d{1,2})?)"
_CUR = r"(?:\s?(?:€|euros?|eur|e|balles|boules|\$|dollars?|bucks|usd|£|pounds?|gbp)(?![a-z]))"
_NOT_PRICE = r"(?!\s?(?:ans?|years?|yrs?|mois|months?|cm|mm|m|pieces?|pcs|x|h|ml|l|kg|g)\b)"
_MONEY = rf"(?:[€$£]\s?{_NUM}|{_NUM}{_NOT_PRICE}{_CUR}?)"
_PRICED = rf"(?:[€$£]\s?{_NUM}|{_NUM}{_CUR})"
_MAX_WORDS = (
    r"pas plus de|pas plus cher que|moins de|moins cher que|a moins de|maximum|maxi|max|"
    r"sous les|sous|en dessous de|en-dessous de|au dessous de|au-dessous de|inferieur a|"
    r"jusqu'a|jusqu a|budget max(?:imum)?(?: de)?|budget(?: de)?|"
    r"under|below|less than|no more than|not more than|up to|at most|cheaper than|"
    r"within|max of|maximum of|<=?"
)
_MIN_WORDS = (
    r"plus de|au moins|a partir de|minimum|min|superieur a|plus cher que|"
    r"more than|over|above|at least|starting at|starting from|>=?"
)
_AROUND_WORDS = r"autour de|environ|aux alentours de|vers|around|about|approximately|roughly|~"

_BETWEEN = re.compile(
    rf"\b(?:entre|between)\s+{_MONEY}\s*(?:et|and|&)\s+{_MONEY}"
    rf"|\b(?:de|from)\s+{_MONEY}\s*(?:a|to|-)\s*{_MONEY}"
    rf"|\b{_NUM}\s?(?:-|a|to)\s?{_PRICED}"
)
_MAX = re.compile(
    rf"(?:\b|(?<=\s)|^)(?:{_MAX_WORDS})\s*{_MONEY}"
    rf"|{_PRICED}\s*(?:max(?:imum|i)?|ou moins|or less|or under|tops|au plus|at most)\b"
)
_MIN = re.compile(rf"(?:\b|(?<=\s)|^)(?:{_MIN_WORDS})\s*{_MONEY}|\b(?:from|des|dès)\s+{_PRICED}")
_AROUND = re.compile(rf"\b(?:{_AROUND_WORDS})\s*{_MONEY}")
_BARE = re.compile(rf"(?:\b(?:a|at|for|pour)\s+)?{_PRICED}")


def _amounts(match: re.Match[str]) -> list[int]:
    found = []
    for group in match.groups():
        if group is not None:
            found.append(round(float(group.replace(",", ".")) * 100))
    return found


# Ages and people ----------------------------------------------------------------------------

_YEARS = re.compile(
    r"\b(\d{1,2})\s?(?:-\s?)?(?:ans?|years?(?:\s?-?\s?old)?|yrs?|yo|year-old|years-old)\b"
)
_MONTHS = re.compile(r"\b(\d{1,2})\s?(?:-\s?)?(?:mois|months?(?:\s?-?\s?old)?|month-old)\b")
# Words for a grown-up: the request is for adults unless an age says otherwise.
_ADULT = word_set(
    """femme femmes woman women womens ladies lady dame dames homme hommes man men mens
    monsieur madame mari husband epouse wife copine girlfriend copain boyfriend maman mere
    mum mom mother papa pere dad father"""
)
_BABY = frozenset({"bebe", "bebes", "baby", "babies", "naissance", "nourrisson", "newborn"})
_TODDLER = frozenset({"toddler", "toddlers", "bambin", "bambins"})
_CHILD = frozenset(
    {"enfant", "enfants", "kid", "kids", "child", "children", "childrens", "gamin", "gamins"}
)
_GIRL = frozenset({"fillette", "fillettes", "girl", "girls"})
_BOY = frozenset({"garcon", "garcons", "boy", "boys"})
_FEMALE = (
    word_set(
        """femme femmes woman women womens ladies lady dame dames elle feminin feminine epouse
        wife copine girlfriend maman mere mum mom mother soeur sister her fille filles daughter
        niece tante aunt"""
    )
    | _GIRL
)
_MALE = (
    word_set(
        """homme hommes man men mens monsieur lui masculin mari husband copain boyfriend papa
        pere dad father frere brother him fils son garcon garcons neveu nephew oncle uncle"""
    )
    | _BOY
)


def age_groups_for(years: float) -> frozenset[str]:
    """Google Merchant's age groups for an age in years (5 falls on the toddler-kids line)."""
    if years < 0.25:
        return frozenset({"newborn"})
    if years < 1:
        return frozenset({"infant"})
    if years == 1:
        return frozenset({"infant", "toddler"})
    if years < 5:
        return frozenset({"toddler"})
    if years == 5:
        return frozenset({"toddler", "kids"})
    if years < 13:
        return frozenset({"kids"})
    return frozenset({"adult"})


_STOCK = re.compile(
    r"\b(?:en stock|in stock|disponibles?|dispo|available|en rayon|livrable tout de suite)\b"
)

# Colours: French agreement back to the catalog's masculine singular.
_FEMININE = (("ches", "c"), ("che", "c"), ("ettes", "et"), ("ette", "et"), ("es", ""), ("e", ""))
_SIZE_WORDS = r"tailles?|sizes?|pointures?|sz|en taille|du|en|in"
_STANDALONE_SIZES = frozenset({"xxs", "xs", "xl", "xxl", "xxxl", "3xl", "4xl"})


@dataclass(frozen=True)
class Vocabulary:
    """What a catalog sells, as the parser matches it: its colours, brands, categories, sizes."""

    colors: Mapping[str, frozenset[str]]  # folded word or phrase -> catalog colour values
    color_phrases: tuple[str, ...]  # multi-word colour names, longest first
    brands: Mapping[str, str]  # folded brand -> brand
    categories: Mapping[tuple[str, ...], frozenset[str]]  # stem sequence -> catalog categories
    sizes: Mapping[str, str]  # folded size -> size
    size_pattern: re.Pattern[str] | None

    @classmethod
    def of(
        cls,
        colors: Iterable[tuple[str, Iterable[str]]],
        brands: Iterable[str],
        categories: Iterable[tuple[str, Iterable[str]]],
        sizes: Iterable[str],
    ) -> Vocabulary:
        """From the catalog's values: ``colors`` and ``categories`` as (value, translations)."""
        colour_keys: dict[str, set[str]] = {}
        for value, others in colors:
            for name in (value, *others):
                folded = " ".join(w.text for w in words(name))
                if not folded:
                    continue
                colour_keys.setdefault(folded, set()).add(value)
                parts = folded.split()
                if len(parts) > 1:
                    # "bleu marine": "bleu" and "marine"; "sky blue": only "blue".
                    singles = parts if name == value else parts[-1:]
                    for part in singles:
                        if len(part) >= 4 or part in {"bleu", "vert", "gris", "rose"}:
                            colour_keys.setdefault(part, set()).add(value)
        category_keys: dict[tuple[str, ...], set[str]] = {}
        for value, others in categories:
            for name in (value, *others):
                for part in re.split(r"\s+(?:et|and|&)\s+|,|/|\s&\s", name):
                    stems = tuple(STEMS.stem(w.text, "fr") for w in words(part))
                    stems_en = tuple(STEMS.stem(w.text, "en") for w in words(part))
                    for key in {stems, stems_en}:
                        if key:
                            category_keys.setdefault(key, set()).add(value)
        size_map = {fold(s).strip(): s for s in sizes if s.strip()}
        pattern = None
        if size_map:
            alternatives = "|".join(
                re.escape(s) for s in sorted(size_map, key=lambda s: (-len(s), s))
            )
            pattern = re.compile(
                rf"\b(?:(?:{_SIZE_WORDS})\s+)({alternatives})(?![\w])"
                rf"|(?<![\w])({'|'.join(sorted(_STANDALONE_SIZES, key=len, reverse=True))})"
                r"(?![\w])"
            )
        phrases = tuple(sorted((k for k in colour_keys if " " in k), key=lambda k: -len(k)))
        return cls(
            colors={k: frozenset(v) for k, v in colour_keys.items()},
            color_phrases=phrases,
            brands={" ".join(w.text for w in words(b)): b for b in brands if words(b)},
            categories={k: frozenset(v) for k, v in category_keys.items()},
            sizes=size_map,
            size_pattern=pattern,
        )


def _colour_of(word: str, colours: Mapping[str, frozenset[str]]) -> frozenset[str] | None:
    if word in colours:
        return colours[word]
    for form in (word[:-1] if word.endswith(("s", "x")) else None,):
        if form and form in colours:
            return colours[form]
    for ending, replacement in _FEMININE:
        if word.endswith(ending) and len(word) > len(ending) + 2:
            form = word[: -len(ending)] + replacement
            if form in colours:
                return colours[form]
    if word in {"gray", "grise", "grises"}:
        return colours.get("grey") or colours.get("gris")
    return None


class _Cuts:
    """The spans of the scanned text already read as filters."""

    def __init__(self) -> None:
        self.spans: list[tuple[int, int]] = []

    def free(self, start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e in self.spans)

    def take(self, start: int, end: int) -> None:
        self.spans.append((start, end))

    def covers(self, word: Word) -> bool:
        return not self.free(word.start, word.end)


def parse(text: str, vocabulary: Vocabulary) -> Parsed:
    """Read ``text``'s filters and the words left to search for."""
    scanned = scan_text(text)
    cuts = _Cuts()
    sizes: set[str] = set()
    if vocabulary.size_pattern is not None:
        for match in vocabulary.size_pattern.finditer(scanned):
            value = match.group(1) or match.group(2)
            if value in vocabulary.sizes:
                sizes.add(vocabulary.sizes[value])
                cuts.take(*match.span())
    ages: set[str] = set()
    for pattern, scale in ((_MONTHS, 1 / 12), (_YEARS, 1.0)):
        for match in pattern.finditer(scanned):
            if cuts.free(*match.span()):
                ages |= age_groups_for(int(match.group(1)) * scale)
                cuts.take(*match.span())
    min_price, max_price = _prices(scanned, cuts)
    in_stock = False
    for match in _STOCK.finditer(scanned):
        if cuts.free(*match.span()):
            in_stock = True
            cuts.take(*match.span())
    brands: set[str] = set()
    for folded, brand in vocabulary.brands.items():
        for match in re.finditer(rf"(?<![\w]){re.escape(folded)}(?![\w])", scanned):
            if cuts.free(*match.span()):
                brands.add(brand)
                cuts.take(*match.span())
    colours: set[str] = set()
    for phrase in vocabulary.color_phrases:
        for match in re.finditer(rf"(?<![\w]){re.escape(phrase)}(?![\w])", scanned):
            if cuts.free(*match.span()):
                colours |= vocabulary.colors[phrase]
                cuts.take(*match.span())
    left = [w for w in words(text) if not cuts.covers(w)]
    gender: set[str] = set()
    kept: list[Word] = []
    grown_up = False
    for word in left:
        found = _colour_of(word.text, vocabulary.colors)
        if found is not None:
            colours |= found
        elif word.text in _FEMALE or word.text in _MALE:
            gender.add("female" if word.text in _FEMALE else "male")
            grown_up = grown_up or word.text in _ADULT
            if word.text in _GIRL | _BOY and not ages:
                ages |= {"toddler", "kids"}
        elif word.text in _BABY:
            ages |= {"newborn", "infant"}
        elif word.text in ("adulte", "adultes", "adult", "adults"):
            ages.add("adult")
        elif word.text in _TODDLER:
            ages.add("toddler")
        elif word.text in _CHILD:
            if not ages:
                ages |= {"toddler", "kids"}
        else:
            kept.append(word)
    if grown_up and not ages:
        ages.add("adult")
    categories = _categories(kept, vocabulary)
    return Parsed(
        Filters(
            min_price=min_price,
            max_price=max_price,
            colors=frozenset(colours),
            sizes=frozenset(sizes),
            gender=gender.pop() if len(gender) == 1 else None,
            age_groups=frozenset(ages),
            brands=frozenset(brands),
            categories=frozenset(categories),
            in_stock=in_stock,
        ),
        kept,
    )


def _prices(scanned: str, cuts: _Cuts) -> tuple[int | None, int | None]:
    low: int | None = None
    high: int | None = None
    for match in _BETWEEN.finditer(scanned):
        if cuts.free(*match.span()):
            amounts = _amounts(match)
            if len(amounts) == 2:
                low, high = min(amounts), max(amounts)
                cuts.take(*match.span())
    for match in _MAX.finditer(scanned):
        if cuts.free(*match.span()) and high is None:
            high = _amounts(match)[0]
            cuts.take(*match.span())
    for match in _MIN.finditer(scanned):
        if cuts.free(*match.span()) and low is None:
            low = _amounts(match)[0]
            cuts.take(*match.span())
    for match in _AROUND.finditer(scanned):
        if cuts.free(*match.span()) and low is None and high is None:
            amount = _amounts(match)[0]
            low, high = round(amount * 0.8), round(amount * 1.2)
            cuts.take(*match.span())
    for match in _BARE.finditer(scanned):
        if cuts.free(*match.span()) and high is None:
            high = _amounts(match)[0]
            cuts.take(*match.span())
    return low, high


def _categories(kept: list[Word], vocabulary: Vocabulary) -> set[str]:
    found: set[str] = set()
    stems = [(STEMS.stem(w.text, "fr"), STEMS.stem(w.text, "en")) for w in kept]
    for key, values in vocabulary.categories.items():
        size = len(key)
        for start in range(len(stems) - size + 1):
            if all(key[i] in stems[start + i] for i in range(size)):
                found |= values
                break
    return found
