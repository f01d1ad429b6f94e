"""Judge the shopper search queries of tests/data/assistant/queries.yaml against the demo catalog.

Each query in the YAML file states the constraints a correct answer must satisfy (see the
comment at the top of that file). This script checks every constraint key and value, finds
the products of ``demo_catalog(1)`` that satisfy all of a query's constraints, and writes one
JSON object per line to tests/data/assistant/queries.jsonl::

    {"id": "q001", "query": ..., "lang": ..., "tags": [...], "constraints": {...},
     "relevant": ["CHA-0206", ...]}

It exits with status 2 and a one-line message on stderr when a query is malformed, names an
unknown constraint key or value, or has no relevant product. ``matches`` and ``judge`` are
importable, so a test or a benchmark can reuse the same semantics::

    PYTHONPATH=src .venv/bin/python -m tools.judge_queries
"""

from __future__ import annotations

import argparse
import json
import sys
import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from cxloop.demo.catalog import CATEGORIES, COLOURS, MATERIALS, CatalogProduct
from cxloop.demo.generator import demo_catalog

ROOT = Path(__file__).resolve().parents[1]
QUERIES = ROOT / "tests" / "data" / "assistant" / "queries.yaml"
SEED = 1

LANGS = frozenset({"fr", "en"})
TAGS = frozenset({"typo", "gift"})
GENDERS = frozenset({"female", "male"})
AGE_GROUPS = frozenset({"newborn", "infant", "toddler", "kids", "adult"})
QUERY_KEYS = frozenset({"query", "lang", "constraints", "tags"})
CONSTRAINT_KEYS = (
    "kind",
    "category",
    "color",
    "material",
    "gender",
    "age_group",
    "min_price",
    "max_price",
    "size",
    "brand",
    "in_stock",
)
CATEGORY_LABELS = {category.key: category.fr for category in CATEGORIES}
BRANDS = frozenset(brand for category in CATEGORIES for brand in category.brands)


class QueryError(ValueError):
    """A query of the YAML file that cannot be judged: malformed, unknown or unmatched."""


def fold(text: str) -> str:
    """Lowercase without accents: « Écharpe » and « echarpe » compare equal."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def matches(product: CatalogProduct, constraints: Mapping[str, Any]) -> bool:
    """Whether ``product`` satisfies every one of ``constraints`` (checked, see ``check``)."""
    if "kind" in constraints:
        title = fold(product.title)
        if not any(fold(kind) in title for kind in constraints["kind"]):
            return False
    if "category" in constraints and product.category not in {
        CATEGORY_LABELS[key] for key in constraints["category"]
    }:
        return False
    if "color" in constraints and product.color not in {
        COLOURS[key].fr[0] for key in constraints["color"]
    }:
        return False
    if "material" in constraints and product.material not in {
        MATERIALS[key].fr for key in constraints["material"]
    }:
        return False
    if "gender" in constraints and product.gender not in {constraints["gender"], "unisex"}:
        return False
    if "age_group" in constraints and product.age_group not in constraints["age_group"]:
        return False
    price = product.unit_price_cents
    if "min_price" in constraints and price < round(constraints["min_price"] * 100):
        return False
    if "max_price" in constraints and price > round(constraints["max_price"] * 100):
        return False
    if "size" in constraints and constraints["size"] not in product.sizes:
        return False
    if "brand" in constraints and product.brand != constraints["brand"]:
        return False
    return not (constraints.get("in_stock") and product.availability != "in_stock")


def _strings(key: str, value: Any, allowed: frozenset[str] | None = None) -> None:
    if not isinstance(value, list) or not value:
        raise QueryError(f"{key} must be a non-empty list, not {value!r}")
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise QueryError(f"{key} holds {item!r}, not a non-empty string")
        if allowed is not None and item not in allowed:
            raise QueryError(f"unknown {key} {item!r}")
    if len(set(value)) != len(value):
        raise QueryError(f"{key} repeats a value: {value!r}")


def _price(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise QueryError(f"{key} must be a non-negative number of euros, not {value!r}")
    return float(value)


def check(constraints: Any, catalog: Sequence[CatalogProduct]) -> dict[str, Any]:
    """``constraints``, checked: ``QueryError`` unless it only uses known keys and values."""
    if not isinstance(constraints, dict) or not constraints:
        raise QueryError(f"constraints must be a non-empty mapping, not {constraints!r}")
    unknown = sorted(set(constraints) - set(CONSTRAINT_KEYS))
    if unknown:
        raise QueryError(f"unknown constraint key {unknown[0]!r}")
    if "kind" in constraints:
        _strings("kind", constraints["kind"])
        titles = [fold(product.title) for product in catalog]
        for kind in constraints["kind"]:
            if not any(fold(kind) in title for title in titles):
                raise QueryError(f"unknown kind {kind!r}: no product title contains it")
    if "category" in constraints:
        _strings("category", constraints["category"], frozenset(CATEGORY_LABELS))
    if "color" in constraints:
        _strings("color", constraints["color"], frozenset(COLOURS))
    if "material" in constraints:
        _strings("material", constraints["material"], frozenset(MATERIALS))
    if "gender" in constraints and constraints["gender"] not in GENDERS:
        raise QueryError(f"unknown gender {constraints['gender']!r}")
    if "age_group" in constraints:
        _strings("age_group", constraints["age_group"], AGE_GROUPS)
    low = _price("min_price", constraints["min_price"]) if "min_price" in constraints else 0.0
    if "max_price" in constraints and _price("max_price", constraints["max_price"]) < low:
        raise QueryError("max_price is below min_price")
    if "size" in constraints:
        size = constraints["size"]
        if not isinstance(size, str) or not any(size in product.sizes for product in catalog):
            raise QueryError(f"unknown size {size!r}")
    if "brand" in constraints and constraints["brand"] not in BRANDS:
        raise QueryError(f"unknown brand {constraints['brand']!r}")
    if "in_stock" in constraints and constraints["in_stock"] is not True:
        raise QueryError(f"in_stock can only be true, not {constraints['in_stock']!r}")
    return constraints


def _entry(number: int, raw: Any, catalog: Sequence[CatalogProduct]) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise QueryError(f"a query must be a mapping, not {raw!r}")
    unknown = sorted(set(raw) - QUERY_KEYS)
    if unknown:
        raise QueryError(f"unknown query key {unknown[0]!r}")
    query = raw.get("query")
    if not isinstance(query, str) or not query.strip():
        raise QueryError(f"query must be a non-empty string, not {query!r}")
    if raw.get("lang") not in LANGS:
        raise QueryError(f"unknown lang {raw.get('lang')!r}")
    tags = raw.get("tags", [])
    if tags:
        _strings("tags", tags, TAGS)
    constraints = check(raw.get("constraints"), catalog)
    relevant = sorted(product.sku for product in catalog if matches(product, constraints))
    if not relevant:
        raise QueryError("no product of the catalog is relevant")
    return {
        "id": f"q{number:03d}",
        "query": query,
        "lang": raw["lang"],
        "tags": list(tags),
        "constraints": constraints,
        "relevant": relevant,
    }


def judge(
    path: Path | str = QUERIES, catalog: Sequence[CatalogProduct] | None = None
) -> list[dict[str, Any]]:
    """Every query of the YAML file at ``path`` with its id and its relevant SKUs, sorted.

    Raises ``QueryError``, naming the query, on the first one that cannot be judged.
    """
    products = demo_catalog(SEED) if catalog is None else catalog
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(raw, list) or not raw:
        raise QueryError(f"{path}: expected a non-empty YAML list of queries")
    judged: list[dict[str, Any]] = []
    seen: set[str] = set()
    for number, item in enumerate(raw, start=1):
        try:
            entry = _entry(number, item, products)
            text = " ".join(fold(entry["query"]).split())
            if text in seen:
                raise QueryError("the same query appears twice")
            seen.add(text)
        except QueryError as error:
            label = item.get("query") if isinstance(item, dict) else None
            raise QueryError(f"{path}: query {number} ({label!r}): {error}") from error
        judged.append(entry)
    return judged


def main(argv: Sequence[str] | None = None) -> int:
    """Judge the queries and write the JSON lines file; 2 on the first bad query."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("queries", nargs="?", type=Path, default=QUERIES)
    parser.add_argument("-o", "--output", type=Path, help="default: the .jsonl beside the YAML")
    args = parser.parse_args(argv)
    output: Path = args.output or args.queries.with_suffix(".jsonl")
    try:
        judged = judge(args.queries)
    except (QueryError, OSError, yaml.YAMLError) as error:
        message = " ".join(str(error).split())
        print(f"judge_queries: {message}", file=sys.stderr)
        return 2
    lines = (json.dumps(entry, ensure_ascii=False) + "\n" for entry in judged)
    output.write_text("".join(lines), encoding="utf-8")
    print(f"{len(judged)} queries judged, written to {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
