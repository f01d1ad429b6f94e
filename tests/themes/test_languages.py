"""Languages beyond French and English: recognised, kept and shown, not forced into either.

Real engines throughout: the French/English check, lingua's models, the store.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update

from cxloop.store.db import Database
from cxloop.surveys.models import Response
from cxloop.themes import Tagger, Taxonomy, default_taxonomy, detect_language, train_model
from cxloop.themes import service as tagging
from tests.helpers import factories as f
from tests.helpers.console import login

DATA = Path(__file__).parents[1] / "data" / "feedback"
NOW = dt.datetime.now(dt.UTC)
GERMAN = "Lieferung kam zu spät, Paket beschädigt"


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


# ------------------------------------------------------------------ answers, drivers, console


def stored(db: Database, response_id: int) -> tuple[str | None, list[str], float | None]:
    with db.session() as session:
        response = session.get(Response, response_id)
        assert response is not None
        return response.lang, list(response.themes), response.sentiment


def test_a_recorded_answer_keeps_its_language_and_is_left_untagged(
    db: Database, make_workspace
) -> None:
    ws = make_workspace("Haus Lou").workspace_id
    # when a German and a French answer are recorded
    german = f.answer(db, ws, 2, GERMAN, NOW)
    french = f.answer(db, ws, 3, "Livraison en retard et colis abîmé", NOW)
    # then the German one keeps its text and language, with no themes and no sentiment
    assert stored(db, german) == ("de", [], None)
    lang, themes, sentiment = stored(db, french)
    assert (lang, themes) == ("fr", ["delivery_delay", "packaging"])
    assert sentiment is not None and sentiment < 0


def test_re_tagging_gives_older_answers_their_language(db: Database, make_workspace) -> None:
    # given answers recorded before their language was kept (migration 0012)
    ws = make_workspace("Haus Lou").workspace_id
    german = f.answer(db, ws, 2, GERMAN, NOW)
    french = f.answer(db, ws, 9, "Super qualité", NOW)
    with db.session() as session:
        session.execute(update(Response).values(lang=None, themes=["packaging"], sentiment=0.5))
    # when the history is re-tagged
    assert tagging.retag_all(db, ws) == 2
    # then each answer has its language, and the German one loses the themes it cannot have
    assert stored(db, german) == ("de", [], None)
    assert stored(db, french)[:2] == ("fr", ["product_quality"])


def test_answers_in_other_languages_count_in_the_nps_not_in_the_drivers(
    app: FastAPI, db: Database, make_workspace
) -> None:
    # given three French detractors about deliveries, a German detractor and a French promoter
    keys = make_workspace("Haus Lou")
    ws = keys.workspace_id
    for _ in range(3):
        f.answer(db, ws, 2, "Livraison beaucoup trop lente", NOW)
    f.answer(db, ws, 1, GERMAN, NOW)
    f.answer(db, ws, 10, "Très bon service client", NOW)
    # when the key drivers are asked for
    with TestClient(app) as client:
        report = client.get(
            "/api/v1/nps/drivers", headers={"Authorization": f"Bearer {keys.admin_key}"}
        ).json()
    # then the NPS counts all five answers and the drivers the four that were read
    assert (report["n"], report["not_tagged"]) == (5, 1)
    assert report["nps"]["nps"] == pytest.approx(100 * (1 - 4) / 5)
    delivery = next(d for d in report["drivers"] if d["theme"] == "delivery_delay")
    assert (delivery["mentions"], delivery["detractors"]) == (3, 3)
    assert delivery["detractor_share"] == 1.0  # 3 of the 3 French detractors, not 3 of 4
    assert delivery["impact"] == pytest.approx(100 * 3 / 4)


@pytest.mark.parametrize(
    ("locale", "label", "count"),
    [
        ("fr", "non étiqueté (allemand)", "Réponses dans une autre langue : 1."),
        ("en", "not tagged (German)", "Answers in another language: 1."),
    ],
)
def test_the_nps_page_shows_and_filters_the_answers_in_other_languages(
    app: FastAPI, db: Database, make_workspace, make_user, locale: str, label: str, count: str
) -> None:
    # given a German and a French answer
    ws = make_workspace("Haus Lou").workspace_id
    f.answer(db, ws, 1, GERMAN, NOW)
    f.answer(db, ws, 9, "Livraison rapide, merci", NOW)
    make_user("owner@example.com", ws, locale=locale)
    # when the owner reads the NPS page, then only the answers in other languages
    with TestClient(app) as client:
        login(client, "owner@example.com")
        page = client.get(f"/w/{ws}/nps").text
        other = client.get(f"/w/{ws}/nps?lang=other").text
    # then the German comment is shown, marked as not tagged with its language's name
    listed = page[page.index('id="verbatims"') :]
    assert GERMAN in listed and "Livraison rapide" in listed
    assert listed.count(label) == 1
    assert '<blockquote lang="de"' in listed
    # and the drivers say how many answers they leave out, linking to them
    drivers = page[page.index('id="drivers"') : page.index('id="verbatims"')]
    assert count in drivers and "lang=other#verbatims" in drivers
    # and the filter keeps only them
    filtered = other[other.index('id="verbatims"') :]
    assert GERMAN in filtered and "Livraison rapide" not in filtered
    assert 'value="other" selected' in filtered


# ------------------------------------------------------------------ taxonomy


THIRD_LANGUAGE = """themes:
- key: delivery
  labels: {fr: Livraison, en: Delivery, de: Lieferung}
  definitions: {fr: Délais de livraison., en: Delivery time., de: Lieferzeit.}
  seeds: {fr: [livraison rapide], en: [fast delivery], de: [schnelle Lieferung]}
  merged_from: [delivery_delay]
"""


def test_a_taxonomy_with_a_third_language_is_accepted_and_a_bad_code_refused(
    app: FastAPI, make_workspace
) -> None:
    keys = make_workspace("Haus Lou")
    headers = {"Authorization": f"Bearer {keys.admin_key}", "Content-Type": "application/yaml"}
    with TestClient(app) as client:
        saved = client.put("/api/v1/feedback/taxonomy", content=THIRD_LANGUAGE, headers=headers)
        read = client.get("/api/v1/feedback/taxonomy", headers=headers).json()
        refused = client.put(
            "/api/v1/feedback/taxonomy",
            content=THIRD_LANGUAGE.replace("de: Lieferung}", "deutsch: Lieferung}"),
            headers=headers,
        )
    assert saved.status_code == 200, saved.text
    assert read["themes"][0]["labels"] == {"fr": "Livraison", "en": "Delivery", "de": "Lieferung"}
    assert read["themes"][0]["seeds"]["de"] == ["schnelle Lieferung"]
    assert refused.status_code == 422
    assert refused.json()["field"] == "themes.0.labels.deutsch"
    assert "not an ISO 639-1 language code" in refused.json()["detail"]


def test_a_third_languages_seeds_and_corrected_foreign_answers_do_not_trouble_the_model() -> None:
    # given a taxonomy with Swedish seeds, and corrections on a German and a French verbatim
    taxonomy = Taxonomy.from_yaml(
        THIRD_LANGUAGE.replace("de: [schnelle Lieferung]", "sv: [snabb leverans]")
    )
    examples = [
        (GERMAN, None, ["delivery"]),
        ("Colis arrivé en 2 jours, top", "fr", ["delivery"]),
    ]
    # when the workspace's model is trained on them
    model = train_model(taxonomy, examples)
    # then it trains on what it can read, and tagging with it still works
    assert Tagger(taxonomy, model, embeddings=False).tag(GERMAN).tagged is False
