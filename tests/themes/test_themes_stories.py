"""The tagger on longer, story-like reviews: context words, weak asides, stems and verdicts."""

from __future__ import annotations

import pytest

from cxloop.themes import Tagger, default_taxonomy, lexicon, sentiment
from cxloop.themes.text import Corrector, Keys


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger(default_taxonomy(), embeddings=False)


@pytest.mark.parametrize(
    ("text", "absent"),
    [
        # A duration or an event inside a story is not a delivery judgement.
        ("The blender died after 3 weeks and the support team never answered.", "delivery_delay"),
        ("L'appli envoie 6 notifications par jour, c'est trop.", "delivery_delay"),
        ("Retour gratuit, remboursement reçu en 5 jours.", "delivery_delay"),
        ("My refund arrived 4 days after they got the parcel back.", "delivery_delay"),
        # Paying, a bank card or a "basket" named in passing is not about the checkout.
        ("J'ai payé 60€ pour un jean qui s'est troué au premier lavage.", "website_ux"),
        ("I had £20 in my basket and still paid for shipping, a bit steep.", "website_ux"),
        ("Je me suis rendu compte que le pull était moins cher ailleurs.", "website_ux"),
        ("Moins cher que sur les autres sites que j'ai regardés.", "website_ux"),
        # Idioms that share a stem with a theme word.
        ("Bought it as a birthday present for my niece, she loved it.", "packaging"),
        ("I rang them twice and the lady sorted my address change.", "product_choice"),
        ("Arrived on time, well wrapped. No complaints.", "customer_service"),
        ("Fourth order and it won't be my last.", "product_quality"),
        ("Le robot pâtissier est puissant et silencieux.", "customer_service"),
        ("The coat feels expensive and keeps me warm.", "price"),
        ("Huge credit to the warehouse team, everything was there.", "returns_refunds"),
        # A verb of another theme's topic belongs to it.
        ("Le formulaire de contact ne fonctionne pas sur mobile.", "product_quality"),
        ("Le carton était solide et bien fermé.", "product_quality"),
        ("The parcel only had the lamp, I didn't get the bulbs I paid for.", "delivery_delay"),
    ],
)
def test_story_context_is_not_tagged(tagger: Tagger, text: str, absent: str) -> None:
    assert absent not in tagger.tag(text).themes


@pytest.mark.parametrize(
    ("text", "theme"),
    [
        # Weak asides still count when the verbatim is short, or backed by another phrase.
        ("Still waiting.", "delivery_delay"),
        ("Reçu en 3 jours.", "delivery_delay"),
        ("Ordered on Monday, it arrived 2 days later.", "delivery_delay"),
        ("Ma machine à café ne fonctionne pas.", "product_quality"),
        ("Item as described, fast postage.", "delivery_delay"),
        ("£6 delivery on a £10 order is too much.", "delivery_cost"),
    ],
)
def test_short_or_backed_mentions_still_count(tagger: Tagger, text: str, theme: str) -> None:
    assert theme in tagger.tag(text).themes


def test_weak_asides_are_asides_of_their_theme() -> None:
    for key, by_lang in lexicon.WEAK.items():
        for lang, phrases in by_lang.items():
            assert phrases <= set(lexicon.THEMES[key][lang].aside), (key, lang)


def test_the_corrector_keeps_the_first_letter_and_an_accented_word() -> None:
    corrector = Corrector(["range", "preorder", "plante", "livre", "delivery"])
    assert corrector("delivary") == "delivery"
    assert corrector("orange") is None  # not "range"
    assert corrector("reorder") is None  # not "preorder"
    assert corrector("planete", accented=True) is None  # "planète" was typed on purpose
    assert corrector("livree", accented=True) == "livre"  # only its ending changes


def test_polar_words_whose_stem_is_a_common_word_are_keyed_whole() -> None:
    keys = Keys("fr", whole=sentiment.WHOLE["fr"])
    assert keys("abordable") == keys("abordables") != keys("abord")
    assert keys("commande") != keys("commanderai")
    keys_en = Keys("en", whole=sentiment.WHOLE["en"])
    assert keys_en("helpful") != keys_en("help")


@pytest.mark.parametrize(
    ("text", "sign"),
    [
        # Neutral words no longer carry the tone of a polar word with the same stem.
        ("D'abord la commande, puis le paiement, en raison du stock.", 0),
        ("I asked for help with my refund.", 0),
        # Colloquial praise and complaints.
        ("Ils tiennent parole, et la vendeuse s'y connaissait vraiment.", 1),
        ("Parcel never turned up and no replies to my emails.", -1),
    ],
)
def test_story_sentiment(tagger: Tagger, text: str, sign: int) -> None:
    value = tagger.tag(text).sentiment
    assert (0 if abs(value) < 0.2 else (1 if value > 0 else -1)) == sign, value


def test_the_last_sentence_is_the_verdict(tagger: Tagger) -> None:
    text = "The sofa is comfy and the fabric is nice. Delivery was a nightmare, never again."
    assert tagger.tag(text).sentiment < -0.2


def test_a_resolved_complaint_ends_near_neutral(tagger: Tagger) -> None:
    story = "Parcel lost, two emails ignored, awful.\nUPDATE: refunded in full, great service."
    complaint = "Parcel lost, two emails ignored, awful."
    assert tagger.tag(complaint).sentiment < -0.2
    assert abs(tagger.tag(story).sentiment) < 0.2
    spoiled = "Lovely shoes, very comfy.\nEDIT: the sole came off after a week, terrible."
    assert tagger.tag(spoiled).sentiment < -0.2
