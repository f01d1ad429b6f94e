"""Learned corrections: a per-workspace linear model blended with the lexicon."""

from __future__ import annotations

import json

import pytest

from cxloop.errors import InvalidInput
from cxloop.themes import LearnedModel, Tagger, Taxonomy, default_taxonomy, train_model


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    document = default_taxonomy().model_dump(mode="json")
    document["themes"].append(
        {"key": "loyalty_program", "labels": {"fr": "Fidélité", "en": "Loyalty"}}
    )
    return Taxonomy.from_document(document)


LOYALTY = [
    ("Mes points de fidélité n'ont jamais été crédités", "fr", ["loyalty_program"]),
    ("Impossible d'utiliser mes points fidélité", "fr", ["loyalty_program"]),
    (
        "La carte de fidélité ne sert à rien, les points expirent trop vite",
        "fr",
        ["loyalty_program"],
    ),
    ("Programme de fidélité génial, 10% offerts au bout de 5 commandes", "fr", ["loyalty_program"]),
    ("My loyalty points vanished from my account", "en", ["loyalty_program", "website_ux"]),
    ("Loyalty scheme points expire far too quickly", "en", ["loyalty_program"]),
]
TOURING = [
    ("Mon colis fait du tourisme dans toute la France", "fr", ["delivery_delay"]),
    ("le colis fait du tourisme depuis lundi", "fr", ["delivery_delay"]),
    ("Colis qui fait du tourisme, toujours pas là", "fr", ["delivery_delay"]),
    ("mon paquet fait du tourisme entre deux entrepôts", "fr", ["delivery_delay"]),
    ("colis en mode tourisme, merci le transporteur", "fr", ["delivery_delay"]),
]
TEA_SET = [  # "service" is the tableware here, not customer service
    ("Le service à thé est magnifique", "fr", ["product_quality"]),
    ("Service à thé en porcelaine très fin", "fr", ["product_quality"]),
    ("ce service à thé est fragile, une tasse ébréchée", "fr", ["product_quality"]),
    ("Service à thé conforme, les tasses sont jolies", "fr", ["product_quality"]),
    ("Superbe service à thé, bien emballé", "fr", ["product_quality", "packaging"]),
]


def test_a_new_theme_learned_from_corrections_tags_a_new_similar_verbatim(
    taxonomy: Taxonomy,
) -> None:
    plain = Tagger(taxonomy, embeddings=False)
    learned = Tagger(taxonomy, train_model(taxonomy, LOYALTY), embeddings=False)
    new = "mes points de fidélité ont expiré sans prévenir"
    assert "loyalty_program" not in plain.tag(new).themes
    assert "loyalty_program" in learned.tag(new).themes
    for unrelated in ("Livraison rapide, merci", "Produit cassé à l'arrivée", "Great range"):
        assert learned.tag(unrelated) == plain.tag(unrelated)


def test_a_phrase_the_lexicon_misses_is_learned(taxonomy: Taxonomy) -> None:
    plain = Tagger(taxonomy, embeddings=False)
    learned = Tagger(taxonomy, train_model(taxonomy, TOURING), embeddings=False)
    new = "Mon colis fait encore du tourisme"
    assert plain.tag(new).themes == ()
    assert learned.tag(new).themes == ("delivery_delay",)
    assert learned.tag("Le SAV est injoignable").themes == ("customer_service",)


def test_a_theme_the_lexicon_wrongly_finds_is_removed_for_similar_verbatims(
    taxonomy: Taxonomy,
) -> None:
    plain = Tagger(taxonomy, embeddings=False)
    learned = Tagger(taxonomy, train_model(taxonomy, TEA_SET), embeddings=False)
    new = "Le service à thé est très joli"
    assert "customer_service" in plain.tag(new).themes
    assert "customer_service" not in learned.tag(new).themes
    assert "customer_service" in learned.tag("Le service client est très réactif").themes


def test_the_model_weighs_more_with_more_corrections(taxonomy: Taxonomy) -> None:
    new = "Mon colis fait encore du tourisme"
    one = Tagger(taxonomy, train_model(taxonomy, TOURING[:1]), embeddings=False)
    five = Tagger(taxonomy, train_model(taxonomy, TOURING), embeddings=False)
    assert one.tag(new).themes == ()
    assert five.tag(new).themes == ("delivery_delay",)


def test_the_model_round_trips_as_plain_json(taxonomy: Taxonomy) -> None:
    model = train_model(taxonomy, LOYALTY)
    document = json.loads(json.dumps(model.to_json()))
    assert set(document) == {"format", "vocabulary", "themes"}
    assert isinstance(document["vocabulary"], list)
    again = LearnedModel.from_json(document)
    assert again.to_json() == document
    text = "programme fidélité: mes points ont disparu"
    assert (
        Tagger(taxonomy, again, embeddings=False).tag(text).themes
        == Tagger(taxonomy, model, embeddings=False).tag(text).themes
    )


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"format": 99}, "model"),
        ({"format": 1, "vocabulary": "x", "themes": {}}, "model.vocabulary"),
        ({"format": 1, "vocabulary": [], "themes": []}, "model.themes"),
        ({"format": 1, "vocabulary": ["a"], "themes": {"t": {"features": [0]}}}, "model.themes.t"),
        (
            {
                "format": 1,
                "vocabulary": ["a"],
                "themes": {
                    "t": {
                        "features": [3],
                        "coefficients": [1.0],
                        "intercept": 0,
                        "corrections": 1,
                        "evidence": 1,
                    }
                },
            },
            "model.themes.t.features",
        ),
    ],
)
def test_a_malformed_model_is_refused(document: object, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        LearnedModel.from_json(document)
    assert refused.value.field == field


def test_corrections_with_an_unknown_theme_are_refused(taxonomy: Taxonomy) -> None:
    with pytest.raises(InvalidInput) as refused:
        train_model(taxonomy, [("texte", "fr", ["no_such_theme"])])
    assert refused.value.field == "examples.0.themes.0"


def test_corrections_may_use_an_old_key(taxonomy: Taxonomy) -> None:
    document = taxonomy.model_dump(mode="json")
    for theme in document["themes"]:
        if theme["key"] == "delivery_delay":
            theme["key"] = "shipping_speed"
            theme["merged_from"] = ["delivery_delay"]
    renamed = Taxonomy.from_document(document)
    model = train_model(renamed, TOURING)
    assert set(model.themes) == {"shipping_speed"}
