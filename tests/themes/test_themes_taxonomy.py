"""Per-workspace taxonomies: YAML round trip, refusals, custom, renamed and merged themes."""

from __future__ import annotations

from typing import Any

import pytest

from cxloop.errors import InvalidInput
from cxloop.themes import Tagger, Taxonomy, default_taxonomy


def with_themes(*extra: dict[str, Any], drop: tuple[str, ...] = ()) -> Taxonomy:
    """The default taxonomy without ``drop``, plus ``extra`` themes."""
    document = default_taxonomy().model_dump(mode="json")
    document["themes"] = [t for t in document["themes"] if t["key"] not in drop] + list(extra)
    return Taxonomy.from_document(document)


def test_yaml_round_trips_without_loss() -> None:
    taxonomy = default_taxonomy()
    text = taxonomy.to_yaml()
    assert "delivery_delay" in text and "Délais de livraison" in text
    assert Taxonomy.from_yaml(text) == taxonomy


@pytest.mark.parametrize(
    ("text", "field", "says"),
    [
        ("themes: [", "body", "invalid YAML"),
        ("- a list", "body", "mapping"),
        ("themes: []", "themes", "at least 1"),
        ("themes:\n  - key: Bad Key\n    labels: {fr: a, en: b}", "themes.0.key", "pattern"),
        ("themes:\n  - key: ok\n    labels: {fr: a}", "themes.0.labels", "en"),
        (
            "themes:\n  - key: ok\n    labels: {fr: a, en: b}\n    seeds: {fr: ['']}",
            "themes.0.seeds",
            "blank",
        ),
        (
            "themes:\n  - key: ok\n    labels: {fr: a, en: b}\n    seeds: {xx: [x]}",
            "themes.0.seeds.xx",
            "not an ISO 639-1 language code",
        ),
        (
            "themes:\n  - key: ok\n    labels: {fr: a, en: b, DE: c}",
            "themes.0.labels.DE",
            "not an ISO 639-1 language code",
        ),
        (
            "themes:\n  - key: ok\n    labels: {fr: a, en: b}\n    colour: red",
            "themes.0.colour",
            "",
        ),
        (
            "themes:\n  - key: a\n    labels: {fr: a, en: a}\n"
            "  - key: a\n    labels: {fr: b, en: b}",
            "themes.1.key",
            "used twice",
        ),
        (
            "themes:\n  - key: a\n    labels: {fr: a, en: a}\n"
            "  - key: b\n    labels: {fr: b, en: b}\n    merged_from: [a]",
            "themes.1.merged_from.0",
            "still the key",
        ),
    ],
)
def test_a_bad_taxonomy_is_refused_with_its_field(text: str, field: str, says: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        Taxonomy.from_yaml(text)
    assert refused.value.field == field
    assert says in refused.value.message


def test_a_custom_theme_matches_its_seeds_with_stemming_in_both_languages() -> None:
    taxonomy = with_themes(
        {
            "key": "loyalty_program",
            "labels": {"fr": "Fidélité", "en": "Loyalty"},
            "seeds": {"fr": ["points de fidélité", "carte fidélité"], "en": ["loyalty points"]},
        }
    )
    tagger = Tagger(taxonomy, embeddings=False)
    assert tagger.tag("Mes points de fidélité ont disparu").themes == ("loyalty_program",)
    assert "loyalty_program" in tagger.tag("ma carte de fidelite ne marche plus", lang="fr").themes
    assert tagger.tag("My loyalty point balance is wrong").themes == ("loyalty_program",)
    assert tagger.tag("Livraison rapide").themes == ("delivery_delay",)


def test_a_custom_theme_honours_its_excludes() -> None:
    taxonomy = with_themes(
        {
            "key": "gift_cards",
            "labels": {"fr": "Cartes cadeaux", "en": "Gift cards"},
            "seeds": {"en": ["gift card"]},
            "excludes": {"en": ["birthday gift card"]},
        }
    )
    tagger = Tagger(taxonomy, embeddings=False)
    assert "gift_cards" in tagger.tag("The gift card could not be used online").themes
    assert "gift_cards" not in tagger.tag("I wrote a birthday gift card").themes


def test_a_merged_theme_keeps_both_lexicons_and_resolves_the_old_keys() -> None:
    taxonomy = with_themes(
        {
            "key": "delivery",
            "labels": {"fr": "Livraison", "en": "Delivery"},
            "merged_from": ["delivery_delay", "delivery_cost"],
        },
        drop=("delivery_delay", "delivery_cost"),
    )
    tagger = Tagger(taxonomy, embeddings=False)
    assert tagger.tag("Frais de port trop chers").themes == ("delivery",)
    assert tagger.tag("Colis perdu par Chronopost").themes == ("delivery",)
    assert taxonomy.resolve("delivery_cost") == "delivery"
    assert taxonomy.theme("delivery_delay").key == "delivery"
    assert taxonomy.resolve("nope") is None
    with pytest.raises(KeyError):
        taxonomy.theme("nope")


def test_a_renamed_theme_keeps_its_lexicon_and_a_split_one_starts_from_its_seeds() -> None:
    taxonomy = with_themes(
        {
            "key": "shipping_speed",
            "labels": {"fr": "Rapidité", "en": "Speed"},
            "merged_from": ["delivery_delay"],
        },
        {
            "key": "lost_parcels",
            "labels": {"fr": "Colis perdus", "en": "Lost parcels"},
            "seeds": {"fr": ["colis perdu"], "en": ["lost parcel"]},
        },
        drop=("delivery_delay",),
    )
    tagger = Tagger(taxonomy, embeddings=False)
    assert tagger.tag("Livraison en 24h, parfait").themes == ("shipping_speed",)
    assert "lost_parcels" in tagger.tag("They lost my parcel").themes
    assert "lost_parcels" not in tagger.tag("Livraison en 24h").themes
