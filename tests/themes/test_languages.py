"""Languages beyond French and English: recognised, kept and shown, not forced into either.

Real engines throughout: the French/English check, lingua's models, the store.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from cxloop.themes import Tagger, default_taxonomy, detect_language

DATA = Path(__file__).parents[1] / "data" / "feedback"


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger(default_taxonomy(), embeddings=False)


def rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Lieferung kam zu spät, Paket beschädigt", "de"),
        ("Consegna in ritardo e pacco danneggiato", "it"),
        ("El pedido llegó tarde y la caja estaba rota", "es"),
        ("Levering was te laat en het pakket was beschadigd", "nl"),
        ("A entrega atrasou e a caixa chegou danificada", "pt"),
    ],
)
def test_a_comment_in_another_language_is_recognised_and_left_untagged(
    tagger: Tagger, text: str, lang: str
) -> None:
    # when a comment in German, Italian, Spanish, Dutch or Portuguese is tagged
    tagging = tagger.tag(text)
    # then its language is named, and it has no themes, mentions or sentiment to trust
    assert (tagging.lang, tagging.tagged) == (lang, False)
    assert (tagging.themes, tagging.mentions, tagging.sentiment) == ((), (), 0.0)
    assert detect_language(text) == lang


def test_every_comment_of_the_other_languages_set_is_recognised() -> None:
    # given 125 short comments, 25 in each of German, Italian, Spanish, Dutch and Portuguese
    other = rows("languages.csv")
    assert len(other) == 125
    # when their language is detected
    found = {r["id"]: detect_language(r["text"]) for r in other}
    # then each is named right
    assert found == {r["id"]: r["lang"] for r in other}


def test_no_french_or_english_verbatim_of_the_evaluation_sets_is_taken_for_another_language() -> (
    None
):
    # given the 1,001 French and English texts of both evaluation sets
    texts = rows("verbatims.csv") + rows("reviews.csv")
    # when their language is detected
    found = {detect_language(r["text"]) for r in texts}
    # then every one stays French or English
    assert found == {"fr", "en"}


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        # short: fewer than three words, lingua is not asked
        ("Alles gut", "fr"),
        ("Top !", "fr"),
        ("Nickel", "fr"),
        ("Perfect", "en"),
        # French and English with foreign names, brands or words in them
        ("Livraison par DHL Express depuis Hamburg, rapide", "fr"),
        ("Commande passée sur Zalando, reçue en 2 jours", "fr"),
        ("Great service from the team in Berlin, danke!", "en"),
        ("Le t-shirt Dolce Vita est top, merci", "fr"),
        ("Ordered the Bella Ciao print, arrived quickly", "en"),
        # mixed French and English
        ("Livraison rapide, great job", "fr"),
        ("Fast delivery mais colis abîmé", "fr"),
        # misspelt and SMS French
        ("livraizon tro lente, colis abimé, pa content", "fr"),
    ],
)
def test_short_mixed_or_misspelt_french_and_english_stay_french_and_english(
    tagger: Tagger, text: str, lang: str
) -> None:
    tagging = tagger.tag(text)
    assert tagging.lang in ("fr", "en")
    assert tagging.tagged is True
    assert detect_language(text) == lang


def test_the_german_comment_of_the_issue_no_longer_reads_as_english(tagger: Tagger) -> None:
    # given the comment from the issue, which used to be read as English and got no themes
    text = "Lieferung kam zu spät, Paket beschädigt"
    # then it is German, and French or English text beside it does not change that
    assert tagger.tag(text).lang == "de"
    assert tagger.tag("Livraison rapide, colis intact").lang == "fr"


def test_a_given_language_other_than_french_or_english_is_not_tagged(tagger: Tagger) -> None:
    tagging = tagger.tag("Livraison rapide", lang="es")
    assert (tagging.lang, tagging.tagged, tagging.themes) == ("es", False, ())
