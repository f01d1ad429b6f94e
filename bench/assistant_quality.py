"""Catalog search quality on the shopper queries, beside a plain BM25 baseline.

Reads ``tests/data/assistant/queries.jsonl`` (381 queries in French and English over the demo
catalog, written from the catalog's data, each with the constraints its text states and the
products that satisfy them all: ``tools/judge_queries.py``) and searches each with:

- **cxloop**: the assistant's catalog search (``cxloop.assistant.CatalogIndex``): filters read
  from the words, French and English stems, translations, typo correction, synonyms;
- **plain BM25**: Okapi BM25 (k1 1.2, b 0.75) over the French title and description, words
  folded and split, nothing else: no stemming, no translations, no filters.

Both see the same 500 products (``demo_catalog(1)``, as the demo stores them). For each it
prints NDCG@5 (binary relevance), precision@5, the share of queries with no result, and the
share of returned products (top 5) that break a constraint the query states as a filter: price,
colour, size, gender, age group, brand or stock. By language and by tag (``typo``, ``gift``).

    .venv/bin/python bench/assistant_quality.py
    .venv/bin/python bench/assistant_quality.py --errors   # cxloop's misses, query by query
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tools.judge_queries import matches  # noqa: E402

from cxloop.assistant import CatalogIndex  # noqa: E402
from cxloop.assistant.text import words  # noqa: E402
from cxloop.demo.catalog import CatalogProduct  # noqa: E402
from cxloop.demo.generator import demo_catalog  # noqa: E402
from cxloop.folding import fold  # noqa: E402

QUERIES = ROOT / "tests" / "data" / "assistant" / "queries.jsonl"
K = 5
FILTER_KEYS = (
    "min_price",
    "max_price",
    "color",
    "size",
    "gender",
    "age_group",
    "brand",
    "in_stock",
)


@dataclass(frozen=True)
class Query:
    """One evaluation query."""

    id: str
    text: str
    lang: str
    tags: tuple[str, ...]
    constraints: dict[str, Any]
    relevant: frozenset[str]


def read_queries(path: Path) -> list[Query]:
    """The evaluation set."""
    found = []
    for line in path.read_text("utf-8").splitlines():
        row = json.loads(line)
        found.append(
            Query(
                row["id"],
                row["query"],
                row["lang"],
                tuple(row.get("tags", ())),
                row["constraints"],
                frozenset(row["relevant"]),
            )
        )
    return found


class PlainBM25:
    """Okapi BM25 over folded words of the French title and description."""

    def __init__(self, products: Sequence[CatalogProduct], k1: float = 1.2, b: float = 0.75):
        self.skus = [p.sku for p in products]
        docs = [Counter(w.text for w in words(f"{p.title} {p.description}")) for p in products]
        self.docs = docs
        lengths = np.array([sum(d.values()) for d in docs], dtype=float)
        self.norm = k1 * (1 - b + b * lengths / lengths.mean())
        self.k1 = k1
        frequency: Counter[str] = Counter()
        for doc in docs:
            frequency.update(doc.keys())
        n = len(docs)
        self.idf = {t: math.log(1 + (n - df + 0.5) / (df + 0.5)) for t, df in frequency.items()}

    def search(self, query: str, limit: int) -> list[str]:
        terms = [w.text for w in words(fold(query))]
        scores = np.zeros(len(self.docs))
        for row, doc in enumerate(self.docs):
            for term in terms:
                tf = doc.get(term, 0)
                if tf:
                    scores[row] += self.idf[term] * tf * (self.k1 + 1) / (tf + self.norm[row])
        order = np.argsort(-scores, kind="stable")[:limit]
        return [self.skus[i] for i in order if scores[i] > 0]


def ndcg(found: Sequence[str], relevant: frozenset[str], k: int = K) -> float:
    """NDCG@k with binary relevance."""
    gain = sum(1 / math.log2(i + 2) for i, sku in enumerate(found[:k]) if sku in relevant)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(k, len(relevant))))
    return gain / ideal if ideal else 0.0


@dataclass
class Score:
    """A system's figures over a group of queries."""

    queries: int = 0
    ndcg: float = 0.0
    precision: float = 0.0
    empty: int = 0
    returned: int = 0
    broken: int = 0

    def row(self) -> list[str]:
        n = max(self.queries, 1)
        broken = self.broken / self.returned if self.returned else 0.0
        return [
            str(self.queries),
            f"{self.ndcg / n:.3f}",
            f"{self.precision / n:.3f}",
            f"{self.empty / n:.1%}",
            f"{broken:.1%}",
        ]


def evaluate(
    queries: Sequence[Query],
    search: Callable[[str], list[str]],
    products: dict[str, CatalogProduct],
) -> tuple[dict[str, Score], list[tuple[Query, list[str], float]]]:
    """Figures by group (all, fr, en, each tag) and each query's result with its NDCG."""
    groups: dict[str, Score] = {}
    misses = []
    for query in queries:
        found = search(query.text)[:K]
        value = ndcg(found, query.relevant)
        stated = {k: v for k, v in query.constraints.items() if k in FILTER_KEYS}
        broken = sum(1 for sku in found if stated and not matches(products[sku], stated))
        for group in ("all", query.lang, *query.tags):
            score = groups.setdefault(group, Score())
            score.queries += 1
            score.ndcg += value
            score.precision += sum(sku in query.relevant for sku in found) / K
            score.empty += not found
            score.returned += len(found)
            score.broken += broken
        misses.append((query, found, value))
    return groups, misses


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--errors", action="store_true", help="print cxloop's weakest queries")
    args = parser.parse_args(argv)
    queries = read_queries(QUERIES)
    catalog = demo_catalog(1)
    products = {p.sku: p for p in catalog}
    index = CatalogIndex([p.search_item() for p in catalog])
    baseline = PlainBM25(catalog)
    systems = {
        "cxloop": lambda text: [h.item.sku for h in index.search(text, limit=K).hits],
        "plain BM25": lambda text: baseline.search(text, K),
    }
    results = {name: evaluate(queries, search, products) for name, search in systems.items()}
    print(f"# Catalog search quality: {len(queries)} shopper queries, {len(catalog)} products\n")
    print("| system | group | queries | NDCG@5 | P@5 | no result | returned breaking a filter |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for name, (groups, _misses) in results.items():
        for group in ("all", "fr", "en", "typo", "gift"):
            if group in groups:
                print("| " + " | ".join([name, group, *groups[group].row()]) + " |")
    if args.errors:
        _groups, misses = results["cxloop"]
        for query, found, value in sorted(misses, key=lambda m: m[2])[:60]:
            if value >= 1.0:
                break
            print(f"\n{query.id} {value:.2f} {query.text!r} {query.constraints}")
            print(f"   relevant: {sorted(query.relevant)[:8]}")
            for sku in found:
                mark = "+" if sku in query.relevant else "-"
                p = products[sku]
                print(
                    f"   {mark} {sku} {p.title} {p.unit_price_cents / 100} {p.gender} {p.age_group}"
                )


if __name__ == "__main__":
    main()
