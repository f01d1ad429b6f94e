"""The console's journeys and cases: the list, a journey's flow in words with its results and
its editor (a wrong definition shown at its place), switching it on; the cases inbox, a case
followed up; French and English."""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from cxloop.cases import service as cases
from cxloop.cases.models import Case, CaseNote
from cxloop.journeys import service
from cxloop.journeys.models import Journey
from cxloop.store.db import Database
from tests.helpers import factories as f
from tests.helpers.console import csrf_of, login


def test_journeys_in_the_console(
    app: FastAPI, db: Database, make_workspace: Any, make_user: Any
) -> None:
    owner = make_workspace()
    ws = owner.workspace_id
    make_user("lou@shop.fr", ws, locale="fr")
    with TestClient(app, follow_redirects=False) as client:
        login(client, "lou@shop.fr")
        listing = client.get(f"/w/{ws}/journeys")
        assert listing.status_code == 200
        assert "Reconquête des détracteurs" in listing.text  # a playbook to use
        token = csrf_of(listing.text)
        made = client.post(f"/w/{ws}/journeys/playbooks/shipping_delay", data={"csrf_token": token})
        assert made.status_code == 303 and made.headers["location"].endswith(
            "/journeys/shipping_delay"
        )
        page = html.unescape(client.get(f"/w/{ws}/journeys/shipping_delay").text)
        assert "Retard de livraison" in page and "brouillon" in page
        assert "Quand l'événement « Commande expédiée » arrive" in page
        assert "Attendre « Commande livrée », au plus 4\xa0jours, pour la même commande" in page
        assert "Résultats face au groupe témoin" in page
        # A wrong definition is refused, shown with its place, and the text kept.
        with db.session() as session:
            journey = service.get_journey(session, ws, "shipping_delay")
            assert journey is not None
            source = journey.source
        wrong = source.replace("timeout: 4d", "timeout: 4 jours")
        refused = client.post(
            f"/w/{ws}/journeys/shipping_delay", data={"csrf_token": token, "source": wrong}
        )
        assert refused.status_code == 422
        assert "steps[0].wait.timeout" in refused.text and "4 jours" in refused.text
        saved = client.post(
            f"/w/{ws}/journeys/shipping_delay",
            data={"csrf_token": token, "source": source.replace("timeout: 4d", "timeout: 3d")},
        )
        assert saved.status_code == 303
        on = client.post(
            f"/w/{ws}/journeys/shipping_delay/status",
            data={"csrf_token": token, "status": "active"},
        )
        assert on.status_code == 303
        client.post("/lang", data={"csrf_token": token, "lang": "en", "next": "/"})
        english = html.unescape(client.get(f"/w/{ws}/journeys/shipping_delay").text)
        assert "version 2" in english and "Wait for “Order delivered”, at most 3 days" in english
        assert client.get(f"/w/{ws}/journeys/nope").status_code == 404
    with db.session() as session:
        row = session.scalars(select(Journey)).one()
        assert (row.status, row.version) == ("active", 2)


def test_cases_in_the_console(
    app: FastAPI, db: Database, make_workspace: Any, make_user: Any
) -> None:
    owner = make_workspace()
    ws = owner.workspace_id
    make_user("sav@shop.fr", ws, locale="fr")
    cid = f.customer(db, ws, first_name="Lou", last_name="Martin")
    with db.session() as session:
        late = cases.open_case(
            session, ws, title="Rappeler Lou", customer_id=cid, actor="test", owner="sav@shop.fr",
            due_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=2), source="journey", note="NPS 2",
        )  # fmt: skip
        case_id = late.id
    with TestClient(app, follow_redirects=False) as client:
        login(client, "sav@shop.fr")
        inbox = client.get(f"/w/{ws}/cases")
        assert inbox.status_code == 200
        assert (
            "Rappeler Lou" in inbox.text
            and "Lou Martin" in inbox.text
            and "un parcours" in inbox.text
        )
        assert "Rappeler Lou" in client.get(f"/w/{ws}/cases?mine=true").text
        assert "Rappeler Lou" not in client.get(f"/w/{ws}/cases?status=closed").text
        page = client.get(f"/w/{ws}/cases/{case_id}")
        assert "NPS 2" in page.text and "ouvert" in page.text
        done = client.post(
            f"/w/{ws}/cases/{case_id}",
            data={
                "csrf_token": csrf_of(page.text),
                "status": "closed",
                "owner": "sav@shop.fr",
                "note": "Rappelée, bon d'achat envoyé",
            },
        )
        assert done.status_code == 303
        assert "fermé" in client.get(f"/w/{ws}/cases/{case_id}").text
        assert client.get(f"/w/{ws}/cases/999999").status_code == 404
    with db.session() as session:
        notes = session.scalars(select(CaseNote.text).order_by(CaseNote.id)).all()
    assert notes == ["NPS 2", "Rappelée, bon d'achat envoyé"]


def test_following_up_from_the_customer_page(
    app: FastAPI, db: Database, make_workspace: Any, make_user: Any
) -> None:
    from cxloop.channels.models import OutboundMessage
    from cxloop.commerce.models import Coupon

    ws = make_workspace().workspace_id
    make_user("sav@shop.fr", ws, locale="fr")
    make_user("agent@shop.fr", ws, role="agent", locale="fr")
    cid = f.customer(db, ws, first_name="Lou", email="lou@example.com")
    url = f"/w/{ws}/customers/{cid}"
    with TestClient(app, follow_redirects=False) as client:
        login(client, "sav@shop.fr")
        page = client.get(url).text
        token = csrf_of(page)
        assert (
            "Ouvrir un dossier" in page
            and "Geste commercial" in page
            and "Répondre par e-mail" in page
        )
        opened = client.post(
            f"{url}/case", data={"csrf_token": token, "title": "Colis abîmé", "note": "Photo reçue"}
        )
        assert opened.status_code == 303 and opened.headers["location"].endswith(
            "?done=case#follow-up"
        )
        given = client.post(f"{url}/coupon", data={"csrf_token": token, "kind": "free_shipping"})
        assert given.status_code == 303
        bad = client.post(f"{url}/coupon", data={"csrf_token": token, "kind": "everything"})
        assert bad.status_code == 422
        sent = client.post(
            f"{url}/reply",
            data={
                "csrf_token": token,
                "subject": "Votre colis",
                "body": "Bonjour Lou,\n\nNous renvoyons l'article.",
            },
        )
        assert sent.status_code == 303
        after = html.unescape(client.get(f"{url}?done=reply").text)
        assert "L'e-mail est en route." in after and "Colis abîmé" in after
        assert "livraison gratuite" in after
    with TestClient(app, follow_redirects=False) as client:
        login(client, "agent@shop.fr")  # agents follow customers up too
        agent_token = csrf_of(client.get(url).text)
        done = client.post(f"{url}/case", data={"csrf_token": agent_token, "title": "Rappel"})
        assert done.status_code == 303 and "done=case" in done.headers["location"]
    with db.session() as session:
        coupon = session.scalars(select(Coupon)).one()
        message = session.scalars(select(OutboundMessage)).one()
        notes = session.scalars(select(CaseNote.text).order_by(CaseNote.id)).all()
    assert (coupon.customer_id, coupon.kind) == (cid, "free_shipping")
    assert (message.purpose, message.subject, message.to_address) == (
        "reply",
        "Votre colis",
        "lou@example.com",
    )
    assert "Nous renvoyons l'article." in message.text
    assert notes == ["Photo reçue", "sav@shop.fr: Votre colis"]
    with db.session() as session:
        owners = sorted(session.scalars(select(Case.owner)))
    assert owners == ["agent@shop.fr", "sav@shop.fr"]


def test_acting_on_an_answer_from_the_nps_page(
    app: FastAPI, db: Database, make_workspace: Any, make_user: Any
) -> None:
    ws = make_workspace().workspace_id
    make_user("sav@shop.fr", ws, locale="fr")
    f.answer(db, ws, 2, "Livraison trop chère")
    with TestClient(app, follow_redirects=False) as client:
        login(client, "sav@shop.fr")
        page = html.unescape(client.get(f"/w/{ws}/nps?period=all").text)
        assert "Offrir la livraison" in page and "Ouvrir un dossier" in page
        action = re.search(r'action="(/w/[^"]+/case)"', page)
        title = re.search(r'name="title" value="([^"]+)"', page)
        assert action is not None and title is not None
        opened = client.post(
            action.group(1),
            data={
                "csrf_token": csrf_of(page),
                "title": title.group(1),
                "note": "Livraison trop chère",
            },
        )
        assert opened.status_code == 303
    with db.session() as session:
        case = session.scalars(select(Case)).one()
        notes = session.scalars(select(CaseNote.text)).all()
    assert case.title == "NPS 2/10 : rappeler" and notes == ["Livraison trop chère"]
