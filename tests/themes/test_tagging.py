"""Themes on answers: tagged when recorded, corrected in the console, learned, re-tagged."""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from cxloop.profiles.models import Customer
from cxloop.store.db import Database
from cxloop.surveys import AnswerTags
from cxloop.surveys.models import Response
from cxloop.themes import Tagger, Taxonomy
from cxloop.themes import service as tagging
from cxloop.themes.models import ThemeCorrection
from cxloop.themes.tasks import feedback_retag
from cxloop.worker import service as runs
from tests.helpers import factories as f
from tests.helpers.console import login
from tests.helpers.services import RunningWorker

NOW = dt.datetime.now(dt.UTC)
CXLOOP = str(Path(sys.executable).with_name("cxloop"))


def answer(db: Database, ws: str, score: int, comment: str) -> int:
    """A confirmed answer with a comment, recorded as the survey page records it."""
    return f.answer(db, ws, score, comment, NOW)


def themes_of(db: Database, response_id: int) -> list[str]:
    with db.session() as session:
        response = session.get(Response, response_id)
        assert response is not None
        return list(response.themes)


def task_runs(db: Database, name: str) -> list[str]:
    """How the runs of a worker task ended, oldest first."""
    with db.session() as session:
        return [run.status for run in runs.runs_of(session, name)]


def test_a_recorded_verbatim_gets_its_themes_and_sentiment(db: Database, make_workspace) -> None:
    ws = make_workspace("Maison Lou").workspace_id
    # when a customer explains a 9 with praise and one complaint
    rid = answer(db, ws, 9, "Super qualité, mais la livraison a pris trois semaines.")
    # then both topics are tagged, each with its own sentiment, the whole leaning positive
    with db.session() as session:
        response = session.get(Response, rid)
        assert response is not None
        assert response.themes == ["delivery_delay", "product_quality"]
        mentions = {m["theme"]: m["sentiment"] for m in response.mentions or []}
        assert mentions["product_quality"] > 0 > mentions["delivery_delay"]
        assert response.sentiment is not None and -1 <= response.sentiment <= 1


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match is not None
    return match.group(1)


def test_corrections_in_the_console_change_later_tags_of_similar_verbatims(
    app: FastAPI, db: Database, make_workspace, make_user, worker: RunningWorker
) -> None:
    ws = make_workspace("Maison Lou").workspace_id
    make_user("owner@example.com", ws)
    # given gift-card complaints the lexicon does not see as the site's (its checkout) problem
    wrong = [
        answer(db, ws, 2, "La carte cadeau ne fonctionne pas"),
        answer(db, ws, 3, "ma carte cadeau a été refusée"),
        answer(db, ws, 1, "impossible d'utiliser ma carte cadeau"),
        answer(db, ws, 4, "le code de ma carte cadeau est invalide"),
    ]
    unrelated = answer(db, ws, 10, "Livraison rapide, merci !")
    before_new = "ma carte cadeau est refusée à chaque fois"
    probe = answer(db, ws, 2, before_new)
    assert "website_ux" not in themes_of(db, probe)
    # when the merchant corrects them in the console: the site's problem
    with TestClient(app) as client:
        login(client, "owner@example.com")
        token = csrf_of(client.get(f"/w/{ws}/nps?period=730d").text)
        for rid in wrong:
            done = client.post(
                f"/w/{ws}/nps/responses/{rid}/themes",
                data={"csrf_token": token, "themes": ["website_ux"], "back": f"/w/{ws}/nps?x=1"},
                follow_redirects=False,
            )
            assert done.status_code == 303
            assert done.headers["location"] == f"/w/{ws}/nps?x=1"
        # a form without the CSRF token changes nothing
        refused = client.post(
            f"/w/{ws}/nps/responses/{unrelated}/themes", data={"themes": ["price"]}
        )
    assert refused.status_code == 403
    # then the corrected answers say so, the corrections are kept, the worker retrains the
    # model after each, and the next similar verbatim is tagged the merchant's way, while an
    # unrelated one is not touched
    worker.settle()
    assert task_runs(db, "feedback.train") == ["done"] * 4
    assert all(themes_of(db, rid) == ["website_ux"] for rid in wrong)
    with db.session() as session:
        assert len(session.scalars(select(ThemeCorrection)).all()) == 4
    later = answer(db, ws, 3, "carte cadeau refusée, encore")
    assert "website_ux" in themes_of(db, later)
    assert themes_of(db, unrelated) == ["delivery_delay"]
    # and re-tagging the history (the worker task feedback_retag) applies the model but leaves
    # the corrected answers alone
    feedback_retag(ws)
    worker.settle()
    assert task_runs(db, "feedback.retag") == ["done"]
    assert "website_ux" in themes_of(db, probe)
    assert themes_of(db, unrelated) == ["delivery_delay"]
    assert all(themes_of(db, rid) == ["website_ux"] for rid in wrong)


LOYALTY = (
    "- key: loyalty\n"
    "  labels: {fr: Fidélité, en: Loyalty}\n"
    "  definitions: {fr: Le programme de fidélité, en: The loyalty programme}\n"
    "  seeds:\n"
    "    fr: [points de fidélité, carte de fidélité]\n"
    "    en: [loyalty points, loyalty card]\n"
)


def test_a_workspace_taxonomy_through_the_api_retags_the_history(
    app: FastAPI, db: Database, make_workspace, worker: RunningWorker
) -> None:
    keys = make_workspace("Maison Lou")
    ws = keys.workspace_id
    rid = answer(db, ws, 6, "Mes points de fidélité ont disparu de mon compte")
    with db.session() as session:
        response = session.get(Response, rid)
        assert response is not None and response.customer_id is not None
        user_id = session.get(Customer, response.customer_id).user_id  # type: ignore[union-attr]
    headers = {"Authorization": f"Bearer {keys.admin_key}"}
    with TestClient(app) as client:
        current = client.get(
            "/api/v1/feedback/taxonomy", headers={**headers, "Accept": "application/yaml"}
        ).text
        added = current + LOYALTY
        saved = client.put(
            "/api/v1/feedback/taxonomy",
            content=added,
            headers={**headers, "Content-Type": "application/yaml"},
        )
        worker.settle()  # the worker re-tags the history
        broken = client.put(
            "/api/v1/feedback/taxonomy",
            content="themes:\n- key: x\n",
            headers={**headers, "Content-Type": "application/yaml"},
        )
        unknown = client.put(
            f"/api/v1/nps/responses/{rid}/themes", json={"themes": ["weather"]}, headers=headers
        )
        report = client.get("/api/v1/nps/drivers", headers=headers)
        customer = client.get(f"/api/v1/customers/{user_id}", headers=headers)
    assert saved.status_code == 200, saved.text
    assert saved.json()["version"] == 1
    assert task_runs(db, "feedback.retag") == ["done"]
    assert broken.status_code == 422 and broken.json()["field"].startswith("themes.0")
    assert "loyalty" in themes_of(db, rid)
    assert unknown.status_code == 422 and unknown.json()["field"] == "themes[0]"
    assert customer.json()["nps"]["themes"] == themes_of(db, rid)
    assert report.status_code == 200
    assert report.json()["n"] == 1
    assert {d["theme"] for d in report.json()["drivers"]} >= {"loyalty"}


def test_the_themes_page_edits_the_taxonomy_and_retags(
    app: FastAPI, db: Database, make_workspace, make_user, worker: RunningWorker
) -> None:
    ws = make_workspace("Maison Lou").workspace_id
    make_user("owner@example.com", ws)
    rid = answer(db, ws, 5, "Ma carte de fidélité n'a pas été prise en compte")
    assert "loyalty" not in themes_of(db, rid)
    with TestClient(app) as client:
        login(client, "owner@example.com")
        page = client.get(f"/w/{ws}/themes")
        token = csrf_of(page.text)
        yaml_text = re.search(r'<textarea name="yaml"[^>]*>([^<]*)</textarea>', page.text)
        assert yaml_text is not None
        current = html.unescape(yaml_text.group(1))
        broken = client.post(f"/w/{ws}/themes", data={"csrf_token": token, "yaml": "themes: nope"})
        saved = client.post(
            f"/w/{ws}/themes", data={"csrf_token": token, "yaml": current + LOYALTY}
        )
    # then the page lists the themes, refuses a broken list saying where, and a new theme
    # is applied to the comments already there
    assert page.status_code == 200 and "Delivery time" in page.text
    assert broken.status_code == 422 and "themes" in broken.text and 'role="alert"' in broken.text
    assert saved.status_code == 200 and "Loyalty" in saved.text
    worker.settle()
    assert task_runs(db, "feedback.retag") == ["done"]
    assert "loyalty" in themes_of(db, rid)


def test_the_customer_page_shows_the_last_answer_and_its_themes(
    app: FastAPI, db: Database, make_workspace, make_user
) -> None:
    ws = make_workspace("Maison Lou").workspace_id
    make_user("owner@example.com", ws)
    rid = answer(db, ws, 3, "Les frais de port sont exorbitants")
    with db.session() as session:
        customer_id = session.get(Response, rid).customer_id  # type: ignore[union-attr]
    with TestClient(app) as client:
        login(client, "owner@example.com")
        page = client.get(f"/w/{ws}/customers/{customer_id}")
    assert page.status_code == 200
    last = page.text[page.text.index("data-nps-last") :].split("</p>")[0]
    assert 'class="detractor">3</strong>' in last and "Delivery cost" in last


def test_the_retag_command_tags_answers_recorded_before_tagging(
    db: Database, make_workspace, tmp_path
) -> None:
    # given an answer whose themes were never computed (recorded before tagging existed)
    ws = make_workspace("Maison Lou").workspace_id
    rid = answer(db, ws, 4, "Colis reçu avec dix jours de retard")
    with db.session() as session:
        session.execute(update(Response).values(themes=[], sentiment=None, mentions=None))
    # when the operator runs the command
    environ = {**os.environ, "CXLOOP_HOME": str(tmp_path), "CXLOOP_DATABASE_URL": db.url}
    done = subprocess.run(
        [CXLOOP, "feedback", "retag", "--workspace", ws, "--json"],
        env=environ, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    # then the answer has its themes
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"workspace": ws, "retagged": 1}
    assert themes_of(db, rid) == ["delivery_delay"]


def test_a_merge_moves_corrected_answers_to_the_new_key(db: Database, make_workspace) -> None:
    # given an answer a person tagged with the delivery cost
    ws = make_workspace("Maison Lou").workspace_id
    rid = answer(db, ws, 5, "Bien, rien à dire de spécial")
    with db.session() as session:
        tagging.correct(session, ws, rid, ["delivery_cost"], actor="lou@example.com")
    # when the merchant merges the delivery cost into the price
    with db.session() as session:
        document = tagging.taxonomy_of(session, ws).model_dump(mode="json")
        themes = [t for t in document["themes"] if t["key"] != "delivery_cost"]
        for theme in themes:
            if theme["key"] == "price":
                theme["merged_from"] = ["delivery_cost"]
        tagging.save_taxonomy(
            session, ws, Taxonomy.from_document({"themes": themes}), actor="lou@example.com"
        )
    tagging.retag_all(db, ws)
    # then the person's tag follows the merge and stays theirs
    assert themes_of(db, rid) == ["price"]
    with db.session() as session:
        assert session.get(Response, rid).themes_corrected  # type: ignore[union-attr]


def test_theme_names_cannot_break_out_of_the_dashboard_page(
    app: FastAPI, db: Database, make_workspace, make_user
) -> None:
    # given a theme whose name a member wrote as markup, and an answer about it
    ws = make_workspace("Maison Lou", locale="en").workspace_id
    make_user("owner@example.com", ws, locale="en")
    evil = "</script><script>alert(1)</script>"
    with db.session() as session:
        document = tagging.taxonomy_of(session, ws).model_dump(mode="json")
        for theme in document["themes"]:
            if theme["key"] == "price":
                theme["labels"] = {"fr": evil, "en": evil}
        tagging.save_taxonomy(session, ws, Taxonomy.from_document(document), actor="x")
    answer(db, ws, 3, "Beaucoup trop cher pour ce que c'est")
    with TestClient(app) as client:
        login(client, "owner@example.com")
        page = client.get(f"/w/{ws}/nps?period=730d")
    # then the name is data everywhere: escaped in the chart's JSON and in the HTML
    assert page.status_code == 200
    assert evil not in page.text
    assert "\\u003c/script\\u003e\\u003cscript\\u003ealert(1)" in page.text
    assert "&lt;/script&gt;&lt;script&gt;alert(1)" in page.text


def test_every_thread_shares_one_tagger_and_tags_alike(db: Database, make_workspace) -> None:
    # given a workspace on the default themes, and verbatims tagged by one thread
    ws = make_workspace("Maison Lou").workspace_id
    texts = [
        "Livraison en retard de trois jours, colis abîmé.",
        "The parcel arrived late and the box was damaged.",
        "Très bonne qualité, le service client a répondu vite.",
        "Great quality for the price, fast delivery!",
        "Site lent, impossible de payer, remboursement jamais reçu",
        "Out of stock again, and the returns were a nightmare",
    ] * 40
    with db.session() as session:
        alone = [tagging.tags_for(session, ws, text) for text in texts]

    def tag_all(_: int) -> tuple[Tagger, list[AnswerTags | None]]:
        with db.session() as session:
            found = tagging.tagger_for(session, ws)
            return found, [tagging.tags_for(session, ws, text) for text in texts]

    # when eight threads take the workspace's tagger and tag them all at once
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(tag_all, range(8)))
    # then they share one tagger (built once: about a second each otherwise) and tag alike
    assert len({id(found) for found, _ in results}) == 1
    assert all(tags == alone for _, tags in results)
