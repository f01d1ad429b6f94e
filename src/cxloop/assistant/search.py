"""Catalog search built for shoppers' words: BM25 over the catalog's fields in both languages.

Each product is a document whose fields weigh differently (a word of the title counts three
times one of the description); its translations are fields too, so an English query finds a
French title through its English version. Words are folded and stemmed in French and English
(see ``text``); a query word scores by its best stem. Then:

- filters read from the request (``filters``) restrict the products, they are not matched as
  words;
- a word the catalog does not know is corrected to the nearest word it knows (one edit for
  short words, two for long ones), and the correction is reported;
- synonyms (built in, plus the workspace's own) stand for each other: « sneakers » finds
  « Baskets »;
- a product matching more of the request's words ranks above one matching fewer (BM25 times
  the share of words matched); popularity breaks ties.

The index lives in memory, built from the catalog once per change (``service.index_of``); a
search is a few sparse column reads and a partial sort.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import yaml
from scipy import sparse

from cxloop.assistant.filters import Filters, Parsed, Vocabulary, parse
from cxloop.assistant.text import STEMS, STOPWORDS, deletes, distance, words
from cxloop.folding import fold

K1 = 1.2
B = 0.75
# How much a word counts in each field.
FIELD_WEIGHTS = {
    "title": 3.0,
    "category": 2.0,
    "brand": 1.5,
    "color": 1.5,
    "attributes": 1.0,
    "description": 1.0,
}
# Compound words shoppers split: joined before searching.
SYNONYM_WEIGHT = 0.7  # a synonym matches, a little less than the word itself
JOINED = {"tee shirt": "tshirt", "t shirt": "tshirt", "sweat shirt": "sweatshirt"}


@dataclass(frozen=True)
class CatalogItem:
    """A product as the search shows it; ``translations`` maps a language to its texts."""

    sku: str
    title: str
    price_cents: int
    currency: str = "EUR"
    description: str = ""
    translations: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    category: str = ""
    brand: str = ""
    color: str | None = None
    sizes: tuple[str, ...] = ()
    gender: str | None = None
    age_group: str | None = None
    sale_price_cents: int | None = None
    availability: str = "in_stock"
    url: str | None = None
    image_url: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    popularity: float = 0.0

    @property
    def unit_price_cents(self) -> int:
        """What a shopper pays for one: the sale price when there is one."""
        return self.sale_price_cents if self.sale_price_cents is not None else self.price_cents

    def text(self, name: str, lang: str | None = None) -> str:
        """A text field in ``lang`` when the product has it translated, else as written."""
        if lang:
            translated = self.translations.get(lang)
            if isinstance(translated, Mapping) and isinstance(translated.get(name), str):
                return str(translated[name])
        value = getattr(self, name)
        return value if isinstance(value, str) else ""

    def public(self, lang: str | None = None) -> dict[str, Any]:
        """The product as the CLI and the assistant's replies carry it (Google Merchant
        vocabulary for colour, size, gender and age group)."""
        shown: dict[str, Any] = {
            "id": self.sku,
            "title": self.text("title", lang),
            "price": self.unit_price_cents / 100,
            "currency": self.currency,
            "availability": self.availability,
            "brand": self.brand,
            "category": self.text("category", lang),
            "color": self.text("color", lang) or None,
            "size": list(self.sizes),
            "gender": self.gender,
            "age_group": self.age_group,
            "url": self.url,
            "image_url": self.image_url,
        }
        if self.sale_price_cents is not None:
            shown["regular_price"] = self.price_cents / 100
        return shown


@dataclass(frozen=True)
class Hit:
    """A product found, with its score."""

    item: CatalogItem
    index: int
    score: float


@dataclass(frozen=True)
class SearchResult:
    """What a search found: the filters it understood, the words it corrected, the products."""

    filters: Filters
    hits: list[Hit]
    corrected: dict[str, str]
    unknown: list[str]
    total: int
    rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def to_json(self, lang: str | None = None) -> dict[str, Any]:
        """``{"filters", "products"}`` as the CLI prints it, plus corrections and the count."""
        return {
            "filters": self.filters.understood(),
            "products": [
                {**hit.item.public(lang), "score": round(hit.score, 4)} for hit in self.hits
            ],
            "corrected": self.corrected,
            "total": self.total,
        }


ALPHA_SIZES = ("xxs", "xs", "s", "m", "l", "xl", "xxl", "xxxl")


def size_key(size: str | None) -> tuple[int, float, str]:
    """Sizes in a shopper's order: letters from XXS to XXXL, numbers by value, then the rest."""
    text = (size or "").strip().lower()
    if text in ALPHA_SIZES:
        return (0, float(ALPHA_SIZES.index(text)), text)
    head = text.split()[0] if text.split() else ""
    try:
        number = float(head.replace(",", "."))
    except ValueError:
        return (2, 0.0, text)
    months = "mois" in text or "month" in text
    return (1, number / 12 if months else number, text)


@cache
def builtin_synonyms() -> tuple[tuple[str, ...], ...]:
    """The synonym groups every workspace starts with (``data/synonyms.yaml``)."""
    text = resources.files("cxloop.assistant").joinpath("data/synonyms.yaml").read_text("utf-8")
    groups = yaml.safe_load(text)["groups"]
    return tuple(tuple(str(w) for w in group) for group in groups)


def _field_texts(item: CatalogItem) -> Iterable[tuple[str, str]]:
    """Each searchable text of a product with its field, translations included."""
    texts = {
        "title": [item.title],
        "category": [item.category],
        "brand": [item.brand],
        "color": [item.color or ""],
        "description": [item.description],
        "attributes": [str(v) for v in item.attributes.values() if isinstance(v, str)],
    }
    for translated in item.translations.values():
        if isinstance(translated, Mapping):
            for name in ("title", "category", "color", "description"):
                value = translated.get(name)
                if isinstance(value, str):
                    texts[name].append(value)
    for name, values in texts.items():
        for value in values:
            if value:
                yield name, value


def _stemmed(text: str) -> tuple[tuple[str, ...], ...]:
    """The stems of each word of a product's text, stop words left out."""
    return tuple(STEMS.both(w.text) for w in words(_joined(text)) if w.text not in STOPWORDS)


def _joined(text: str) -> str:
    folded = fold(text)
    for split, joined in JOINED.items():
        if split in folded:
            folded = folded.replace(split, joined)
    return folded


class CatalogIndex:
    """A catalog's products, ready to search (build it once per catalog change)."""

    def __init__(
        self, items: Sequence[CatalogItem], synonyms: Iterable[Iterable[str]] = ()
    ) -> None:
        self.items = list(items)
        n = len(self.items)
        terms: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        values: list[float] = []
        lengths = np.zeros(n)
        # Catalogs repeat their texts (categories, brands, colours, shared descriptions):
        # each distinct text is read once.
        stemmed: dict[str, tuple[tuple[str, ...], ...]] = {}
        for row, item in enumerate(self.items):
            weights: dict[str, float] = {}
            for name, text in _field_texts(item):
                found = stemmed.get(text)
                if found is None:
                    found = stemmed[text] = _stemmed(text)
                weight = FIELD_WEIGHTS[name]
                for stems in found:
                    for stem in stems:
                        weights[stem] = weights.get(stem, 0.0) + weight
                lengths[row] += weight * len(found)
            for term, weight in weights.items():
                rows.append(row)
                cols.append(terms.setdefault(term, len(terms)))
                values.append(weight)
        self.terms = terms
        tf = sparse.csc_matrix((values, (rows, cols)), shape=(n, max(len(terms), 1)))
        df = np.diff(tf.indptr)
        idf = np.log(1 + (n - df + 0.5) / (df + 0.5))
        average = float(lengths.mean()) if n else 1.0
        norm = K1 * (1 - B + B * lengths / max(average, 1e-9))
        # BM25 per (product, term), computed once: a search only adds columns up.
        data = tf.data * (K1 + 1) / (tf.data + norm[tf.indices]) * np.repeat(idf, df)
        self.weights = sparse.csc_matrix((data, tf.indices, tf.indptr), shape=tf.shape)
        self.document_frequency = df
        self._synonyms = self._synonym_table([*builtin_synonyms(), *synonyms])
        self._deletes: dict[str, list[str]] | None = None
        self.prices = np.array([i.unit_price_cents for i in self.items], dtype=np.int64)
        self.in_stock = np.array([i.availability == "in_stock" for i in self.items], dtype=bool)
        self.popularity = np.array([i.popularity for i in self.items], dtype=float)
        self._codes: dict[str, dict[str | None, np.ndarray]] = {}
        for name in ("color", "gender", "age_group", "brand", "category"):
            by_value: dict[str | None, list[int]] = {}
            for row, item in enumerate(self.items):
                by_value.setdefault(getattr(item, name) or None, []).append(row)
            self._codes[name] = {k: np.array(v, dtype=np.int64) for k, v in by_value.items()}
        by_size: dict[str | None, list[int]] = {}
        for row, item in enumerate(self.items):
            for size in item.sizes:
                by_size.setdefault(size, []).append(row)
        self._codes["size"] = {k: np.array(v, dtype=np.int64) for k, v in by_size.items()}
        self._rows = {item.sku: row for row, item in enumerate(self.items)}
        self._translations: dict[tuple[str, str], dict[str, str]] = {}
        for name in ("category", "color"):
            for value, _others in self._translated_values(name):
                self._translations[(name, value)] = {}
        for item in self.items:
            for name in ("category", "color"):
                value = getattr(item, name)
                if value:
                    known = self._translations.setdefault((name, value), {})
                    for lang, translated in item.translations.items():
                        if isinstance(translated, Mapping) and isinstance(
                            translated.get(name), str
                        ):
                            known.setdefault(lang, str(translated[name]))
        currencies = Counter(item.currency for item in self.items)
        self.currency = currencies.most_common(1)[0][0] if currencies else "EUR"
        self.size_order = sorted(by_size, key=size_key)
        self.vocabulary = Vocabulary.of(
            colors=self._translated_values("color"),
            brands=[b for b in self._codes["brand"] if b],
            categories=self._translated_values("category"),
            sizes=[s for s in by_size if s],
        )

    def _translated_values(self, name: str) -> list[tuple[str, list[str]]]:
        seen: dict[str, set[str]] = {}
        for item in self.items:
            value = getattr(item, name)
            if not value:
                continue
            others = seen.setdefault(value, set())
            for translated in item.translations.values():
                if isinstance(translated, Mapping) and isinstance(translated.get(name), str):
                    others.add(str(translated[name]))
        return [(value, sorted(others)) for value, others in seen.items()]

    def _synonym_table(self, groups: Iterable[Iterable[str]]) -> dict[str, frozenset[str]]:
        table: dict[str, set[str]] = {}
        for group in groups:
            stems = {s for w in group for word in words(_joined(w)) for s in STEMS.both(word.text)}
            for stem in stems:
                table.setdefault(stem, set()).update(stems)
        return {k: frozenset(v) for k, v in table.items()}

    def __len__(self) -> int:
        return len(self.items)

    def parse(self, query: str) -> Parsed:
        """The request's filters and the words left to search for."""
        return parse(_joined(query), self.vocabulary)

    def search(
        self,
        query: str,
        *,
        limit: int = 10,
        base: Filters | None = None,
        in_stock: bool = False,
        exclude: Iterable[str] = (),
    ) -> SearchResult:
        """The best ``limit`` products for ``query``; ``base`` holds filters understood before
        (a conversation's), the query's own win; ``in_stock`` keeps only what can ship now."""
        parsed = self.parse(query)
        filters = base.merged(parsed.filters) if base is not None else parsed.filters
        extra = np.ones(len(self.items), dtype=bool)
        if exclude:
            skipped = set(exclude)
            extra = np.array([item.sku not in skipped for item in self.items], dtype=bool)
        mask = self.mask(filters, in_stock=in_stock) & extra
        scores, coverage, corrected, unknown = self._scores([w.text for w in parsed.words])
        if scores is None:
            ranked = np.where(mask, self.popularity + 1.0, 0.0)
        else:
            ranked = np.where(mask, scores, 0.0)
            if parsed.filters.categories and self._kind_elsewhere(ranked, coverage, filters):
                # « robe à smocks »: the words name a product of another category better than
                # any of the one the word « robe » suggested; the category gives way.
                filters = replace(filters, categories=frozenset())
                mask = self.mask(filters, in_stock=in_stock) & extra
                ranked = np.where(mask, scores, 0.0)
        rows = np.flatnonzero(ranked > 0)
        hits = self._top(ranked, limit)
        return SearchResult(filters, hits, corrected, unknown, int(rows.size), rows)

    def _kind_elsewhere(self, ranked: np.ndarray, coverage: np.ndarray, filters: Filters) -> bool:
        """Whether, without the category, products would match more of the words."""
        inside = coverage[ranked > 0]
        outside = self.mask(replace(filters, categories=frozenset())) & (coverage > 0)
        if not outside.any():
            return False
        return inside.size == 0 or float(coverage[outside].max()) > float(inside.max()) + 1e-9

    def candidates(self, result: SearchResult) -> np.ndarray:
        """The rows of every product a search found (not only the ones shown)."""
        return result.rows

    def item(self, sku: str) -> CatalogItem | None:
        """The product with this SKU, if the catalog has it."""
        row = self._rows.get(sku)
        return self.items[row] if row is not None else None

    def knows(self, word: str) -> bool:
        """Whether the catalog (or a synonym, or a near spelling) knows this folded word."""
        if word in STOPWORDS or len(word) < 2:
            return False
        stems = set(STEMS.both(word))
        if any(s in self.terms or s in self._synonyms for s in stems):
            return True
        return self._correct(word, stems) is not None

    def translate(self, name: str, value: str, lang: str) -> str:
        """A category's or a colour's name in ``lang``, when the catalog translates it."""
        return self._translations.get((name, value), {}).get(lang, value)

    def mask(self, filters: Filters, *, in_stock: bool = False) -> np.ndarray:
        """Which products pass ``filters`` (and are in stock, when asked)."""
        keep = np.ones(len(self.items), dtype=bool)
        if filters.min_price is not None:
            keep &= self.prices >= filters.min_price
        if filters.max_price is not None:
            keep &= self.prices <= filters.max_price
        if filters.in_stock or in_stock:
            keep &= self.in_stock
        wanted: list[tuple[str, Iterable[str | None]]] = [
            ("color", filters.colors),
            ("size", filters.sizes),
            ("age_group", filters.age_groups),
            ("brand", filters.brands),
            ("category", filters.categories),
        ]
        if filters.gender is not None:
            wanted.append(("gender", (filters.gender, "unisex")))
        for name, values in wanted:
            chosen = list(values)
            if chosen:
                rows = [self._codes[name].get(v) for v in chosen]
                allowed = np.zeros(len(self.items), dtype=bool)
                for found in rows:
                    if found is not None:
                        allowed[found] = True
                keep &= allowed
        return keep

    def _top(self, ranked: np.ndarray, limit: int) -> list[Hit]:
        positive = np.flatnonzero(ranked > 0)
        if positive.size == 0 or limit <= 0:
            return []
        values = ranked[positive] + self.popularity[positive] * 1e-6
        if positive.size > limit:
            chosen = np.argpartition(-values, limit - 1)[:limit]
        else:
            chosen = np.arange(positive.size)
        order = chosen[np.argsort(-values[chosen], kind="stable")]
        return [
            Hit(self.items[int(positive[i])], int(positive[i]), float(values[i])) for i in order
        ]

    def _scores(
        self, query_words: list[str]
    ) -> tuple[np.ndarray | None, np.ndarray, dict[str, str], list[str]]:
        """BM25 of each product for the words, and the share of the words each matches."""
        corrected: dict[str, str] = {}
        unknown: list[str] = []
        columns: list[list[tuple[int, float]]] = []
        for word in query_words:
            if word in STOPWORDS or len(word) < 2:
                continue
            stems = set(STEMS.both(word))
            known = [s for s in stems if s in self.terms or s in self._synonyms]
            if not known:
                fixed = self._correct(word, stems)
                if fixed is None:
                    unknown.append(word)
                    continue
                corrected[word] = fixed
                known = [fixed]
            weights = dict.fromkeys(known, 1.0)
            for stem in known:
                for synonym in self._synonyms.get(stem, frozenset()):
                    weights.setdefault(synonym, SYNONYM_WEIGHT)
            found = [(self.terms[s], w) for s, w in weights.items() if s in self.terms]
            if found:
                columns.append(found)
            else:
                unknown.append(word)
        n = len(self.items)
        if not columns:
            return None, np.zeros(n), corrected, unknown
        total = np.zeros(n)
        matched = np.zeros(n)
        indptr, indices, data = self.weights.indptr, self.weights.indices, self.weights.data
        for found in columns:
            best = np.zeros(n)
            for column, weight in found:
                start, end = indptr[column], indptr[column + 1]
                rows = indices[start:end]
                best[rows] = np.maximum(best[rows], data[start:end] * weight)
            total += best
            matched += best > 0
        coverage = matched / len(columns)
        return total * coverage, coverage, corrected, unknown

    def _correct(self, word: str, stems: set[str]) -> str | None:
        """The known word nearest to an unknown one, if one is near enough."""
        if len(word) < 4 or word.isdigit():
            return None
        if self._deletes is None:
            table: dict[str, list[str]] = {}
            for term in [*self.terms, *self._synonyms]:
                if len(term) >= 3 and not term.isdigit():
                    for variant in {term, *deletes(term)}:
                        table.setdefault(variant, []).append(term)
            self._deletes = table
        best: tuple[int, int, str] | None = None
        for probe in {word, *stems}:
            limit = 1 if len(probe) < 7 else 2
            variants = {probe, *deletes(probe)}
            if limit == 2:
                variants |= {d for v in list(variants) for d in deletes(v)}
            for variant in variants:
                for term in self._deletes.get(variant, ()):
                    gap = distance(probe, term, limit)
                    if gap <= limit:
                        frequency = self._frequency(term)
                        candidate = (gap, -frequency, term)
                        if best is None or candidate < best:
                            best = candidate
        return best[2] if best is not None else None

    def _frequency(self, term: str) -> int:
        column = self.terms.get(term)
        if column is None:
            return 0
        return int(self.document_frequency[column])
