"""Catalog search for shoppers' words: filters read from the text, both languages, typos,
synonyms, the CLI's contract."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cxloop.assistant import CatalogIndex, CatalogItem
from cxloop.demo.generator import demo_catalog
from cxloop.store.db import Database
from tests.helpers.catalog import stock_demo_catalog

CXLOOP = str(Path(sys.executable).with_name("cxloop"))


@pytest.fixture(scope="module")
def index() -> CatalogIndex:
    return CatalogIndex([p.search_item() for p in demo_catalog(1)])


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("moins de 50 €", None, 5000),
        ("pas plus de 40 balles", None, 4000),
        ("max 30e", None, 3000),
        ("sous les 60 euros", None, 6000),
        ("entre 20 et 30 €", 2000, 3000),
        ("de 20 à 35 euros", 2000, 3500),
        ("under $40", None, 4000),
        ("less than 50 bucks", None, 5000),
        ("between 30 and 60", 3000, 6000),
        ("50 € max", None, 5000),
        ("à partir de 100 €", 10000, None),
        ("from 150 euros", 15000, None),
        ("autour de 50 €", 4000, 6000),
        ("un pull à 49,90 €", None, 4990),
    ],
)
def test_prices_are_read_as_filters_not_words(
    index: CatalogIndex, text: str, low: int | None, high: int | None
) -> None:
    parsed = index.parse(f"pull {text}")
    assert (parsed.filters.min_price, parsed.filters.max_price) == (low, high)
    assert [w.text for w in parsed.words] == ["pull"] or not any(
        w.text.isdigit() for w in parsed.words
    )


def test_an_age_is_not_a_price_and_a_size_is_not_an_age(index: CatalogIndex) -> None:
    assert index.parse("moins de 3 ans").filters.max_price is None
    assert index.parse("un jouet pour un enfant de 5 ans").filters.age_groups == {
        "toddler",
        "kids",
    }
    sized = index.parse("salopette taille 6 ans").filters
    assert sized.sizes == {"6 ans"} and not sized.age_groups


def test_colours_agree_in_french_and_english(index: CatalogIndex) -> None:
    assert index.parse("des baskets blanches").filters.colors == {"blanc"}
    assert index.parse("une robe noire").filters.colors == {"noir"}
    assert index.parse("navy jumper").filters.colors == {"bleu marine"}
    blues = index.parse("un pull bleu").filters.colors
    assert {"bleu marine", "bleu ciel"} <= blues and "noir" not in blues


def test_whole_request_white_trainers_for_women(index: CatalogIndex) -> None:
    result = index.search("des baskets blanches pour femme à moins de 80 euros", limit=10)
    assert result.filters.understood() == {
        "max_price": 80.0,
        "color": ["blanc"],
        "gender": "female",
        "age_group": ["adult"],
    }
    assert result.hits
    for hit in result.hits:
        item = hit.item
        assert item.color == "blanc" and item.unit_price_cents <= 8000
        assert item.gender in ("female", "unisex")
    assert result.hits[0].item.title.startswith("Baskets")


def test_english_words_find_french_titles_and_the_reverse(index: CatalogIndex) -> None:
    english = index.search("linen shirt dress", limit=3)
    assert english.hits and all("Robe chemise" in h.item.title for h in english.hits)
    french = CatalogIndex(
        [
            CatalogItem(
                sku="A",
                title="Wool scarf",
                price_cents=3000,
                translations={"fr": {"title": "Écharpe en laine"}},
            ),
            CatalogItem(sku="B", title="Cotton socks", price_cents=900),
        ]
    )
    assert [h.item.sku for h in french.search("écharpe laine").hits] == ["A"]


def test_typos_and_missing_accents_are_corrected(index: CatalogIndex) -> None:
    result = index.search("chausures en cuire", limit=5)
    assert result.corrected.get("chausures", "").startswith("chaussur")
    assert result.hits and all(h.item.category == "Chaussures" for h in result.hits)
    assert index.search("theiere").hits[0].item.title.startswith("Théière")


def test_synonyms_built_in_and_the_workspace_s_own(index: CatalogIndex) -> None:
    sneakers = index.search("white sneakers", limit=3)
    assert sneakers.hits[0].item.title.startswith("Baskets")
    own = CatalogIndex(
        [CatalogItem(sku="A", title="Marinière rayée", price_cents=4000)],
        synonyms=[["mariniere", "breton"]],
    )
    assert [h.item.sku for h in own.search("breton top").hits] == ["A"]


def test_a_category_word_gives_way_when_the_words_name_a_product_elsewhere(
    index: CatalogIndex,
) -> None:
    # « robe » suggests the Robes category; « à smocks » is a child's dress (Mode enfant)
    result = index.search("robe à smocks bleu marine", limit=3)
    smocked = [h.item.title for h in result.hits if "smocks" in h.item.title]
    assert len(smocked) == 2 and "smocks" in result.hits[0].item.title
    assert "category" not in result.filters.understood()


def test_in_stock_is_understood_and_enforced(index: CatalogIndex) -> None:
    result = index.search("robe en stock", limit=50)
    assert result.filters.in_stock
    assert all(h.item.availability == "in_stock" for h in result.hits)


def test_the_cli_prints_filters_and_products_with_catalog_fields(tmp_path: Path) -> None:
    environ = {
        **os.environ,
        "CXLOOP_HOME": str(tmp_path / "home"),
        "CXLOOP_DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}",
    }

    def cxloop(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [CXLOOP, *args], env=environ, capture_output=True, text=True, timeout=120
        )

    ws = json.loads(cxloop("workspace", "create", "Lou", "--json").stdout)["workspace_id"]
    stock_demo_catalog(Database(environ["CXLOOP_DATABASE_URL"]), ws)
    query = "des baskets blanches pour femme à moins de 80 euros"
    done = cxloop("catalog", "search", query, "--workspace", ws, "--limit", "3", "--json")
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert printed["filters"]["max_price"] == 80.0 and printed["filters"]["color"] == ["blanc"]
    fields = {"id", "title", "price", "currency", "availability", "brand", "category", "color"}
    fields |= {"size", "gender", "age_group"}
    assert printed["products"] and all(fields <= set(p) for p in printed["products"])
    assert printed["products"][0]["gender"] in ("female", "unisex")
    # a bad argument: one line on stderr, exit 2
    refused = cxloop("catalog", "search", "robe", "--workspace", "nope", "--json")
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.count("\n") == 1 and "--workspace" in refused.stderr
